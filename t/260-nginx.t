#!/usr/bin/perl
# A real nginx in front of the server's unix socket, with the proxy
# settings shipped in contrib/nginx: health, SSE streamed event by event,
# sessions, and the official conformance suite through it.

use strict;
use warnings;
use Cwd qw(abs_path);
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Test::PCM qw(wait_for);
use Time::HiRes qw(time sleep);

my $src = abs_path($ENV{PCM_SRCDIR} // '.');
plan(skip_all => 'nginx is not installed')
    unless grep { -x } '/usr/sbin/nginx', '/usr/bin/nginx';

my $t = Test::PCM->new;
my $d = $t->dir;
my $ups = "$d/run/mcp.sock";
# nginx reaches the server on a unix socket: "unix" is the trusted proxy,
# so the client address in the log is the one nginx saw.
my $cfg = $t->base_config(extra => "mcp:\n  conformance: true\n",
    server => "  trusted_proxies: [unix]");
$cfg =~ s{(  worker_processes)}{    - address: unix:$ups\n      mode: "0666"\n$1};
$t->write_config($cfg);
$t->run;

my $nport = $t->port('nginx');
my $npid = $t->nginx(<<"NGX");
    upstream pulumicost_mcp {
        server unix:$ups;
        keepalive 16;
    }
    server {
        listen 127.0.0.1:$nport;
        location / {
            include $src/contrib/nginx/pulumicost-mcp-proxy.conf;
        }
    }
NGX
ok(wait_for(sub { my ($s) = $t->http_get('/health', port => $nport, timeout => 1); ($s // 0) == 200 }, 10),
    'nginx proxies /health to the unix socket') or diag Test::PCM::slurp("$d/ngx/stderr.log");
# X-Forwarded-For: believed from nginx (a trusted proxy), the client's own
# value before it is not (nginx appends; the right-most untrusted wins).
$t->http_get('/via-nginx-probe', port => $nport, headers => "X-Forwarded-For: 203.0.113.9\r\n");
my $via = $t->wait_log(sub { ($_->{path} // '') eq '/via-nginx-probe' });
is($via->{remote_addr}, '127.0.0.1', 'the access log has the client address nginx saw, not a forged one');
$t->http_get('/direct-probe', headers => "X-Forwarded-For: 203.0.113.9\r\n");
my $direct = $t->wait_log(sub { ($_->{path} // '') eq '/direct-probe' });
is($direct->{remote_addr}, '127.0.0.1', 'X-Forwarded-For sent straight to the TCP listener is ignored');

# SSE through nginx arrives event by event (the progress tool spaces its
# events 50 ms apart): the first event must come well before the end.
{
	my $body = encode_json({ jsonrpc => '2.0', id => 1, method => 'tools/call',
	    params => { name => 'test_tool_with_progress', _meta => { progressToken => 't' } } });
	my $c = $t->connect_sock(port => $nport);
	my $t0 = time;
	print $c "POST /mcp HTTP/1.1\r\nHost: localhost\r\nAccept: application/json, text/event-stream\r\n"
	    . "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
	my ($buf, $first, $last) = ('', undef, undef);
	my $deadline = time + 10;
	while (time < $deadline) {
		my $n = sysread($c, $buf, 65536, length $buf);
		last unless $n;
		$first //= time - $t0 if $buf =~ /notifications\/progress/;
		if ($buf =~ /"id":1,/) { $last = time - $t0; last }
	}
	ok(defined $first && defined $last, 'progress and the response arrived through nginx');
	ok(defined $first && $last - $first >= 0.05, sprintf('streamed, not buffered (first %.3fs, last %.3fs)',
	    $first // -1, $last // -1));
	like($buf, qr{Content-Type: text/event-stream}i, 'an event stream through nginx');
}

# The official conformance suite through nginx, every run of it.
Test::PCM::conformance("http://localhost:$nport/mcp", 'through nginx');
ok($t->nginx_stop($npid), 'nginx stopped');
$t->finish;
done_testing;
