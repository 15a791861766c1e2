#!/usr/bin/perl
# Command line: -V, -h, -t, -T, -s, unknown options.

use strict;
use warnings;
use IO::Socket::INET;
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
$t->write_config($t->base_config(extra => <<'Y'));
security:
  auth:
    tokens: ["s3cr3t-token-value"]
Y

my ($rc, $out, $err) = $t->cmd('-V');
is($rc, 0, '-V exits 0');
like($out, qr/^pulumicost-mcp \d+\.\d+\.\d+$/m, '-V prints the version');

($rc, $out) = $t->cmd('--help');
is($rc, 0, '--help exits 0');
like($out, qr/--test-config/, 'help lists options');

($rc, $out, $err) = $t->cmd('--bogus');
is($rc, 1, 'unknown option exits 1');
like($err, qr/usage:/, 'unknown option prints usage');

($rc, $out, $err) = $t->cmd('-t', '-c', $t->conf);
is($rc, 0, '-t on a good config exits 0');
like($err, qr/test is successful/, '-t verdict');
is(scalar(split /\n/, $err), 1, '-t verdict is one line');

($rc, $out, $err) = $t->cmd('-T', '-c', $t->conf);
is($rc, 0, '-T exits 0');
like($out, qr/^server:\n/m, '-T prints the effective config');
like($out, qr/read_timeout: 30s/, '-T shows defaults');
unlike($out, qr/s3cr3t/, '-T redacts secrets');
like($out, qr/<redacted>/, '-T marks redacted values');

# -T output is itself a valid configuration.
$t->write_file('roundtrip.yaml', $out);
($rc, undef, $err) = $t->cmd('-t', '-c', $t->dir . '/roundtrip.yaml');
is($rc, 0, '-T output validates') or diag $err;

$t->env(MCP_SERVER_PORT => '12345', PLUGIN_TIMEOUT => '45s');
$t->write_file('plain.yaml', "server:\n  pid_file: run/x.pid\n");
($rc, $out) = $t->cmd('-T', '-c', $t->dir . '/plain.yaml');
like($out, qr/port: 12345/, 'MCP_SERVER_PORT applied');
like($out, qr/timeout: 45s/, 'PLUGIN_TIMEOUT applied');
$t->env(MCP_SERVER_PORT => '', PLUGIN_TIMEOUT => '');

$t->write_file('bad.yaml', "server:\n  port: 99999\n");
($rc, $out, $err) = $t->cmd('-t', '-c', $t->dir . '/bad.yaml');
is($rc, 1, '-t on a bad config exits 1');
like($err, qr/bad\.yaml:2:9: server\.port: value 99999 is out of range/,
    '-t names file, line, column and key');

($rc, undef, $err) = $t->cmd('-t', '-c', $t->dir . '/missing.yaml');
is($rc, 1, 'missing config file exits 1');
like($err, qr/cannot open: No such file/, 'missing file explained');

# -s against a running server.
$t->run;
my $pid = $t->pid;
($rc, undef, $err) = $t->cmd('-s', 'reopen', '-c', $t->conf);
is($rc, 0, '-s reopen exits 0') or diag $err;
ok(wait_for(sub { $t->count_log(qr/^log file reopened/) == 1 }, 5), '-s reopen reached the master');
($rc, undef, $err) = $t->cmd('-s', 'reload', '-c', $t->conf);
is($rc, 0, '-s reload exits 0');
ok(wait_for(sub { $t->count_log(qr/^reload complete/) == 1 }, 15), '-s reload reloaded');
($rc, undef, $err) = $t->cmd('-s', 'restart', '-c', $t->conf);
is($rc, 1, 'unknown -s signal exits 1');
like($err, qr/unknown signal "restart"/, 'unknown -s signal explained');
($rc, undef, $err) = $t->cmd('-s', 'quit', '-c', $t->conf);
is($rc, 0, '-s quit exits 0');
ok(wait_for(sub { !$t->alive }, 15), '-s quit stopped the master');
ok(!-e $t->pid_file, 'pid file removed on exit');
$t->{pid} = undef;
($rc, undef, $err) = $t->cmd('-s', 'stop', '-c', $t->conf);
is($rc, 1, '-s with no server running exits 1');
like($err, qr/is the server running/, 'and says why');

# Without --foreground the command detaches and returns once ready.
($rc, undef, $err) = $t->cmd('-c', $t->conf, '-p', $t->dir);
is($rc, 0, 'daemon start returns 0 once ready') or diag $err;
my $dpid = Test::PCM::slurp($t->pid_file) =~ /(\d+)/ ? $1 : 0;
ok($dpid && kill(0, $dpid), "daemon master running (pid $dpid)");
my ($st) = $t->http_get('/health');
is($st, 200, 'daemon serves');
($rc) = $t->cmd('-s', 'stop', '-c', $t->conf);
is($rc, 0, '-s stop');
ok(wait_for(sub { !kill(0, $dpid) }, 10), 'daemon stopped');

# The directory of the pid file and of a unix socket is created if missing.
{
	my $u = Test::PCM->new;
	my $c = $u->base_config;
	$c =~ s{pid_file: %%PIDFILE%%}{pid_file: %%TESTDIR%%/newdir/pcm.pid};
	$c =~ s{unix:%%SOCK%%}{unix:%%TESTDIR%%/sockdir/pcm.sock};
	$u->write_config($c);
	$u->run;
	ok(-e $u->dir . '/newdir/pcm.pid', 'pid file directory created');
	my ($s) = $u->http_get('/health', unix => 1, path => $u->dir . '/sockdir/pcm.sock');
	is($s, 200, 'socket directory created');
	$u->finish;
}

# A start that fails reports it through the exit status, even detached.
# The port is held here, so the start fails as root and as any other user.
{
	my $hold = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Listen => 1, ReuseAddr => 0) or die "listen: $!";
	my $busy = $hold->sockport;
	(my $c = Test::PCM::slurp($t->conf)) =~ s/127\.0\.0\.1:\d+/127.0.0.1:$busy/;
	$c =~ s{pid_file: \S+}{'pid_file: ' . $t->dir . '/busy.pid'}e;
	$t->write_file('busy.yaml', $c);
	($rc, undef, $err) = $t->cmd('-c', $t->dir . '/busy.yaml', '-p', $t->dir);
	is($rc, 1, 'a failing detached start exits 1');
	like($err, qr/127\.0\.0\.1:$busy: bind: Address already in use/, 'and says why');
	# Were it to start anyway, it must not outlive the test.
	my $stray = Test::PCM::slurp($t->dir . '/busy.pid');
	kill 'TERM', $stray if $stray =~ /^(\d+)/;
}

$t->allow_alert(qr/must not be root|cannot start|exited with code 2/);
$t->finish;
done_testing;
