#!/usr/bin/perl
# detect_cost_anomalies: a robust weekly baseline over the stack, each
# service and each resource.  The data is 120 days of the example stack's
# charges with a weekly pattern and noise, with five planted events whose
# days and causes are known in advance; precision and recall per
# sensitivity are measured against them.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM;
use Test::PCM::Billing qw(focus_csv day_of rng urn start_billing);

my $t = Test::PCM->new;
my $base = '2024-03-04';	# a Monday
my $rnd = rng(7);
my %plan = (	# day => what is planted
    50 => 'web-1 consumes three times its usual hours',
    62 => 'orders-db unit price doubles',
    75 => 'a one-off purchase on web-2',
    96 => 'web-1 and web-2 stop for a day',
    105 => 'ci-runner appears and keeps running',
);
my @rows;
for my $n (0 .. 119) {
    my $wd = $n % 7;	# 0 Monday
    my $load = $wd >= 5 ? 0.6 : 1;	# quieter weekends
    my $noise = sub { 1 + 0.2 * ($rnd->() - 0.5) };
    for my $w (['i-0a11b2c3d4e5f60711', 'web-1'], ['i-0a21b2c3d4e5f60712', 'web-2']) {
        next if $n == 96;
        my $hours = 24 * $load * $noise->();
        $hours *= 3 if $n == 50 && $w->[1] eq 'web-1';
        push @rows, { start => day_of($base, $n), cost => $hours * 0.0832, qty => $hours,
            unit => 'Hrs', id => $w->[0], service => 'Amazon Elastic Compute Cloud' };
    }
    my $dbh = 24 * $noise->();
    push @rows, { start => day_of($base, $n), cost => $dbh * 0.1667 * ($n == 62 ? 2 : 1),
        qty => $dbh, unit => 'Hrs', id => 'orders-db-3f2a1c',
        service => 'Amazon Relational Database Service' };
    push @rows, { start => day_of($base, $n), cost => 1.0 * $load * $noise->(), qty => 40,
        unit => 'GB-Mo', id => 'shop-prod-assets-5c1e', service => 'Amazon Simple Storage Service' };
    push @rows, { start => day_of($base, $n), days => 0, cost => 20, category => 'Purchase',
        id => 'i-0a21b2c3d4e5f60712', service => 'Amazon Elastic Compute Cloud' } if $n == 75;
    push @rows, { start => day_of($base, $n), cost => 3 * $noise->(), qty => 24, unit => 'Hrs',
        id => 'i-0c9d8e7f6a5b4c3d2', service => 'Amazon Elastic Compute Cloud' } if $n >= 105;
    # Spend of another stack: never in this stack's anomalies.
    push @rows, { start => day_of($base, $n), cost => $n == 80 ? 500 : 5, id => 'i-other',
        service => 'Amazon Elastic Compute Cloud' };
}
start_billing($t, files => { '2024.csv' => focus_csv(@rows) });

my %tr = (time_range => { start => '2024-04-15', end => '2024-07-02' });	# days 42..119
sub anomalies { return $t->tool(detect_cost_anomalies => { stack_name => 'example', %tr, @_ }); }
sub dayno { my ($y, $m, $dd) = $_[0] =~ /^(\d+)-(\d+)-(\d+)/; return (day_of("$y-$m-$dd", 0) - day_of($base, 0)) / 86400; }

my %found;
for my $s (qw(LOW MEDIUM HIGH)) {
    my $r = anomalies(sensitivity => $s);
    my $sc = $r->{structuredContent} or do { fail("$s answered"); diag explain $r; next };
    my @runs = grep { $_->{scope} eq 'stack' } @{$sc->{anomalies}};
    my (%hit, $tp);
    for my $a (@runs) {
        my ($from, $n) = (dayno($a->{timestamp}), $a->{days});
        my @p = grep { $_ >= $from && $_ < $from + $n } keys %plan;
        $hit{$_} = $a for @p;
        $tp++ if @p;
    }
    my $recall = keys(%hit) / keys(%plan);
    my $precision = @runs ? ($tp // 0) / @runs : 1;
    diag(sprintf "sensitivity %-6s: %d stack anomalies, precision %.2f, recall %.2f (%s)",
        $s, scalar @runs, $precision, $recall, join(' ', sort { $a <=> $b } keys %hit));
    $found{$s} = { recall => $recall, precision => $precision, hit => \%hit, sc => $sc };
}
ok($found{HIGH}{recall} >= $found{MEDIUM}{recall} && $found{MEDIUM}{recall} >= $found{LOW}{recall},
    'a higher sensitivity finds at least as much');
is($found{HIGH}{recall}, 1, 'HIGH finds every planted event');
ok($found{MEDIUM}{recall} >= 0.8, 'MEDIUM recall at least 0.8');
ok($found{$_}{precision} >= 0.8, "$_ precision at least 0.8") for qw(LOW MEDIUM HIGH);
ok($found{LOW}{hit}{75}, 'LOW still finds the largest event (a 20 USD purchase on a 9 USD day)');

# What each event is put down to, from the data.
my $h = $found{MEDIUM}{hit};
sub causes { my ($a) = @_; return { map { ($_->{kind} => $_->{resource} // '') } @{$a->{potential_causes}} }; }
is(causes($h->{50})->{usage_quantity_change}, urn('aws:ec2/instance:Instance::web-1'), 'day 50: a usage-quantity spike on web-1');
is(causes($h->{62})->{unit_price_change}, urn('aws:rds/instance:Instance::orders-db'), 'day 62: a unit-price change on orders-db');
is(causes($h->{75})->{one_off_charge}, urn('aws:ec2/instance:Instance::web-2'), 'day 75: a one-off purchase on web-2');
ok(causes($h->{96})->{resource_stopped}, 'day 96: resources stopped');
is($h->{96}{direction}, 'drop', 'a drop');
is(causes($h->{105})->{new_resource}, urn('aws:ec2/instance:Instance::ci-runner'), 'day 105: a new resource');
is_deeply($h->{75}{resource_urns}, [urn('aws:ec2/instance:Instance::web-2')], 'the resource behind it');
my $a75 = $h->{75};
is($a75->{severity}, 'CRITICAL', 'a 220% deviation is CRITICAL');
ok(abs($a75->{current_cost} - $a75->{baseline_cost} - 20) < 1.5, 'current minus baseline is about the purchase')
    or diag explain $a75;
ok(!(grep { $_->{name} =~ /i-other/ } @{$found{HIGH}{sc}{anomalies}}), 'another stack\'s spike is not this stack\'s');
my @res = grep { $_->{scope} eq 'resource' && $_->{name} eq urn('aws:ec2/instance:Instance::web-1') }
    @{$found{MEDIUM}{sc}{anomalies}};
ok((grep { dayno($_->{timestamp}) == 50 } @res), 'the resource line finds its spike too');
is($found{MEDIUM}{sc}{thresholds}{min_score}, 4, 'the thresholds are stated');
like($found{MEDIUM}{sc}{method}, qr/median of the same weekday/, 'the method is stated');

# Days after the data ends are not days without spend.
my $late = anomalies(time_range => { start => '2024-06-20', end => '2024-08-31' })->{structuredContent};
ok(!(grep { dayno($_->{timestamp}) >= 120 } @{$late->{anomalies}}), 'nothing reported past the end of the data')
    or diag explain [ map { $_->{timestamp} } @{$late->{anomalies}} ];

# Only the total, and the alias.
my $r = $t->tool(detect_anomalies => { stack_name => 'example', %tr, dimensions => ['total'] });
ok(!(grep { $_->{scope} ne 'stack' } @{$r->{structuredContent}{anomalies}}), 'dimensions honoured, alias works');

# Bad input.
$r = anomalies(sensitivity => 'EXTREME');
ok($r->{isError} || $r->{error}, 'an unknown sensitivity is refused');
$r = $t->tool(detect_cost_anomalies => { stack_name => 'example', time_range => { start => 'soon', end => '2024-07-01' } });
like($r->{content}[0]{text}, qr/time_range\.start must be a date-time/, 'a bad date says which');
$r = $t->tool(detect_cost_anomalies => { stack_name => 'example', time_range => { start => '2030-01-01', end => '2030-02-01' } });
like($r->{content}[0]{text}, qr/^no spend to analyse/, 'no spend in range: said plainly');
$t->finish;
done_testing;
