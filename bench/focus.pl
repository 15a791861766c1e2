#!/usr/bin/perl
# Benchmark: loading a 1,000,000-row FOCUS export, against sqlite3 importing
# the same file into memory in the same run (the baseline:
# `sqlite3 :memory: '.import --csv FILE t'`), and the latency of
# get_actual_costs (30 days, daily) and forecast_costs on that data through
# the server.  Medians of three runs.  Not a timed test: only ratios
# measured side by side mean anything on these noisy machines.
#
#   perl bench/focus.pl [--rows N] [--bin ./pulumicost-mcp] [--out FILE]
#
# Needs sqlite3 and GNU time (/usr/bin/time).  Appends its table to
# bench/RESULTS.md unless --out says where.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Getopt::Long;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);
use lib dirname(__FILE__);
use Bench;

my $root = abs_path(dirname($0) . '/..');
my ($rows, $bin, $out) = (1_000_000, "$root/pulumicost-mcp", "$root/bench/RESULTS.md");
GetOptions('rows=i' => \$rows, 'bin=s' => \$bin, 'out=s' => \$out) or die "bad options\n";
-x $bin or die "$bin: not built (make)\n";
system('sqlite3 -version >/dev/null 2>&1') == 0 or die "sqlite3 is needed (apt-get install sqlite3)\n";
-x '/usr/bin/time' or die "GNU time is needed (apt-get install time)\n";
my $dir = tempdir(CLEANUP => 1);

# --- the export: hourly charges of 1,389 resources over 30 days -----------
my $nres = int($rows / 720) + 1;
my @svc = ('Amazon Elastic Compute Cloud', 'Amazon Relational Database Service',
    'Amazon Simple Storage Service', 'AWS Lambda', 'Amazon ElastiCache',
    'Elastic Load Balancing', 'Amazon Virtual Private Cloud', 'Amazon CloudWatch');
my @tags = map { sprintf '"{""env"": ""%s"", ""team"": ""team-%d""}"', $_ % 3 ? 'prod' : 'dev', $_ % 17 } 0 .. 50;
my $csv = "$dir/focus-$rows.csv";
open my $fh, '>', $csv or die $!;
print $fh "BillingAccountId,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,"
    . "BilledCost,EffectiveCost,ListCost,ConsumedQuantity,ConsumedUnit,PricingCategory,"
    . "ProviderName,RegionId,ResourceId,ServiceName,SkuId,SubAccountId,Tags\n";
my $seed = 1;
my $t0 = 1725148800;	# 2024-09-01
my $n = 0;
HOUR: for my $h (0 .. 719) {
    my $start = strftime('%Y-%m-%dT%H:00:00Z', gmtime($t0 + 3600 * $h));
    my $end = strftime('%Y-%m-%dT%H:00:00Z', gmtime($t0 + 3600 * ($h + 1)));
    for my $r (0 .. $nres - 1) {
        last HOUR if $n++ >= $rows;
        $seed = ($seed * 1103515245 + 12345) % 2147483648;
        my $c = sprintf '%.8f', 0.01 + ($r % 97) / 100 * (0.9 + $seed / 2147483648 / 5);
        printf $fh "123456789012,USD,%s,%s,Usage,%s,%s,%s,1,Hrs,Standard,AWS,us-east-1,"
            . "i-%017x,%s,SKU-%d,123456789012,%s\n", $start, $end, $c, $c, $c, $r,
            $svc[$r % @svc], $r % 40, $tags[$r % @tags];
    }
}
close $fh;
my $bytes = -s $csv;

# A stack whose resources are those the export bills.
my @res = map { { urn => "urn:pulumi:bench::big::aws:ec2/instance:Instance::r$_",
    type => 'aws:ec2/instance:Instance', custom => JSON::PP::true, id => sprintf('i-%017x', $_),
    inputs => { instanceType => 't3.medium' }, outputs => { id => sprintf('i-%017x', $_) } } } 0 .. $nres - 1;
open $fh, '>', "$dir/stack.json" or die $!;
print $fh encode_json({ version => 3, deployment => { manifest => {}, resources => \@res } });
close $fh;

*median = \&Bench::median;
sub gnutime {
    my ($cmd) = @_;
    my $o = `/usr/bin/time -f 'TIME %e %M' sh -c '$cmd' 2>&1 >/dev/null`;
    $o =~ /TIME ([\d.]+) (\d+)/ or die "failed: $cmd\n$o";
    return ($1, $2 * 1024, $o);
}

my (@sq, @sqm, @us, @usm, @load);
for (1 .. 3) {
    my ($t, $m) = gnutime("sqlite3 :memory: \".import --csv $csv t\"");
    push @sq, $t;
    push @sqm, $m;
    my ($t2, $m2, $o) = gnutime("$bin cost actual --focus $csv --granularity monthly --output json --stats");
    push @us, $t2;
    push @usm, $m2;
    push @load, $o =~ /load_ms=([\d.]+)/ ? $1 / 1000 : die "no stats: $o";
}

# --- the tools through the server --------------------------------------------
my $port = Bench::start_server($bin, $dir,
    "stacks:\n  big: $dir/stack.json\nbilling:\n  focus:\n    - $csv\ncache:\n  enabled: false\n");
sub call {
    my ($name, $args) = @_;
    my $body = encode_json({ jsonrpc => '2.0', id => 1, method => 'tools/call',
        params => { name => $name, arguments => $args } });
    my ($dt, $r) = Bench::rpc($port, $body);
    $r =~ /"isError":true/ and die "$name failed: " . substr($r, 0, 400) . "\n";
    return $dt;
}
my %actual = (stack_name => 'big', time_range => { start => '2024-09-01', end => '2024-10-01' },
    granularity => 'daily');
my %forecast = (stack_name => 'big', forecast_period => { start => '2024-10-01', end => '2024-10-31' },
    history_days => 30);
my $first = call(get_actual_costs => \%actual);	# the broker loads the export
my @act = map { call(get_actual_costs => \%actual) } 1 .. 5;
my @fc = map { call(forecast_costs => \%forecast) } 1 .. 5;
Bench::stop_servers();

my $cpu = `grep -m1 'model name' /proc/cpuinfo` =~ /:\s*(.+)/ ? $1 : 'unknown';
my $ver = `$bin -V 2>&1`; chomp $ver;
my $sqv = (split ' ', `sqlite3 -version`)[0];
my ($ts, $tu) = (median(@sq), median(@us));
my $report = sprintf(<<'MD', strftime('%Y-%m-%d %H:%M UTC', gmtime), $cpu, `nproc` + 0, $ver, $sqv,
## FOCUS billing data (bench/focus.pl)

%s, %s (%d cores), %s, sqlite3 %s. Medians of three runs.

| Measure | Value | Baseline | Ratio | Target |
|---|---|---|---|---|
| Load a %d-row FOCUS export (%.0f MB) and total it, `cost actual` | %.2f s (load %.2f s) | `sqlite3 :memory: '.import --csv'`: %.2f s | %.2f× sqlite3 | ≤ 1× |
| Peak RSS of that | %.0f MB | sqlite3: %.0f MB | %.2f× sqlite3 | |
| First `get_actual_costs` (the broker loads the export) | %.0f ms | | | |
| `get_actual_costs`, %d resources, 30 days daily | %.1f ms | | | |
| `forecast_costs`, 30 days from 30 days of history | %.1f ms | | | |

MD
    $rows, $bytes / 1e6, $tu, median(@load), $ts, $tu / $ts, median(@usm) / 1e6, median(@sqm) / 1e6,
    median(@usm) / median(@sqm), $first * 1000, $nres, median(@act) * 1000, median(@fc) * 1000);
print $report;
Bench::write_section($out, $report);
