#!/usr/bin/perl
# Rate limits (rate_limiting): the 429 boundary is where the configuration
# puts it, summed across workers, per client address (X-Forwarded-For
# believed only from server.trusted_proxies) and per authenticated
# identity, with Retry-After; probes are never limited.  CORS (the cors
# section): preflights answered, allowed origins get the headers, others
# are refused.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
my $d = $t->dir;
my $common = <<"Y";
server:
  trusted_proxies: [127.0.0.1, "10.0.0.0/8"]
rate_limiting:
  enabled: true
  requests_per_minute: 1
  burst: 5
cors:
  enabled: true
  allowed_origins: ["https://app.example.com"]
  max_age: 5m
Y
# base_config has its own server section: the extra one merges into it.
my $base = $t->base_config(server => "  trusted_proxies: [127.0.0.1, \"10.0.0.0/8\"]");
(my $rest = $common) =~ s/^server:\n  trusted_proxies: .*\n//;
$t->write_config($base . $rest);
$t->run;

my $body = encode_json({ jsonrpc => '2.0', id => 1, method => 'tools/list' });
sub post {
    my ($path, $hdr, %o) = @_;
    return $t->http("POST $path HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        . "Accept: application/json, text/event-stream\r\n" . ($hdr // '')
        . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body", %o);
}

# --- per address, across workers -------------------------------------------

my @st = map { (post('/rpc', "X-Forwarded-For: 198.51.100.1, 203.0.113.7\r\n"))[0] } 1 .. 5;
is_deeply(\@st, [(200) x 5], 'a burst of 5 passes');
my ($s, $h, $b) = post('/rpc', "X-Forwarded-For: 203.0.113.7\r\n");
is($s, 429, 'the 6th request within the minute: 429');
ok($h->{'retry-after'} >= 55 && $h->{'retry-after'} <= 60, "Retry-After says when ($h->{'retry-after'} s)");
like($b, qr/too many requests: the limit is 1 a minute with a burst of 5/, 'saying the limit');
# Summed across workers: the kernel spreads connections between them as it
# likes, so clients are tried (each its own bucket) until one's burst was
# served by both workers; each must meet its limit exactly.
my ($spread, $exact) = (0, 1);
for my $n (10 .. 40) {
    my $ip = "203.0.113.$n";
    my @got = map { (post('/rpc', "X-Forwarded-For: $ip\r\n"))[0] } 1 .. 6;
    $exact &&= "@got" eq '200 200 200 200 200 429';
    my %pids = map { $_->{pid} => 1 } grep { ($_->{remote_addr} // '') eq $ip && ($_->{status} // 0) == 200 }
        $t->log_lines;
    if (keys %pids == 2) { $spread = 1; last }
}
ok($exact, 'every client: five served, the sixth refused');
ok($spread, 'including a client whose five were served by both workers: the limit is summed across them');
is((post('/rpc', "X-Forwarded-For: 203.0.113.8\r\n"))[0], 200, 'another client has its own bucket');
is((post('/rpc', "X-Forwarded-For: 10.1.2.3, 203.0.113.7, 10.9.9.9\r\n"))[0], 429,
    'trusted hops are skipped: the client is the right-most untrusted address');
is((post('/rpc', "X-Forwarded-For: not-an-address\r\n"))[0], 200, 'garbage is not believed');
is((post('/rpc', "X-Forwarded-For: 203.0.113.7\r\n", unix => 1))[0], 200,
    'X-Forwarded-For from a peer that is not a trusted proxy is ignored');
# The access lines reach the log through the master: wait for them.
my @remotes;
ok(wait_for(sub {
    @remotes = map { $_->{remote_addr} // '' } grep { ($_->{message} // '') eq 'http request' } $t->log_lines;
    (grep { $_ eq 'unix' } @remotes) && (grep { $_ eq '127.0.0.1' } @remotes) && (grep { $_ eq '203.0.113.8' } @remotes);
}, 10), 'the access log shows the client address') or diag explain [sort keys %{{ map { $_ => 1 } @remotes }}];
is_deeply([map { ($t->http_get('/health'))[0] } 1 .. 8], [(200) x 8], 'probes are not limited');

# --- CORS -------------------------------------------------------------------

($s, $h) = $t->http("OPTIONS /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.example.com\r\n"
    . "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type, mcp-session-id\r\n"
    . "Connection: close\r\n\r\n");
is($s, 204, 'a preflight from an allowed origin: 204');
is($h->{'access-control-allow-origin'}, 'https://app.example.com', 'Access-Control-Allow-Origin');
like($h->{'access-control-allow-methods'}, qr/\bPOST\b/, 'the methods');
like($h->{'access-control-allow-headers'}, qr/\bMcp-Session-Id\b/, 'the headers');
is($h->{'access-control-max-age'}, 300, 'max_age');
is(($t->http("OPTIONS /mcp HTTP/1.1\r\nHost: localhost\r\nOrigin: https://evil.example\r\n"
    . "Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n"))[0], 403, 'a preflight from another origin: 403');
($s, $h) = post('/mcp', "Origin: https://app.example.com\r\nX-Forwarded-For: 192.0.2.1\r\n");
is($s, 200, 'a request from the allowed origin is served');
is($h->{'access-control-allow-origin'}, 'https://app.example.com', 'with Access-Control-Allow-Origin');
like($h->{'access-control-expose-headers'} // '', qr/Mcp-Session-Id/, 'and the headers it may read');
($s, $h) = post('/mcp', "Origin: https://evil.example\r\nX-Forwarded-For: 192.0.2.2\r\n");
is($s, 403, 'a request from another origin: 403');
ok(!$h->{'access-control-allow-origin'}, 'without CORS headers');

# --- per identity -----------------------------------------------------------

$t->write_config($base . $rest . <<"Y");
security:
  auth:
    enabled: true
    tokens: ["alice:alice-0123456789abcdef", "bob:bob-0123456789abcdef0"]
Y
is($t->reload, 'ok', 'reload with token auth');
@st = map { (post('/rpc', "X-API-Token: alice-0123456789abcdef\r\nX-Forwarded-For: 192.0.2.$_\r\n"))[0] } 1 .. 6;
is_deeply(\@st, [(200) x 5, 429], 'per identity: alice\'s 6th request is refused, whatever her address');
is((post('/rpc', "X-API-Token: bob-0123456789abcdef0\r\n"))[0], 200, 'bob has his own');

$t->finish;
done_testing;
