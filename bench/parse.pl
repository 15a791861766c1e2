#!/usr/bin/perl
# Decoding a request: the 117 KB tools/call of bench/peers.pl (a
# 100-resource preview inside a JSON string, an escape every ten bytes)
# parsed by jtext on its SSE2 path and, where the processor has it, its
# AVX-512 path, against json-c's strict tokener with UTF-8 checks (the
# baseline: the parser jtext stands in for).  Built from the source tree
# with -O2, on core 0; each figure the best of 9 rounds of 300 parses, the
# median of three runs.  Every parse must build a value, and jtext's must
# equal json-c's.
#   perl bench/parse.pl [--out FILE]

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Getopt::Long;
use POSIX qw(strftime);
use lib dirname(abs_path($0));
use Bench;

my $root = abs_path(dirname($0) . '/..');
my $out = "$root/bench/RESULTS.md";
GetOptions('out=s' => \$out) or die "bad options\n";
-f "$root/config.h" or die "$root/config.h: configure first\n";
for (qw(cc pkg-config taskset)) { system("command -v $_ >/dev/null") == 0 or die "$_ is needed\n" }

my $dir = tempdir(CLEANUP => 1);
my $flags = `pkg-config --cflags --libs json-c libcrypto`;
chomp $flags;
system("cc -O2 -std=c11 -D_GNU_SOURCE -I$root -I$root/src/core -o $dir/parse $root/bench/parse.c"
    . " $root/src/core/jtext.c $root/src/core/util.c $flags") == 0 or die "cc parse\n";

my $call = Bench::call_body($root, 100);
open my $fh, '>', "$dir/call.json" or die "$dir/call.json: $!";
print $fh $call;
close $fh;

my %runs;
for (1 .. 3) {
    for (`taskset -c 0 $dir/parse $dir/call.json 9 300`) {
        push @{$runs{$1}}, $2 if /^(\S+) ([\d.]+)$/;
    }
}
$runs{'json-c'} && $runs{sse2} or die "parse printed nothing\n";
my %us = map { $_ => Bench::median(@{$runs{$_}}) } keys %runs;

my $cpu = `grep -m1 'model name' /proc/cpuinfo` =~ /:\s*(.+)/ ? $1 : 'unknown';
my ($ccv) = `cc --version` =~ /^(.*)$/m;
my $jcv = `pkg-config --modversion json-c`; chomp $jcv;
my $row = sub { sprintf "| %s | %.1f µs | %.2f× |\n", $_[0], $us{$_[1]}, $us{$_[1]} / $us{'json-c'} };
my $report = sprintf(<<'MD', strftime('%Y-%m-%d %H:%M UTC', gmtime), $cpu, $ccv, $jcv, length $call)
## Request decoding (bench/parse.pl)

%s, %s, %s -O2, json-c %s; on core 0, each figure the best of 9 rounds of 300 parses, the median of three runs. The request: bench/peers.pl's `tools/call analyze_projected_costs` (%d bytes, a 100-resource preview inside a JSON string). jtext's values were checked equal to json-c's.

| Parser | Time a parse | Ratio to json-c |
|---|---|---|
MD
    . $row->('json-c strict tokener, UTF-8 checked (baseline)', 'json-c')
    . $row->('jtext, SSE2', 'sse2')
    . ($us{avx512} ? $row->('jtext, AVX-512 VBMI2 (chosen at run time)', 'avx512')
        : "| jtext, AVX-512 VBMI2 | not run: this processor has no AVX-512 VBMI2 | |\n");
print $report;
Bench::write_section($out, $report);
