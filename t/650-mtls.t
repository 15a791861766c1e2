#!/usr/bin/perl
# TLS client certificates (security.tls.client_ca_file, client_auth,
# verify_depth) and security.auth.method mtls: the identity is the
# certificate's; missing, wrong-CA and expired certificates refused; a
# client that never finishes its handshake is closed after
# handshake_timeout; garbage before the handshake harms nothing; the
# server certificate swapped on reload reaches new connections while an
# open one keeps going.

use strict;
use warnings;
use IPC::Open2;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
plan(skip_all => 'openssl and curl are needed') unless `which openssl curl` =~ /curl/;
my $d = $t->dir;

sub sh { my $c = shift; system("$c >/dev/null 2>&1") == 0 or die "failed: $c"; }
sub ca {
    my ($name, $cn) = @_;
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout $d/$name.key -out $d/$name.pem -days 2 -subj /CN=$cn");
}
sub cert {
    my ($name, $cn, $ca, $days) = @_;
    sh("openssl req -newkey rsa:2048 -nodes -keyout $d/$name.key -out $d/$name.csr -subj /O=tests/CN=$cn");
    sh("openssl x509 -req -in $d/$name.csr -CA $d/$ca.pem -CAkey $d/$ca.key -CAcreateserial"
        . " -days $days -out $d/$name.pem");
    chmod 0644, "$d/$name.key";
}
ca('ca', 'pcm-test-ca');
ca('otherca', 'someone-else');
cert('server', 'localhost', 'ca', 2);
cert('alice', 'alice', 'ca', 2);
cert('mallory', 'mallory', 'otherca', 2);
cert('old', 'old', 'ca', -1);

my $conf = sub {
    my ($mode) = @_;
    my $cfg = $t->base_config(extra => <<"Y");
security:
  tls:
    cert_file: $d/server.pem
    key_file: $d/server.key
    client_ca_file: $d/ca.pem
    client_auth: $mode
    verify_depth: 2
    handshake_timeout: 1s
  auth:
    enabled: true
    method: mtls
Y
    $cfg =~ s/(    - address: unix:)/    - address: 127.0.0.1:%%PORT_tls%%\n      tls: true\n$1/;
    $t->write_config($cfg);
};
$conf->('required');
$t->run;
my $port = $t->port('tls');
my $body = encode_json({ jsonrpc => '2.0', id => 1, method => 'tools/list' });
sub curl {
    my ($who, $path) = @_;
    my $cert = $who ? "--cert $d/$who.pem --key $d/$who.key" : '';
    my $out = `curl -sk --max-time 5 $cert -o $d/body -w '%{http_code}' -H 'Content-Type: application/json' -d '$body' https://127.0.0.1:$port$path 2>&1`;
    return $out;
}

is(curl('alice', '/rpc'), '200', 'a certificate of the client CA: served');
my $line = $t->wait_log(sub { ($_->{message} // '') eq 'http request' && ($_->{path} // '') eq '/rpc' });
is($line->{user_id}, 'alice', 'the identity is the certificate\'s common name');
is($line->{client_subject}, 'CN=alice,O=tests', 'the subject is in the access log');
isnt(curl(undef, '/rpc'), '200', 'no certificate: no handshake (client_auth required)');
isnt(curl('mallory', '/rpc'), '200', 'a certificate of another CA: refused');
isnt(curl('old', '/rpc'), '200', 'an expired certificate: refused');
ok(wait_for(sub { $t->count_log(qr/^TLS handshake with 127\.0\.0\.1 failed: .*certificate/) >= 2 }, 5),
    'each refusal logged with OpenSSL\'s reason');

# A client that connects and never finishes the handshake.
my $c = $t->connect_sock(port => $port);
my $t0 = time;
my $rin = '';
vec($rin, fileno($c), 1) = 1;
select(my $rout = $rin, undef, undef, 5);
my $n = sysread($c, my $buf, 100);
ok(!$n && time - $t0 < 4, 'a stalled handshake is closed after handshake_timeout');
ok(wait_for(sub { $t->count_log(qr/TLS handshake not finished within 1000 ms/) >= 1 }, 5), 'and logged');
# Garbage instead of a ClientHello.
$c = $t->connect_sock(port => $port);
print $c "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
close $c;
is(curl('alice', '/rpc'), '200', 'still serving after garbage before a handshake');

# client_auth optional: the request goes on, the auth method decides.
$conf->('optional');
is($t->reload, 'ok', 'reload: client_auth optional');
is(`curl -sk --max-time 5 -o /dev/null -w '%{http_code}' https://127.0.0.1:$port/health`, '200',
    'no certificate: an exempt path is served');
is(curl(undef, '/rpc'), '401', 'no certificate: 401 for the rest');
like(Test::PCM::slurp("$d/body"), qr/a client certificate signed by the configured client CA/, 'saying what is needed');
is(curl('alice', '/rpc'), '200', 'with one: served');

# The server certificate swapped on reload: a connection open across the
# reload (here in the middle of its request; idle keep-alive connections
# are closed by the draining worker, as nginx does) keeps its session, and
# new connections get the new certificate.
local $SIG{PIPE} = 'IGNORE';
my $pid = open2(my $from, my $to, "exec openssl s_client -connect 127.0.0.1:$port -cert $d/alice.pem"
    . " -key $d/alice.key -ign_eof 2>/dev/null");
$to->autoflush(1);
sub until_seen {
    my ($re) = @_;
    my $seen = '';
    my $deadline = time + 10;
    while (time < $deadline && $seen !~ $re) {
        my $r = ''; vec($r, fileno($from), 1) = 1;
        next unless select(my $o = $r, undef, undef, 0.2);
        last unless sysread($from, $seen, 65536, length $seen);
    }
    return $seen;
}
like(until_seen(qr/subject=.*CN\s*=\s*localhost/), qr/CN\s*=\s*localhost/, 'a connection with the first certificate');
print $to "GET /health HTTP/1.1\r\n";
cert('server', 'renewed', 'ca', 2);
is($t->reload, 'ok', 'reload with a new certificate');
my $subj = `echo | openssl s_client -connect 127.0.0.1:$port -cert $d/alice.pem -key $d/alice.key 2>/dev/null | openssl x509 -noout -subject`;
like($subj, qr/CN\s*=\s*renewed/, 'new connections get the new certificate');
print $to "Host: localhost\r\n\r\n";
like(until_seen(qr/"status":"healthy"/), qr/"status":"healthy"/, 'the open connection finishes its request on its session');
close $to;
kill 'TERM', $pid;
waitpid($pid, 0);

# mtls without a client CA is refused, not ignored.
my $bad = Test::PCM::slurp($t->conf) =~ s/    client_ca_file: .*\n//r;
my $bf = $t->write_file('bad.yaml', $bad);
my ($rc, undef, $err) = $t->cmd('-t', '-c', $bf);
is($rc, 1, 'mtls without a client CA: -t fails');
like($err, qr/method mtls needs security\.tls\.client_ca_file/, 'saying why');

$t->finish;
done_testing;
