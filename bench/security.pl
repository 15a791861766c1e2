#!/usr/bin/perl
# Benchmark: what TLS and token authentication cost.  One server, one
# worker, pinned to core 0, with a plain and a TLS listener; then the same
# with security.auth (token).  wrk on core 1 posts tools/list over
# keep-alive connections for 5 s, three runs each, in one run of this
# script: the ratios are to the plain, unauthenticated baseline measured
# alongside.  Then sslscan's summary of the TLS listener.
#
#   perl bench/security.pl [--bin ./pulumicost-mcp] [--out FILE] [--connections 16]
#
# Needs wrk, openssl and sslscan (apt-get install wrk sslscan).

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Getopt::Long;
use IO::Socket::INET;
use POSIX qw(strftime);
use Time::HiRes qw(sleep);
use lib dirname(__FILE__);
use Bench;

my $root = abs_path(dirname($0) . '/..');
my ($bin, $out, $conns) = ("$root/pulumicost-mcp", "$root/bench/RESULTS.md", 16);
GetOptions('bin=s' => \$bin, 'out=s' => \$out, 'connections=i' => \$conns) or die "bad options\n";
-x $bin or die "$bin: not built (make)\n";
for (qw(wrk openssl sslscan taskset)) {
    system("command -v $_ >/dev/null") == 0 or die "$_ is needed\n";
}
my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;
system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $dir/key.pem"
    . " -out $dir/cert.pem -days 2 -subj /CN=localhost >/dev/null 2>&1") == 0 or die "openssl\n";
chmod 0644, "$dir/key.pem";
my $token = 'bench-token-0123456789abcdef';

open my $lua, '>', "$dir/rpc.lua" or die $!;
print $lua <<'LUA';
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
wrk.headers["Content-Type"] = "application/json"
local tok = os.getenv("BENCH_TOKEN")
if tok and tok ~= "" then wrk.headers["X-API-Token"] = tok end
LUA
close $lua;

sub version { my $v = `$bin -V 2>&1`; return $v =~ /(\d+\.\d+\.\d+)/ ? $1 : '?'; }
*free_port = \&Bench::free_port;

# A server on core 0 with a plain and a TLS listener; $auth adds tokens.
sub server {
    my ($auth) = @_;
    my ($plain, $tls) = (free_port(), free_port());
    my $sub = "$dir/" . ($auth ? 'auth' : 'open');
    mkdir $sub;
    chmod 0755, $sub;
    open my $cf, '>', "$sub/c.yaml" or die $!;
    print $cf "server:\n  listen:\n    - address: 127.0.0.1:$plain\n    - address: 127.0.0.1:$tls\n"
        . "      tls: true\n  worker_processes: 1\n  pid_file: $sub/pid\n  sandbox: enforce\n"
        . "observability:\n  logging:\n    output: $sub/log\n    level: warn\n  metrics:\n    enabled: true\n"
        . "security:\n  tls:\n    cert_file: $dir/cert.pem\n    key_file: $dir/key.pem\n"
        . ($auth ? "  auth:\n    enabled: true\n    tokens: [\"bench:$token\"]\n" : '');
    close $cf;
    my $pid = fork // die;
    if (!$pid) {
        open STDOUT, '>', '/dev/null';
        exec 'taskset', '-c', '0', $bin, '-c', "$sub/c.yaml", '-p', $sub, '--foreground';
        exit 127;
    }
    for (1 .. 250) { last if IO::Socket::INET->new("127.0.0.1:$plain"); sleep 0.02 }
    return ($pid, $plain, $tls);
}

sub wrk {
    my ($url, $tok) = @_;
    local $ENV{BENCH_TOKEN} = $tok // '';
    my $o = `taskset -c 1 wrk -t1 -c$conns -d5s -s $dir/rpc.lua $url 2>&1`;
    my ($rps) = $o =~ /Requests\/sec:\s+([\d.]+)/;
    my ($non2xx) = $o =~ /Non-2xx or 3xx responses: (\d+)/;
    die "wrk against $url: $o" unless $rps && !$non2xx;
    return $rps;
}

my %r;
my ($p1, $plain, $tls) = server(0);
for (1 .. 3) {
    push @{$r{plain}}, wrk("http://127.0.0.1:$plain/rpc");
    push @{$r{tls}}, wrk("https://127.0.0.1:$tls/rpc");
}
my $scan = `sslscan --no-colour 127.0.0.1:$tls 2>&1`;
kill 'TERM', $p1;
waitpid($p1, 0);
my ($p2, $aplain, $atls) = server(1);
for (1 .. 3) {
    push @{$r{auth}}, wrk("http://127.0.0.1:$aplain/rpc", $token);
    push @{$r{tls_auth}}, wrk("https://127.0.0.1:$atls/rpc", $token);
}
kill 'TERM', $p2;
waitpid($p2, 0);

my %m = map { $_ => Bench::median(@{$r{$_}}) } keys %r;
my ($cpu) = `grep -m1 'model name' /proc/cpuinfo` =~ /:\s*(.*)/;
my ($wv) = `wrk -v 2>&1` =~ /(wrk \S+)/;
my ($ov) = `openssl version` =~ /(OpenSSL \S+)/;
my @proto = map { /^(\S+)\s+(enabled|disabled)/ ? "$1 $2" : () } grep { /^(SSLv|TLSv)/ } split /\n/, $scan;
my ($pref) = $scan =~ /^(Preferred\s+TLSv1\.3.*?)\s*$/m;
my ($pref12) = $scan =~ /^(Preferred\s+TLSv1\.2.*?)\s*$/m;
my @ciphers = map { s/\s+/ /gr } grep { /^(Accepted|Preferred)\s/ } split /\n/, $scan;
s/\s+/ /g for grep { defined } $pref, $pref12;
my $fmt = <<'MD';
## TLS and token authentication (bench/security.pl)

%s, %s, pulumicost-mcp %s, %s, %s; one worker on core 0, wrk on core 1, %d keep-alive connections, `tools/list` over `/rpc` for 5 s. Medians of three runs.

| Listener | Requests/s | Ratio to plain |
|---|---|---|
| plain HTTP, no auth (baseline) | %.0f | 1.00× |
| TLS, no auth | %.0f | %.2f× |
| plain HTTP, token auth | %.0f | %.2f× |
| TLS, token auth | %.0f | %.2f× |

`sslscan --no-colour` of the TLS listener: %s. %s; %s. Accepted: %s.
MD
my $table = sprintf $fmt, strftime('%Y-%m-%d %H:%M UTC', gmtime), $cpu // '?', version(),
    $wv // 'wrk', $ov // 'OpenSSL', $conns, $m{plain}, $m{tls}, $m{tls} / $m{plain},
    $m{auth}, $m{auth} / $m{plain}, $m{tls_auth}, $m{tls_auth} / $m{plain},
    join(', ', @proto), $pref // '?', $pref12 // '?',
    join('; ', map { s/^(Accepted|Preferred) //r } @ciphers);
print $table;
Bench::write_section($out, $table);
