#!/usr/bin/perl
# TLS listeners: TLS 1.2+ only, the configured certificate, HTTP inside;
# a key that does not match is refused by -t.

use strict;
use warnings;
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
plan(skip_all => 'openssl and curl are needed') unless `which openssl curl` =~ /curl/;
my $d = $t->dir;
system("openssl req -x509 -newkey rsa:2048 -nodes -keyout $d/key.pem -out $d/cert.pem"
    . " -days 2 -subj /CN=localhost >/dev/null 2>&1") == 0 or die 'openssl';
system("openssl req -x509 -newkey rsa:2048 -nodes -keyout $d/other.pem -out $d/other-cert.pem"
    . " -days 2 -subj /CN=other >/dev/null 2>&1") == 0 or die 'openssl';
chmod 0644, "$d/key.pem";

my $tls = <<"Y";
security:
  tls:
    cert_file: $d/cert.pem
    key_file: $d/key.pem
Y
my $cfg = $t->base_config(extra => $tls);
$cfg =~ s/(    - address: unix:)/    - address: 127.0.0.1:%%PORT_tls%%\n      tls: true\n$1/;
$t->write_config($cfg);
my ($rc, undef, $err) = $t->cmd('-t', '-c', $t->conf);
is($rc, 0, 'TLS config validates') or diag $err;

(my $bad = $cfg) =~ s/key\.pem/other.pem/;
my $bf = $t->write_file('bad.yaml', $bad);
($rc, undef, $err) = $t->cmd('-t', '-c', $bf);
is($rc, 1, 'mismatched key refused');
like($err, qr/key does not match certificate|private key/, 'and named');

$t->run;
my $port = $t->port('tls');
my $out = `curl -sk --max-time 5 https://127.0.0.1:$port/health`;
like($out, qr/"status":"healthy"/, 'HTTPS /health');
$out = `curl -sk --max-time 5 --tlsv1.1 --tls-max 1.1 https://127.0.0.1:$port/health 2>&1; echo rc=\$?`;
unlike($out, qr/healthy/, 'TLS 1.1 refused');
$out = `echo | openssl s_client -connect 127.0.0.1:$port 2>/dev/null | openssl x509 -noout -subject 2>/dev/null`;
like($out, qr/CN\s*=\s*localhost/, 'serves the configured certificate');
my ($s) = $t->http_get('/health');
is($s, 200, 'plain listener still plain');
# Garbage instead of a handshake does not hurt the worker.
my $c = $t->connect_sock(port => $port);
print $c "GET / HTTP/1.1\r\n\r\n";
close $c;
$out = `curl -sk --max-time 5 https://127.0.0.1:$port/ready`;
like($out, qr/"status":"ready"/, 'still serving TLS after a bad handshake');

# A large body over TLS comes through the decrypting bufferevent, not the
# socket: whole, and answered.
$t->write_file('big.json', '{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"_meta":{"pad":"'
    . ('x' x 900_000) . '"}}}');
$out = `curl -sk --max-time 10 -H 'Content-Type: application/json' --data-binary \@$d/big.json https://127.0.0.1:$port/rpc`;
like($out, qr/^\{"jsonrpc":"2.0","id":7,"result":\{"tools":\[/, 'a 900 KB request over TLS: answered');
$t->finish;
done_testing;
