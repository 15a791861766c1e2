#!/usr/bin/perl
# Supervision: a killed worker is replaced within a second; a crash loop
# backs off; exit status 2 is not respawned; the watchdog kills a stuck
# worker and leaves idle ones alone.

use strict;
use warnings;
use Test::More;
use Test::PCM qw(wait_for);
use Time::HiRes qw(time sleep);

my $t = Test::PCM->new;
$t->skip_unless_hooks;
$t->env(PCM_TEST_CRASH_FILE => $t->dir . '/crash');
$t->write_config($t->base_config(workers => 1, server => "  worker_watchdog: 2s\n"));
$t->allow_alert(qr/was killed by signal 9|exited with code [12]|is stuck|not respawning/);
$t->run;

# SIGKILL the only worker: time until a replacement serves.
my ($w) = $t->workers;
my $t0 = time;
kill 'KILL', $w;
my $served = wait_for(sub {
	my ($s, $j) = $t->json_get('/debug/pid', timeout => 1);
	defined $s && $s == 200 && $j->{pid} != $w;
}, 5);
my $dt = time - $t0;
ok($served, 'a replacement worker serves');
ok($dt < 1.0, sprintf('within 1s of SIGKILL (%.3fs)', $dt));
diag sprintf('worker SIGKILL to replacement serving: %.3fs', $dt);
my ($a) = $t->log_grep(qr/was killed by signal 9/);
is($a->{level}, 'alert', 'unexpected worker death logged at alert');

# Crash loop: each respawn exits at once; the delay doubles.
open my $fh, '>', $t->dir . '/crash';
close $fh;
($w) = $t->workers;
kill 'KILL', $w;
ok(wait_for(sub { $t->count_log(qr/respawning worker slot 0 of generation 1 in 4s/) }, 15),
    'back-off reached 4s');
my @delays = map { /in (\d+)s/ ? $1 : () } map { $_->{message} } $t->log_grep(qr/crash loop back-off/);
is_deeply([ @delays[0 .. 2] ], [1, 2, 4], 'back-off doubles: 1s, 2s, 4s');
my @starts = map { $_->{timestamp} } $t->log_grep(qr/test failpoint: exiting at start-up/);
ok(@starts >= 2 && @starts <= 4, 'the master does not spin (' . scalar(@starts) . ' starts)');
unlink $t->dir . '/crash';
ok(wait_for(sub { my ($s) = $t->http_get('/health', timeout => 1); defined $s && $s == 200 }, 10),
    'serving again once the cause is gone');

# Exit status 2: fatal configuration, not respawned.
($w) = $t->workers;
$t->http_get('/debug/exit?code=2', timeout => 2);
ok(wait_for(sub { $t->count_log(qr/exited with code 2 \(fatal configuration error\): not respawning/) }, 5),
    'exit 2 is not respawned');
ok(wait_for(sub { scalar($t->workers) == 0 }, 3), 'slot stays empty');
ok($t->alive, 'master still running');
is($t->reload, 'ok', 'a reload brings workers back');
ok(wait_for(sub { scalar($t->workers) == 1 }, 5), 'one worker again');

# Watchdog: a worker spinning in a handler is killed after worker_watchdog.
$t->finish;
my $u = Test::PCM->new;
$u->write_config($u->base_config(workers => 2, server => "  worker_watchdog: 2s\n"));
$u->allow_alert(qr/is stuck|was killed by signal 9/);
$u->run;
my @before = $u->workers;
my $spin = $u->connect_sock;
print $spin "GET /debug/spin HTTP/1.1\r\nHost: x\r\n\r\n";
$t0 = time;
ok(wait_for(sub { $u->count_log(qr/is stuck: no heartbeat/) }, 10), 'watchdog noticed the stuck worker');
my $wd = time - $t0;
ok($wd >= 1.5 && $wd < 5, sprintf('after about worker_watchdog (%.1fs)', $wd));
my ($stuck) = $u->log_grep(qr/is stuck/);
my ($spid) = $stuck->{message} =~ /worker pid (\d+)/;
ok(wait_for(sub { my @w = $u->workers; @w == 2 && !grep { $_ == $spid } @w }, 5), 'stuck worker replaced');
my ($idle) = grep { $_ != $spid } @before;
ok((grep { $_ == $idle } $u->workers), 'the idle worker was not killed');
sleep 4.5;	# two more watchdog periods with no traffic
ok((grep { $_ == $idle } $u->workers), 'idle workers survive 2x the watchdog');
is($u->count_log(qr/is stuck/), 1, 'no other worker reported stuck');
$u->finish;

# The shortest watchdog, 1 s: idle processes beat often enough for it
# (they beat once a second, and one a little late against the master's
# tick was killed as stuck).
my $v = Test::PCM->new;
$v->write_config($v->base_config(workers => 3, server => "  worker_watchdog: 1s\n"));
$v->run;
my @idle = $v->workers;
sleep 6;
is($v->count_log(qr/is stuck/), 0, 'a 1 s watchdog: no idle process taken for stuck in 6 s');
is_deeply([sort $v->workers], [sort @idle], 'the same three workers serve');
$v->finish;
done_testing;
