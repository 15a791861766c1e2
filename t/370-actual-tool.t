#!/usr/bin/perl
# get_actual_costs: billing data (billing.focus) loaded by the broker into a
# sealed memfd that workers map, joined to a stack's resources by their ids;
# spend that joins to none is reported, not lost; the data follows its files.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM qw(wait_for);
use Test::PCM::Billing qw(start_billing);

my $t = Test::PCM->new;
my $d = $t->dir;
my $head = "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ServiceName,ResourceId,ChargeCategory\n";
my @rows = (
    '2024-09-01,2024-09-02,10,10,USD,Amazon EC2,i-0a11b2c3d4e5f60711,Usage',
    '2024-09-02,2024-09-03,10,10,USD,Amazon EC2,i-0a11b2c3d4e5f60711,Usage',
    '2024-09-01,2024-09-02,20,20,USD,Amazon RDS,orders-db-3f2a1c,Usage',
    '2024-09-01,2024-09-02,1,1,USD,Amazon VPC,eipalloc-0f405162738495a6b,Usage',
    '2024-09-01,2024-09-02,5,5,USD,Amazon EC2,i-ffffffffffffffff,Usage',
    '2024-10-05,2024-10-06,99,99,USD,Amazon EC2,i-0a11b2c3d4e5f60711,Usage',
    '2024-09-01,2024-09-02,oops,1,USD,Amazon EC2,i-0a11b2c3d4e5f60711,Usage',
);
start_billing($t, files => { 'sep.csv' => $head . join("\n", @rows) . "\n" });

sub call { my (%args) = @_; return scalar $t->tool(get_actual_costs => \%args); }
my $urn = sub { "urn:pulumi:prod::shop::$_[0]" };
my %tr = (time_range => { start => '2024-09-01T00:00:00Z', end => '2024-09-03T00:00:00Z' });

my $r = call(stack_name => 'example', %tr);
my $sc = $r->{structuredContent};
ok($sc, 'answered') or diag explain $r;
is($sc->{totals}{USD}, 41, 'the stack\'s spend in the range: 10 + 10 + 20 + 1');
is($sc->{by_resource}{$urn->('aws:ec2/instance:Instance::web-1')}{USD}, 20, 'joined by instance id');
is($sc->{by_resource}{$urn->('aws:rds/instance:Instance::orders-db')}{USD}, 20, 'joined by the database id');
is($sc->{by_resource}{$urn->('aws:ec2/eip:Eip::nat-ip')}{USD}, 1, 'joined by the allocation id');
is($sc->{unattributed}{USD}, 5, 'spend on no resource of the stack: unattributed, not lost');
is_deeply([ map { $_->{cost}{USD} // 0 } @{$sc->{series}} ], [31, 10], 'a daily series');
is($sc->{by_service}{'Amazon EC2'}{USD}, 20, 'by service');
is_deeply($sc->{series_by_service}{'Amazon EC2'}{USD}, [10, 10], 'a series per service');
is_deeply($sc->{series_by_service}{'Amazon RDS'}{USD}, [20, 0], 'aligned with the series');
is_deeply($sc->{series_by_resource}{$urn->('aws:ec2/instance:Instance::web-1')}{USD}, [10, 10], 'a series per resource');
is($sc->{metadata}{bad_rows}{count}, 1, 'the bad row counted');
like($sc->{metadata}{bad_rows}{first}[0]{file}, qr{billing/sep\.csv$}, 'with its file');
is($sc->{metadata}{bad_rows}{first}[0]{line}, 8, 'and line');
like($r->{content}[0]{text}, qr/^Actual spend of stack example, 2024-09-01T00:00:00Z to 2024-09-03T00:00:00Z/, 'a text summary');

is(call(stack_name => 'example', %tr, filters => { resource => 'orders-db' })->{structuredContent}{totals}{USD}, 20,
    'filters.resource: part of the ResourceId');
is(call(stack_name => 'example', %tr, filters => { service => 'Amazon EC2' })->{structuredContent}{totals}{USD}, 20,
    'filters.service');
is_deeply(call(stack_name => 'example', %tr, filters => { account => '999' })->{structuredContent}{totals}, {},
    'filters.account: no charge of that account');
$r = call(stack_name => 'example', %tr, granularity => 'monthly', cost_basis => 'billed');
is(scalar @{$r->{structuredContent}{series}}, 1, 'monthly');
$r = call(stack_name => 'example', time_range => { start => '2024-09-03', end => '2024-09-01' });
is($r->{content}[0]{text}, 'invalid arguments: time_range needs start and end (RFC 3339 or YYYY-MM-DD),'
    . ' start before end', 'a backwards range');
$r = call(stack_name => 'nope', %tr);
like($r->{content}[0]{text}, qr/^unknown stack "nope"/, 'an unknown stack');

# The data follows its files: a new export is in the next answer.
$t->write_file('billing/sep2.csv', $head . "2024-09-02,2024-09-03,7,7,USD,Amazon RDS,orders-db-3f2a1c,Usage\n");
ok(wait_for(sub { (call(stack_name => 'example', %tr)->{structuredContent}{totals}{USD} // 0) == 48 }, 5),
    'a new file is loaded by the next call');
$t->finish;

# No billing data configured: said plainly.
my $u = Test::PCM->new;
$u->write_config($u->base_config(extra => "stacks:\n  example: builtin:example\n"));
$u->run;
$t = $u;
$r = call(stack_name => 'example', %tr);
is($r->{content}[0]{text}, 'no billing data: billing.focus names no FOCUS export', 'no billing configured');
$u->finish;
done_testing;
