#!/usr/bin/perl
# Soak under faults: client processes mix transports (/mcp, /rpc, the
# unix-socket stream protocol) and tools for PCM_SOAK_SECONDS (20 in the
# suite; `PCM_SOAK_SECONDS=600 prove -I t/lib t/760-soak.t` is the full
# run) while a schedule reloads the server, kills a worker and kills a
# plugin, over and over.  No request may fail, except one that was in
# flight on a worker killed under it (its connection dies: counted apart);
# a stream session a reload closes is reopened and its request sent again,
# as the bridge does (counted too).
# Reported: requests by transport, failures, the faults, and the RSS and
# descriptor counts of the master, the broker and the workers at the start
# and the end.

use strict;
use warnings;
use IO::Socket::UNIX;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Socket qw(SOCK_STREAM);
use Test::More;
use Test::PCM qw(wait_for);
use Test::PCM::Plugins qw(install_plugin node_ready);
use Time::HiRes qw(time sleep);

my $secs = $ENV{PCM_SOAK_SECONDS} // 20;
my $nclients = 4;
my $src = $ENV{PCM_SRCDIR} // '.';
my $t = Test::PCM->new;
my $d = $t->dir;
my $plugins = node_ready();
my $pluginconf = '';
if ($plugins) {
	mkdir "$d/plugins";
	chmod 0755, "$d/plugins";
	install_plugin("$d/plugins", 'soak', '1.0.0');
	$pluginconf = "pulumicost:\n  plugin_dir: $d/plugins\nplugins:\n  timeout: 3s\n"
	    . "  retry_delay: 100ms\n  health_check_interval: 1s\n";
}
my $stream = "$d/run/stream.sock";
# The embedded example stack and billing sample: projected and actual tools.
my $cfg = $t->base_config(extra => "stacks:\n  example:\n    state: builtin:example\n"
    . "    preview: builtin:example-preview\nbilling:\n  focus:\n    - builtin:example-billing\n"
    . $pluginconf);
$cfg =~ s{(  worker_processes)}{    - address: unix:$stream\n      protocol: stream\n      mode: "0666"\n$1};
$t->write_config($cfg);
$t->allow_alert(qr/killed by signal|crash loop|exited with code/);
$t->run;

my $preview = Test::PCM::slurp("$src/conf/example-preview.json");
my @calls = (
	[ 'tools/list', {} ],
	[ 'tools/call', { name => 'analyze_projected_costs', arguments => { pulumi_json => $preview } } ],
	[ 'tools/call', { name => 'list_cost_plugins', arguments => { include_health => JSON::PP::true } } ],
	[ 'tools/call', { name => 'get_optimization_recommendations', arguments => { stack_name => 'example' } } ],
	[ 'tools/call', { name => 'get_actual_costs', arguments => { stack_name => 'example',
	    time_range => { start => '2026-10-01', end => '2026-10-31' } } } ],
	[ 'tools/call', { name => 'analyze_stack_comprehensive', arguments => { stack_name => 'example' } } ],
);
push @calls, [ 'tools/call', { name => 'check_plugin_health', arguments => { plugin_name => 'soak' } } ]
    if $plugins;

# One request; (ok, why): why "conn" when the connection died without an answer.
sub answer_ok {
	my ($method, $body) = @_;
	my $j = eval { decode_json($body // '') } or return (0, 'not JSON (' . length($body // '')
	    . ' bytes): ' . substr($body // '', 0, 100) . ' ... ' . substr($body // '', -100));
	return (0, 'error: ' . encode_json($j->{error})) if $j->{error};
	return (0, 'no result') unless $j->{result};
	return (0, 'tool error: ' . substr(encode_json($j->{result}), 0, 300))
	    if $method eq 'tools/call' && $j->{result}{isError};
	return (1, '');
}
sub over_http {
	my ($path, $method, $params) = @_;
	my $body = encode_json({ jsonrpc => '2.0', id => 1, method => $method, params => $params });
	my ($s, $h, $b) = $t->http("POST $path HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
	    . "Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\n"
	    . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body", timeout => 15);
	return (0, 'conn') unless defined $s;
	return (0, "HTTP $s: " . substr($b // '', 0, 200)) unless $s == 200;
	# A body cut short: the connection died under it, as with no answer.
	my $chunked = ($h->{'transfer-encoding'} // '') =~ /chunked/i;
	return (0, 'conn') if $chunked ? $b !~ /(?:^|\r\n)0\r\n\r\n\z/ :
	    defined $h->{'content-length'} && length($b) < $h->{'content-length'};
	$b = Test::PCM::dechunk($b) if $chunked;
	return answer_ok($method, $b);
}
# A stream session closes at a message boundary when its worker drains
# (a reload); a client then reconnects and sends its request again, as
# pulumicost-mcp bridge does (every tool is read-only).  Under load a new
# connection can land on a worker that starts draining before it reads it,
# so like the bridge this tries again each time, here at most four times:
# (ok, why, resent).
sub over_stream {
	my ($method, $params) = @_;
	my ($ok, $why) = stream_once($method, $params);
	my $resent = 0;
	while (!$ok && $why eq 'conn' && $resent < 4) {
		($ok, $why) = stream_once($method, $params);
		$resent++;
	}
	return ($ok, $why, $resent ? 1 : 0);
}
sub stream_once {
	my ($method, $params) = @_;
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $stream) or return (0, 'conn');
	local $SIG{ALRM} = sub { die "timeout\n" };
	alarm 15;
	my @r = eval {
		print $s encode_json({ jsonrpc => '2.0', id => 0, method => 'initialize', params => {
		    protocolVersion => '2025-06-18', capabilities => {}, clientInfo => { name => 'soak', version => '1' } } }), "\n";
		my $init = <$s>;
		return (0, 'conn') unless defined $init;
		print $s encode_json({ jsonrpc => '2.0', method => 'notifications/initialized' }), "\n",
		    encode_json({ jsonrpc => '2.0', id => 1, method => $method, params => $params }), "\n";
		my $line = <$s>;
		return (0, 'conn') unless defined $line;
		return answer_ok($method, $line);
	};
	alarm 0;
	return @r ? @r : (0, "stream: $@");
}

# --- clients: each writes "start end transport ok why" lines ------------------
my $deadline = time + $secs;
my @clients;
for my $k (1 .. $nclients) {
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		open my $out, '>', "$d/client$k.log" or POSIX::_exit(1);
		my $n = $k;
		while (time < $deadline) {
			my $tr = (qw(mcp rpc stream))[$n % 3];
			my ($m, $p) = @{$calls[int($n / 3) % @calls]};
			$n++;
			my $t0 = time;
			my ($ok, $why, $resent) = $tr eq 'stream' ? over_stream($m, $p) : over_http("/$tr", $m, $p);
			printf $out "%.3f %.3f %s %s %d %d %s\n", $t0, time, $tr, $p->{name} // $m, $ok,
			    $resent // 0, $why =~ s/\n/ /gr;
		}
		close $out;
		POSIX::_exit(0);	# not exit: the parent's END blocks are its own
	}
	push @clients, $pid;
}

# --- the schedule of faults ------------------------------------------------------
# The server's processes by role (plugins are the master's children too).
sub snapshot {
	my %u;
	for my $pid ($t->pid, $t->children) {
		my $cmd = Test::PCM::slurp("/proc/$pid/cmdline");
		my $role = $pid == $t->pid ? 'master' : $cmd =~ /--role\0(broker|worker)\0/ ? $1 : next;
		my $rss = ($t->proc_status($pid)->{VmRSS} // '0') =~ /(\d+)/ ? $1 : 0;
		my $fds = () = glob "/proc/$pid/fd/*";
		$u{$role}{rss} = $rss if $rss > ($u{$role}{rss} // 0);
		$u{$role}{fds} = $fds if $fds > ($u{$role}{fds} // 0);
	}
	return \%u;
}
sub newest_workers {
	my @w = $t->workers;
	my ($g) = sort { $b <=> $a } map { $t->generation_of($_) } @w;
	return grep { $t->generation_of($_) == $g } @w;
}

sleep 1;
my $start = snapshot();
my (@events, %faults);
my @plan = ('reload', 'worker', $plugins ? 'plugin' : ());
my $i = 0;
while (time < $deadline - 1) {
	my $what = $plan[$i++ % @plan];
	if ($what eq 'reload') {
		$t->signal('HUP');
	} elsif ($what eq 'worker') {
		my @w = newest_workers();
		next unless @w;
		kill 'KILL', $w[int rand @w];
	} else {
		my ($pl) = grep { Test::PCM::slurp("/proc/$_/cmdline") =~ /test-plugin\.mjs/ } $t->children;
		next unless $pl;
		kill 'KILL', $pl;
	}
	push @events, [ time, $what ];
	$faults{$what}++;
	sleep 2;
}
for my $c (@clients) {
	my $done = wait_for(sub { waitpid($c, WNOHANG) != 0 }, 30);
	if (!$done) { kill 'KILL', $c; waitpid($c, 0) }
}
ok(wait_for(sub { my ($s) = $t->http_get('/health'); ($s // 0) == 200 }, 10), 'the server is healthy after the soak');
ok(wait_for(sub { scalar(newest_workers()) == 2 }, 15),
    'both workers of the newest generation serve');
sleep 1;
my $end = snapshot();

# --- the tally ------------------------------------------------------------------
my (%by, @fail, $inflight, $total, $resent);
for my $k (1 .. $nclients) {
	for (split /\n/, Test::PCM::slurp("$d/client$k.log")) {
		my ($t0, $t1, $tr, $what, $ok, $again, $why) = split / /, $_, 7;
		$total++;
		$by{$tr}++;
		$resent += $again;
		next if $ok;
		# Its connection died under it while a worker was being killed.
		if ($why eq 'conn' && grep { $_->[1] eq 'worker' && $_->[0] >= $t0 - 0.05 && $_->[0] <= $t1 + 0.05 } @events) {
			$inflight++;
			next;
		}
		push @fail, "$tr $what: $why";
	}
}
$inflight //= 0;
$resent //= 0;
ok($total > 20 * $secs, "requests: $total in $secs s (" . join(', ', map { "$_ $by{$_}" } sort keys %by) . ')');
ok(!@fail, scalar(@fail) . " failures; $inflight in flight on a killed worker (counted apart);"
    . " $resent stream requests sent again after a reload closed their session")
    or diag join("\n", @fail[0 .. ($#fail > 9 ? 9 : $#fail)]);
ok(($faults{reload} // 0) >= 2 && ($faults{worker} // 0) >= 2 && (!$plugins || ($faults{plugin} // 0) >= 1),
    'faults: ' . join(', ', map { "$_ $faults{$_}" } sort keys %faults));
# The master lives through it all: its descriptors must not grow.
ok($end->{master}{fds} <= $start->{master}{fds} + 2,
    "master descriptors: $start->{master}{fds} -> $end->{master}{fds}");
ok($end->{master}{rss} < $start->{master}{rss} + 8192,
    "master RSS: $start->{master}{rss} kB -> $end->{master}{rss} kB");
my $report = sprintf "soak %d s: %d requests (%s), %d failures, %d in flight on killed workers,"
    . " %d stream requests resent after a drain; faults: %s; RSS kB / fds at start -> end: %s", $secs,
    $total, join(', ', map { "$_ $by{$_}" } sort keys %by), scalar @fail, $inflight, $resent, join(', ', map { "$_ $faults{$_}" } sort keys %faults),
    join('; ', map { "$_ " . ($start->{$_}{rss} // 0) . "/" . ($start->{$_}{fds} // 0) . " -> "
	. ($end->{$_}{rss} // 0) . "/" . ($end->{$_}{fds} // 0) } qw(master broker worker));
diag $report;
if (my $f = $ENV{PCM_SOAK_REPORT}) { open my $fh, '>>', $f or die "$f: $!"; print $fh "$report\n"; close $fh }
$t->finish;
done_testing;
