#!/usr/bin/perl
# The tools built on the projected-cost engine, on named stacks resolved
# through the configuration (stacks and a file:// backend, files read by
# the broker) and on the bundled example stack: compare_costs,
# analyze_resource_cost, query_cost_by_tags, analyze_stack_comprehensive.
# Expected figures are computed here from conf/catalog.txt.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Path qw(make_path);
use JSON::PP;
use Test::More;
use Test::PCM qw(catalog_price);

my $src = abs_path($ENV{PCM_SRCDIR} // '.');
my $fx = "$src/t/fixtures";
my $t = Test::PCM->new;
my $d = $t->dir;
make_path("$d/backend/.pulumi/stacks/s3bucket-test");
$t->write_file('backend/.pulumi/stacks/s3bucket-test/test-upsert.json',
    Test::PCM::slurp("$fx/state/diy-checkpoint_s3bucket-test_test-upsert.json"));
$t->write_file('broken.json', '{"version": 3, "deployment": {"resources": [}');
$t->write_config($t->base_config(extra => <<"Y"));
stacks:
  eks: $fx/state/pulumi-eks_oidc-iam-sa_3.0.0_stack.json
  gcp:
    state: $fx/state/pulumi-gcp_sql-user_6.67.0_stack.json
  example:
    state: builtin:example
    preview: builtin:example-preview
  broken: $d/broken.json
  gone: $d/no-such-file.json
pulumi:
  backend_url: file://$d/backend
Y
$t->run;

sub near { my ($got, $want, $name) = @_; ok(defined $got && abs($got - $want) < 1e-4, $name)
    or diag sprintf('got %s, want %.6f', $got // 'undef', $want); }
sub call { my ($tool, %args) = @_; return scalar $t->tool($tool, \%args); }

# --- named stacks ------------------------------------------------------------
{
	my $r = call('analyze_projected_costs', stack_name => 'gcp');
	near($r->{structuredContent}{total_monthly}, 730 * catalog_price(qw(gcp sql db-f1-micro us-central1))
	    + 10 * catalog_price(qw(gcp sql-storage PD_SSD us-central1)), 'a configured stack, read by the broker');
	$r = call('analyze_projected_costs', stack_name => 's3bucket-test/test-upsert');
	near($r->{structuredContent}{total_monthly}, 100 * catalog_price(qw(aws s3 STANDARD us-east-1)),
	    'PROJECT/STACK from the file:// backend');
	$r = call('analyze_projected_costs', stack_name => 'organization/s3bucket-test/test-upsert');
	ok(defined $r->{structuredContent}, 'ORG/PROJECT/STACK too');
	$r = call('analyze_projected_costs', stack_name => 'nope');
	is($r->{content}[0]{text}, "unknown stack \"nope\"; known stacks: eks, gcp, example, broken, gone;"
	    . " or PROJECT/STACK of the backend file://$d/backend", 'an unknown stack: the known ones are listed');
	$r = call('analyze_projected_costs', stack_name => 'broken');
	is($r->{content}[0]{text}, "stack broken ($d/broken.json): invalid JSON at byte 44: unexpected character",
	    'a broken stack file: which file and why');
	$r = call('analyze_projected_costs', stack_name => 'gone');
	like($r->{content}[0]{text}, qr{^cannot read stack gone \(\Q$d\E/no-such-file\.json\): }, 'a missing stack file');
	$r = call('analyze_projected_costs', stack_name => 'gcp', source => 'preview');
	is($r->{content}[0]{text}, 'stack gcp has no preview file configured', 'source preview without one');
	$r = call('analyze_projected_costs', stack_name => 'example');
	is($r->{structuredContent}{metadata}{input}, 'stack_export', 'the bundled example stack');
}

# --- compare_costs: the example stack against its preview --------------------
my $p = sub { catalog_price('aws', 'ec2', $_[0], 'us-east-1') * 730 };
my $gp3 = catalog_price(qw(aws ebs gp3 us-east-1));
my $gp2 = catalog_price(qw(aws ebs gp2 us-east-1));
{
	my $r = call('compare_costs', baseline => { stack_name => 'example' },
	    target => { stack_name => 'example', source => 'preview' });
	my $sc = $r->{structuredContent};
	my $diff = 2 * ($p->('t3.large') - $p->('t3.medium'))	# web-1, web-2
	    + 200 * ($gp3 - $gp2)				# ci-cache gp2 -> gp3
	    + $p->('m6i.large') + 30 * $gp3			# worker added
	    - ($p->('t3.large') + 50 * $gp3);			# ci-runner removed
	near($sc->{difference}, $diff, 'the difference, resource by resource');
	near($sc->{target_cost} - $sc->{baseline_cost}, $diff, 'target - baseline');
	near($sc->{difference_percent}, $diff / $sc->{baseline_cost} * 100, 'in percent');
	my %ch = map { $_->{name} => $_ } @{$sc->{resource_changes}};
	is_deeply($ch{'web-1'}{changes}, ['instanceType "t3.medium" -> "t3.large"'], 'the change behind it');
	is($ch{worker}{change}, 'added', 'added');
	is($ch{'ci-runner'}{change}, 'removed', 'removed');
	near($ch{'ci-cache'}{difference}, 200 * ($gp3 - $gp2), 'gp2 -> gp3 is a saving');
	is(scalar(keys %ch), 5, 'unchanged resources are not listed');
	near($sc->{by_type}{'aws:ec2/instance:Instance'}{difference}, $diff - 200 * ($gp3 - $gp2), 'by type');
	$r = call('compare_costs', baseline => { stack_name => 'eks' }, target => { stack_name => 'nope' });
	like($r->{content}[0]{text}, qr/^target: unknown stack "nope"/, 'a bad side says which');
	$r = call('compare_costs', baseline => { stack_name => 'example' });
	is($r->{content}[0]{text}, 'invalid arguments: arguments.target: is required', 'both sides are required');
}

# --- analyze_resource_cost -------------------------------------------------
{
	my $r = call('analyze_resource_cost', resource_urn => 'urn:pulumi:prod::shop::aws:ebs/volume:Volume::ci-cache');
	my $sc = $r->{structuredContent};
	like($r->{content}[0]{text}, qr{^cannot read stack shop/prod \(\Q$d\E/backend/\.pulumi/stacks/shop/prod\.json\)},
	    'without stack_name: the stack the URN names, in the backend');
	$r = call('analyze_resource_cost', stack_name => 'example',
	    resource_urn => 'urn:pulumi:prod::shop::aws:ebs/volume:Volume::ci-cache');
	$sc = $r->{structuredContent};
	near($sc->{resource}{monthly_cost}, 200 * $gp2, 'a volume: 200 GB gp2');
	is($sc->{hints}[0]{kind}, 'storage_optimization', 'hint: gp2 -> gp3');
	near($sc->{hints}[0]{monthly_saving}, 200 * ($gp2 - $gp3), 'with its saving');
	$r = call('analyze_resource_cost', stack_name => 'example',
	    resource_urn => 'urn:pulumi:prod::shop::aws:ec2/instance:Instance::ci-runner');
	$sc = $r->{structuredContent};
	my ($sched) = grep { $_->{kind} eq 'schedule' } @{$sc->{hints}};
	near($sched->{monthly_saving}, sprintf('%.2f', $p->('t3.large') * (1 - 10 * 5 * 52 / 12 / 730)),
	    'non-production compute: the saving of a weekday schedule');
	my ($rs) = grep { $_->{kind} eq 'rightsizing' } @{$sc->{hints}};
	near($rs->{monthly_saving}, sprintf('%.2f', $p->('t3.large') - $p->('t4g.large')), 'a cheaper equivalent family');
	$r = call('analyze_resource_cost', stack_name => 'example',
	    resource_urn => 'urn:pulumi:prod::shop::aws:ec2/natGateway:NatGateway::nat');
	is_deeply([sort map { $_->{name} } @{$r->{structuredContent}{dependencies}}], ['nat-ip', 'public-a'],
	    'its dependencies, from the state');
	my ($ip) = grep { $_->{name} eq 'nat-ip' } @{$r->{structuredContent}{dependencies}};
	near($ip->{monthly_cost}, 730 * catalog_price(qw(aws publicipv4 address *)), 'with their costs');
	$r = call('analyze_resource_cost', stack_name => 'example', resource_urn => 'urn:pulumi:prod::shop::x:y:Z::nope');
	is($r->{content}[0]{text}, 'resource urn:pulumi:prod::shop::x:y:Z::nope is not in the stack (21 resources)',
	    'an unknown URN');
	$r = call('analyze_resource_cost', resource_urn => 'arn:aws:ec2:x');
	is($r->{content}[0]{text}, 'invalid arguments: arguments.resource_urn: does not match the pattern ^urn:pulumi:',
	    'not a URN: rejected by its schema');
}

# --- query_cost_by_tags ----------------------------------------------------
{
	my $r = call('query_cost_by_tags', stack_name => 'example', tag_keys => ['env']);
	my $sc = $r->{structuredContent};
	my $dev = $p->('t3.large') + 50 * $gp3 + 200 * $gp2;
	near($sc->{by_tag}{env}{dev}, $dev, 'env=dev: the CI runner and its cache volume');
	near($sc->{by_tag}{env}{prod} + $dev, $sc->{total_monthly}, 'the values add up to the total');
	$r = call('query_cost_by_tags', stack_name => 'example', tag_keys => ['service'],
	    filters => { key => 'env', values => ['dev'] });
	near($r->{structuredContent}{total_monthly}, $dev, 'filtered by another tag');
	near($r->{structuredContent}{by_tag}{service}{ci}, $dev, 'grouped by service');
	$r = call('query_cost_by_tags', stack_name => 'gcp', tag_keys => ['team']);
	near($r->{structuredContent}{untagged}{team}, $r->{structuredContent}{total_monthly},
	    'untagged cost is shown, not dropped');
	$r = call('query_cost_by_tags', stack_name => 'example', tag_keys => []);
	like($r->{content}[0]{text}, qr/tag_keys: needs at least 1 items/, 'tag_keys must not be empty');
}

# --- analyze_stack_comprehensive, with progress on an event stream ---------
{
	my $body = encode_json({ jsonrpc => '2.0', id => 7, method => 'tools/call',
	    params => { name => 'analyze_stack_comprehensive', _meta => { progressToken => 'p1' },
	    arguments => { stack_name => 'example', include_recommendations => JSON::PP::true } } });
	my ($s, $rh, $b) = $t->http("POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
	    . "Accept: application/json, text/event-stream\r\n"
	    . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
	my @ev = map { decode_json($_) } Test::PCM::dechunk($b) =~ /^data: (.+)$/mg;
	my @prog = map { $_->{params}{message} } grep { ($_->{method} // '') eq 'notifications/progress' } @ev;
	is_deeply(\@prog, ['reading the stack', 'read the stack: 21 resources',
	    'priced 13 resources, 7 with no charge, 1 unpriced', $prog[3], 'done'], 'progress per phase with real counts');
	like($prog[3], qr/^\d+ recommendations, \d+\.\d\d USD a month$/, 'recommendations counted and summed');
	my $sc = $ev[-1]{result}{structuredContent};
	near($sc->{by_category}{database}, $sc->{by_service}{rds} + $sc->{by_service}{elasticache}, 'by category');
	my %kinds = map { $_->{kind} => $_ } @{$sc->{alerts}};
	is($kinds{unpriced_resources}{message}, '1 of 21 resources could not be priced (95.2% covered): the total'
	    . ' is a lower bound', 'alert: unpriced resources');
	like($kinds{nonprod_always_on}{message}, qr/^1 compute resources tagged as non-production run around the clock/,
	    'alert: non-production compute around the clock');
	is($sc->{top_resources}[0]{name}, 'orders-db', 'the most expensive resource first');
	ok(scalar(@{$sc->{recommendations}}) >= 4, 'recommendations included');
}
$t->finish;
done_testing;
