#!/usr/bin/perl
# Projected costs ask the plugins first: those that support a resource, in
# plugins.priority order; a $0 "not supported" answer or a failure falls
# through to the next plugin and then to spec files and the catalogue;
# each resource is priced once.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM qw(catalog_price);
use Test::PCM::Plugins qw(install_plugin plugin_server);
use Test::PCM::Billing qw(focus_csv day_of);

my ($t, $d, $root) = plugin_server();
install_plugin($root, 'aws-test', '1.0.0', env => { TEST_PLUGIN_REC_ID => 'i-0a11b2c3d4e5f60711',
    TEST_PLUGIN_BUDGET => 'plugin-monthly' });
install_plugin($root, 'zero', '1.0.0', env => { TEST_PLUGIN_UNSUPPORTED => 1 });
install_plugin($root, 'down', '1.0.0', env => { TEST_PLUGIN_FAIL_PROJECTED => 1 });
mkdir "$d/billing";
$t->write_file('billing/b.csv', focus_csv(
    { start => day_of('2024-09-01', 0), cost => 100, id => 'i-0a11b2c3d4e5f60711', service => 'Amazon EC2' },
    { start => day_of('2024-09-01', 0), cost => 5, id => 'i-other', service => 'Amazon EC2' }));
$t->write_config($t->base_config(extra => <<"Y"));
stacks:
  example: builtin:example
pulumicost:
  plugin_dir: $root
plugins:
  timeout: 5s
  retry_delay: 100ms
  priority: [down, zero, aws-test]
billing:
  focus:
    - $d/billing
cache:
  enabled: false
Y
$t->run;

sub listed { my $r = $t->tool(list_cost_plugins => {}); return { map { $_->{name} => $_->{state} } @{$r->{structuredContent}{plugins}} }; }
ok(Test::PCM::wait_for(sub { my $p = listed(); !grep { ($p->{$_} // '') ne 'ready' } qw(aws-test zero down) }, 30),
    'three plugins ready') or diag explain listed();

my $a = $t->tool(analyze_projected_costs => { stack_name => 'example' })->{structuredContent};
my %rec = map { $_->{name} => $_ } @{$a->{resources}};
my $web = $rec{'web-1'};
ok(abs($web->{monthly_cost} - 0.0444 * 730) < 1e-6, 'web-1 (t3.medium) priced by the plugin: 0.0444 x 730')
    or diag explain $web;
like($web->{components}[0]{source}, qr/^plugin aws-test: aws-test: on-demand Linux/, 'the plugin named as the source');
is(scalar @{$web->{components}}, 1, 'one answer for the resource: never counted twice');
my $ci = $rec{'ci-runner'};
ok(abs($ci->{monthly_cost} - $ci->{components}[0]{monthly_cost} - ($ci->{components}[1]{monthly_cost} // 0)) < 1e-6
    && $ci->{components}[0]{source} =~ /aws\.amazon\.com/, 'a $0 "not supported" answer falls through to the catalogue')
    or diag explain $ci;
ok(abs($ci->{components}[0]{unit_price} - catalog_price(qw(aws ec2 t3.large us-east-1))) < 1e-9, 'at the catalogue\'s price');
is($a->{coverage}{priced_by_plugins}, 2, 'two resources priced by plugins (web-1, web-2)');
ok((grep { $_->{plugin} eq 'down' && $_->{code} eq 'UNAVAILABLE' } @{$a->{plugin_errors} // []}),
    'a failing plugin is reported, and passed over');
my $sum = 0;
$sum += $_->{monthly_cost} // 0 for grep { $_->{status} eq 'priced' } @{$a->{resources}};
ok(abs($sum - $a->{total_monthly}) < 0.01, 'the total is the sum of the resources');

# Recommendations: the plugins' own, merged with ours and labelled.
my ($rr, $raw) = $t->tool(get_optimization_recommendations => { stack_name => 'example' });
my $r = $rr->{structuredContent};
diag("no answer: " . length($raw // '') . " " . (eval { decode_json($raw); 1 } ? 'ok' : $@)) unless $r;
my ($pr) = grep { $_->{source} =~ /^plugin aws-test/ } @{$r->{recommendations}};
ok($pr, 'a plugin\'s recommendation is in the answer') or diag explain $r;
is($pr->{resource_urn}, 'urn:pulumi:prod::shop::aws:ec2/instance:Instance::web-1', 'on the stack resource its id names');
is($pr->{type}, 'RIGHTSIZING', 'RIGHTSIZE as RIGHTSIZING');
is($pr->{projected_savings}, 12.5, 'with the plugin\'s own saving');
is($pr->{basis}, 'plugin: its own figures', 'labelled as the plugin\'s');
ok((grep { $_->{source} !~ /^plugin/ } @{$r->{recommendations}}), 'next to ours');
ok((grep { $_->{type} eq 'OTHER' && $_->{reason} =~ /^\d+ recommendations? of the plugins for resources that are not in this stack/ }
    @{$r->{not_recommended}}), 'recommendations for other resources: counted, not shown') or diag explain $r->{not_recommended};

# Actual costs: the plugins that report them first, the exports for the rest.
my $act = $t->tool(get_actual_costs => { stack_name => 'example',
    time_range => { start => '2024-09-01', end => '2024-09-06' } })->{structuredContent};
my $w1 = 'urn:pulumi:prod::shop::aws:ec2/instance:Instance::web-1';
is($act->{by_resource}{$w1}{USD}, 22.5, 'web-1: the plugin\'s five daily results (1.5 + 3 + 4.5 + 6 + 7.5)')
    or diag explain $act;
is_deeply($act->{series_by_resource}{$w1}{USD}, [1.5, 3, 4.5, 6, 7.5], 'day by day');
like($act->{sources_by_resource}{$w1}{source}, qr/^plugin aws-test/, 'the source of each figure');
is($act->{metadata}{rows_superseded}, 1, 'the export\'s row for web-1 is superseded, not added');
is($act->{unattributed}{USD}, 5, 'spend of no stack resource: unattributed');
ok((grep { $_->{plugin} eq 'down' && $_->{rpc} eq 'GetActualCost' } @{$act->{metadata}{plugin_errors} // []}),
    'a failing plugin is reported, and passed over');

# A budget a plugin reports, tracked against the data.
my $b = $t->tool(track_budget => { stack_name => 'example', budget_name => 'plugin-monthly',
    as_of => '2024-09-16' })->{structuredContent};
is($b->{budget_amount}, 150, 'a plugin\'s budget: its limit') or diag explain $b;
is($b->{budget_source}, 'plugin aws-test', 'labelled with its source');
is($b->{current_spending}, 100, 'the spend from the data');
is($b->{plugin_status}{current_spend}, 42, 'next to what the plugin says');
is(join(',', map { $_->{threshold} } @{$b->{alerts}}), '50', 'its thresholds');
my $nb = $t->tool(track_budget => { stack_name => 'example', budget_name => 'nowhere' });
like($nb->{content}[0]{text}, qr/^unknown budget "nowhere".*no plugin reports one by that name/,
    'a budget nobody declares, said plainly');
$t->finish;
done_testing;
