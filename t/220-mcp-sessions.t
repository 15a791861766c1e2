#!/usr/bin/perl
# MCP sessions over Streamable HTTP live in shared memory: created by
# initialize, usable through any worker (even one started after the
# session), ended by DELETE, 404 when unknown.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM qw(wait_for);
use Time::HiRes ();

my $t = Test::PCM->new;
$t->write_config($t->base_config(workers => 2, extra => "mcp:\n  conformance: true\n"));
$t->allow_alert(qr/was killed by signal 9/);
$t->run;

sub post {
	my ($o, %h) = @_;
	my $body = ref $o ? encode_json($o) : $o;
	my $hdr = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
	my ($s, $rh, $b) = $t->http("POST /mcp HTTP/1.1\r\nHost: localhost\r\n"
	    . "Accept: application/json, text/event-stream\r\nContent-Type: application/json\r\n"
	    . "${hdr}Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
	my $j = ($rh->{'content-type'} // '') =~ /json/ && length $b ? decode_json($b) : undef;
	return ($s, $j, $rh);
}

my ($s, $j, $h) = post({ jsonrpc => '2.0', id => 1, method => 'initialize', params => {
    protocolVersion => '2025-06-18', capabilities => {}, clientInfo => { name => 's', version => '1' } } });
is($s, 200, 'initialize');
my $sid = $h->{'mcp-session-id'};
like($sid, qr/^[\x21-\x7e]{32}$/, 'Mcp-Session-Id: 32 visible ASCII characters');
($s) = post({ jsonrpc => '2.0', method => 'notifications/initialized' }, 'Mcp-Session-Id' => $sid);
is($s, 202, 'notifications/initialized on the session');

# Every worker serves the session, including ones started after it.
my %seen;
for (1 .. 10) {
	($s, $j) = post({ jsonrpc => '2.0', id => "p$_", method => 'ping' }, 'Mcp-Session-Id' => $sid);
	$seen{$s}++;
}
is_deeply(\%seen, { 200 => 10 }, 'ten requests on the session, all served');
kill 'KILL', $_ for $t->workers;
ok(wait_for(sub { scalar($t->workers) == 2 }, 10), 'all workers replaced');
($s, $j) = post({ jsonrpc => '2.0', id => 2, method => 'tools/list' }, 'Mcp-Session-Id' => $sid);
is($s, 200, 'the session outlives every worker that knew it');
ok($j->{result}, 'and answers');

# Cancelling a call from another connection (any worker) ends its stream
# without a response.
{
	my $body = encode_json({ jsonrpc => '2.0', id => 'long', method => 'tools/call',
	    params => { name => 'test_tool_with_progress', _meta => { progressToken => 1 } } });
	my $c = $t->connect_sock;
	print $c "POST /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: application/json, text/event-stream\r\n"
	    . "Content-Type: application/json\r\nMcp-Session-Id: $sid\r\nContent-Length: " . length($body)
	    . "\r\nConnection: close\r\n\r\n$body";
	($s) = post({ jsonrpc => '2.0', method => 'notifications/cancelled', params => { requestId => 'long' } },
	    'Mcp-Session-Id' => $sid);
	is($s, 202, 'notifications/cancelled accepted');
	my ($cs, $ch, $cb) = Test::PCM::read_response($c, 5);
	# 200: its event stream had started and ends without a response;
	# 204: it was cancelled before it notified anything.
	ok(defined $cs && ($cs == 200 || $cs == 204), "the cancelled call's request ends ($cs)");
	unlike(Test::PCM::dechunk($cb // ''), qr/"id":"long"/, 'no response for the cancelled call');
}

# The session remembers its state: a second initialize is refused.
($s, $j) = post({ jsonrpc => '2.0', id => 3, method => 'initialize', params => { protocolVersion => '2025-06-18' } },
    'Mcp-Session-Id' => $sid);
is($j->{error}{code}, -32600, 'second initialize on a session: -32600');

# It survives a reload too.
is($t->reload, 'ok', 'reload');
($s) = post({ jsonrpc => '2.0', id => 4, method => 'ping' }, 'Mcp-Session-Id' => $sid);
is($s, 200, 'session served by the new generation');

# Unknown and ended sessions.
($s, $j) = post({ jsonrpc => '2.0', id => 5, method => 'ping' }, 'Mcp-Session-Id' => 'f' x 32);
is($s, 404, 'unknown session: 404');
is($j->{error}{code}, -32001, 'Session not found');
($s, $j) = post({ jsonrpc => '2.0', id => 6, method => 'ping' }, 'Mcp-Session-Id' => 'not-hex');
is($s, 404, 'malformed session id: 404');
my ($ds) = $t->http("DELETE /mcp HTTP/1.1\r\nHost: localhost\r\nMcp-Session-Id: $sid\r\nConnection: close\r\n\r\n");
is($ds, 204, 'DELETE ends the session');
($s) = post({ jsonrpc => '2.0', id => 7, method => 'ping' }, 'Mcp-Session-Id' => $sid);
is($s, 404, 'ended session: 404');
($ds) = $t->http("DELETE /mcp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
is($ds, 400, 'DELETE without a session id: 400');
($ds) = $t->http("DELETE /mcp HTTP/1.1\r\nHost: localhost\r\nMcp-Session-Id: $sid\r\nConnection: close\r\n\r\n");
is($ds, 404, 'DELETE of an ended session: 404');

# Without a session id, requests are still served statelessly.
($s, $j) = post({ jsonrpc => '2.0', id => 8, method => 'ping' });
is($s, 200, 'session-less requests still work');
$t->finish;

# mcp.session_timeout is an idle timeout: use keeps a session, idleness ends it.
$t = Test::PCM->new;
$t->write_config($t->base_config(extra => "mcp:\n  session_timeout: 1s\n"));
$t->run;
($s, $j, $h) = post({ jsonrpc => '2.0', id => 1, method => 'initialize', params => {
    protocolVersion => '2025-11-25', capabilities => {}, clientInfo => { name => 's', version => '1' } } });
$sid = $h->{'mcp-session-id'};
for my $i (1 .. 3) {
	Time::HiRes::sleep(0.6);
	($s) = post({ jsonrpc => '2.0', id => "k$i", method => 'ping' }, 'Mcp-Session-Id' => $sid);
	is($s, 200, sprintf('in use after %.1fs: alive', 0.6 * $i));
}
Time::HiRes::sleep(1.4);
($s) = post({ jsonrpc => '2.0', id => 'late', method => 'ping' }, 'Mcp-Session-Id' => $sid);
is($s, 404, 'idle longer than session_timeout: gone');
$t->finish;
done_testing;
