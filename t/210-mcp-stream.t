#!/usr/bin/perl
# The stream protocol (newline-delimited JSON-RPC on a unix socket) and
# pulumicost-mcp bridge: sessions, errors, notifications inline, limits,
# and a bridge that survives reloads.

use strict;
use warnings;
use IO::Socket::UNIX;
use IPC::Open2;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Socket qw(SOCK_STREAM);
use Test::More;
use Test::PCM qw(wait_for);
use Time::HiRes qw(time sleep);

my $t = Test::PCM->new;
my $ss = $t->dir . '/run/stream.sock';
$t->write_config($t->base_config(server => <<"Y", extra => "mcp:\n  max_message_size: 4096\n  conformance: true\n"));
  read_timeout: 1s
Y
my $cfg = Test::PCM::slurp($t->conf);
$cfg =~ s{(  worker_processes)}{    - address: unix:$ss\n      protocol: stream\n$1};
$t->write_config($cfg);
$t->run;
my $hooks = $t->has_hooks;

my $c = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $ss) or die "$ss: $!";
$c->autoflush(1);
our $buf = '';
sub rd {
	my ($s) = @_;
	$s //= $c;
	my $deadline = time + 5;
	while (time < $deadline) {
		if ($buf =~ s/^(.*?)\n//) { return decode_json($1) }
		my $rin = '';
		vec($rin, fileno($s), 1) = 1;
		next unless select(my $r = $rin, undef, undef, 0.2);
		my $n = sysread($s, $buf, 65536, length $buf);
		return undef unless $n;
	}
	return undef;
}
sub wr { my ($o) = @_; print $c (ref $o ? encode_json($o) : $o), "\n"; }

wr({ jsonrpc => '2.0', id => 1, method => 'tools/list' });
my $j = rd();
is($j->{error}{code}, -32600, 'before initialize: -32600');
like($j->{error}{message}, qr/send initialize first/, 'says what to do');
wr({ jsonrpc => '2.0', id => 2, method => 'ping' });
is_deeply(rd()->{result}, {}, 'ping before initialize');
wr({ jsonrpc => '2.0', id => 3, method => 'server/discover' });
is(rd()->{error}{code}, -32601, 'server/discover before initialize: a prompt -32601');
wr({ jsonrpc => '2.0', id => 0, method => 'initialize', params => { protocolVersion => '2025-11-25',
    capabilities => {}, clientInfo => { name => 'perl', version => '1' } } });
$j = rd();
is($j->{id}, 0, 'initialize: id 0');
is($j->{result}{protocolVersion}, '2025-11-25', 'initialize: version');
wr({ jsonrpc => '2.0', method => 'notifications/initialized' });
wr('{"jsonrpc":"2.0","id":4,');
is(rd()->{error}{code}, -32700, 'malformed line: -32700, and the session goes on');
wr({ jsonrpc => '2.0', id => 5, method => 'tools/list' });
ok(ref rd()->{result}{tools} eq 'ARRAY', 'tools/list after initialize');
wr({ jsonrpc => '2.0', id => 6, method => 'initialize', params => { protocolVersion => '2025-11-25' } });
is(rd()->{error}{code}, -32600, 'second initialize: -32600');
wr('[{"jsonrpc":"2.0","id":7,"method":"ping"}]');
is(rd()->{error}{code}, -32600, 'batch under 2025-11-25: -32600');
wr('{"jsonrpc":"2.0","id":8,"method":"ping","pad":"' . ('x' x 5000) . '"}');
is(rd()->{error}{code}, -32600, 'oversized line: -32600');
wr({ jsonrpc => '2.0', id => 9, method => 'ping' });
is_deeply(rd()->{result}, {}, 'session usable after an oversized line');

SKIP: {
	skip 'test tools need --enable-test-hooks', 4 unless $hooks;
	wr({ jsonrpc => '2.0', id => 10, method => 'logging/setLevel', params => { level => 'debug' } });
	rd();
	wr({ jsonrpc => '2.0', id => 11, method => 'tools/call', params => { name => 'test_echo',
	    _meta => { progressToken => 77 } } });
	my @got = map { rd() } 1 .. 4;
	is($got[0]{method}, 'notifications/message', 'log message inline');
	is($got[1]{method}, 'notifications/progress', 'progress inline');
	is($got[1]{params}{progressToken}, 77, 'integer token kept');
	is($got[3]{id}, 11, 'response after its notifications');
}

# notifications/cancelled stops a call and suppresses its response.
wr({ jsonrpc => '2.0', id => 'slow', method => 'tools/call', params => { name => 'test_tool_with_progress',
    _meta => { progressToken => 'pt' } } });
wr({ jsonrpc => '2.0', method => 'notifications/cancelled', params => { requestId => 'slow', reason => 'test' } });
wr({ jsonrpc => '2.0', id => 'after', method => 'ping' });
my @seen;
while (my $m = rd()) {
	push @seen, $m;
	last if ($m->{id} // '') eq 'after';
}
ok(!grep({ ($_->{id} // '') eq 'slow' } @seen), 'a cancelled call gets no response');
is($seen[-1]{id}, 'after', 'the session goes on');
Time::HiRes::sleep(0.3);
wr({ jsonrpc => '2.0', id => 'later', method => 'ping' });
is(rd()->{id}, 'later', 'nothing of the cancelled call arrives later');
# A normal call of the same tool completes, with progress 0, 50, 100.
wr({ jsonrpc => '2.0', id => 'full', method => 'tools/call', params => { name => 'test_tool_with_progress',
    _meta => { progressToken => 'pt2' } } });
my @p;
while (my $m = rd()) {
	push @p, $m->{params}{progress} if ($m->{method} // '') eq 'notifications/progress';
	last if ($m->{id} // '') eq 'full';
}
is_deeply(\@p, [0, 50, 100], 'progress 0, 50, 100 before the response');

# Input from the client before 2026-07-28: the server asks on the stream
# (one request per input, all of a round at once) and runs the tool again
# with the answers, round after round.
{
	my $d = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $ss) or die "$ss: $!";
	$d->autoflush(1);
	local $buf = '';
	my $w = sub { print $d encode_json($_[0]), "\n" };
	$w->({ jsonrpc => '2.0', id => 1, method => 'initialize', params => { protocolVersion => '2025-11-25',
	    capabilities => { elicitation => {}, sampling => {}, roots => {} },
	    clientInfo => { name => 'asker', version => '1' } } });
	rd($d);
	$w->({ jsonrpc => '2.0', method => 'notifications/initialized' });
	$w->({ jsonrpc => '2.0', id => 2, method => 'tools/call',
	    params => { name => 'test_input_required_result_multi_round' } });
	my $q = rd($d);
	is($q->{method}, 'elicitation/create', 'round 1: the server asks (elicitation/create)');
	is($q->{params}{message}, 'Step 1: What is your name?', 'round 1: the first question');
	$w->({ jsonrpc => '2.0', id => $q->{id}, result => { action => 'accept', content => { name => 'Ada' } } });
	$q = rd($d);
	is($q->{params}{message}, 'Step 2: What is your favorite color?', 'round 2: asked after the first answer');
	$w->({ jsonrpc => '2.0', id => $q->{id}, result => { action => 'accept', content => { color => 'green' } } });
	my $r = rd($d);
	is($r->{id}, 2, 'then the result');
	is($r->{result}{content}[0]{text}, 'Hello Ada, your favorite color is green.',
	    'computed from both answers and the state between rounds');

	$w->({ jsonrpc => '2.0', id => 3, method => 'tools/call',
	    params => { name => 'test_input_required_result_multiple_inputs' } });
	my %asked;
	for (1 .. 3) { my $m = rd($d); $asked{$m->{method} // 'none'} = $m->{id}; }
	is_deeply([sort keys %asked], ['elicitation/create', 'roots/list', 'sampling/createMessage'],
	    'three inputs of one round: three requests at once');
	$w->({ jsonrpc => '2.0', id => $asked{'roots/list'}, result => { roots => [ { uri => 'file:///srv' } ] } });
	$w->({ jsonrpc => '2.0', id => $asked{'elicitation/create'}, result => { action => 'accept',
	    content => { name => 'Lin' } } });
	$w->({ jsonrpc => '2.0', id => $asked{'sampling/createMessage'}, error => { code => -1,
	    message => 'the user refused sampling' } });
	$r = rd($d);
	is($r->{result}{isError}, JSON::PP::true, 'a request the client answers with an error fails the call');
	is($r->{result}{content}[0]{text}, "the client's answer to sampling/createMessage: the user refused sampling",
	    'saying which request and why');
	close $d;
}
{
	# A client without the capability is not asked.
	my $d = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $ss) or die "$ss: $!";
	$d->autoflush(1);
	local $buf = '';
	print $d encode_json({ jsonrpc => '2.0', id => 1, method => 'initialize', params => {
	    protocolVersion => '2025-11-25', capabilities => {}, clientInfo => { name => 'mute', version => '1' } } }), "\n";
	rd($d);
	print $d encode_json({ jsonrpc => '2.0', id => 2, method => 'tools/call',
	    params => { name => 'test_input_required_result_list_roots' } }), "\n";
	my $r = rd($d);
	is($r->{result}{content}[0]{text}, 'this call needs roots/list from the client, which did not declare the'
	    . ' roots capability', 'no request for an undeclared capability: a tool error naming it');
	close $d;
}

# An unfinished line is closed after read_timeout.
{
	my $d = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $ss);
	print $d '{"jsonrpc":"2.0"';
	my $t0 = time;
	local $buf = '';
	my $e = rd($d);
	is($e->{error}{code}, -32700, 'incomplete line: error after read_timeout');
	ok(time - $t0 >= 0.9, 'not before');
}

# socat works as a bridge too: the protocol is plain lines.
SKIP: {
	my $socat = (grep { -x } '/usr/bin/socat', '/bin/socat')[0];
	skip 'socat not installed', 2 unless $socat;
	my $in = join '', map { encode_json($_) . "\n" } (
	    { jsonrpc => '2.0', id => 1, method => 'initialize', params => { protocolVersion => '2025-11-25',
	      capabilities => {}, clientInfo => { name => 'socat', version => '1' } } },
	    { jsonrpc => '2.0', method => 'notifications/initialized' },
	    { jsonrpc => '2.0', id => 2, method => 'tools/list' });
	$t->write_file('socat.in', $in);
	my $out = `timeout 10 sh -c '(cat $t->{dir}/socat.in; sleep 1) | $socat STDIO UNIX-CONNECT:$ss'`;
	my @l = map { decode_json($_) } grep { /\S/ } split /\n/, $out;
	is($l[0]{result}{protocolVersion}, '2025-11-25', 'socat STDIO UNIX-CONNECT: initialize');
	ok($l[1] && $l[1]{result}{tools}, 'socat: tools/list');
}

# The bridge: stdio <-> socket.
my $bin = $t->bin;
my ($rc, undef, $err) = $t->cmd('bridge', '--socket', $t->dir . '/run/none.sock');
is($rc, 1, 'bridge to a missing socket exits 1');
like($err, qr/cannot connect to .*none\.sock/, 'with a clear message');
($rc, undef, $err) = $t->cmd('bridge', '--url', 'http://127.0.0.1:1/mcp');
is($rc, 1, 'bridge --url to a closed port exits 1');
like($err, qr/cannot connect to 127\.0\.0\.1:1: Connection refused/, 'with a clear message');
($rc, undef, $err) = $t->cmd('bridge', '--url', 'ftp://x/');
is($rc, 1, 'bridge --url with a bad URL exits 1');

my ($out, $in);
my $pid = open2($out, $in, $bin, 'bridge', '--socket', $ss);
$in->autoflush(1);
sub brd {
	my $line;
	my $deadline = time + 10;
	my $rin = '';
	vec($rin, fileno($out), 1) = 1;
	while (time < $deadline) {
		next unless select(my $r = $rin, undef, undef, 0.2);
		$line = <$out>;
		last;
	}
	return defined $line ? decode_json($line) : undef;
}
print $in encode_json({ jsonrpc => '2.0', id => 'a', method => 'initialize', params => {
    protocolVersion => '2025-06-18', capabilities => {}, clientInfo => { name => 'b', version => '1' } } }), "\n";
is(brd()->{result}{protocolVersion}, '2025-06-18', 'bridge: initialize');
print $in encode_json({ jsonrpc => '2.0', method => 'notifications/initialized' }), "\n";
print $in encode_json({ jsonrpc => '2.0', id => 'b', method => 'ping' }), "\n";
is(brd()->{id}, 'b', 'bridge: ping');

# A reload closes the session; the bridge reconnects and replays.
is($t->reload, 'ok', 'reload while the bridge is connected');
ok(wait_for(sub { !grep { $t->generation_of($_) == 1 } $t->workers }, 10), 'old generation gone');
print $in encode_json({ jsonrpc => '2.0', id => 'c', method => 'tools/list' }), "\n";
my $r = brd();
is($r->{id}, 'c', 'bridge: the session goes on after a reload');
ok($r->{result}{tools}, 'as an initialized session, invisibly');
close $in;
ok(wait_for(sub { waitpid($pid, WNOHANG) == $pid }, 5), 'bridge exits on stdin EOF');
is($? >> 8, 0, 'with status 0');

$t->finish;
done_testing;
