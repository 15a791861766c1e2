#!/usr/bin/perl
# The broker caches plugin answers (cache.ttl.cost_data for costs,
# cache.ttl.plugin_metadata for Supports and the like): a resource priced
# once is not asked of the plugin again within the time to live, whichever
# tool asks; validation and health checks always reach the plugin; a
# reload starts with an empty cache.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM qw(wait_for);
use Test::PCM::Plugins qw(install_plugin plugin_server);

my ($t, $d, $root) = plugin_server();
install_plugin($root, 'aws-test', '1.0.0');
my $conf = <<"Y";
stacks:
  example: builtin:example
pulumicost:
  plugin_dir: $root
plugins:
  timeout: 5s
  health_check_interval: 1h
cache:
  ttl:
    cost_data: 1h
    plugin_metadata: 1h
Y
$t->write_config($t->base_config(extra => $conf));
$t->run;

sub tool { $t->structured(@_) }
sub metric {
    my ($name) = @_;
    my (undef, undef, $b) = $t->http_get('/metrics');
    return $b =~ /^\Q$name\E (\d+)$/m ? $1 : 0;
}
my $calls = 'pulumicost_plugin_calls_total{plugin="aws-test",rpc="GetProjectedCost",code="OK"}';
my $hits = 'pulumicost_plugin_cache_requests_total{plugin="aws-test",result="hit"}';
ok(wait_for(sub { (tool(list_cost_plugins => {})->{plugins}[0]{state} // '') eq 'ready' }, 30), 'the plugin is ready');

my $a = tool(analyze_projected_costs => { stack_name => 'example' });
my ($web) = grep { $_->{name} eq 'web-1' } @{$a->{resources}};
like($web->{components}[0]{source} // '', qr/^plugin aws-test/, 'web-1 priced by the plugin');
my $asked = metric($calls);
ok($asked >= 1, "the plugin was asked ($asked GetProjectedCost calls)");
my $r = tool(analyze_resource_cost => { stack_name => 'example', resource_urn => $web->{urn} });
is(metric($calls), $asked, 'another tool pricing the same resource: the plugin is not asked again');
ok(metric($hits) >= 1, 'the answer came from the broker\'s cache');
my $price = $r->{monthly_cost} // $r->{resource}{monthly_cost};
ok(defined $price && abs($price - $web->{monthly_cost}) < 1e-9, 'with the same price') or diag explain $r;

my $v = tool(validate_plugin_spec => { plugin_name => 'aws-test', conformance_level => 'BASIC' });
my $after = metric($calls);
ok($after > $asked, 'validation always reaches the plugin (it measures it)');

is($t->reload, 'ok', 'reload');
ok(wait_for(sub { (tool(list_cost_plugins => {})->{plugins}[0]{state} // '') eq 'ready' }, 30), 'ready again');
tool(analyze_resource_cost => { stack_name => 'example', resource_urn => $web->{urn} });
ok(metric($calls) > $after, 'after a reload the plugin is asked afresh (a new generation, an empty cache)');

$t->finish;
done_testing;
