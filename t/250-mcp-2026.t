#!/usr/bin/perl
# Revision 2026-07-28 on the same endpoint: stateless requests carrying
# per-request _meta, server/discover, resultType, ttlMs/cacheScope,
# Mcp-Method/Mcp-Name checks and the new error codes and statuses; a
# client that opens with initialize still gets the stateful protocol.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
$t->write_config($t->base_config(extra => "mcp:\n  conformance: true\n"));
$t->run;

my %meta = ('io.modelcontextprotocol/protocolVersion' => '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities' => {},
    'io.modelcontextprotocol/clientInfo' => { name => 'modern', version => '1' });

sub post {
	my ($o, %h) = @_;
	my $body = encode_json($o);
	$h{'MCP-Protocol-Version'} = '2026-07-28' unless exists $h{'MCP-Protocol-Version'};
	$h{'Mcp-Method'} = $o->{method} if defined $o->{method} && !exists $h{'Mcp-Method'};
	delete $h{$_} for grep { !defined $h{$_} } keys %h;
	my $hdr = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
	my ($s, $rh, $b) = $t->http("POST /mcp HTTP/1.1\r\nHost: localhost\r\n"
	    . "Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\n"
	    . "${hdr}Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
	my $j;
	if (($rh->{'content-type'} // '') =~ /event-stream/) {
		my @d = Test::PCM::dechunk($b) =~ /^data: (.+)$/mg;
		$j = decode_json($d[-1]);
	} elsif (length($b // '')) {
		$j = decode_json($b);
	}
	return ($s, $j, $rh);
}

my ($s, $j) = post({ jsonrpc => '2.0', id => 1, method => 'server/discover', params => { _meta => \%meta } });
is($s, 200, 'server/discover: 200');
is($j->{result}{resultType}, 'complete', 'resultType');
ok((grep { $_ eq '2026-07-28' } @{$j->{result}{supportedVersions}}), 'supportedVersions has 2026-07-28');
ok((grep { $_ eq '2025-11-25' } @{$j->{result}{supportedVersions}}), 'and the stateful revisions');
is($j->{result}{cacheScope}, 'public', 'cacheScope');
ok($j->{result}{ttlMs} >= 0, 'ttlMs');
is($j->{result}{_meta}{'io.modelcontextprotocol/serverInfo'}{name}, 'pulumicost-mcp', 'serverInfo in _meta');

($s, $j) = post({ jsonrpc => '2.0', id => 2, method => 'tools/list', params => { _meta => \%meta } });
is($j->{result}{resultType}, 'complete', 'tools/list: resultType');
ok(defined $j->{result}{ttlMs} && defined $j->{result}{cacheScope}, 'tools/list: ttlMs and cacheScope');
ok(scalar @{$j->{result}{tools}}, 'tools listed without initialize');

($s, $j) = post({ jsonrpc => '2.0', id => 3, method => 'tools/call',
    params => { name => 'test_simple_text', _meta => \%meta } }, 'Mcp-Name' => 'test_simple_text');
is($j->{result}{resultType}, 'complete', 'tools/call: resultType');
is($j->{result}{content}[0]{text}, 'This is a simple text response for testing.', 'tools/call result');

# Header checks.
($s, $j) = post({ jsonrpc => '2.0', id => 4, method => 'tools/call',
    params => { name => 'test_simple_text', _meta => \%meta } });
is($s, 400, 'missing Mcp-Name: 400');
is($j->{error}{code}, -32020, 'missing Mcp-Name: -32020');
($s, $j) = post({ jsonrpc => '2.0', id => 5, method => 'tools/list', params => { _meta => \%meta } },
    'Mcp-Method' => 'prompts/list');
is($j->{error}{code}, -32020, 'Mcp-Method mismatch: -32020');
is($j->{id}, 5, 'header errors carry the request id');
($s, $j) = post({ jsonrpc => '2.0', id => 55, method => 'tools/list', params => { _meta => \%meta } },
    'MCP-Protocol-Version' => '2025-11-25');
is($j->{error}{code}, -32020, 'header version unlike _meta: -32020');
($s, $j) = post({ jsonrpc => '2.0', id => 56, method => 'resources/subscribe',
    params => { uri => 'test://watched-resource', _meta => \%meta } });
is($s, 404, 'resources/subscribe is gone in 2026-07-28: 404');

# Metadata errors.
my %bad = %meta;
$bad{'io.modelcontextprotocol/protocolVersion'} = '2027-01-01';
($s, $j) = post({ jsonrpc => '2.0', id => 6, method => 'tools/list', params => { _meta => \%bad } },
    'MCP-Protocol-Version' => '2027-01-01');
is($s, 400, 'unsupported version in _meta: 400');
is($j->{error}{code}, -32022, 'unsupported version: -32022');
is_deeply($j->{error}{data}{supported}, ['2026-07-28'], 'with the supported versions');
my %nocap = %meta;
delete $nocap{'io.modelcontextprotocol/clientCapabilities'};
($s, $j) = post({ jsonrpc => '2.0', id => 7, method => 'tools/list', params => { _meta => \%nocap } });
is($s, 400, 'missing clientCapabilities: 400');
is($j->{error}{code}, -32602, 'missing clientCapabilities: -32602');
($s, $j) = post({ jsonrpc => '2.0', id => 8, method => 'no/such', params => { _meta => \%meta } });
is($s, 404, 'unknown method: 404');
is($j->{error}{code}, -32601, 'unknown method: -32601');
($s, $j) = post({ jsonrpc => '2.0', id => 9, method => 'ping', params => { _meta => \%meta } });
is($j->{error}{code}, -32601, 'ping is gone in 2026-07-28');
($s, $j) = post({ jsonrpc => '2.0', id => 10, method => 'tools/list' });
is($s, 400, 'the 2026-07-28 header without _meta: 400');

# A tool needing a capability the client did not declare: -32021, 400.
($s, $j) = post({ jsonrpc => '2.0', id => 60, method => 'tools/call',
    params => { name => 'test_missing_capability', _meta => \%meta } }, 'Mcp-Name' => 'test_missing_capability');
is($s, 400, 'undeclared capability: 400');
is($j->{error}{code}, -32021, 'undeclared capability: -32021');
is_deeply($j->{error}{data}{requiredCapabilities}, { sampling => {} }, 'naming the capability');

# Log messages only when _meta asks for them.
($s, $j, my $h) = post({ jsonrpc => '2.0', id => 11, method => 'tools/call',
    params => { name => 'test_logging_tool', _meta => \%meta } }, 'Mcp-Name' => 'test_logging_tool');
is($j->{result}{resultType}, 'complete', 'logging tool without logLevel completes');
like($h->{'content-type'}, qr{application/json}, 'and, with nothing to notify, answers plain JSON');
my %lvl = (%meta, 'io.modelcontextprotocol/logLevel' => 'info');
($s, $j, $h) = post({ jsonrpc => '2.0', id => 12, method => 'tools/call',
    params => { name => 'test_logging_tool', _meta => \%lvl } }, 'Mcp-Name' => 'test_logging_tool');
like($h->{'content-type'}, qr{text/event-stream}, 'with logLevel set it logs, on an event stream');

# Arguments mirrored in Mcp-Param-* headers (SEP-2243): header and body agree.
{
	use MIME::Base64 qw(encode_base64);
	my $b64 = sub { '=?base64?' . encode_base64($_[0], '') . '?=' };
	my $call = sub {
		my ($args, %h) = @_;
		return post({ jsonrpc => '2.0', id => 20, method => 'tools/call',
		    params => { name => 'test_custom_headers', arguments => $args, _meta => \%meta } },
		    'Mcp-Name' => 'test_custom_headers', %h);
	};
	my %args = (region => 'eu-west-1', priority => 3);
	($s, $j) = $call->(\%args, 'Mcp-Param-Region' => 'eu-west-1', 'Mcp-Param-Priority' => '3');
	is($s, 200, 'Mcp-Param headers matching the body: 200');
	is($j->{result}{resultType}, 'complete', 'and the call completes');
	($s, $j) = $call->(\%args, 'Mcp-Param-Region' => $b64->('eu-west-1'), 'Mcp-Param-Priority' => '3');
	is($s, 200, 'a Base64-encoded header value is decoded');
	($s, $j) = $call->({ region => "\x{e9}t\x{e9}" }, 'Mcp-Param-Region' => $b64->("\xc3\xa9t\xc3\xa9"));
	is($s, 200, 'a non-ASCII value travels as Base64');
	($s, $j) = post({ jsonrpc => '2.0', id => 21, method => 'tools/call',
	    params => { name => 'test_simple_text', _meta => \%meta } }, 'Mcp-Name' => $b64->('test_simple_text'));
	is($s, 200, 'Mcp-Name may be Base64-encoded too');
	my @bad = (
	    [ { 'Mcp-Param-Region' => 'eu-west-1' }, 'the Mcp-Param-Priority header is required', 'missing header' ],
	    [ { 'Mcp-Param-Region' => 'eu-west-1', 'Mcp-Param-Priority' => '4' },
	      'the Mcp-Param-Priority header does not match the body', 'header unlike the body' ],
	    [ { 'Mcp-Param-Region' => '=?base64?ZXUtd2VzdC0?=', 'Mcp-Param-Priority' => '3' },
	      'the Mcp-Param-Region header is not valid Base64', 'Base64 without its padding' ],
	    [ { 'Mcp-Param-Region' => 'eu-west-1', 'Mcp-Param-Priority' => '3', 'Mcp-Param-Verbose' => 'true' },
	      'the Mcp-Param-Verbose header is sent but arguments.verbose is not', 'header without the argument' ],
	);
	for my $c (@bad) {
		($s, $j) = $call->(\%args, %{$c->[0]});
		is($s, 400, "$c->[2]: 400");
		is_deeply($j->{error}, { code => -32020, message => $c->[1] }, "$c->[2]: -32020 saying so");
	}
}

# Input-required results (MRTR, SEP-2322): the client answers by calling
# again with inputResponses and the sealed requestState.
{
	my %caps = (%meta, 'io.modelcontextprotocol/clientCapabilities' => { elicitation => {} });
	my $call = sub {
		my ($name, %p) = @_;
		return post({ jsonrpc => '2.0', id => 30, method => 'tools/call',
		    params => { name => $name, arguments => {}, _meta => \%caps, %p } }, 'Mcp-Name' => $name);
	};
	my $tool = 'test_input_required_result_request_state';
	($s, $j) = $call->($tool);
	is($s, 200, 'input required: 200');
	is($j->{result}{resultType}, 'input_required', 'resultType input_required');
	is($j->{result}{inputRequests}{confirm}{method}, 'elicitation/create', 'naming the request, by key');
	my $state = $j->{result}{requestState};
	like($state, qr{^[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$}, 'with a sealed requestState');
	my %answer = (inputResponses => { confirm => { action => 'accept', content => { ok => JSON::PP::true } } });
	($s, $j) = $call->($tool, %answer, requestState => $state);
	is($j->{result}{resultType}, 'complete', 'answered with the state: complete');
	like($j->{result}{content}[0]{text}, qr/^state-ok: confirmed with \{"ok":true\}$/, 'computed from the answer');
	# The state outlives a reload: its key is in the sessions segment.
	is($t->reload, 'ok', 'reload between the rounds');
	ok(wait_for(sub { !grep { $t->generation_of($_) == 1 } $t->workers }, 10), 'old generation gone');
	($s, $j) = $call->($tool, %answer, requestState => $state);
	is($j->{result}{resultType}, 'complete', 'a state issued before a reload is accepted after it');

	my @bad = (
	    [ [ %answer, requestState => "${state}x" ], 'params.requestState is not accepted: it failed its integrity check',
	      'an altered state' ],
	    [ [ %answer, requestState => 'garbage' ], 'params.requestState is not accepted: it failed its integrity check',
	      'a made-up state' ],
	    [ [ %answer, requestState => 7 ], 'params.requestState must be a string', 'a state of the wrong type' ],
	    [ [ inputResponses => undef ], 'params.inputResponses must be an object', 'null inputResponses' ],
	    [ [ inputResponses => { confirm => 12345 } ],
	      "params.inputResponses.confirm must be an object (the result of the client's request)", 'an answer not an object' ],
	);
	for my $c (@bad) {
		($s, $j) = $call->($tool, @{$c->[0]});
		is($s, 400, "$c->[2]: 400");
		is_deeply($j->{error}, { code => -32602, message => $c->[1] }, "$c->[2]: -32602 saying why");
	}
	($s, $j) = $call->('test_input_required_result_tampered_state', %answer, requestState => $state);
	is($j->{error}{message}, 'params.requestState is not accepted: it was issued for another request',
	    'a state replayed on another tool is refused');
	($s, $j) = $call->('test_input_required_result_elicitation', inputResponses => { other => {} });
	is($j->{result}{resultType}, 'input_required', 'an answer under the wrong key: asked again');
	($s, $j) = $call->('test_input_required_result_sampling');
	is($j->{result}{isError}, JSON::PP::true, 'a request for an undeclared capability is not made');
	is($j->{result}{content}[0]{text}, 'this call needs sampling/createMessage from the client, which did not'
	    . ' declare the sampling capability', 'but a tool error naming it');
	($s, $j) = post({ jsonrpc => '2.0', id => 31, method => 'tools/list',
	    params => { _meta => \%caps, inputResponses => {} } });
	is($j->{result}{resultType}, 'complete', 'tools/list never asks for input');
}

# A legacy client on the same endpoint still gets the stateful protocol.
($s, $j, $h) = post({ jsonrpc => '2.0', id => 13, method => 'initialize', params => {
    protocolVersion => '2025-11-25', capabilities => {}, clientInfo => { name => 'old', version => '1' } } },
    'MCP-Protocol-Version' => undef, 'Mcp-Method' => undef);
is($j->{result}{protocolVersion}, '2025-11-25', 'initialize still negotiates the stateful protocol');
ok($h->{'mcp-session-id'}, 'with a session');
ok(!exists $j->{result}{resultType}, 'and legacy results');
$t->finish;
done_testing;
