#!/usr/bin/perl
# Plugins across reloads: plugin processes are the master's, asked for by
# a key of what makes them (name, version, binary and its inode, size and
# mtime, user).  A reload carries unchanged plugins over (same process),
# starts changed ones anew for the new generation while the draining one
# finishes its calls on the old process, and stops removed ones once no
# generation uses them.  A broker that dies lets go of its plugins; the
# master's stop takes every plugin with it.

use strict;
use warnings;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Test::PCM qw(wait_for);
use Test::PCM::Plugins qw(install_plugin plugin_server);
use Time::HiRes qw(time sleep);

my ($t, $d, $root) = plugin_server();
install_plugin($root, 'keep', '1.0.0');
install_plugin($root, 'change', '1.0.0');
install_plugin($root, 'gone', '1.0.0');
# Name takes 600 ms: a health check is a call still in flight at a reload.
my $slow = install_plugin($root, 'slowname', '1.0.0', mode => 'slow',
    env => { TEST_PLUGIN_DELAY_MS => 600, TEST_PLUGIN_SLOW_RPCS => 'Name' });
$t->write_config($t->base_config(extra => <<"Y"));
pulumicost:
  plugin_dir: $root
plugins:
  timeout: 5s
  retry_delay: 200ms
  health_check_interval: 30s
Y
$t->run;

sub tool { $t->structured(@_) }
sub plugins { my %p = map { $_->{name} => $_ } @{tool(list_cost_plugins => {})->{plugins} // []}; return \%p }
sub all_ready {
	my (@names) = @_;
	return wait_for(sub { my $p = plugins(); !grep { ($p->{$_}{state} // '') ne 'ready' } @names }, 20);
}
sub alive { my ($pid) = @_; return $pid && ($t->proc_status($pid)->{State} // 'Z') !~ /^Z/ }

ok(all_ready(qw(keep change gone slowname)), 'four plugins ready');
my $before = plugins();
my %pid = map { $_ => $before->{$_}{pid} } qw(keep change gone slowname);
ok(!grep({ !$pid{$_} } keys %pid), 'each has a process');
# The launcher script execs node: the process the master started is it.
is(scalar(grep { ($t->proc_status($pid{$_})->{PPid} // 0) == $t->pid } keys %pid), 4, "plugin processes are the master's children");

# --- a reload with nothing changed: every plugin carried over ---------------
is($t->reload, 'ok', 'reload');
ok(all_ready(qw(keep change gone slowname)), 'ready in the new generation');
my $after = plugins();
is_deeply({ map { $_ => $after->{$_}{pid} } keys %pid }, \%pid, 'the same processes: carried over, not restarted');
ok($t->count_log(qr/^plugin keep 1\.0\.0: carried over \(pid $pid{keep}/) >= 1, 'the log says so');

# --- change one, remove one, keep one; a call in flight on the changed one --
install_plugin($root, 'change', '1.1.0');
system('rm', '-rf', "$root/gone");
utime(time, time + 5, $slow) or die "utime: $!";	# a new mtime: a changed binary
my $bg = fork // die;
if (!$bg) {
	my $r = tool(check_plugin_health => { plugin_name => 'slowname' });
	# Answered in 600 ms: "degraded" by the 500 ms rule, but answered.
	POSIX::_exit(($r->{status} // '') =~ /^(healthy|degraded)$/ ? 0 : 1);
}
sleep 0.15;	# the check is under way on the old process
is($t->reload, 'ok', 'reload with a changed, a removed and an unchanged plugin');
ok(wait_for(sub { waitpid($bg, WNOHANG) == $bg }, 15) && $? == 0,
    'the health check in flight finished on the old process, answered');
ok(all_ready(qw(keep change slowname)), 'the new generation has them ready');
$after = plugins();
is($after->{keep}{pid}, $pid{keep}, 'unchanged: the same process');
is($after->{change}{version}, '1.1.0', 'changed: the new version');
isnt($after->{change}{pid}, $pid{change}, 'in a new process');
isnt($after->{slowname}{pid}, $pid{slowname}, 'a binary with a new mtime: a new process too');
ok(!exists $after->{gone}, 'the removed plugin is not listed');
ok(wait_for(sub { !alive($pid{change}) && !alive($pid{gone}) && !alive($pid{slowname}) }, 20),
    'the old processes stop once the old generation is gone');
ok(alive($pid{keep}), 'the carried-over one runs on');
is(tool(check_plugin_health => { plugin_name => 'keep' })->{status}, 'healthy', 'and answers');

# --- the broker dies: its plugins go with it, the new broker starts them ----
my $broker = $t->broker;
my $keep2 = $after->{keep}{pid};
kill 'KILL', $broker;
ok(wait_for(sub { my $b = $t->broker; $b && $b != $broker }, 15), 'a new broker');
ok(wait_for(sub { !alive($keep2) }, 15), 'the plugins only the dead broker used are stopped');
ok(all_ready(qw(keep change slowname)), 'and started again for the new broker');

# --- the master's stop takes every plugin ------------------------------------
my @last = grep { $_ } map { $_->{pid} } values %{plugins()};
is(scalar @last, 3, 'three plugin processes');
$t->allow_alert(qr/broker pid \d+ \(generation \d+\) was killed by signal 9/);
$t->stop;
ok(wait_for(sub { !grep { alive($_) } @last }, 10), 'a stop leaves no plugin running');
$t->finish;
done_testing;
