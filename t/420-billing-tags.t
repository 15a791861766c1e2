#!/usr/bin/perl
# Billing joined by tag keys (billing.join_tags) after ids, actual spend by
# tag value (query_cost_by_tags with time_range), and billing settings and
# data that follow a reload.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM;
use Test::PCM::Billing qw(focus_csv day_of urn);

my $t = Test::PCM->new;
my $d = $t->dir;
my $day = day_of('2024-09-01', 0);
my $ec2 = 'Amazon Elastic Compute Cloud';
my @rows = (
    { start => $day, cost => 10, id => 'i-0a11b2c3d4e5f60711', service => $ec2, tags => { team => 'storefront' } },
    { start => $day, cost => 20, id => 'orders-db-3f2a1c', service => 'Amazon RDS' },
    { start => $day, cost => 3, service => $ec2, tags => { 'pulumi-urn' => urn('aws:ec2/instance:Instance::web-2') } },
    { start => $day, cost => 4, service => 'AWS Lambda', tags => { service => 'media' } },
    { start => $day, cost => 6, service => 'Amazon RDS', tags => { service => 'orders' } },
    { start => $day, cost => 7, service => $ec2, tags => { service => 'nope' } },
    { start => $day, cost => 5, id => 'i-other', service => $ec2 },
);
mkdir "$d/billing";
mkdir "$d/billing2";
$t->write_file('billing/sep.csv', focus_csv(@rows));
$t->write_file('billing2/other.csv', focus_csv({ start => $day, cost => 1000, id => 'i-0a11b2c3d4e5f60711', service => $ec2 }));
my $conf = sub {
    my ($dir, $join) = @_;
    $t->write_config($t->base_config(extra => <<"Y"));
stacks:
  example: builtin:example
billing:
  focus:
    - $d/$dir
  join_tags: [$join]
cache:
  enabled: false
Y
};
$conf->('billing', 'pulumi-urn, service');
$t->run;

my %tr = (time_range => { start => '2024-09-01', end => '2024-09-02' });
my $a = $t->tool(get_actual_costs => { stack_name => 'example', %tr })->{structuredContent};
my $br = $a->{by_resource};
is($br->{urn('aws:ec2/instance:Instance::web-1')}{USD}, 10, 'by id first');
is($br->{urn('aws:ec2/instance:Instance::web-2')}{USD}, 3, 'a tag whose value is a resource\'s URN');
is($br->{urn('aws:rds/instance:Instance::orders-db')}{USD}, 26, 'a tag value only one resource carries: that resource');
is($br->{'(tag service=media)'}{USD}, 4, 'a value several resources carry: the stack\'s, as a tag group');
is($a->{unattributed}{USD}, 12, 'no id and no tag that matches: unattributed');
is($a->{totals}{USD}, 43, 'the stack\'s total');
like($a->{metadata}{join}, qr/else its Tags\["pulumi-urn"\], else its Tags\["service"\]/, 'the join rule is stated');

my $q = $t->tool(query_cost_by_tags => { stack_name => 'example', tag_keys => ['team', 'env'], %tr })->{structuredContent};
is_deeply($q->{by_tag}{team}, { storefront => 13, orders => 26 }, 'actual spend by team: a charge\'s own tag, else its resource\'s');
is($q->{untagged}{team}, 4, 'untagged spend shown');
is($q->{by_tag}{env}{prod}, 39, 'a second key');
is($q->{total}, 43, 'the total');
is($q->{basis}, 'actual', 'from actual spend');
$q = $t->tool(query_cost_by_tags => { stack_name => 'example', tag_keys => ['team'], %tr,
    filters => { key => 'team', values => ['orders'] } })->{structuredContent};
is_deeply($q->{by_tag}{team}, { orders => 26 }, 'filters.key and values');
$q = $t->tool(query_cost_by_tags => { stack_name => 'example', tag_keys => ['team'] })->{structuredContent};
ok(defined $q->{total_monthly}, 'without time_range: projected, as before');

# A reload: join_tags dropped, then another export directory.
$conf->('billing', '');
is($t->reload, 'ok', 'reloaded');
$a = $t->tool(get_actual_costs => { stack_name => 'example', %tr })->{structuredContent};
is($a->{unattributed}{USD}, 25, 'without join_tags only ids join');
$conf->('billing2', '');
is($t->reload, 'ok', 'reloaded again');
$a = $t->tool(get_actual_costs => { stack_name => 'example', %tr })->{structuredContent};
is($a->{totals}{USD}, 1000, 'the new export is what the next call reads');
$t->finish;
done_testing;
