#!/usr/bin/perl
# track_budget: spend in the period from the billing data, burn rate,
# forecast end-of-period spend, the day the budget runs out, status by the
# documented thresholds and an alert per threshold crossed (actual or
# forecast), for budgets given in the call and declared in the config.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM;
use Test::PCM::Billing qw(focus_csv day_of start_billing);

my $t = Test::PCM->new;
my @rows;
for my $n (0 .. 50) {	# 2024-08-01 .. 2024-09-20: EC2 10 a day, RDS 5, another stack's 2
    push @rows, { start => day_of('2024-08-01', $n), cost => 10, id => 'i-0a11b2c3d4e5f60711',
        service => 'Amazon Elastic Compute Cloud', tags => { team => 'web', env => 'prod' } },
        { start => day_of('2024-08-01', $n), cost => 5, id => 'orders-db-3f2a1c',
        service => 'Amazon Relational Database Service', tags => { team => 'data', env => 'prod' } },
        { start => day_of('2024-08-01', $n), cost => 2, id => 'i-other',
        service => 'Amazon Elastic Compute Cloud' };
}
start_billing($t, files => { 'b.csv' => focus_csv(@rows) }, extra => <<"Y");
budgets:
  ec2:
    amount: 250
    period: monthly
    stack: example
    alert_thresholds: [50, 100]
    filters:
      service: Amazon Elastic Compute Cloud
  everything:
    amount: 400
Y

my %ec2 = (stack_name => 'example', filters => { service => 'Amazon Elastic Compute Cloud' });
sub budget { my $r = $t->tool(track_budget => { @_ }); return $r->{structuredContent} // $r; }
sub alerts { return join ' ', map { "$_->{type}:$_->{threshold}:" . substr($_->{timestamp}, 0, 10) } @{$_[0]{alerts}}; }

# September, seen on the 16th: 15 days of 10 spent, 15 more forecast.
my %sep = (%ec2, period => 'MONTHLY', as_of => '2024-09-16T00:00:00Z');
my $b = budget(%sep, budget_amount => 1000);
is($b->{current_spending}, 150, 'spent 150 in September so far');
is($b->{burn_rate}, 10, 'burn rate 10 a day');
is($b->{forecast_end_of_period}, 300, 'forecast 300 by the end of September');
is($b->{percent_used}, 15, '15% used');
is($b->{status}, 'OK', 'OK under 80%');
is($b->{remaining}, 850, 'remaining');
is(alerts($b), '', 'no threshold crossed');
is($b->{projected_end_date}, undef, 'the budget lasts the period');
is($b->{period_start}, '2024-09-01T00:00:00Z', 'the period starts on the 1st');
is($b->{period_end}, '2024-10-01T00:00:00Z', 'and ends on the 1st of the next month');
like($b->{metadata}{forecast_method}, qr/linear trend plus day-of-week/, 'the forecast method is stated');

$b = budget(%sep, budget_amount => 180);
is($b->{status}, 'WARNING', '83% is WARNING');
is($b->{forecast_status}, 'EXCEEDED', 'the forecast exceeds it');
is(alerts($b), 'actual:50:2024-09-09 actual:80:2024-09-15 forecast:90:2024-09-17 forecast:100:2024-09-18',
    'an alert per threshold: actual ones on the day crossed, forecast ones on the day they will be');
is($b->{projected_end_date}, '2024-09-19', 'it runs out on the 19th');
is($b->{alerts}[3]{severity}, 'CRITICAL', 'the 100% alert is CRITICAL');
is(budget(%sep, budget_amount => 160)->{status}, 'CRITICAL', '94% is CRITICAL');
$b = budget(%sep, budget_amount => 140);
is($b->{status}, 'EXCEEDED', '107% is EXCEEDED');
is($b->{projected_end_date}, '2024-09-15', 'it ran out on the 15th');
is(budget(%sep, budget_amount => 200, alert_thresholds => [70])->{alerts}[0]{threshold}, 70, 'custom thresholds');
$b = budget(%sep, budget_amount => 1000, currency => 'EUR');
is($b->{currency}, 'EUR', 'a budget in another currency');
is($b->{current_spending}, 0, 'counts only charges in that currency: never converted');
is(budget(%sep, budget_amount => 1000)->{currency}, 'USD', 'by default the currency the data spends in');

# Filtered by tags: every pair must match, each Tags set decided once.
my %tsep = (stack_name => 'example', period => 'MONTHLY', as_of => '2024-09-16T00:00:00Z',
    budget_amount => 1000);
is(budget(%tsep, filters => { tags => { team => 'data' } })->{current_spending}, 75,
    'tags team=data: the database, 5 a day');
is(budget(%tsep, filters => { tags => { env => 'prod' } })->{current_spending}, 225,
    'tags env=prod: both');
is(budget(%tsep, filters => { tags => { env => 'prod', team => 'web' } })->{current_spending}, 150,
    'tags env=prod and team=web: the instance only');

# Other periods, and data that ends before as_of.
is(budget(%ec2, period => 'weekly', as_of => '2024-09-18', budget_amount => 100)->{current_spending}, 20,
    'the week from Monday the 16th');
is(budget(%ec2, period => 'quarterly', as_of => '2024-09-16', budget_amount => 1000)->{current_spending}, 460,
    'the quarter from July (the data starts on August 1st)');
is(budget(%ec2, period => 'yearly', as_of => '2024-09-16', budget_amount => 1000)->{period_start}, '2024-01-01T00:00:00Z',
    'the year');
$b = budget(%ec2, period => 'monthly', as_of => '2024-09-25', budget_amount => 1000);
is($b->{spend_through}, '2024-09-21T00:00:00Z', 'the spend counts to the end of the data');
is($b->{current_spending}, 200, 'twenty days of data');

# Budgets of the configuration.
$b = budget(budget_name => 'ec2', as_of => '2024-09-16');
is($b->{stack_name}, 'example', 'a configured budget\'s stack');
is($b->{current_spending}, 150, 'and its filter: EC2 only');
is(alerts($b), 'actual:50:2024-09-13 forecast:100:2024-09-25', 'its own thresholds');
$b = budget(budget_name => 'everything', as_of => '2024-09-16');
is($b->{current_spending}, 255, 'a budget without a stack counts all the billing data');
is(alerts($b), 'actual:50:2024-09-12 forecast:80:2024-09-19 forecast:90:2024-09-22 forecast:100:2024-09-24',
    'the default thresholds 50, 80, 90, 100');

# Bad input.
my $r = $t->tool(track_budget => { stack_name => 'example' });
is($r->{content}[0]{text}, 'invalid arguments: give budget_name (a budget of the configuration) or budget_amount and period',
    'neither a budget nor an amount');
$r = $t->tool(track_budget => { budget_name => 'nope' });
like($r->{content}[0]{text}, qr/^unknown budget "nope"/, 'an unknown budget');
$r = $t->tool(track_budget => { %ec2, budget_amount => 10, period => 'monthly', as_of => 'yesterday' });
like($r->{content}[0]{text}, qr/as_of must be a date-time/, 'a bad as_of');
$r = $t->tool(track_budget => { %ec2, budget_amount => -1, period => 'monthly' });
ok($r->{isError} || $r->{error}, 'a negative amount is refused');
$t->finish;

# A budget naming a stack the configuration does not have: refused at load.
my $u = Test::PCM->new;
$u->write_config($u->base_config(extra => "budgets:\n  x:\n    amount: 5\n    stack: nope\n"));
my $out = `$u->{bin} -t -c @{[$u->conf]} 2>&1`;
like($out, qr/budgets\.x\.stack: no stack "nope" in stacks/, 'a budget\'s unknown stack fails the config test');
done_testing;
