#!/usr/bin/perl
# FOCUS exports as each provider writes them: AWS Data Exports (FOCUS 1.0
# with AWS columns, millisecond timestamps), Azure Cost Management (CRLF,
# a byte-order mark, x_ columns), GCP's BigQuery FOCUS view saved as CSV
# (FOCUS 1.2 columns, "YYYY-MM-DD HH:MM:SS UTC", empty cells for null) and
# OCI FOCUS reports (gzip, start times without seconds, oci_ columns).
# Each file is generated here with its answer worked out as it is written:
# totals, per service, and the hourly, daily, weekly and monthly series.

use strict;
use warnings;
use JSON::PP;
use POSIX qw(floor strftime);
use Test::More;
use Test::PCM;
use Time::Local qw(timegm);

my $t = Test::PCM->new;
my $d = $t->dir;

sub csv_line { join(',', map { my $v = $_ // ''; $v =~ /[",\r\n]/ ? '"' . ($v =~ s/"/""/gr) . '"' : $v } @_) }

# One provider: its columns, how it writes times, and the rows (start,
# seconds long, service, cost).  Returns the file's text and the answers.
sub export {
	my (%p) = @_;
	my @cols = @{$p{cols}};
	my %ans = (total => 0);
	my @lines = (csv_line(@cols));
	for my $r (@{$p{rows}}) {
		my ($s, $len, $svc, $cost) = @$r;
		my %v = (
		    ChargePeriodStart => $p{start_fmt}->($s), ChargePeriodEnd => $p{end_fmt}->($s + $len),
		    BilledCost => $cost, EffectiveCost => $cost, ListCost => $cost * 1.25,
		    BillingCurrency => $p{currency}, ServiceName => $svc, ChargeCategory => 'Usage',
		    ResourceId => "$p{id_prefix}$svc", Tags => '{"team":"data"}',
		    %{$p{fixed} // {}},
		);
		push @lines, csv_line(map { $v{$_} // $p{null} } @cols);
		$ans{total} += $cost;
		$ans{svc}{$svc} += $cost;
		# Into buckets by the time overlapped (weeks start on Monday).
		for my $g (qw(hourly daily weekly monthly)) {
			my $b = bucket($s, $g);
			while ($b < $s + $len) {
				my $n = next_bucket($b, $g);
				my ($lo, $hi) = ($s > $b ? $s : $b, $s + $len < $n ? $s + $len : $n);
				$ans{$g}{$b} += $cost * ($hi - $lo) / $len if $hi > $lo;
				$b = $n;
			}
		}
	}
	return (join($p{eol}, @lines) . $p{eol}, \%ans);
}

sub bucket {
	my ($t, $g) = @_;
	return floor($t / 3600) * 3600 if $g eq 'hourly';
	my $day = floor($t / 86400) * 86400;
	return $day if $g eq 'daily';
	return $day - ((gmtime($day))[6] + 6) % 7 * 86400 if $g eq 'weekly';
	my @tm = gmtime($t);
	return timegm(0, 0, 0, 1, $tm[4], $tm[5] + 1900);
}

sub next_bucket {
	my ($b, $g) = @_;
	return $b + { hourly => 3600, daily => 86400, weekly => 7 * 86400 }->{$g} if $g ne 'monthly';
	my @tm = gmtime($b);
	return $tm[4] == 11 ? timegm(0, 0, 0, 1, 0, $tm[5] + 1901) : timegm(0, 0, 0, 1, $tm[4] + 1, $tm[5] + 1900);
}

my $t0 = timegm(0, 0, 0, 28, 8, 2024);		# Saturday 2024-09-28, so weeks and a month turn
sub rows {
	my ($step, $n, @svc) = @_;
	my @r;
	for my $i (0 .. $n - 1) {
		push @r, [ $t0 + $i * $step, $step, $svc[$i % @svc], sprintf('%.4f', 0.5 + ($i * 7919 % 1000) / 100) ];
	}
	return \@r;
}

my @focus10 = qw(AvailabilityZone BilledCost BillingAccountId BillingAccountName BillingCurrency
    BillingPeriodEnd BillingPeriodStart ChargeCategory ChargeClass ChargeDescription ChargeFrequency
    ChargePeriodEnd ChargePeriodStart CommitmentDiscountCategory CommitmentDiscountId
    CommitmentDiscountName CommitmentDiscountStatus CommitmentDiscountType ConsumedQuantity
    ConsumedUnit ContractedCost ContractedUnitPrice EffectiveCost InvoiceIssuerName ListCost
    ListUnitPrice PricingCategory PricingQuantity PricingUnit ProviderName PublisherName RegionId
    RegionName ResourceId ResourceName ResourceType ServiceCategory ServiceName SkuId SkuPriceId
    SubAccountId SubAccountName Tags);
my %shape = (
    aws => {
	cols => [ @focus10, qw(x_CostCategories x_Discounts x_Operation x_ServiceCode x_UsageType) ],
	start_fmt => sub { strftime('%Y-%m-%dT%H:%M:%S.000Z', gmtime $_[0]) },
	end_fmt => sub { strftime('%Y-%m-%dT%H:%M:%S.000Z', gmtime $_[0]) },
	rows => rows(3600, 24 * 9, 'Amazon Elastic Compute Cloud', 'Amazon Simple Storage Service'),
	currency => 'USD', id_prefix => 'arn:aws:ec2:us-east-1:123456789012:instance/i-', eol => "\n",
	null => '', fixed => { ProviderName => 'AWS', x_ServiceCode => 'AmazonEC2' },
	file => 'aws-focus-1.0.csv',
    },
    azure => {
	cols => [ @focus10, qw(x_AccountName x_BilledCostInUsd x_EffectiveCostInUsd x_ResourceGroupName x_ResourceType) ],
	start_fmt => sub { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) },
	end_fmt => sub { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) },
	rows => rows(86400, 20, 'Virtual Machines', 'Storage', 'Azure Database for PostgreSQL'),
	currency => 'EUR', id_prefix => '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/', eol => "\r\n",
	null => '', bom => 1, fixed => { ProviderName => 'Microsoft' },
	file => 'azure-focus.csv',
    },
    gcp => {
	cols => [ grep { $_ ne 'ProviderName' && $_ ne 'PublisherName' } @focus10,
	    qw(ServiceProviderName HostProviderName InvoiceIssuerName InvoiceId ServiceSubcategory SkuMeter
	    BillingAccountType SubAccountType CapacityReservationId CapacityReservationStatus) ],
	start_fmt => sub { strftime('%Y-%m-%d %H:%M:%S UTC', gmtime $_[0]) },
	end_fmt => sub { strftime('%Y-%m-%d %H:%M:%S UTC', gmtime $_[0]) },
	rows => rows(6 * 3600, 4 * 12, 'Compute Engine', 'Cloud Storage'),
	currency => 'USD', id_prefix => '//compute.googleapis.com/projects/p/zones/us-central1-a/instances/', eol => "\n",
	null => '', fixed => { ServiceProviderName => 'Google Cloud', HostProviderName => 'Google Cloud' },
	file => 'gcp-focus-1.2.csv',
    },
    oci => {
	cols => [ @focus10, qw(oci_ReferenceNumber oci_CompartmentId oci_CompartmentName oci_OverageFlag
	    oci_UnitPriceOverage oci_BilledQuantityOverage oci_CostOverage oci_AttributedUsage
	    oci_AttributedCost oci_BackReferenceNumber) ],
	start_fmt => sub { strftime('%Y-%m-%dT%H:%MZ', gmtime $_[0]) },
	end_fmt => sub { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) },
	rows => rows(3600, 24 * 5, 'COMPUTE', 'BLOCK_STORAGE', 'OBJECT_STORAGE'),
	currency => 'USD', id_prefix => 'ocid1.instance.oc1.iad.', eol => "\r\n",
	null => '', fixed => { ProviderName => 'Oracle', oci_CompartmentName => 'finance' },
	file => 'oci-focus.csv', gzip => 1,
    },
);

for my $name (sort keys %shape) {
	my $p = $shape{$name};
	my ($text, $ans) = export(%$p);
	$text = "\xEF\xBB\xBF$text" if $p->{bom};
	$t->write_file($p->{file}, $text);
	my $file = "$d/$p->{file}";
	if ($p->{gzip}) {
		system('gzip', '-f', $file) == 0 or die "gzip: $?";
		$file .= '.gz';
	}
	my $cur = $p->{currency};
	for my $g (qw(hourly daily weekly monthly)) {
		my ($rc, $out, $err) = $t->cmd('cost', 'actual', '--focus', $file, '--granularity', $g,
		    '--group-by', 'service', '--output', 'json', '--from', '2024-09-01', '--to', '2024-11-01');
		is($rc, 0, "$name, $g: loads") or do { diag $err; next };
		my $j = decode_json($out);
		if ($g eq 'hourly') {
			is($j->{metadata}{bad_rows}{count}, 0, "$name: no bad rows");
			is($j->{metadata}{rows_used}, scalar @{$p->{rows}}, "$name: every row used");
			ok(abs(($j->{totals}{$cur} // 0) - $ans->{total}) < 1e-6,
			    sprintf('%s: total %.4f %s', $name, $ans->{total}, $cur));
			my $bad = grep { abs(($j->{groups}{totals}{$_}{$cur} // 0) - $ans->{svc}{$_}) > 1e-6 } keys %{$ans->{svc}};
			is($bad, 0, "$name: each of " . scalar(keys %{$ans->{svc}}) . ' services');
		}
		my %got = map { my ($y, $m, $dd, $H) = $_->{period_start} =~ /^(\d+)-(\d+)-(\d+)T(\d+)/;
		    (timegm(0, 0, $H, $dd, $m - 1, $y) => $_->{cost}{$cur} // 0) } @{$j->{series}};
		my @want = grep { $ans->{$g}{$_} > 0 } keys %{$ans->{$g}};
		my $bad = grep { abs(($got{$_} // 0) - $ans->{$g}{$_}) > 1e-5 } @want;
		is($bad, 0, sprintf('%s, %s: each of %d periods', $name, $g, scalar @want));
	}
}

# Every provider in one directory: the currencies stay apart.
system("mkdir -p $d/all && cp $d/aws-focus-1.0.csv $d/azure-focus.csv $d/gcp-focus-1.2.csv $d/oci-focus.csv.gz $d/all/") == 0 or die;
my ($rc, $out, $err) = $t->cmd('cost', 'actual', '--focus', "$d/all", '--output', 'json',
    '--from', '2024-09-01', '--to', '2024-11-01');
is($rc, 0, 'a directory of four exports') or diag $err;
my $j = decode_json($out);
my %sum;
for my $name (keys %shape) {
	my (undef, $ans) = export(%{$shape{$name}});
	$sum{$shape{$name}{currency}} += $ans->{total};
}
ok(abs($j->{totals}{$_} - $sum{$_}) < 1e-5, sprintf('%s apart: %.4f', $_, $sum{$_})) for sort keys %sum;
done_testing;
