#!/usr/bin/perl
# Reloads: a new generation replaces the old one; a broken config keeps the
# old one serving; listeners are kept, added and removed; HUP storms
# coalesce; a new generation that fails to start is rolled back.

use strict;
use warnings;
use IO::Socket::INET;
use Test::More;
use Test::PCM qw(wait_for);
use Time::HiRes qw(time sleep);

my $t = Test::PCM->new;
$t->write_config;
$t->run;
my $master = $t->pid;
my @w1 = $t->workers;
my $b1 = $t->broker;
is(scalar @w1, 2, 'two workers');
ok($b1, 'a broker');
my $ino1 = (stat $t->sock)[1];

is($t->reload, 'ok', 'reload completes');
ok(wait_for(sub { my @w = $t->workers; @w == 2 && !grep { my $o = $_; grep { $_ == $o } @w1 } @w }, 10),
    'old workers replaced by two new ones');
is($t->generation_of(($t->workers)[0]), 2, 'new workers are generation 2');
ok(wait_for(sub { my $b = $t->broker; $b && $b != $b1 && !kill(0, $b1) }, 10), 'broker replaced with the generation');
is($t->pid, $master, 'master pid unchanged');
is((stat $t->sock)[1], $ino1, 'unix socket kept (same inode)');
my ($s) = $t->http_get('/health');
is($s, 200, 'serving after reload');
($s) = $t->http_get('/health', unix => 1);
is($s, 200, 'serving on the unix socket after reload');

# A broken config: the old generation keeps serving, nothing changes.
my @w2 = $t->workers;
my $good = Test::PCM::slurp($t->conf);
$t->write_file('config.yaml', $good . "server:\n  port: 1\n");
is($t->reload, 'failed', 'reload with a duplicate section fails');
my ($err) = $t->log_grep(qr/^reload failed/);
like($err->{message}, qr/config\.yaml:\d+:\d+: server: duplicate key/, 'failure names file, line and key');
is($err->{level}, 'error', 'logged at error level');
is_deeply([ $t->workers ], \@w2, 'no worker replaced');
($s) = $t->http_get('/health');
is($s, 200, 'still serving');
$t->write_file('config.yaml', "server: [\n");
is($t->reload, 'failed', 'reload with a YAML syntax error fails');
is_deeply([ $t->workers ], \@w2, 'still no worker replaced');
is($t->pid, $master, 'master pid unchanged after failed reloads');

# Listener changes: add a port, then remove it.
my $cfg = $t->base_config;
(my $more = $cfg) =~ s/(    - address: unix:)/    - address: 127.0.0.1:%%PORT_extra%%\n$1/;
$t->write_config($more);
is($t->reload, 'ok', 'reload adding a listener');
($s) = $t->http_get('/health', port => $t->port('extra'));
is($s, 200, 'new listener accepts');
is((stat $t->sock)[1], $ino1, 'unix socket still the same inode');
$t->write_config($cfg);
is($t->reload, 'ok', 'reload removing it');
ok(wait_for(sub { scalar(grep { $t->generation_of($_) < 4 } $t->workers) == 0 }, 10),
    'old generation drained');
ok(wait_for(sub { !IO::Socket::INET->new(PeerAddr => '127.0.0.1',
    PeerPort => $t->port('extra'), Timeout => 1) }, 5), 'removed listener refuses after the drain');

# A HUP storm starts at most two reloads.
my $before = $t->count_log(qr/^reloading configuration/);
my $ended0 = $t->count_log(qr/^reload (complete|failed)/);
my $maxprocs = 0;
kill 'HUP', $t->pid for 1 .. 50;
my $t0 = time;
# Settled: every reload that started has finished, and nothing new for 2s.
wait_for(sub {
	my $n = scalar($t->children);
	$maxprocs = $n if $n > $maxprocs;
	my $started = $t->count_log(qr/^reloading configuration/);
	my $ended = $t->count_log(qr/^reload (complete|failed)/);
	time - $t0 > 2 && $started - $before == $ended - $ended0 && $started > $before;
}, 15);
wait_for(sub { scalar($t->workers) == 2 && !grep { $t->generation_of($_) < $t->generation_of(($t->workers)[-1]) } $t->workers }, 15);
my $storm = $t->count_log(qr/^reloading configuration/) - $before;
ok($storm >= 1 && $storm <= 2, "50 HUPs started $storm reload(s)");
ok($maxprocs <= 2 * 4 + 4, "process count stayed bounded ($maxprocs)");
($s) = $t->http_get('/health');
is($s, 200, 'serving after the storm');

# A new generation whose workers die before READY is rolled back.
SKIP: {
	skip 'needs --enable-test-hooks', 10 unless $t->has_hooks;
	$t->finish;
	my $u = Test::PCM->new;
	$u->env(PCM_TEST_CRASH_FILE => $u->dir . '/crash');
	$u->write_config;
	$u->allow_alert(qr/before it was ready|exited with code 1/);
	$u->run;
	my @w = $u->workers;
	open my $fh, '>', $u->dir . '/crash';
	close $fh;
	is($u->reload, 'failed', 'reload whose workers crash at start fails');
	my ($f) = $u->log_grep(qr/^reload failed/);
	like($f->{message}, qr/before it was ready; keeping generation 1/, 'rolled back to generation 1');
	ok(wait_for(sub { join(',', $u->workers) eq join(',', @w) }, 10), 'old workers still serving');
	unlink $u->dir . '/crash';
	is($u->reload, 'ok', 'next reload succeeds');
	$u->finish;

	# A draining worker that never finishes is killed after
	# shutdown_timeout + 2s.
	my $v = Test::PCM->new;
	$v->write_config($v->base_config(workers => 1) =~ s/shutdown_timeout: 5s/shutdown_timeout: 1s/r);
	$v->allow_alert(qr/is stuck/);
	$v->run;
	my ($spinner) = $v->workers;
	my $c = $v->connect_sock;
	print $c "GET /debug/spin HTTP/1.1\r\nHost: x\r\n\r\n";
	Time::HiRes::sleep(0.2);
	my $t0 = time;
	is($v->reload, 'ok', 'reload while a worker spins');
	ok(wait_for(sub { !kill(0, $spinner) }, 10), 'the spinning old worker was killed');
	my $dt = time - $t0;
	ok($dt >= 2.5 && $dt < 6, sprintf('after shutdown_timeout + 2s (%.1fs)', $dt));
	ok($v->count_log(qr/did not exit in time|killed by signal 9/) >= 0, 'logged');
	$v->finish;
	done_testing;
	exit;
}
$t->finish;
done_testing;
