#!/usr/bin/perl
# The billing image is built by a child process of the broker: while an
# export loads (held here for 2.5 s by a test hook), the broker goes on
# answering (a stack read) and the watchdog (1 s) keeps hearing from it;
# calls made meanwhile wait for the same build; a loader that dies is said
# plainly, and the next call builds again.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use Test::PCM qw(wait_for);
use Test::PCM::Billing qw(focus_csv day_of);

my $t = Test::PCM->new;
$t->skip_unless_hooks;
my $d = $t->dir;
my $src = $ENV{PCM_SRCDIR} // '.';
my $day = day_of('2024-09-01', 0);
mkdir "$d/billing";
$t->write_file('billing/sep.csv', focus_csv(
    { start => $day, cost => 10, id => 'i-0a11b2c3d4e5f60711', service => 'Amazon Elastic Compute Cloud' },
    { start => $day, cost => 5, id => 'orders-db-3f2a1c', service => 'Amazon Relational Database Service' }));
$t->write_file('stack.json', Test::PCM::slurp("$src/conf/example-stack.json"));
$t->env(PCM_TEST_BILLING_DELAY_MS => 2500);
$t->write_config($t->base_config(server => "  worker_watchdog: 1s\n", extra => <<"Y"));
stacks:
  disk: $d/stack.json
billing:
  focus:
    - $d/billing
cache:
  enabled: false
Y
$t->run;

my %tr = (stack_name => 'disk', time_range => { start => '2024-09-01T00:00:00Z', end => '2024-09-02T00:00:00Z' });
sub send_call { $t->tool_send(@_) or die "connect: $!" }
sub answer_of { scalar(Test::PCM::tool_answer($_[0], 20)) // {} }

my $t0 = time;
my $a = send_call(get_actual_costs => { %tr });
ok(wait_for(sub { $t->count_log(qr/^billing data: loading 1 file in process \d+$/) == 1 }, 5),
    'the first call starts a loader process');
my $c = send_call(get_actual_costs => { %tr });
my $p = $t->structured(analyze_projected_costs => { stack_name => 'disk' });
my $tp = time - $t0;
ok(($p->{total_monthly} // 0) > 0, 'meanwhile the broker reads a stack file for another call');
cmp_ok($tp, '<', 2.0, sprintf('at once (%.2f s), before the load ends', $tp));
my ($ra, $rc) = (answer_of($a), answer_of($c));
my $ta = time - $t0;
is($ra->{structuredContent}{totals}{USD}, 15, 'the first call answers when the load ends') or diag explain $ra;
cmp_ok($ta, '>=', 2.4, sprintf('after the held load (%.2f s)', $ta));
is($rc->{structuredContent}{totals}{USD}, 15, 'a call made during the load waits for it');
is($t->count_log(qr/^billing data: loading/), 1, 'one load for both');
ok(!$t->count_log(qr/is stuck/), 'the watchdog (1 s) never took the broker for stuck');

# A loader that dies: said plainly; the next call loads again.
utime(time + 10, time + 10, "$d/billing/sep.csv") or die;
my $e = send_call(get_actual_costs => { %tr });
my $pid;
ok(wait_for(sub { $t->count_log(qr/^billing data: loading/) == 2 }, 5), 'a changed file: loaded again');
($pid) = (map { $_->{message} =~ /in process (\d+)$/ ? $1 : () } $t->log_grep(qr/^billing data: loading/))[-1];
ok($pid && kill('KILL', $pid), "the loader ($pid) killed");
my $re = answer_of($e);
ok($re->{isError}, 'the waiting call fails');
like($re->{content}[0]{text} // '', qr/^the process loading the billing data was killed by signal 9/,
    'saying how the loader ended') or diag explain $re;
my $again = $t->structured(get_actual_costs => { %tr });
is($again->{totals}{USD}, 15, 'the next call loads again, and answers');
is($t->count_log(qr/^billing data: loading/), 3, 'in a third loader');
is($t->count_log(qr/^billing data: \d+ rows \(0 bad\) in a \d+-byte image/), 2,
    'each finished load said once (the first served two calls), not once a call');

# The server stopping during a load: the loader goes with the broker.
utime(time + 20, time + 20, "$d/billing/sep.csv") or die;
my $last = send_call(get_actual_costs => { %tr });
ok(wait_for(sub { $t->count_log(qr/^billing data: loading/) == 4 }, 5), 'a fourth load');
($pid) = (map { $_->{message} =~ /in process (\d+)$/ ? $1 : () } $t->log_grep(qr/^billing data: loading/))[-1];
ok($pid && kill(0, $pid), "its loader ($pid) runs");
$t->finish;
ok(wait_for(sub { !kill(0, $pid) }, 5), 'and is gone once the server has stopped');
close $last;
done_testing;
