#!/usr/bin/perl
# Benchmark against peers, in one run: pulumicost-mcp (one worker), nginx
# returning the same bytes (the ceiling of an HTTP server on this machine)
# and a Node server on @modelcontextprotocol/sdk 1.32.2 (bench/node-peer.cjs)
# implementing the same tool.  Every server on core 0, the load generator
# on core 1; identical request bodies; the answers are checked equivalent
# before anything is timed.  Workloads: tools/list, and tools/call
# analyze_projected_costs on a 100-resource preview, over Streamable HTTP
# (/mcp, keep-alive), over /rpc and over the unix-socket stream protocol,
# at 1, 16 and 64 connections; medians of the runs.  Then the RSS of the
# master, broker and worker, idle and under load.
#
#   perl bench/peers.pl [--bin ./pulumicost-mcp] [--out FILE] [--duration S] [--runs N]
#
# Needs wrk, nginx, node, cc, taskset, and the SDK in t/npm (npm ci there).

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Getopt::Long;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(strftime :sys_wait_h);
use Time::HiRes qw(sleep time);
use lib dirname(__FILE__);
use Bench;

my $root = abs_path(dirname($0) . '/..');
my ($bin, $out, $dur, $runs) = ("$root/pulumicost-mcp", "$root/bench/RESULTS.md", 5, 3);
GetOptions('bin=s' => \$bin, 'out=s' => \$out, 'duration=i' => \$dur, 'runs=i' => \$runs)
    or die "bad options\n";
-x $bin or die "$bin: not built (make)\n";
for (qw(wrk node cc taskset)) { system("command -v $_ >/dev/null") == 0 or die "$_ is needed\n" }
my $nginx = (grep { -x } '/usr/sbin/nginx', '/usr/bin/nginx')[0] or die "nginx is needed\n";
my $npm = "$root/t/npm";
-d "$npm/node_modules/\@modelcontextprotocol/sdk" or die "the SDK: cd t/npm && npm ci\n";
my $J = JSON::PP->new->canonical;
my $dir = tempdir(CLEANUP => !$ENV{BENCH_KEEP});
print STDERR "bench files in $dir\n" if $ENV{BENCH_KEEP};
chmod 0755, $dir;
sub spit { my ($f, $s) = @_; open my $fh, '>', $f or die "$f: $!"; print $fh $s; close $fh; return $f }
sub spawn { Bench::spawn('taskset', '-c', '0', @_) }	# every server on core 0
sub wait_port { Bench::wait_port($_[0]) or die "nothing on port $_[0]\n" }
sub post { (Bench::post(@_))[1] }
*free_port = \&Bench::free_port;

# --- the requests --------------------------------------------------------------
my $preview = Bench::preview($root, 100);
my $list = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}';
my $call = Bench::call_body($root, 100);
spit("$dir/list.json", $list);
spit("$dir/call.json", $call);

# --- pulumicost-mcp: one worker, HTTP and the stream socket ---------------------
sub ours {
    my ($name, $extra) = @_;
    my $port = free_port();
    my $sub = "$dir/$name";
    mkdir $sub;
    chmod 0777, $sub;
    spit("$sub/c.yaml", "server:\n  listen:\n    - address: 127.0.0.1:$port\n"
        . "    - address: unix:$sub/s.sock\n      protocol: stream\n      mode: \"0666\"\n"
        . "  worker_processes: 1\n  pid_file: $sub/pid\n  sandbox: enforce\n"
        . "observability:\n  logging:\n    output: $sub/log\n    level: warn\n" . ($extra // ''));
    my $pid = spawn($bin, '-c', "$sub/c.yaml", '-p', $sub, '--foreground');
    wait_port($port);
    for (1 .. 250) { last if -S "$sub/s.sock"; sleep 0.02 }
    return { pid => $pid, port => $port, sock => "$sub/s.sock" };
}
my $us = ours('ours');
my $nocache = ours('nocache', "cache:\n  enabled: false\n");
my $our_list = post($us->{port}, '/mcp', $list);
my $our_call = post($us->{port}, '/mcp', $call);
my $oc = decode_json($our_call)->{result}{structuredContent} or die "no tool answer: $our_call\n";

# --- the peer's price per resource shape, from our answer for it alone --------
my %shapes;
for my $step (@{$preview->{steps}}[0 .. 20]) {
    my $one = $J->encode({ config => $preview->{config}, steps => [ $step ] });
    my $r = decode_json(post($us->{port}, '/rpc', $J->encode({ jsonrpc => '2.0', id => 1,
        method => 'tools/call', params => { name => 'analyze_projected_costs',
        arguments => { pulumi_json => $one, include_unchanged => JSON::PP::true } } })))
        ->{result}{structuredContent};
    my $n = $step->{newState};
    my $key = join '|', $n->{type}, $step->{op}, $J->encode($n->{inputs} // {}),
        $J->encode(($step->{oldState} // {})->{inputs});
    my ($res) = grep { ($_->{status} // '') eq 'priced' } @{$r->{resources}};
    $shapes{$key} = $res ? { status => 'priced', resource => $res }
        : @{$r->{unpriced}} ? { status => 'unpriced', reason => $r->{unpriced}[0]{reason} }
        : { status => 'no_charge' };
}
spit("$dir/shapes.json", $J->encode(\%shapes));
spit("$dir/tools.json", $J->encode(decode_json($our_list)->{result}{tools}));

# --- the peers -----------------------------------------------------------------
my $nport = free_port();
mkdir "$dir/ngx";
mkdir "$dir/ngx/$_" for qw(run tmp logs www);
spit("$dir/ngx/www/list", $our_list);
spit("$dir/ngx/www/call", $our_call);
spit("$dir/ngx/nginx.conf", <<"NGX");
daemon off;
worker_processes 1;
pid run/nginx.pid;
error_log stderr error;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path tmp/body;
    client_max_body_size 10m;
    client_body_buffer_size 1m;
    keepalive_requests 1000000;
    default_type application/json;
    # A POST to a static file is a 405: answer it with the file.
    location_placeholder
}
NGX
{
    my $c = do { local (@ARGV, $/) = "$dir/ngx/nginx.conf"; <> };
    $c =~ s{location_placeholder}{server {
        listen 127.0.0.1:$nport;
        root $dir/ngx/www;
        error_page 405 =200 \$uri;
    }};
    spit("$dir/ngx/nginx.conf", $c);
}
spawn($nginx, '-p', "$dir/ngx/", '-c', 'nginx.conf');
wait_port($nport);
my $node_port = free_port();
spawn('node', "$root/bench/node-peer.cjs", $node_port, "$dir/tools.json", "$dir/shapes.json", $npm);
wait_port($node_port);

# --- equivalent answers, or no benchmark ---------------------------------------
my $nl = decode_json(post($node_port, '/mcp', $list));
my $nraw = post($node_port, '/mcp', $call);
my $nc = decode_json($nraw)->{result}{structuredContent} or die "the peer's answer: " . substr($nraw, 0, 400) . "\n";
$J->encode($nl->{result}{tools}) eq $J->encode(decode_json($our_list)->{result}{tools})
    or die "the peer's tools/list differs from ours\n";
for my $k (qw(total_monthly total_hourly monthly_cost_before)) {
    abs($nc->{$k} - $oc->{$k}) < 1e-6 or die "the peer's $k is $nc->{$k}, ours $oc->{$k}\n";
}
$J->encode($nc->{coverage}) eq $J->encode($oc->{coverage})
    or die "coverage differs: the peer " . $J->encode($nc->{coverage}) . ", ours " . $J->encode($oc->{coverage}) . "\n";
post($nport, '/call', $call) eq $our_call or die "nginx does not return our bytes\n";

# --- load -----------------------------------------------------------------------
spit("$dir/req.lua", <<'LUA');
local f = io.open(os.getenv("BENCH_BODY"), "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
done = function(s, latency, r)
  io.write(string.format("BENCH rps=%.1f p50=%.3f p99=%.3f non2xx=%d errors=%d\n",
    s.requests / (s.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, s.errors.status, s.errors.connect + s.errors.read
    + s.errors.write + s.errors.timeout))
end
LUA
system('cc', '-O2', '-o', "$dir/streamload", "$root/bench/streamload.c") == 0 or die "cc streamload\n";

sub wrk {
    my ($url, $body, $c) = @_;
    local $ENV{BENCH_BODY} = "$dir/$body.json";
    my $o = `taskset -c 1 wrk -t1 -c$c -d${dur}s --timeout 10s -s $dir/req.lua $url 2>&1`;
    my %r = $o =~ /(\w+)=([\d.]+)/g;
    die "wrk $url: $o" unless $r{rps} && !$r{non2xx} && !$r{errors};
    return \%r;
}
sub stream {
    my ($sock, $body, $c) = @_;
    my $o = `taskset -c 1 $dir/streamload $sock $c $dur $dir/$body.json 2>&1`;
    my %r = $o =~ /(\w+)=([\d.]+)/g;
    die "streamload: $o" unless $r{rps} && !$r{errors};
    return \%r;
}

# RSS (kB) of the server's processes: master, broker, worker.
sub procs {
    my ($master) = @_;
    my %p = (master => $master);
    for my $s (glob '/proc/[0-9]*/stat') {
        my $st = do { local (@ARGV, $/) = $s; <> } // next;
        my ($pid, $ppid) = $st =~ /^(\d+) \(.*\) \S (\d+)/ or next;
        next unless $ppid == $master;
        my $cmd = do { local (@ARGV, $/) = "/proc/$pid/cmdline"; <> } // '';
        $p{broker} = $pid if $cmd =~ /broker/;
        $p{worker} = $pid if $cmd =~ /worker/;
    }
    return \%p;
}
sub rss { my ($pid) = @_; my $s = do { local (@ARGV, $/) = "/proc/$pid/status"; <> } // ''; $s =~ /VmRSS:\s+(\d+)/ ? $1 : 0 }

my @cs = (1, 16, 64);
my @cases = (
    [ 'list', 'nginx, the same bytes', sub { wrk("http://127.0.0.1:$nport/list", 'list', $_[0]) } ],
    [ 'list', 'pulumicost-mcp, /mcp', sub { wrk("http://127.0.0.1:$us->{port}/mcp", 'list', $_[0]) } ],
    [ 'list', 'pulumicost-mcp, /rpc', sub { wrk("http://127.0.0.1:$us->{port}/rpc", 'list', $_[0]) } ],
    [ 'list', 'pulumicost-mcp, unix stream', sub { stream($us->{sock}, 'list', $_[0]) } ],
    [ 'list', 'Node SDK 1.32.2, /mcp', sub { wrk("http://127.0.0.1:$node_port/mcp", 'list', $_[0]) } ],
    [ 'call', 'nginx, the same bytes', sub { wrk("http://127.0.0.1:$nport/call", 'call', $_[0]) } ],
    [ 'call', 'pulumicost-mcp, /mcp', sub { wrk("http://127.0.0.1:$us->{port}/mcp", 'call', $_[0]) } ],
    [ 'call', 'pulumicost-mcp, /mcp, cache off', sub { wrk("http://127.0.0.1:$nocache->{port}/mcp", 'call', $_[0]) } ],
    [ 'call', 'pulumicost-mcp, /rpc', sub { wrk("http://127.0.0.1:$us->{port}/rpc", 'call', $_[0]) } ],
    [ 'call', 'pulumicost-mcp, unix stream', sub { stream($us->{sock}, 'call', $_[0]) } ],
    [ 'call', 'Node SDK 1.32.2, /mcp', sub { wrk("http://127.0.0.1:$node_port/mcp", 'call', $_[0]) } ],
);
my $p = procs($us->{pid});
my %idle = map { $_ => rss($p->{$_}) } keys %$p;
my (%res, %peak);
for my $run (1 .. $runs) {
    for my $case (@cases) {
        for my $c (@cs) {
            # Under load: the peak RSS of each process during the 64-connection runs.
            my $sampler;
            if ($c == 64 && $case->[1] =~ /^pulumicost-mcp, \/mcp$/) {
                pipe(my $r, my $w);
                $sampler = fork // die;
                if (!$sampler) {
                    close $r;
                    my %m;
                    my $end = time + $dur;
                    while (time < $end) { for (keys %$p) { my $v = rss($p->{$_}); $m{$_} = $v if $v > ($m{$_} // 0) } sleep 0.1 }
                    print $w $J->encode(\%m);
                    close $w;
                    POSIX::_exit(0);	# not exit: END would stop the servers
                }
                close $w;
                my $r2 = $case->[2]->($c);
                my $m = decode_json(do { local $/; <$r> });
                waitpid($sampler, 0);
                for (keys %$m) { $peak{"$case->[0]/$_"} = $m->{$_} if $m->{$_} > ($peak{"$case->[0]/$_"} // 0) }
                push @{$res{"$case->[0]|$case->[1]|$c"}}, $r2;
                next;
            }
            push @{$res{"$case->[0]|$case->[1]|$c"}}, $case->[2]->($c);
        }
    }
}

# --- the report -----------------------------------------------------------------
sub med { my ($k, $f) = @_; Bench::median(map { $_->{$f} } @{$res{$k}}) }
my $cpu = `grep -m1 'model name' /proc/cpuinfo` =~ /:\s*(.+)/ ? $1 : 'unknown';
my $ver = `$bin -V 2>&1` =~ /(\d+\.\d+\.\d+)/ ? $1 : '?';
my ($wv) = `wrk -v 2>&1` =~ /(wrk \S+)/;
my ($ngv) = `$nginx -v 2>&1` =~ m{nginx/(\S+)};
chomp(my $nodev = `node -v`);
my $md = sprintf "## Against peers (bench/peers.pl)\n\n%s, %s (%d cores), pulumicost-mcp %s (one worker,"
    . " log level warn, sandbox on), nginx %s (one worker, access log off), Node %s with"
    . " \@modelcontextprotocol/sdk 1.32.2 (stateless, JSON responses); every server on core 0,"
    . " %s and bench/streamload.c on core 1; keep-alive; %d s per run, medians of %d runs."
    . " Request bodies: `tools/list` (%d bytes) and `tools/call analyze_projected_costs` on a"
    . " 100-resource preview (%d bytes; answer %d bytes: %.2f USD a month, %d priced). The peer's"
    . " answers were checked equal to ours (tools, totals, coverage) and nginx returns our bytes.\n",
    strftime('%Y-%m-%d %H:%M UTC', gmtime), $cpu, `nproc` + 0, $ver, $ngv // '?', $nodev,
    $wv // 'wrk', $dur, $runs, length $list, length $call, length $our_call, $oc->{total_monthly},
    $oc->{coverage}{priced};
for my $w ([ 'list', '`tools/list`', 'nginx, the same bytes' ],
    [ 'call', '`tools/call analyze_projected_costs`, 100 resources', 'Node SDK 1.32.2, /mcp' ]) {
    my ($kind, $title, $base) = @$w;
    $md .= "\n### $title\n\n| Server, transport | " . join(' | ', map { "c=$_ req/s | p50 ms | p99 ms" } @cs)
        . " | ratio to $base (c=16) |\n|---|" . ('---|' x (3 * @cs + 1)) . "\n";
    for my $case (grep { $_->[0] eq $kind } @cases) {
        my $name = $case->[1];
        $md .= "| $name | " . join(' | ', map { my $k = "$kind|$name|$_";
            sprintf '%.0f | %.2f | %.2f', med($k, 'rps'), med($k, 'p50'), med($k, 'p99') } @cs)
            . sprintf(" | %.2f× |\n", med("$kind|$name|16", 'rps') / med("$kind|$base|16", 'rps'));
    }
}
my $l16 = med('list|pulumicost-mcp, /mcp|16', 'rps') / med('list|nginx, the same bytes|16', 'rps');
my $c16 = med('call|pulumicost-mcp, /mcp|16', 'rps') / med('call|Node SDK 1.32.2, /mcp|16', 'rps');
my $c16n = med('call|pulumicost-mcp, /mcp, cache off|16', 'rps') / med('call|Node SDK 1.32.2, /mcp|16', 'rps');
my $p99 = med('call|pulumicost-mcp, /mcp|16', 'p99');
my $p99l = med('list|pulumicost-mcp, /mcp|16', 'p99');
$md .= sprintf "\nTargets (c=16, /mcp): `tools/list` at %.2f× nginx (target ≥ 0.5×: %s); the tool call at"
    . " %.1f× the Node SDK server (%.1f× with the cache off; target ≥ 20×: %s); p99 %.2f ms for"
    . " `tools/list` and %.2f ms for the tool call (target < 5 ms: %s).\n",
    $l16, $l16 >= 0.5 ? 'met' : 'NOT met', $c16, $c16n, $c16 >= 20 ? 'met' : 'NOT met',
    $p99l, $p99, $p99 < 5 && $p99l < 5 ? 'met' : 'NOT met';
$md .= "\n| Process | RSS idle | RSS peak, `tools/list` c=64 | RSS peak, tool call c=64 |\n|---|---|---|---|\n";
for my $r (qw(master broker worker)) {
    $md .= sprintf "| %s | %.1f MB | %.1f MB | %.1f MB |\n", $r, $idle{$r} / 1024,
        ($peak{"list/$r"} // 0) / 1024, ($peak{"call/$r"} // 0) / 1024;
}
print $md;
Bench::write_section($out, $md);
