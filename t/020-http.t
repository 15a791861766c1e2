#!/usr/bin/perl
# HTTP in the workers: health and ready over TCP and a unix socket, JSON
# errors, limits, timeouts, keep-alive and pipelining.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM qw(wait_for);
use Time::HiRes qw(time sleep);

my $t = Test::PCM->new;
$t->write_config($t->base_config(server => <<'Y', extra => <<'Y2'));
  read_timeout: 1s
  write_timeout: 1s
  keepalive_timeout: 2s
  max_header_size: 2k
  max_connections: 20
Y
mcp:
  max_message_size: 4096
Y2
$t->run;

is((stat $t->sock)[2] & 07777, 0666, 'unix socket mode from the listener config');

for my $unix (0, 1) {
	my $via = $unix ? 'unix' : 'tcp';
	my ($s, $j, $h) = $t->json_get('/health', unix => $unix);
	is($s, 200, "$via: /health 200");
	is($j->{status}, 'healthy', "$via: status healthy");
	like($j->{version}, qr/^\d+\.\d+\.\d+$/, "$via: version");
	like($h->{'content-type'}, qr{^application/json}, "$via: JSON content type");
	($s, $j) = $t->json_get('/ready', unix => $unix);
	is($s, 200, "$via: /ready 200");
	is($j->{status}, 'ready', "$via: ready");
}

my ($s, $j, $h) = $t->json_get('/nope');
is($s, 404, '404 for an unknown path');
is($j->{error}{code}, 404, '404 body is JSON');

($s, $h, my $b) = $t->http("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
is($s, 405, 'POST /health is 405');
is($h->{allow}, 'GET, HEAD', '405 has Allow');
is(decode_json($b)->{error}{code}, 405, '405 body is JSON');

($s, $h, $b) = $t->http("HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is($s, 200, 'HEAD /health');
is($b, '', 'HEAD has no body');

# Request ids: echoed when sane, generated otherwise.
($s, $j, $h) = $t->json_get('/health', headers => "X-Request-Id: abc-123\r\n");
is($h->{'x-request-id'}, 'abc-123', 'X-Request-Id echoed');
($s, $j, $h) = $t->json_get('/health', headers => "X-Request-Id: bad id <script>\r\n");
like($h->{'x-request-id'}, qr/^req-[0-9a-f]{24}$/, 'unsafe X-Request-Id replaced');

# Body limit: mcp.max_message_size.
($s, $h, $b) = $t->http("POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" . ('x' x 5000));
is($s, 413, '413 for an oversized body');
like(decode_json($b)->{error}{message}, qr/5000 bytes exceeds the limit of 4096/, '413 body explains');
is($h->{connection}, 'close', '413 closes the connection');

($s, $h, $b) = $t->http("POST /mcp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    . "1000\r\n" . ('y' x 4096) . "\r\n" . "10\r\n" . ('y' x 16) . "\r\n0\r\n\r\n");
is($s, 413, '413 for an oversized chunked body');

($s, $h, $b) = $t->http("POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    . "Connection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
is($s, 405, 'chunked body read whole, then routed');

# Expect: 100-continue.
{
	my $c = $t->connect_sock;
	print $c "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n";
	my $got = '';
	wait_for(sub { sysread($c, $got, 100, length $got); $got =~ /\r\n\r\n/ }, 5);
	like($got, qr{^HTTP/1\.1 100 Continue\r\n\r\n}, '100 Continue before the body');
}

# Header limits and malformed requests.
($s, $h, $b) = $t->http("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " . ('a' x 3000) . "\r\n\r\n");
is($s, 431, '431 for oversized headers');
is(decode_json($b)->{error}{code}, 431, '431 body is JSON');
($s, $h, $b) = $t->http("GARBAGE\r\n\r\n");
is($s, 400, '400 for a malformed request line');
($s) = $t->http("GET /health HTTP/2.0\r\nHost: x\r\n\r\n");
is($s, 505, '505 for HTTP/2.0 over HTTP/1 framing');
($s) = $t->http("GET /health HTTP/1.1\r\n\r\n");
is($s, 400, '400 for HTTP/1.1 without Host');
($s) = $t->http("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
is($s, 400, '400 for Content-Length with Transfer-Encoding');
($s) = $t->http("GET /health HTTP/1.1\r\nHost: x\r\n folded: y\r\n\r\n");
is($s, 400, '400 for obsolete line folding');

# Keep-alive and pipelining on one connection.
{
	my $c = $t->connect_sock;
	print $c "GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
	my $got = '';
	wait_for(sub { sysread($c, $got, 65536, length $got);
	    my @n = $got =~ m{HTTP/1\.1 }g; @n == 2 }, 5);
	my @st = $got =~ m{HTTP/1\.1 (\d+)}g;
	is("@st", '200 404', 'two pipelined requests answered in order');
	print $c "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
	my ($s3) = Test::PCM::read_response($c, 5);
	is($s3, 200, 'connection kept alive');
	# HTTP/1.0 without keep-alive closes.
	my $d = $t->connect_sock;
	print $d "GET /health HTTP/1.0\r\n\r\n";
	my ($s4, $h4) = Test::PCM::read_response($d, 5);
	is($s4, 200, 'HTTP/1.0 request');
	my $eof = wait_for(sub { my $n = sysread($d, my $x, 10); defined $n && $n == 0 }, 5);
	ok($eof, 'HTTP/1.0 connection closed after the response');
}

# A slow client (slowloris) is timed out by server.read_timeout.
{
	my $c = $t->connect_sock;
	my $t0 = time;
	print $c "GET /health HTTP/1.1\r\nHost: x\r\n";
	my ($s5, undef, $b5) = Test::PCM::read_response($c, 5);
	my $dt = time - $t0;
	is($s5, 408, 'incomplete request gets 408');
	ok($dt >= 0.9 && $dt < 3, sprintf('after about read_timeout (%.2fs)', $dt));
}

# An idle keep-alive connection is closed after keepalive_timeout.
{
	my $c = $t->connect_sock;
	print $c "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
	Test::PCM::read_response($c, 5);
	my $t0 = time;
	my $closed = wait_for(sub { my $n = sysread($c, my $x, 10); defined $n && $n == 0 }, 5);
	ok($closed && time - $t0 >= 1.5, 'idle keep-alive closed after keepalive_timeout');
}

# A client that does not read its response is cut off after write_timeout.
SKIP: {
	skip 'needs --enable-test-hooks', 2 unless $t->has_hooks;
	my $c = $t->connect_sock;
	print $c "GET /debug/big?n=67108864 HTTP/1.1\r\nHost: x\r\n\r\n";
	ok(wait_for(sub { $t->count_log(qr/did not read the response within the write timeout/) }, 10),
	    'write timeout closes a connection whose client does not read');
	my $got = 0;
	$c->blocking(0);
	wait_for(sub { my $n = sysread($c, my $x, 1 << 20); $got += $n if $n; defined $n && $n == 0 }, 10);
	ok($got < 67108864, "the response was cut short ($got bytes)");
}

# max_connections per worker: more connections wait, none is refused.
{
	my @c = map { $t->connect_sock } 1 .. 50;
	ok(scalar(grep { defined } @c) == 50, '50 concurrent connections open');
	my $okc = 0;
	for my $c (@c) {
		print $c "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	}
	for my $c (@c) {
		my ($st) = Test::PCM::read_response($c, 10);
		$okc++ if defined $st && $st == 200;
		close $c;
	}
	is($okc, 50, 'all served with max_connections 20 per worker');
}

# The access log has one line per request with the request fields.
my @acc = $t->log_grep(qr/^http request$/);
ok(@acc > 20, 'access lines logged');
my ($a) = grep { ($_->{request_id} // '') eq 'abc-123' } @acc;
ok($a, 'access line carries the request id');
is_deeply([ map { defined $a->{$_} ? 1 : 0 } qw(timestamp level message service version pid role method path status duration_ms remote_addr) ],
    [ (1) x 12 ], 'access line has the documented fields');

$t->finish;
done_testing;
