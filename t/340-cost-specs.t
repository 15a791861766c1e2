#!/usr/bin/perl
# Pricing spec files ahead of the catalogue: PulumiCost specs (JSON and
# YAML, validated against the published schema) with the math of every
# billing mode, core-style files, amounts in another currency kept apart,
# and a bad spec file refused with its exact error (by -t, at start and on
# reload, where the old generation keeps serving).

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Path qw(make_path);
use JSON::PP;
use Test::More;
use Test::PCM qw(wait_for);

my $src = abs_path($ENV{PCM_SRCDIR} // '.');
my $fx = "$src/t/fixtures";
my $t = Test::PCM->new;
my $d = $t->dir;
make_path("$d/specs", "$d/modes", "$d/eur");
for my $f (qw(aws-ec2-t3-micro aws-s3-tiered-pricing aws-lambda-per-invocation azure-vm-per-second
    gcp-preemptible-spot aws-lambda-not-implemented)) {
	$t->write_file("specs/$f.json", Test::PCM::slurp("$fx/pulumicost-spec/examples__specs__$f.json"));
}
$t->write_file('specs/core-t3-micro.yaml', Test::PCM::slurp("$fx/pulumicost-core/examples__specs__aws-ec2-t3-micro.yaml"));

my $urn = sub { "urn:pulumi:dev::p::$_[0]::$_[1]" };
my $step = sub {
	my ($type, $name, %in) = @_;
	return { op => 'create', urn => $urn->($type, $name), type => $type, inputs => \%in };
};
sub cli {
	my (@args) = @_;
	$t->write_file('doc.json', encode_json({ steps => shift @args }));
	my ($rc, $out, $err) = $t->cmd('cost', 'projected', '--pulumi-json', "$d/doc.json", '--output', 'json', @args);
	return ($rc, $rc == 0 ? decode_json($out)->{finfocus} : undef, $err);
}
sub res { my ($f, $n) = @_; (grep { $_->{resourceId} =~ /::\Q$n\E$/ } @{$f->{resources}})[0] }
sub near { my ($got, $want, $name) = @_; ok(defined $got && abs($got - $want) < 1e-6, $name)
    or diag sprintf('got %s, want %.9f', $got // 'undef', $want); }

# --- the published examples ----------------------------------------------
{
	my ($rc, $f, $err) = cli([
	    $step->('aws:ec2/instance:Instance', 'web', instanceType => 't3.micro', region => 'us-east-1'),
	    $step->('aws:s3/bucket:Bucket', 'lake', region => 'us-east-1'),
	    $step->('aws:lambda/function:Function', 'fn', region => 'us-east-1'),
	    $step->('azure:compute/linuxVirtualMachine:LinuxVirtualMachine', 'vm', size => 'Standard_B1s', location => 'eastus'),
	    $step->('gcp:compute/instance:Instance', 'spot', machineType => 'n1-standard-1', zone => 'us-central1-a'),
	    $step->('aws:ec2/instance:Instance', 'west', instanceType => 't3.micro', availabilityZone => 'us-west-2b'),
	], '--spec-dir', "$d/specs", '--usage', 'storage_gb=60000');
	is($rc, 0, 'priced with the spec directory') or diag $err;
	near(res($f, 'web')->{monthly}, 0.0104 * 730, 'per_hour: rate x 730');
	like((keys %{res($f, 'web')->{breakdown}})[0], qr/^per_hour \(spec \S+aws-ec2-t3-micro\.json\)$/, 'from the spec file, named');
	near(res($f, 'lake')->{monthly}, 50000 * 0.023 + 10000 * 0.022, 'tiered: 60,000 GB through the tiers');
	near(res($f, 'fn')->{monthly}, 2e-7 * 1_000_000, 'per_invocation: rate x requests_per_month');
	near(res($f, 'vm')->{monthly}, 1.29e-6 * 730 * 3600, 'per_second: rate x 730 x 3600');
	near(res($f, 'spot')->{monthly}, 0.01 * 730, 'preemptible: the spec rate x 730 (no discount applied twice)');
	near(res($f, 'west')->{monthly}, 7.59, 'core-style YAML: monthlyEstimate, matched by its metadata.region');
}

# --- every billing mode, rate 1 ---------------------------------------------
my %want = (
    per_hour => 730, on_demand => 730, reserved => 730, spot => 730, preemptible => 730, savings_plan => 730,
    committed_use => 730, hybrid_benefit => 730, per_minute => 730 * 60, per_second => 730 * 3600,
    per_day => 730 / 24, per_month => 1, flat => 1, per_year => 1 / 12, per_gb_month => 10,
    per_gb_hour => 10 * 730, per_gb_day => 10 * 730 / 24, per_request => 1e6, per_operation => 1e6,
    per_transaction => 1e6, per_execution => 1e6, per_invocation => 1e6, per_api_call => 1e6,
    per_lookup => 1e6, per_query => 1e6, per_data_transfer_gb => 100, per_bandwidth_gb => 100,
    per_iops => 300, per_provisioned_iops => 300, tiered => 10,
);
my %unpriced = (
    per_rcu => 'the spec file %s prices per rcu and the inputs give no capacity',
    per_wcu => 'the spec file %s prices per wcu and the inputs give no capacity',
    per_cpu_hour => 'the spec file %s prices per vCPU and the inputs do not give it',
    per_cpu_month => 'the spec file %s prices per vCPU and the inputs do not give it',
    per_vcpu_hour => 'the spec file %s prices per vCPU and the inputs do not give it',
    per_memory_gb_hour => 'the spec file %s prices per GB of memory and the inputs do not give it',
    per_memory_gb_month => 'the spec file %s prices per GB of memory and the inputs do not give it',
    per_dtu => 'the spec file %s uses billing mode per_dtu, which needs usage the inputs do not give',
    per_ru => 'the spec file %s uses billing mode per_ru, which needs usage the inputs do not give',
    not_implemented => 'the spec file %s says not_implemented: the spec says not_implemented',
);
{
	my @steps;
	for my $m (sort(keys %want), sort(keys %unpriced)) {
		my %spec = (provider => 'aws', resource_type => 'ebs', sku => $m, billing_mode => $m,
		    rate_per_unit => 1, currency => 'USD');
		$spec{pricing_tiers} = [ { min_quantity => 0, max_quantity => 4, rate_per_unit => 1 },
		    { min_quantity => 4, max_quantity => 0, rate_per_unit => 0.5 } ] if $m eq 'tiered';
		$t->write_file("modes/$m.json", encode_json(\%spec));
		push @steps, $step->('aws:ebs/volume:Volume', $m, type => $m, size => 10, iops => 300, region => 'us-east-1');
	}
	my ($rc, $f, $err) = cli(\@steps, '--spec-dir', "$d/modes");
	is($rc, 0, 'every billing mode') or diag $err;
	for my $m (sort keys %want) {
		near(res($f, $m)->{monthly}, $m eq 'tiered' ? 4 + 6 * 0.5 : $want{$m}, "$m: documented quantity x rate");
	}
	my %u = map { $_->{urn} =~ /::([^:]+)$/; ($1 => $_->{reason}) } @{$f->{summary}{unpriced}};
	for my $m (sort keys %unpriced) {
		is($u{$m}, sprintf($unpriced{$m}, "$d/modes/$m.json"), "$m: unpriced, saying why");
	}
}

# --- another currency: never summed ------------------------------------------
{
	$t->write_file('eur/m5.json', encode_json({ provider => 'aws', resource_type => 'ec2', sku => 'm5.large',
	    billing_mode => 'per_hour', rate_per_unit => 0.09, currency => 'EUR' }));
	my ($rc, $f) = cli([ $step->('aws:ec2/instance:Instance', 'eu', instanceType => 'm5.large', region => 'us-east-1'),
	    $step->('aws:ec2/instance:Instance', 'us', instanceType => 't3.micro', region => 'us-east-1') ],
	    '--spec-dir', "$d/eur");
	near($f->{summary}{totalsByCurrency}{EUR}, 0.09 * 730, 'EUR amounts in their own total');
	near($f->{summary}{totalsByCurrency}{USD}, 0.0104 * 730, 'USD in theirs');
	is(res($f, 'eu')->{currency}, 'EUR', 'the resource in its currency');
}

# --- bad spec files: exact errors ------------------------------------------
my @bad = (
    [ 'billing_mode.json', '{"provider":"aws","resource_type":"ec2","billing_mode":"per_fortnight","rate_per_unit":1,"currency":"USD"}',
      qr/billing_mode\.json: spec\.billing_mode: must be one of \["per_hour",/ ],
    [ 'rate.json', '{"provider":"aws","resource_type":"ec2","billing_mode":"per_hour","rate_per_unit":-1,"currency":"USD"}',
      qr/rate\.json: spec\.rate_per_unit: must be at least 0$/ ],
    [ 'extra.json', '{"provider":"aws","resource_type":"ec2","billing_mode":"per_hour","rate_per_unit":1,"currency":"USD","colour":"red"}',
      qr/extra\.json: spec\.colour: is not an accepted argument$/ ],
    [ 'currency.yaml', "provider: aws\nresource_type: ec2\nbilling_mode: per_hour\nrate_per_unit: 1\ncurrency: usd\n",
      qr/currency\.yaml: spec\.currency: does not match the pattern \^\[A-Z\]\{3\}\$$/ ],
    [ 'flat.yaml', Test::PCM::slurp("$fx/pulumicost-core/test__fixtures__specs__aws-ec2-t3.medium.yaml"),
      qr/flat\.yaml: neither a PulumiCost spec \(billing_mode, rate_per_unit\) nor a core spec \(a pricing mapping\)$/ ],
    [ 'core.yaml', "provider: aws\nservice: ec2\nsku: t3.micro\ncurrency: USD\npricing:\n  vcpu: 2\n",
      qr/core\.yaml: pricing: has none of monthlyEstimate, onDemandHourly, hourlyRate, pricePerGBMonth \(a number\)$/ ],
    [ 'broken.yaml', "provider: [aws\n", qr/broken\.yaml: line \d+: / ],
);
for my $b (@bad) {
	make_path("$d/bad-$b->[0]");
	$t->write_file("bad-$b->[0]/$b->[0]", $b->[1]);
	my ($rc, undef, $err) = $t->cmd('cost', 'projected', '--pulumi-json', "$src/conf/example-stack.json",
	    '--spec-dir', "$d/bad-$b->[0]");
	is($rc, 1, "$b->[0]: refused");
	like($err, $b->[2], "$b->[0]: the file, the field and why");
}

# --- the server: validated before use, on reload too --------------------------
$t->write_config($t->base_config(extra => "pricing:\n  spec_dir: $d/specs\n"));
my ($rc, undef, $err) = $t->cmd('-t', '-c', $t->conf);
is($rc, 0, '-t with valid spec files') or diag $err;
$t->run;
my $body = encode_json({ jsonrpc => '2.0', id => 1, method => 'analyze_projected_costs', params => {
    pulumi_json => encode_json({ steps => [ $step->('aws:s3/bucket:Bucket', 'lake', region => 'us-east-1') ] }),
    usage => { storage_gb => 60000 } } });
my $ask = sub { my (undef, undef, $b) = $t->http("POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body"); decode_json($b)->{result}{structuredContent} };
near($ask->()->{total_monthly}, 50000 * 0.023 + 10000 * 0.022, 'the server prices with the spec files');
$t->write_file('specs/zz-bad.json', $bad[0][1]);
($rc, undef, $err) = $t->cmd('-t', '-c', $t->conf);
is($rc, 1, '-t with a bad spec file: exit 1');
like($err, qr/zz-bad\.json: spec\.billing_mode: must be one of/, 'naming the file and field');
is($t->reload, 'failed', 'a reload with a bad spec file fails');
ok($t->log_grep(qr/reload failed: .*zz-bad\.json: spec\.billing_mode/), 'the log says why');
near($ask->()->{total_monthly}, 50000 * 0.023 + 10000 * 0.022, 'the old generation keeps serving');
$t->finish;
done_testing;
