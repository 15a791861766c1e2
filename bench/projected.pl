#!/usr/bin/perl
# Benchmark: pricing a 10,000-resource preview, against jq reading the same
# file in the same run (the baseline: the cost of just parsing JSON on this
# machine), and the latency of one analyze_projected_costs call uncached and
# cached.  Medians of three runs.  Not a timed test: these machines are
# noisy, so only ratios measured side by side mean anything.
#
#   perl bench/projected.pl [--resources N] [--bin ./pulumicost-mcp] [--out FILE]
#
# Needs jq.  Appends its table to bench/RESULTS.md unless --out says where.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Getopt::Long;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h strftime);
use Time::HiRes qw(time sleep);
use lib dirname(__FILE__);
use Bench;

my $root = abs_path(dirname($0) . '/..');
my ($n, $bin, $out) = (10000, "$root/pulumicost-mcp", "$root/bench/RESULTS.md");
GetOptions('resources=i' => \$n, 'bin=s' => \$bin, 'out=s' => \$out) or die "bad options\n";
-x $bin or die "$bin: not built (make)\n";
system('jq --version >/dev/null 2>&1') == 0 or die "jq is needed (apt-get install jq)\n";
my $dir = tempdir(CLEANUP => 1);

# --- a preview of N resources from the shapes of the bundled example -------
my $ex = Bench::preview($root, $n);
my @steps = @{$ex->{steps}};
my $file = "$dir/preview-$n.json";
open my $fh, '>', $file or die $!;
print $fh encode_json({ config => $ex->{config}, steps => \@steps });
close $fh;
my $bytes = -s $file;

*median = \&Bench::median;
sub timed { my ($cmd) = @_; my $t0 = time; system($cmd) == 0 or die "failed: $cmd\n"; time - $t0 }

my (@jq, @ours, @rss);
for (1 .. 3) {
	push @jq, timed("jq -c . $file > /dev/null");
	my $t0 = time;
	my $stats = `$bin cost projected --pulumi-json $file --output json --stats 2>&1 >/dev/null`;
	push @ours, time - $t0;
	$? == 0 or die "pulumicost-mcp failed: $stats";
	push @rss, $stats =~ /max_rss_kb=(\d+)/ ? $1 : die "no stats: $stats";
}
my ($tj, $to, $rss) = (median(@jq), median(@ours), median(@rss) * 1024);

# --- one tool call over /rpc: uncached versus cached ---------------------------
my $port = Bench::start_server($bin, $dir);
my $small = encode_json({ config => $ex->{config}, steps => [ @steps[0 .. 99] ] });
sub call {
	my ($gb) = @_;
	my $body = encode_json({ jsonrpc => '2.0', id => 1, method => 'analyze_projected_costs',
	    params => { pulumi_json => $small, usage => { storage_gb => $gb } } });
	my ($dt, $r) = Bench::rpc($port, $body);
	$r =~ /"status":"(hit|miss)"/ or die "no cache status in the answer\n";
	return ($dt, $1);
}
my (@miss, @hit);
for my $k (1 .. 9) {
	my ($d1, $s1) = call(1000 + $k);	# new arguments: computed
	my ($d2, $s2) = call(1000 + $k);	# the same: from the cache
	push @miss, $d1 if $s1 eq 'miss';
	push @hit, $d2 if $s2 eq 'hit';
}
Bench::stop_servers();
my ($tm, $th) = (median(@miss), median(@hit));

my $cpu = `grep -m1 'model name' /proc/cpuinfo` =~ /:\s*(.+)/ ? $1 : 'unknown';
my $ver = `$bin -V 2>&1`; chomp $ver;
my $jqv = `jq --version`; chomp $jqv;
my $report = sprintf(<<'MD', strftime('%Y-%m-%d %H:%M UTC', gmtime), $cpu, `nproc` + 0, $ver, $jqv,
## Projected costs (bench/projected.pl)

%s, %s (%d cores), %s, %s. Medians of three runs.

| Measure | Value | Baseline | Ratio | Target |
|---|---|---|---|---|
| Price a %d-resource preview (%.1f MB), `cost projected --output json` | %.3f s | `jq -c .` on the same file: %.3f s | %.2f× jq | ≤ 2× |
| Peak RSS of that | %.1f MB | file size %.1f MB | %.2f× the file | ≤ 4× |
| One `analyze_projected_costs` call, 100 resources, computed | %.2f ms | | | |
| The same call from the shared cache | %.2f ms | computed: %.2f ms | %.2f× faster | |

MD
    $n, $bytes / 1e6, $to, $tj, $to / $tj, $rss / 1e6, $bytes / 1e6, $rss / $bytes,
    $tm * 1000, $th * 1000, $tm * 1000, $tm / $th);
print $report;
Bench::write_section($out, $report);
