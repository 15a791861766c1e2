#!/usr/bin/perl
# The worker sandbox: privileges dropped, no-new-privs, a seccomp filter;
# a forbidden syscall kills only that worker and the master names it.

use strict;
use warnings;
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
plan(skip_all => 'sanitizer builds run without the sandbox') if $t->has_sanitizers;
$t->write_config($t->base_config(server => "  sandbox: enforce\n") =~ s/  sandbox: %%SANDBOX%%\n//r);
$t->run;
my ($w) = $t->workers;
my $st = $t->proc_status($w);
is($st->{Seccomp}, 2, 'worker: Seccomp 2 (filter)');
is($st->{NoNewPrivs}, 1, 'worker: NoNewPrivs 1');
is($st->{Threads}, 1, 'worker: single-threaded');
SKIP: {
	skip 'not started as root', 2 unless $> == 0;
	my ($uid) = split /\s+/, $st->{Uid};
	isnt($uid, 0, "worker: non-root uid ($uid)");
	my $m = $t->proc_status($t->pid);
	is((split /\s+/, $m->{Uid})[0], 0, 'master keeps root (to bind on reload)');
}
my $b = $t->proc_status($t->broker);
is($b->{NoNewPrivs}, 1, 'broker: NoNewPrivs 1');

SKIP: {
	skip 'needs --enable-test-hooks', 9 unless $t->has_hooks;
	$t->allow_alert(qr/seccomp violation|blocked syscall/);
	# enforce: the worker dies with SIGSYS; the master names the syscall.
	my @before = $t->workers;
	my ($s) = $t->http_get('/debug/fork', timeout => 3);
	ok(!defined $s || $s != 500, 'fork was not allowed');
	ok(wait_for(sub { $t->count_log(qr/seccomp violation in worker pid \d+ \(syscall \d+=clone\)/) }, 5),
	    'enforce: master logs the syscall by name');
	my ($v) = $t->log_grep(qr/seccomp violation/);
	like($v->{message}, qr/was killed by signal 31/, 'enforce: killed by SIGSYS');
	ok(wait_for(sub { scalar($t->workers) == 2 }, 5), 'enforce: respawned');
	($s) = $t->http_get('/health');
	is($s, 200, 'other requests are served');
	$t->finish;

	# trap: the worker reports the syscall and exits 70.
	my $u = Test::PCM->new;
	$u->write_config($u->base_config(workers => 1) =~ s/sandbox: %%SANDBOX%%/sandbox: trap/r);
	$u->allow_alert(qr/seccomp violation|not respawning|blocked syscall/);
	$u->run;
	$u->http_get('/debug/fork', timeout => 3);
	ok(wait_for(sub { $u->count_log(qr/seccomp violation in worker pid \d+ \(syscall \d+=clone\); it exited with code 70/) }, 5),
	    'trap: master logs the syscall and exit 70');
	like(Test::PCM::slurp($u->stderr_file), qr/blocked syscall \d+ \(arch 0x[0-9a-f]+\)/,
	    'trap: the worker wrote the syscall to stderr');
	# More than 3 violations in 60s: stop respawning.
	for (1 .. 3) {
		wait_for(sub { scalar($u->workers) == 1 }, 10);
		$u->http_get('/debug/fork', timeout => 3);
	}
	ok(wait_for(sub { $u->count_log(qr/more than 3 seccomp violations in 60s/) }, 10),
	    'more than 3 violations in 60s stop respawning');
	ok($u->alive, 'master survives');
	$u->finish;
	done_testing;
	exit;
}
$t->finish;
done_testing;
