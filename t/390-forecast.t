#!/usr/bin/perl
# forecast_costs: a linear trend plus day-of-week model over daily spend.
# The data is a known trend (0.5 a day), a known weekly pattern and
# Gaussian noise; the forecast must recover the trend, and its intervals
# must cover held-out days at about the requested rate.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM;
use Test::PCM::Billing qw(focus_csv day_of rng start_billing);

my $t = Test::PCM->new;
my $base = '2024-01-01';	# a Monday
my $rnd = rng(11);
my @week = (10, 10, 10, 10, 10, -25, -25);	# Monday first; they sum to 0
my $gauss = sub { sqrt(-2 * log(1 - $rnd->())) * cos(2 * 3.14159265358979 * $rnd->()) };
my (@truth, @rows);
for my $n (0 .. 167) {
    my $v = 100 + 0.5 * $n + $week[$n % 7] + 3 * $gauss->();
    push @truth, $v;
    # Split across two resources: the forecast is of their sum.
    push @rows, { start => day_of($base, $n), cost => 0.6 * $v, id => 'i-0a11b2c3d4e5f60711',
        service => 'Amazon Elastic Compute Cloud' };
    push @rows, { start => day_of($base, $n), cost => 0.4 * $v, id => 'orders-db-3f2a1c',
        service => 'Amazon Relational Database Service' };
}
start_billing($t, files => { 'h.csv' => focus_csv(@rows) });

sub date { my @g = gmtime(day_of($base, $_[0])); return sprintf '%04d-%02d-%02d', $g[5] + 1900, $g[4] + 1, $g[3]; }
sub forecast {
    my ($from, $days, %o) = @_;
    return $t->tool(forecast_costs => { stack_name => 'example',
        forecast_period => { start => date($from), end => date($from + $days) }, %o });
}

# Three forecast origins, each with the 84 days before it and the 28 after held out.
my (%cover, %n, @slopes);
for my $origin (84, 112, 140) {
    for my $level (0.8, 0.95) {
        my $r = forecast($origin, 28, confidence_level => $level, history_days => 84);
        my $sc = $r->{structuredContent} or do { fail('answered'); diag explain $r; next };
        my $pts = $sc->{data_points};
        is(scalar @$pts, 28, "origin $origin: 28 daily points") if $level == 0.8;
        for my $i (0 .. $#$pts) {
            my $y = $truth[$origin + $i];
            $cover{$level}++ if $y >= $pts->[$i]{lower_bound} && $y <= $pts->[$i]{upper_bound};
            $n{$level}++;
        }
        if ($level == 0.8) {
            push @slopes, $sc->{method}{trend_per_day};
            is($sc->{method}{history_days}, 84, "origin $origin: the history used is stated");
            ok(abs($sc->{method}{weekday_effects}{saturday} + 25) < 3, 'the weekly pattern is recovered')
                or diag explain $sc->{method};
            ok(defined $sc->{method}{backtest}{mape_percent} && $sc->{method}{backtest}{mape_percent} < 10,
                "backtest MAPE stated and small ($sc->{method}{backtest}{mape_percent}%)");
            my ($total) = 0;
            $total += $_->{predicted_cost} for @$pts;
            ok(abs($total - $sc->{predicted_total}) < 0.05, 'the total is the sum of the points');
        }
    }
}
for my $s (@slopes) {
    ok(abs($s - 0.5) <= 0.05, "the trend is recovered within 10%: $s a day against 0.5");
}
for my $level (0.8, 0.95) {
    my $c = $cover{$level} / $n{$level};
    diag(sprintf 'interval at %.2f covers %.3f of %d held-out days', $level, $c, $n{$level});
    ok(abs($c - $level) <= 0.12, "coverage near $level");
}

my $r = forecast(84, 7);
like($r->{structuredContent}{methodology}, qr/linear trend plus day-of-week.*95% prediction intervals/,
    'the default level, and the method in words');
is($r->{structuredContent}{currency}, 'USD', 'the currency');
like($r->{content}[0]{text}, qr/^Forecast 2024-03-25T00:00:00Z to 2024-04-01T00:00:00Z: [\d.]+ USD/, 'a text summary');

# Too little history, and none at all.
$r = forecast(5, 7);
is($r->{content}[0]{text}, 'a forecast needs at least 7 days of history; the data has 5', 'five days are not enough');
$r = forecast(2000, 7);
like($r->{content}[0]{text}, qr/^no spend to forecast from in the 90 days before 2029-06-23: the billing data covers 2024-01-01 to 2024-06-17/,
    'a period far from the data: said with the data\'s extent');
$r = $t->tool(forecast_costs => { stack_name => 'example', forecast_period => { start => '2024-03-01', end => '2024-04-01' },
    confidence_level => 1.5 });
ok($r->{isError} || $r->{error}, 'a confidence level outside (0, 1) is refused');
$r = $t->tool(forecast => { stack_name => 'example', forecast_period => { start => date(84), end => date(91) } });
ok($r->{structuredContent}{data_points}, 'the alias forecast');
$t->finish;
done_testing;
