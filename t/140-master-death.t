#!/usr/bin/perl
# SIGKILL of the master: workers and broker follow, the port is free, a
# stale unix socket is detected and a fresh start binds; a second instance
# refuses to steal a live socket; fast and graceful stops.

use strict;
use warnings;
use IO::Socket::INET;
use Test::More;
use Test::PCM qw(wait_for);
use Time::HiRes qw(time);

my $t = Test::PCM->new;
$t->write_config;
$t->allow_alert(qr/^cannot start: .*(another server is listening|Address already in use)/);
$t->run;

# A second instance on the same unix socket refuses to start.
my $second = Test::PCM->new;
my $cfg = Test::PCM::slurp($t->conf);
$cfg =~ s/127\.0\.0\.1:\d+/127.0.0.1:%%PORT%%/;
$cfg =~ s{pid_file: \S+}{pid_file: %%PIDFILE%%};
$second->write_config($cfg);
my ($rc, undef, $err) = $second->cmd('--foreground', '-c', $second->conf);
is($rc, 1, 'second instance on a live socket exits 1');
like($err, qr/another server is listening on it/, 'and says why');
($rc, undef, $err) = $second->cmd('--foreground', '-c', $t->conf, '-p', $t->dir);
is($rc, 1, 'second instance on a busy port exits 1');
like($err, qr/Address already in use/, 'and says why');

my @kids = $t->children;
is(scalar @kids, 3, 'two workers and a broker');
my $t0 = time;
kill 'KILL', $t->pid;
waitpid($t->pid, 0);
# A child that exited but waits for init to reap it is a zombie: gone.
sub running {
	my ($pid) = @_;
	my $st = Test::PCM::slurp("/proc/$pid/status");
	return $st ne '' && $st !~ /^State:\s+Z/m;
}
my $gone = wait_for(sub { !grep { running($_) } @kids }, 5);
my $dt = time - $t0;
ok($gone, 'workers and broker exit when the master dies');
ok($dt < 2, sprintf('within 2s (%.2fs)', $dt));
my $free = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $t->port,
    Listen => 1, ReuseAddr => 1);
ok($free, 'the port is free');
close $free if $free;
ok(-S $t->sock, 'the unix socket file is left behind (stale)');
$t->{pid} = undef;

# A fresh start finds the stale socket and replaces it.
$t->run;
my ($s) = $t->http_get('/health', unix => 1);
is($s, 200, 'fresh start binds over the stale unix socket');

# Fast stop: TERM exits quickly and cleanly.
$t0 = time;
ok($t->stop('TERM'), 'TERM stops the server');
ok(time - $t0 < 2, sprintf('in under 2s (%.2fs)', time - $t0));
is($t->exit_status >> 8, 0, 'exit status 0');
ok(!-e $t->sock, 'unix socket removed on exit');

# Graceful stop waits for an in-flight request, within shutdown_timeout.
SKIP: {
	skip 'needs --enable-test-hooks', 2 unless $t->has_hooks;
	$t->run;
	my $c = $t->connect_sock;
	# A request that is still arriving when QUIT comes.
	print $c "GET /debug/pid HTTP/1.1\r\nHost: x\r\n";
	$t->signal('QUIT');
	Time::HiRes::sleep(0.3);
	print $c "\r\n";
	my ($st, $h) = Test::PCM::read_response($c, 5);
	is($st, 200, 'in-flight request completed during graceful stop');
	is($h->{connection}, 'close', 'with Connection: close');
	wait_for(sub { !$t->alive }, 10);
	$t->{pid} = undef;
}
$t->finish;
done_testing;
