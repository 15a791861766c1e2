#!/usr/bin/perl
# analyze_projected_costs on real Pulumi documents (t/fixtures): every
# expected figure is computed here from conf/catalog.txt by independent
# arithmetic (a parser of our own below, not the server's), for AWS, Azure,
# GCP and a mixed AWS + Kubernetes stack; every preview op; filters and
# grouping; and each bad input with its exact error.

use strict;
use warnings;
use Cwd qw(abs_path);
use JSON::PP;
use Test::More;
use Test::PCM qw(catalog_price);

my $src = abs_path($ENV{PCM_SRCDIR} // '.');
my $fx = "$src/t/fixtures";
my $t = Test::PCM->new;
$t->write_config($t->base_config);
$t->run;

# --- the catalogue, read independently ------------------------------------
sub near { my ($got, $want, $name) = @_; ok(defined $got && abs($got - $want) < 1e-6, $name)
    or diag sprintf('got %s, want %.6f', $got // 'undef', $want); }

sub call { my (%args) = @_; return $t->tool(analyze_projected_costs => \%args); }
sub doc { Test::PCM::slurp("$fx/$_[0]") }
sub by_name { my ($res, $n) = @_; (grep { $_->{name} eq $n } @{$res->{structuredContent}{resources}})[0] }

# --- AWS: the PulumiCost core example (simplified preview shape) -----------
{
	my ($r, $raw) = call(pulumi_json => doc('pulumicost-core/examples__plans__aws-simple-plan.json'),
	    default_region => 'us-west-2');
	my $sc = $r->{structuredContent};
	my $ec2 = catalog_price(qw(aws ec2 t3.micro us-west-2)) * 730;
	my $rds = catalog_price(qw(aws rds-postgres db.t3.micro us-west-2)) * 730
	    + 20 * catalog_price(qw(aws rds-storage gp2 us-west-2));
	my $s3 = 100 * catalog_price(qw(aws s3 STANDARD us-west-2));
	near($sc->{total_monthly}, $ec2 + $rds + $s3, 'AWS preview: total = EC2 + RDS (instance + 20 GB gp2) + S3 (100 GB assumed)');
	near($sc->{total_hourly}, ($ec2 + $rds + $s3) / 730, 'hourly = monthly / 730');
	is($sc->{currency}, 'USD', 'currency');
	near(by_name($r, 'web-server')->{monthly_cost}, $ec2, 'EC2 t3.micro, region from its availability zone');
	is(by_name($r, 'web-server')->{region_from}, 'inputs.availabilityZone', 'says where the region came from');
	is(by_name($r, 'database')->{region_from}, 'default_region', 'the default region where nothing else says');
	near($sc->{by_service}{rds}, $rds, 'by_service');
	near($sc->{by_category}{storage}, $s3, 'by_category');
	is_deeply($sc->{coverage}, { resources => 3, priced => 3, no_charge => 0, unpriced => 0,
	    removed_by_update => 0, percent_priced => 100 }, 'coverage');
	is($sc->{assumptions}[0]{key}, 'storage_gb', 'the usage assumption used is stated');
	is($sc->{assumptions}[0]{value}, 100, 'with its value');
	near($sc->{monthly_change}, $ec2 + $rds + $s3, 'a preview of creates: the change is the whole cost');
	unlike($raw, qr/supersecret123/, 'the RDS password in the inputs is never echoed');
	my $c = (by_name($r, 'web-server')->{components})[0][0];
	is($c->{source}, 'https://aws.amazon.com/ec2/pricing/on-demand/ (Linux/UNIX, shared tenancy)', 'each price carries its source');
	like($c->{effective_date}, qr/^\d{4}-\d\d-\d\d$/, 'and its effective date');
	like($r->{content}[0]{text}, qr/^Projected monthly cost: \d+\.\d\d USD/, 'a text summary for text-only clients');

	($r) = call(pulumi_json => doc('pulumicost-core/examples__plans__aws-simple-plan.json'),
	    default_region => 'us-west-2', usage => { storage_gb => 1000 });
	near($r->{structuredContent}{total_monthly}, $ec2 + $rds + 10 * $s3, 'usage assumptions are overridable');

	($r) = call(pulumi_json => doc('pulumicost-core/examples__plans__aws-simple-plan.json'));
	$sc = $r->{structuredContent};
	near($sc->{total_monthly}, $ec2, 'without a region for RDS and S3: only EC2 is counted');
	is($sc->{coverage}{unpriced}, 2, 'and two are unpriced, not zero');
	is(by_name($r, 'database')->{monthly_cost}, undef, 'an unpriced resource has no cost (null), not 0');
	is(by_name($r, 'database')->{reason}, 'its region is unknown: set it on the resource or its provider,'
	    . ' or pass default_region', 'with the reason');
}

# --- mixed: AWS EKS + Kubernetes (a real stack export) ---------------------
{
	my $d = decode_json(doc('state/pulumi-eks_oidc-iam-sa_3.0.0_stack.json'));
	my ($asg) = grep { $_->{type} eq 'aws:autoscaling/group:Group' } @{$d->{deployment}{resources}};
	my ($lt) = grep { $_->{type} eq 'aws:ec2/launchTemplate:LaunchTemplate' } @{$d->{deployment}{resources}};
	my ($r) = call(pulumi_json => doc('state/pulumi-eks_oidc-iam-sa_3.0.0_stack.json'));
	my $sc = $r->{structuredContent};
	my $nodes = $asg->{inputs}{desiredCapacity} * 730 * catalog_price('aws', 'ec2', $lt->{inputs}{instanceType}, 'us-west-2');
	my $want = 730 * catalog_price(qw(aws eks cluster *)) + $nodes + 100 * catalog_price(qw(aws s3 STANDARD us-west-2));
	near($sc->{total_monthly}, $want, 'EKS stack: control plane + the autoscaling group\'s nodes (from its launch template) + S3');
	is($sc->{metadata}{input}, 'stack_export', 'read as a stack export');
	my @k8s = grep { $_->{type} =~ /^kubernetes:/ } @{$sc->{resources}};
	is(scalar(@k8s), 5, 'the five Kubernetes resources are listed');
	is($k8s[0]{status}, 'no_charge', 'as no charge of their own');
	is($k8s[0]{reason}, "runs on the cluster's nodes, which are priced", 'saying why');
	my ($g) = grep { $_->{type} eq 'aws:autoscaling/group:Group' } @{$sc->{resources}};
	is($g->{region_from}, 'provider', 'the region from the provider resource');
	is($sc->{coverage}{unpriced}, 0, 'everything accounted for');
}

# --- Azure and GCP (real stack exports) ------------------------------------
{
	my ($r) = call(pulumi_json => doc('state/pulumi-azure_containerservice_k8scluster_5.89.0_stack.json'));
	near($r->{structuredContent}{total_monthly}, 730 * catalog_price(qw(azure aks Free *))
	    + 1 * 730 * catalog_price(qw(azure vm Standard_D2_v2 eastus)), 'AKS: free tier + one Standard_D2_v2 node');
	($r) = call(pulumi_json => doc('state/pulumi-azure_loadbalancer_5.89.0_stack.json'));
	near($r->{structuredContent}{total_monthly}, 730 * catalog_price(qw(azure publicip Basic *)), 'Azure: a Basic public IP');
	is(by_name($r, 'exampleLoadBalancer')->{status}, 'no_charge', 'a Basic load balancer has no charge');
	($r) = call(pulumi_json => doc('state/pulumi-gcp_sql-user_6.67.0_stack.json'));
	near($r->{structuredContent}{total_monthly}, 730 * catalog_price(qw(gcp sql db-f1-micro us-central1))
	    + 10 * catalog_price(qw(gcp sql-storage PD_SSD us-central1)), 'Cloud SQL db-f1-micro + 10 GB SSD (the default size)');
	like(by_name($r, 'instance')->{components}[1]{name}, qr/diskSize unset: 10 GB/, 'the default disk size is stated');
	($r) = call(pulumi_json => doc('state/pulumi-gcp_dns-recordset_6.67.0_stack.json'));
	near($r->{structuredContent}{total_monthly}, catalog_price(qw(gcp dns zone *)) + 730 * catalog_price(qw(gcp compute g1-small us-central1))
	    + 10 * catalog_price(qw(gcp disk pd-standard us-central1)), 'GCP: a DNS zone and a g1-small with its boot disk');
	($r) = call(pulumi_json => doc('state/diy-checkpoint_s3bucket-test_test-upsert.json'));
	is($r->{structuredContent}{metadata}{input}, 'checkpoint', 'a DIY-backend checkpoint');
	near($r->{structuredContent}{total_monthly}, 100 * catalog_price(qw(aws s3 STANDARD us-east-1)), 'its bucket, region from the provider');
	($r) = call(pulumi_json => doc('state/diy-checkpoint_s3bucket-test_dev_empty.json'));
	is($r->{structuredContent}{total_monthly}, 0, 'a never-deployed checkpoint: nothing to price');
	is($r->{structuredContent}{coverage}{resources}, 0, 'and no resources');
}

# --- every preview op, in the real shape (steps[].newState/oldState) -------
{
	my $n = 0;
	my $st = sub {
		my ($type) = @_;
		return { type => 'aws:ec2/instance:Instance', custom => JSON::PP::true,
		    inputs => { instanceType => $type, availabilityZone => 'us-east-1a' } };
	};
	my $step = sub {
		my ($op, $new, $old) = @_;
		my $urn = 'urn:pulumi:dev::ops::aws:ec2/instance:Instance::' . $op . '-' . $n++;
		return { op => $op, urn => $urn, $new ? (newState => $st->($new)) : (),
		    $old ? (oldState => $st->($old)) : () };
	};
	my $rep = 'urn:pulumi:dev::ops::aws:ec2/instance:Instance::replaced';
	my @steps = (
	    $step->('create', 't3.micro'), $step->('update', 't3.large', 't3.small'),
	    $step->('same', 't3.small', 't3.small'), $step->('delete', undef, 't3.medium'),
	    $step->('read', 't3.xlarge'), $step->('import', 't3.nano'),
	    { op => 'create-replacement', urn => $rep, newState => $st->('m5.large') },
	    { op => 'replace', urn => $rep, newState => $st->('m5.large'), oldState => $st->('m5.xlarge') },
	    { op => 'delete-replaced', urn => $rep, oldState => $st->('m5.xlarge') },
	    $step->('discard', 't3.2xlarge'),
	);
	my ($r) = call(pulumi_json => encode_json({ steps => \@steps }));
	my $sc = $r->{structuredContent};
	my $p = sub { 730 * catalog_price('aws', 'ec2', $_[0], 'us-east-1') };
	my $after = $p->('t3.micro') + $p->('t3.large') + $p->('t3.small') + $p->('t3.nano') + $p->('m5.large');
	my $before = $p->('t3.small') + $p->('t3.small') + $p->('t3.medium') + $p->('m5.xlarge');
	near($sc->{total_monthly}, $after, 'after the update: create, update (new type), same, import, replacement');
	near($sc->{monthly_cost_before}, $before, 'before it: update (old type), same, delete, the replaced instance');
	near($sc->{monthly_change}, $after - $before, 'the change');
	is(scalar(grep { $_->{name} eq 'replaced' } @{$sc->{resources}}), 1, 'three replacement steps are one resource, counted once');
	is(by_name($r, 'replaced')->{op}, 'replace', 'reported as a replace');
	ok(!by_name($r, 'read-4'), 'a read resource is not the stack\'s: not listed');
	ok(!by_name($r, 'same-2'), 'unchanged resources are counted but not listed by default');
	($r) = call(pulumi_json => encode_json({ steps => \@steps }), include_unchanged => JSON::PP::true);
	ok(by_name($r, 'same-2'), 'include_unchanged lists them');
	near(by_name($r, 'same-2')->{monthly_cost_before}, $p->('t3.small'),
	    'unchanged inputs: the price before is the price after');
	near(by_name($r, 'update-1')->{monthly_cost_before}, $p->('t3.small'),
	    'changed inputs: the price before is the old inputs\' (t3.small, now t3.large)');
}

# --- filters and grouping --------------------------------------------------
{
	my %a = (pulumi_json => doc('pulumicost-core/examples__plans__aws-simple-plan.json'), default_region => 'us-west-2');
	my ($r) = call(%a, filters => { resource_type => 'rds' });
	is(scalar(@{$r->{structuredContent}{resources}}), 1, 'filter by resource_type');
	($r) = call(%a, filters => { name_pattern => 'web-*' });
	is($r->{structuredContent}{resources}[0]{name}, 'web-server', 'name_pattern as a glob');
	($r) = call(%a, filters => { tags => { Environment => 'dev', Name => 'Web Server' } });
	is(scalar(@{$r->{structuredContent}{resources}}), 1, 'filter by tags (all must match)');
	($r) = call(%a, group_by => ['tag:Purpose', 'service']);
	my $g = $r->{structuredContent}{groups}{totals};
	near($g->{'Static Assets / s3'}, 100 * catalog_price(qw(aws s3 STANDARD us-west-2)), 'group_by tag:KEY and service');
	ok(exists $g->{'(untagged) / ec2'}, 'resources without the tag are a group of their own');
	($r) = call(%a, group_by => ['colour']);
	is($r->{isError}, JSON::PP::true, 'an unknown group_by is a tool error');
	is($r->{content}[0]{text}, 'invalid arguments: group_by[0]: "colour" is not one of provider, service,'
	    . ' region, type, category, tag:KEY', 'saying which and what is allowed');
	($r) = call(%a, usage => { gigawatts => 1 });
	like($r->{content}[0]{text}, qr/^invalid arguments: usage\.gigawatts: unknown assumption/, 'an unknown usage key');
}

# --- bad input, each with its exact error -----------------------------------
{
	my @bad = (
	    [ '{"steps": [', 'pulumi_json: incomplete JSON', 'truncated JSON' ],
	    [ '{"steps": [}', 'pulumi_json: invalid JSON at byte 11: unexpected character', 'invalid JSON' ],
	    [ '[1,2]', 'pulumi_json: expected a JSON object: a Pulumi preview (steps), stack export (deployment) or checkpoint',
	      'an array' ],
	    [ doc('pulumicost-core/test__fixtures__plans__azure-simple-plan.json'), 'pulumi_json: not a Pulumi document:'
	      . ' expected steps (pulumi preview --json), deployment (pulumi stack export) or checkpoint (a DIY'
	      . " backend's stack file)", 'a Terraform plan' ],
	    [ '{"steps": {}}', 'pulumi_json: steps must be an array', 'steps not an array' ],
	    [ '{"steps": [{"urn": "urn:pulumi:a::b::aws:s3/bucket:Bucket::c"}]}', 'pulumi_json: steps[0]: op must be a string',
	      'a step without op' ],
	    [ '{"steps": [{"op": "frobnicate", "urn": "x"}]}', 'pulumi_json: steps[0]: unknown op "frobnicate"', 'an unknown op' ],
	    [ '{"steps": [{"op": "create"}]}', 'pulumi_json: steps[0]: urn is missing', 'a step without urn' ],
	    [ '{"steps": [{"op": "create", "urn": "web"}]}', 'pulumi_json: steps[0]: urn "web" is not a Pulumi URN'
	      . ' (urn:pulumi:STACK::PROJECT::TYPE::NAME)', 'a malformed URN' ],
	    [ '{"steps": [{"op": "create", "urn": "urn:pulumi:a::b::t::c", "inputs": 5}]}',
	      'pulumi_json: steps[0]: inputs must be an object', 'inputs not an object' ],
	    [ '{"version": 9, "deployment": {}}', 'pulumi_json: version must be 1, 2 or 3 (got 9)', 'a future export version' ],
	    [ '{"version": 3, "deployment": {"resources": [{"type": "x"}]}}',
	      'pulumi_json: deployment.resources[0]: urn is missing', 'a state resource without urn' ],
	);
	for my $c (@bad) {
		my ($r) = call(pulumi_json => $c->[0]);
		is($r->{isError}, JSON::PP::true, "$c->[2]: a tool error");
		is($r->{content}[0]{text}, $c->[1], "$c->[2]: exact message");
	}
	my ($r) = call(default_region => 'us-east-1');
	is($r->{content}[0]{text}, 'give pulumi_json (the output of pulumi preview --json or pulumi stack export)'
	    . ' or stack_name', 'neither input: says what to give');
	($r) = call(pulumi_json => '{"steps":[{"op":"create","urn":"urn:pulumi:d::p::aws:ec2/instance:Instance::x",'
	    . '"type":"aws:ec2/instance:Instance","inputs":{"availabilityZone":"us-east-1b"}},'
	    . '{"op":"create","urn":"urn:pulumi:d::p::aws:quantum/computer:Computer::q","type":"aws:quantum/computer:Computer",'
	    . '"inputs":{"region":"us-east-1"}},'
	    . '{"op":"create","urn":"urn:pulumi:d::p::aws:ec2/instance:Instance::y","type":"aws:ec2/instance:Instance",'
	    . '"inputs":{"instanceType":"z9.mega","region":"us-east-1"}}]}');
	my $u = $r->{structuredContent}{unpriced};
	is($u->[0]{reason}, 'instanceType is not set', 'missing inputs: unpriced, saying which');
	is($u->[1]{reason}, 'resource type aws:quantum/computer:Computer has no pricing rule', 'an unknown type: unpriced');
	is($u->[2]{reason}, 'no price for EC2 instance type z9.mega in us-east-1 in the catalogue or spec files',
	    'an unknown SKU: unpriced');
	is($r->{structuredContent}{total_monthly}, 0, 'and none of them is counted as a cost');
	# Larger than mcp.max_message_size: refused before parsing.
	my $big = '{"steps":[' . join(',', ('{"op":"same","urn":"urn:pulumi:a::b::t::c"}') x 250000) . ']}';
	my $body = encode_json({ jsonrpc => '2.0', id => 1, method => 'tools/call',
	    params => { name => 'analyze_projected_costs', arguments => { pulumi_json => $big } } });
	my ($s) = $t->http("POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
	    . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
	is($s, 413, 'an oversized document: 413 before it is parsed');
}

# The user-guide name reaches the same tool.
{
	my $body = encode_json({ jsonrpc => '2.0', id => 1, method => 'analyze_projected_cost',
	    params => { pulumi_json => doc('state/pulumi-gcp_sql-user_6.67.0_stack.json') } });
	my ($s, $rh, $b) = $t->http("POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
	    . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
	ok(decode_json($b)->{result}{structuredContent}{total_monthly} > 0, 'analyze_projected_cost (user guide name) works');
}
$t->finish;
done_testing;
