#!/usr/bin/perl
# MCP over HTTP: JSON-RPC framing and errors on /mcp and /rpc, lifecycle,
# version negotiation, tools/list and tools/call, header checks.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
$t->write_config;
$t->run;
my $hooks = $t->has_hooks;
my $J = JSON::PP->new->canonical;

my %H = ('Accept' => 'application/json, text/event-stream',
    'Content-Type' => 'application/json');

sub post {
	my ($path, $body, %h) = @_;
	my %hd = (%H, %h);
	my $hdr = join '', map { defined $hd{$_} ? "$_: $hd{$_}\r\n" : '' } sort keys %hd;
	$hdr = "Host: localhost\r\n$hdr" unless exists $h{Host};
	my ($s, $rh, $b) = $t->http("POST $path HTTP/1.1\r\n$hdr"
	    . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
	my $j;
	if (($rh->{'content-type'} // '') =~ m{^text/event-stream}) {
		# The last event of a stream is the response.
		my $raw = Test::PCM::dechunk($b);
		my @d = $raw =~ /^data: (.+)$/mg;
		$j = @d ? eval { decode_json($d[-1]) } : undef;
	} else {
		$j = length($b // '') ? eval { decode_json($b) } : undef;
	}
	return ($s, $j, $rh, $b);
}

sub rpc { my ($path, $o, %h) = @_; return post($path, encode_json($o), %h); }

# --- initialize and version negotiation
my ($s, $j, $h) = rpc('/mcp', { jsonrpc => '2.0', id => 0, method => 'initialize',
    params => { protocolVersion => '2025-11-25', capabilities => {},
    clientInfo => { name => 'test', version => '1' } } });
is($s, 200, 'initialize: 200');
is($j->{id}, 0, 'id 0 echoed');
ok(!JSON::PP::is_bool($j->{id}) && $J->encode([$j->{id}]) eq '[0]', 'id 0 stays a number');
is($j->{result}{protocolVersion}, '2025-11-25', 'requested version accepted');
is($j->{result}{serverInfo}{name}, 'pulumicost-mcp', 'serverInfo.name');
ok($j->{result}{capabilities}{tools}, 'tools capability');
ok(exists $j->{result}{capabilities}{logging}, 'logging capability');
like($j->{result}{instructions}, qr/Pulumi/, 'instructions');
like($h->{'content-type'}, qr{^application/json}, 'JSON answer');

for my $v ('2025-06-18', '2025-03-26', '2024-11-05') {
	($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => "v$v", method => 'initialize',
	    params => { protocolVersion => $v, capabilities => {}, clientInfo => { name => 't', version => '1' } } });
	is($j->{result}{protocolVersion}, $v, "negotiates $v");
	is($j->{id}, "v$v", 'string id echoed');
}
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 5, method => 'initialize',
    params => { protocolVersion => '2099-01-01', capabilities => {}, clientInfo => { name => 't', version => '1' } } });
is($j->{result}{protocolVersion}, '2025-11-25', 'unknown version: answers with the latest');
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 6, method => 'initialize', params => {} });
is($j->{error}{code}, -32602, 'initialize without protocolVersion: -32602');

# --- notifications, ping, unknown methods
($s, $j, $h, my $b) = rpc('/mcp', { jsonrpc => '2.0', method => 'notifications/initialized' });
is($s, 202, 'notification: 202');
is($b, '', 'notification: no body');
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 7, method => 'ping' });
is_deeply($j, { jsonrpc => '2.0', id => 7, result => {} }, 'ping: {}');
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 8, method => 'server/discover' });
is($s, 200, 'unknown method: 200');
is($j->{error}{code}, -32601, 'unknown method: -32601');
like($j->{error}{message}, qr{Method not found: server/discover}, 'names the method');

# --- framing errors, exact answers
($s, $j) = post('/mcp', '{"jsonrpc":"2.0","id":1,');
is($s, 400, 'truncated JSON: 400');
is($j->{error}{code}, -32700, 'truncated JSON: -32700');
ok(exists $j->{id} && !defined $j->{id}, 'parse error: id null');
($s, $j) = post('/mcp', qq({"jsonrpc":"2.0","id":1,"method":"ping"}\xff));
is($j->{error}{code}, -32700, 'trailing garbage: -32700');
($s, $j) = post('/mcp', qq({"jsonrpc":"2.0","id":1,"method":"p\xc3\x28"}));
is($j->{error}{code}, -32700, 'invalid UTF-8: -32700');
($s, $j) = post('/mcp', '{"jsonrpc":"1.0","id":1,"method":"ping"}');
is($s, 400, 'jsonrpc 1.0: 400');
is($j->{error}{code}, -32600, 'jsonrpc 1.0: -32600');
($s, $j) = post('/mcp', '{"jsonrpc":"2.0","id":null,"method":"ping"}');
is($j->{error}{code}, -32600, 'null id: -32600');
($s, $j) = post('/mcp', '{"jsonrpc":"2.0","id":1.5,"method":"ping"}');
is($j->{error}{code}, -32600, 'fractional id: -32600');
($s, $j) = post('/mcp', '{"jsonrpc":"2.0","id":1,"method":7}');
is($j->{error}{code}, -32600, 'numeric method: -32600');
($s, $j) = post('/mcp', '{"jsonrpc":"2.0","id":1,"method":"ping","params":"x"}');
is($j->{error}{code}, -32600, 'string params: -32600');
($s, $j) = post('/mcp', '"just a string"');
is($j->{error}{code}, -32600, 'not an object: -32600');

# --- batches: only in 2025-03-26
my $batch = '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":"two","method":"nope"}]';
($s, $j) = post('/mcp', $batch, 'MCP-Protocol-Version' => '2025-03-26');
is($s, 200, 'batch under 2025-03-26: 200');
is(ref $j, 'ARRAY', 'batch answered with an array');
is(scalar @$j, 2, 'one answer per request, none for the notification');
is($j->[1]{error}{code}, -32601, 'errors inside a batch');
($s, $j) = post('/mcp', $batch, 'MCP-Protocol-Version' => '2025-11-25');
is($s, 400, 'batch under 2025-11-25: 400');
is($j->{error}{code}, -32600, 'batch under 2025-11-25: -32600');
($s, $j) = post('/mcp', '[]', 'MCP-Protocol-Version' => '2025-03-26');
is($j->{error}{code}, -32600, 'empty batch: -32600');
($s, $j) = post('/mcp', '[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26"}}]',
    'MCP-Protocol-Version' => '2025-03-26');
is($j->[0]{error}{code}, -32600, 'initialize in a batch: -32600');

# --- HTTP-level checks on /mcp
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 1, method => 'ping' }, 'MCP-Protocol-Version' => '2099-01-01');
is($s, 400, 'unsupported MCP-Protocol-Version: 400');
is($j->{error}{code}, -32000, 'with a legacy-format error');
like($j->{error}{message}, qr/Unsupported protocol version: 2099-01-01/, 'naming the version');
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 1, method => 'ping' }, 'Accept' => 'text/html');
is($s, 406, 'Accept without JSON: 406');
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 1, method => 'ping' }, 'Content-Type' => 'text/plain');
is($s, 415, 'Content-Type text/plain: 415');
($s, $h) = $t->http_get('/mcp', headers => "Accept: text/event-stream\r\n");
is($s, 405, 'GET /mcp: 405');
is($h->{allow}, 'POST, DELETE', 'Allow: POST, DELETE');

# --- tools
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 9, method => 'tools/list' });
is(ref $j->{result}{tools}, 'ARRAY', 'tools/list without params');
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 10, method => 'tools/list', params => { cursor => 'bogus' } });
is($j->{error}{code}, -32602, 'invalid cursor: -32602');
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 11, method => 'tools/call', params => { name => 'no_such_tool' } });
is($j->{error}{code}, -32602, 'unknown tool: -32602');
like($j->{error}{message}, qr/Unknown tool: no_such_tool/, 'names the tool');
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 12, method => 'tools/call', params => {} });
is($j->{error}{code}, -32602, 'tools/call without name: -32602');
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 13, method => 'logging/setLevel', params => { level => 'loud' } });
is($j->{error}{code}, -32602, 'bad log level: -32602');
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 14, method => 'logging/setLevel', params => { level => 'warning' } });
is_deeply($j->{result}, {}, 'logging/setLevel: {}');

SKIP: {
	skip 'test tools need --enable-test-hooks', 11 unless $hooks;
	($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 20, method => 'tools/list' });
	my ($echo) = grep { $_->{name} eq 'test_echo' } @{$j->{result}{tools}};
	ok($echo, 'registered tool listed');
	is($echo->{inputSchema}{type}, 'object', 'inputSchema is an object schema');
	is($echo->{annotations}{readOnlyHint}, JSON::PP::true, 'annotations');
	($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 21, method => 'tools/call', params => { name => 'test_echo' } });
	is_deeply($j->{result}{structuredContent}, { echo => {} }, 'missing arguments are {}');
	is($j->{result}{content}[0]{text}, '{"echo":{}}', 'text block carries the JSON');
	($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 22, method => 'tools/call',
	    params => { name => 'test_echo', arguments => { fail => JSON::PP::true } } });
	is($j->{result}{isError}, JSON::PP::true, 'tool failure is a result with isError');
	($s, $j) = rpc('/rpc', { jsonrpc => '2.0', id => 23, method => 'test_echo', params => { a => 1 } });
	is_deeply($j->{result}{structuredContent}, { echo => { a => 1 } }, '/rpc: a tool is a method');
	($s, $j) = rpc('/rpc', { jsonrpc => '2.0', id => 24, method => 'test_echo_alias', params => {} });
	ok($j->{result}{structuredContent}, '/rpc: an alias reaches the same tool');
	($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 25, method => 'tools/call', params => { name => 'test_echo_alias' } });
	ok($j->{result}{structuredContent}, 'tools/call by alias');
	($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 26, method => 'tools/call',
	    params => { name => 'test_echo', arguments => { fail => 'yes' } } });
	is($j->{result}{isError}, JSON::PP::true, 'arguments failing the inputSchema: a tool error');
	is($j->{result}{content}[0]{text}, 'invalid arguments: arguments.fail: expected boolean, got string',
	    'naming the argument');
}

# --- SSE when a call may produce notifications
SKIP: {
	skip 'test tools need --enable-test-hooks', 8 unless $hooks;
	($s, $j, $h, $b) = rpc('/mcp', { jsonrpc => '2.0', id => 30, method => 'tools/call',
	    params => { name => 'test_echo', arguments => {}, _meta => { progressToken => 'tok-1' } } });
	is($s, 200, 'SSE: 200');
	like($h->{'content-type'}, qr{^text/event-stream}, 'SSE: text/event-stream');
	is($h->{'x-accel-buffering'}, 'no', 'SSE: X-Accel-Buffering: no');
	like($h->{'cache-control'}, qr/no-cache/, 'SSE: Cache-Control: no-cache');
	$b = Test::PCM::dechunk($b) if ($h->{'transfer-encoding'} // '') eq 'chunked';
	my @ev = split /\n\n/, $b;
	like($ev[0], qr/^id: \S+-0\ndata: $/, 'priming event: an id and empty data');
	my @data = map { /^data: (.*)$/m ? decode_json($1) : () } @ev[1 .. $#ev];
	my @prog = grep { ($_->{method} // '') eq 'notifications/progress' } @data;
	is_deeply([ map { $_->{params}{progress} } @prog ], [1, 2], 'progress notifications, increasing');
	is($prog[0]{params}{progressToken}, 'tok-1', 'progress token echoed with its type');
	is($data[-1]{id}, 30, 'the response comes last');
}

# --- DNS rebinding protection
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 40, method => 'ping' }, 'Host' => 'evil.example.com');
is($s, 403, 'foreign Host: 403');
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 41, method => 'ping' }, 'Origin' => 'http://evil.example.com');
is($s, 403, 'foreign Origin: 403');
like($j->{error}{message}, qr/Origin is not allowed/, 'says which check');
($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 42, method => 'ping' }, 'Host' => 'localhost:' . $t->port,
    'Origin' => 'http://localhost:' . $t->port);
is($s, 200, 'localhost Host and Origin: 200');
($s, $j) = rpc('/rpc', { jsonrpc => '2.0', id => 43, method => 'ping' }, 'Host' => 'evil.example.com');
is($s, 403, '/rpc checks Host too');

# --- /rpc
($s, $j) = post('/rpc', '{"jsonrpc":"2.0","id":1,"method":"ping"}', 'Accept' => undef,
    'Content-Type' => 'application/x-www-form-urlencoded');
is($s, 200, '/rpc accepts curl -d defaults');
is_deeply($j->{result}, {}, '/rpc ping');
($s, $j, $h, $b) = post('/rpc', '{"jsonrpc":"2.0","method":"notifications/initialized"}');
is($s, 204, '/rpc notification: 204');
($s, $j) = post('/rpc', '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]');
is(scalar @$j, 2, '/rpc batch');
($s) = $t->http_get('/rpc');
is($s, 405, 'GET /rpc: 405');

# Paging: cursors walk every tool once (conformance mode has 13 tools).
$t->finish;
{
	my $p = Test::PCM->new;
	$p->write_config($p->base_config(extra => "mcp:\n  conformance: true\n  page_size: 4\n"));
	$p->run;
	$t = $p;
	my (@names, $cursor, $pages);
	do {
		my %params = defined $cursor ? (cursor => $cursor) : ();
		($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 'pg', method => 'tools/list', params => \%params });
		push @names, map { $_->{name} } @{$j->{result}{tools} // []};
		$cursor = $j->{result}{nextCursor};
		$pages++;
	} while (defined $cursor && $pages < 20);
	ok($pages >= 3, "tools/list in $pages pages of 4");
	my %u = map { $_ => 1 } @names;
	is(scalar(keys %u), scalar(@names), 'no tool listed twice');
	ok(exists $u{test_simple_text} && exists $u{json_schema_2020_12_tool}, 'first and last pages reached');
	($s, $j) = rpc('/mcp', { jsonrpc => '2.0', id => 'pg2', method => 'tools/list', params => { cursor => 'c1.ff' } });
	is($j->{error}{code}, -32602, 'cursor past the end: -32602');
	$p->finish;
}

# Configured host names.
my $u = Test::PCM->new;
$u->write_config($u->base_config(extra => "mcp:\n  allowed_hosts: [mcp.example.com]\n  allowed_origins: [\"https://app.example.com\"]\n"));
$u->run;
$t = $u;
($s) = rpc('/mcp', { jsonrpc => '2.0', id => 1, method => 'ping' }, 'Host' => 'mcp.example.com');
is($s, 200, 'mcp.allowed_hosts admits a configured name');
($s) = rpc('/mcp', { jsonrpc => '2.0', id => 1, method => 'ping' }, 'Host' => 'localhost');
is($s, 403, 'and then only those');
($s) = rpc('/mcp', { jsonrpc => '2.0', id => 1, method => 'ping' }, 'Host' => 'mcp.example.com', 'Origin' => 'https://app.example.com');
is($s, 200, 'mcp.allowed_origins admits a configured origin');
$u->finish;
done_testing;
