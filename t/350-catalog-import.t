#!/usr/bin/perl
# pulumicost-mcp catalog import: real public price lists (t/fixtures/pricing)
# into spec files, with the values checked against the source documents,
# and the files then used for pricing.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Path qw(make_path);
use JSON::PP;
use Test::More;
use Test::PCM;

my $src = abs_path($ENV{PCM_SRCDIR} // '.');
my $px = "$src/t/fixtures/pricing";
my $t = Test::PCM->new;
my $out = $t->dir . '/specs';
make_path($out);

my ($rc, $o, $err) = $t->cmd('catalog', 'import', '--out', $out, "$px/aws_offer_AmazonEC2_us-east-2_excerpt.json");
is($rc, 0, 'AWS offer file: exit 0') or diag $err;
like($o, qr/wrote 1 spec files/, 'one on-demand price it can match');
like($o, qr/skipped 1: no on-demand hourly price \(reserved terms only\)/, 'the m5.large reserved term is not taken for on-demand');
like($o, qr/skipped 1: not Linux, shared tenancy/, 'the Windows BYOL instance is skipped, saying why');
my $gp3 = decode_json(Test::PCM::slurp("$out/aws-ebs-gp3-us-east-2.json"));
is($gp3->{rate_per_unit}, 0.08, 'gp3: 0.08 per GB-month, as in the offer');
is($gp3->{billing_mode}, 'per_gb_month', 'billed per GB-month');
is($gp3->{effective_date}, '2023-03-01T00:00:00Z', 'with the term\'s effective date');
like($gp3->{source}, qr/^AWS Price List offer AmazonEC2, version 20230322145651, SKU M6UGCCQ3CDJQAA37$/, 'and its source');

($rc, $o) = $t->cmd('catalog', 'import', '--out', $out, "$px/azure_retail_prices_page0_excerpt.json");
is($rc, 0, 'Azure retail prices: exit 0');
like($o, qr/skipped 9: Windows, Spot or Low Priority/, 'Windows, Spot and Low Priority meters skipped');
my $az = decode_json(Test::PCM::slurp("$out/azure-compute-Standard_D14_v2_Promo-northcentralus.json"));
is($az->{rate_per_unit}, 1.482, 'the Linux pay-as-you-go meter');
ok(!-e "$out/azure-compute-Standard_DS14_v2_Promo-northcentralus.json", 'a non-primary meter region is not imported');

($rc, $o) = $t->cmd('catalog', 'import', '--out', $out, "$px/gcp_cloudbilling_skus_compute.json");
is($rc, 0, 'GCP SKUs: exit 0');
my $g = decode_json(Test::PCM::slurp("$px/gcp_cloudbilling_skus_compute.json"));
my %p;
for my $s (@{$g->{skus}}) {
	my $u = $s->{pricingInfo}[0]{pricingExpression}{tieredRates}[-1]{unitPrice};
	$p{$s->{description}} = [ $u->{units} + $u->{nanos} / 1e9, $u->{currencyCode} ];
}
my $e2 = decode_json(Test::PCM::slurp("$out/gcp-compute-e2-standard-2-us-central1.json"));
my $want = 2 * $p{'E2 Instance Core running in Americas'}[0] + 8 * $p{'E2 Instance Ram running in Americas'}[0];
ok(abs($e2->{rate_per_unit} - $want) < 1e-6, 'e2-standard-2 = 2 x core + 8 GB x RAM');
is($e2->{currency}, $p{'E2 Instance Core running in Americas'}[1], 'in the SKU\'s currency');
ok(-e "$out/gcp-compute-t2d-standard-60-asia-southeast1.json", 'every predefined shape of the family, per region');

($rc, undef, $err) = $t->cmd('catalog', 'import', '--out', $out, "$px/oci_pricelist_prices_usd.json");
is($rc, 1, 'a price list it does not read: exit 1');
like($err, qr/not a price list this command reads \(expected offerCode, Items or skus\)/, 'saying so');
($rc, undef, $err) = $t->cmd('catalog', 'import', '--out', $t->dir . '/none', "$px/gcp_cloudbilling_skus_compute.json");
is($rc, 1, 'a missing output directory: exit 1');

# The imported files price resources, ahead of the catalogue, currencies apart.
$t->write_file('doc.json', encode_json({ steps => [
    { op => 'create', urn => 'urn:pulumi:d::p::aws:ebs/volume:Volume::v', type => 'aws:ebs/volume:Volume',
      inputs => { type => 'gp3', size => 50, availabilityZone => 'us-east-2c' } },
    { op => 'create', urn => 'urn:pulumi:d::p::gcp:compute/instance:Instance::g', type => 'gcp:compute/instance:Instance',
      inputs => { machineType => 'e2-standard-2', zone => 'us-central1-b' } } ] }));
($rc, $o, $err) = $t->cmd('cost', 'projected', '--pulumi-json', $t->dir . '/doc.json', '--output', 'json',
    '--spec-dir', $out);
is($rc, 0, 'priced with the imported specs') or diag $err;
my $f = decode_json($o)->{finfocus};
ok(abs($f->{summary}{totalsByCurrency}{USD} - 50 * 0.08) < 1e-6, 'the gp3 volume from the AWS import');
ok(abs($f->{summary}{totalsByCurrency}{IDR} - 730 * $want) < 1e-3, 'the GCP instance in IDR, not summed with USD');
done_testing;
