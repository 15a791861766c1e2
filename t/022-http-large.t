#!/usr/bin/perl
# Large requests: a worker reads what has arrived in one go instead of
# libevent's 4096 bytes a trip through the event loop.  A 1.5 MB tool call
# over TCP, the unix socket and the stream protocol, whole or in pieces,
# two pipelined on one connection, and one over the limit; each answer the
# same as for the small request it pads.

use strict;
use warnings;
use IO::Socket::UNIX;
use JSON::PP;
use Socket qw(SOCK_STREAM);
use Test::More;
use Test::PCM qw(wait_for);
use Time::HiRes qw(sleep);

my $t = Test::PCM->new;
my $ss = $t->dir . '/run/stream.sock';
$t->write_config($t->base_config(server => "  read_timeout: 5s\n",
    extra => "mcp:\n  max_message_size: 2m\ncache:\n  enabled: false\n"));
my $cfg = Test::PCM::slurp($t->conf);
$cfg =~ s{(  worker_processes)}{    - address: unix:$ss\n      protocol: stream\n$1};
$t->write_config($cfg);
$t->run;

# Twenty instances in the real preview shape; the padding is a member the
# walker passes over.
my $preview = { steps => [ map { { op => 'create',
    urn => "urn:pulumi:dev::big::aws:ec2/instance:Instance::web-$_",
    newState => { type => 'aws:ec2/instance:Instance', custom => JSON::PP::true,
    inputs => { instanceType => 't3.large', availabilityZone => 'us-east-1a' } } } } 1 .. 20 ] };
sub call_body {
	my ($id, $pad) = @_;
	my %p = (%$preview, $pad ? (x_padding => 'p' x $pad) : ());
	return encode_json({ jsonrpc => '2.0', id => $id, method => 'tools/call', params => {
	    name => 'analyze_projected_costs', arguments => { pulumi_json => encode_json(\%p) } } });
}
sub post {
	my ($body, %o) = @_;
	return "POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
	    . "Content-Length: " . length($body) . "\r\n" . ($o{close} ? "Connection: close\r\n" : '')
	    . "\r\n$body";
}
sub total { my $j = eval { decode_json($_[0] // '') } or return 'not JSON';
	$j->{result}{structuredContent}{total_monthly} // 'no total' }

my ($s, $h, $b) = $t->http(post(call_body(1)));
is($s, 200, 'the small request');
my $want = total($b);
ok(abs($want - 20 * 730 * Test::PCM::catalog_price(qw(aws ec2 t3.large us-east-1))) < 0.01,
    "its total: $want");

my $big = call_body(1, 1_500_000);
ok(length($big) > 1_500_000, 'a request of ' . length($big) . ' bytes');
for my $unix (0, 1) {
	my $via = $unix ? 'unix socket' : 'TCP';
	($s, $h, $b) = $t->http(post($big, close => 1), unix => $unix);
	is($s, 200, "$via, in one write: 200");
	is(total($b), $want, "$via, in one write: the same total");
}

# In pieces, with pauses: each piece is read as it comes.
{
	my $sock = $t->connect_sock or die;
	$sock->autoflush(1);
	my $raw = post($big, close => 1);
	my $n = 7;
	my $size = int(length($raw) / $n) + 1;
	for my $k (0 .. $n - 1) {
		syswrite($sock, substr($raw, $k * $size, $size)) // last;
		sleep 0.05;
	}
	($s, $h, $b) = Test::PCM::read_response($sock, 10);
	is($s, 200, 'in seven pieces: 200');
	is(total($b), $want, 'in seven pieces: the same total');
}

# Two pipelined in one write: both answered, in order (read to the close).
{
	my $sock = $t->connect_sock or die;
	$sock->autoflush(1);
	print $sock post($big) . post(call_body(2, 1_000_000), close => 1);
	my $buf = Test::PCM::read_until($sock, 10);
	my @ids;
	while ($buf =~ s{^HTTP/1\.1 (\d+)[^\n]*\n(.*?)\r\n\r\n}{}s) {
		my ($st, $head) = ($1, $2);
		my ($len) = $head =~ /content-length:\s*(\d+)/i or last;
		my $body = substr($buf, 0, $len, '');
		push @ids, "$st " . (eval { decode_json($body)->{id} } // 'no id');
	}
	is_deeply(\@ids, [ '200 1', '200 2' ], 'pipelined: both answered, in order');
}

# A client gone half-way through a body: said in the log, the worker unharmed.
{
	my $sock = $t->connect_sock or die;
	$sock->autoflush(1);
	my $raw = post($big);
	syswrite($sock, substr($raw, 0, 600_000));
	close $sock;
	ok(wait_for(sub { $t->count_log(qr/^closing connection from .*: closed by the client after \d+ of \d+ body bytes$/) }, 5),
	    'a body cut short by the client: logged as such');
	($s) = $t->http(post(call_body(1)));
	is($s, 200, 'and the next request is served');
}

# Over the limit in one write: refused with 413, not read into memory.
($s, $h, $b) = $t->http(post(call_body(1, 2_200_000), close => 1));
is($s, 413, 'over mcp.max_message_size: 413');
like($b, qr/limit/, "saying why: $b");

# The stream protocol: one 1.5 MB line, whole and in pieces.
for my $pieces (1, 5) {
	my $c = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $ss) or die "$ss: $!";
	$c->autoflush(1);
	my $line = encode_json({ jsonrpc => '2.0', id => 0, method => 'initialize', params => {
	    protocolVersion => '2025-06-18', capabilities => {}, clientInfo => { name => 't', version => '1' } } })
	    . "\n" . encode_json({ jsonrpc => '2.0', method => 'notifications/initialized' }) . "\n$big\n";
	my $size = int(length($line) / $pieces) + 1;
	for my $k (0 .. $pieces - 1) {
		syswrite($c, substr($line, $k * $size, $size)) // last;
		sleep 0.05 if $pieces > 1;
	}
	my @answers = split /\n/, Test::PCM::read_until($c, 10, sub { ($_[0] =~ tr/\n//) >= 2 });
	is(total($answers[1]), $want, "stream, a 1.5 MB line in $pieces piece(s): the same total");
}

$t->finish;
done_testing;
