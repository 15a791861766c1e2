#!/usr/bin/perl
# The command-line paths under valgrind's memcheck: no invalid access, no
# uninitialised read, no definite leak.  A smaller subset than the whole
# suite (the server's processes run under ASan and LeakSanitizer in CI);
# these are the parsers and the engine, run to completion and exit.

use strict;
use warnings;
use Test::More;
use Test::PCM;

my $t = Test::PCM->new;
plan(skip_all => 'valgrind is not installed') unless `which valgrind 2>/dev/null` =~ /valgrind/;
plan(skip_all => 'a sanitizer build cannot run under valgrind') if $t->has_sanitizers;
my $src = $ENV{PCM_SRCDIR} // '.';
my $d = $t->dir;
my $bin = $t->bin;
my ($eks) = glob("$src/t/fixtures/state/pulumi-eks_*.json");
my ($focus) = glob("$src/t/fixtures/focus/*.csv");
my ($aws) = glob("$src/t/fixtures/pricing/aws_offer_*.json");

my @runs = (
    ['cost projected, a preview', 'cost', 'projected', '--pulumi-json', "$src/conf/example-preview.json", '--output', 'json'],
    ['cost projected, a stack export', 'cost', 'projected', '--pulumi-json', $eks, '--group-by', 'service'],
    ['cost actual, a FOCUS export', 'cost', 'actual', '--focus', $focus, '--group-by', 'service'],
    ['-t, the local configuration', '-t', '-c', "$src/conf/local.yaml"],
    ['-T, the embedded defaults', '-T', '-c', "$d/none.yaml"],
    ['catalog import, an AWS price list', 'catalog', 'import', '--format', 'aws', '--out', "$d/specs", $aws],
);
for my $r (@runs) {
    my ($what, @args) = @$r;
    my $log = "$d/vg.log";
    # The command's own output is not TAP: into a file.
    open(my $out, '>&', \*STDOUT) or die;
    open(my $err, '>&', \*STDERR) or die;
    open(STDOUT, '>', "$d/out") or die;
    open(STDERR, '>&', \*STDOUT) or die;
    system('valgrind', '-q', '--leak-check=full', '--errors-for-leak-kinds=definite',
        '--error-exitcode=99', "--log-file=$log", $bin, @args);
    my $rc = $? >> 8;
    open(STDOUT, '>&', $out) or die;
    open(STDERR, '>&', $err) or die;
    my $report = -s $log ? Test::PCM::slurp($log) : '';
    ok($rc != 99 && $report !~ /(Invalid|uninitialised|definitely lost)/, "valgrind: $what") or diag $report;
}
done_testing;
