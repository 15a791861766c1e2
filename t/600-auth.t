#!/usr/bin/perl
# Token authentication (security.auth, method token): tokens from the
# configuration, a token file and PULUMICOST_API_TOKENS; X-API-Token or
# Authorization: Bearer; 401 with WWW-Authenticate; exempt paths; the
# identity in the access log and never the token; reloaded on SIGHUP; the
# methods not supported are refused, not ignored.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM;

my $t = Test::PCM->new;
my $d = $t->dir;
my %tok = (alice => 'alice-0123456789abcdef', file => 'ci-token-aaaaaaaaaaaaaaaa',
    env => 'bob-token-bbbbbbbbbbbbbbbb', bare => 'fedcba9876543210fedcba');
$t->write_file('tokens', "# who:token\n\nci:$tok{file}\n");
chmod 0600, "$d/tokens";
my $conf = sub {
    my ($tokens) = @_;
    $t->write_config($t->base_config(extra => <<"Y"));
security:
  auth:
    enabled: true
    method: token
    tokens: [$tokens]
    token_file: $d/tokens
Y
};
$conf->("\"alice:$tok{alice}\", \"$tok{bare}\"");
$t->env(PULUMICOST_API_TOKENS => "bob:$tok{env}");
$t->run;

my $body = encode_json({ jsonrpc => '2.0', id => 1, method => 'tools/list' });
sub rpc {
    my ($hdr) = @_;
    return $t->http("POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        . ($hdr // '') . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
}
my ($s, $h, $b) = rpc();
is($s, 401, 'no token: 401');
is($h->{'www-authenticate'}, 'Bearer realm="pulumicost-mcp"', 'with WWW-Authenticate');
like($b, qr/authentication required: send the token in X-API-Token or Authorization: Bearer/, 'saying how');
($s, $h) = rpc("X-API-Token: wrong-token-0000000000\r\n");
is($s, 401, 'a wrong token: 401');
like($h->{'www-authenticate'}, qr/error="invalid_token"/, 'invalid_token');
is((rpc("X-API-Token: $tok{alice}\r\n"))[0], 200, 'the configured header');
is((rpc("Authorization: Bearer $tok{alice}\r\n"))[0], 200, 'Authorization: Bearer');
is((rpc("X-API-Token: $tok{file}\r\n"))[0], 200, 'a token of the token file');
is((rpc("X-API-Token: $tok{env}\r\n"))[0], 200, 'a token of PULUMICOST_API_TOKENS');
is((rpc("X-API-Token: $tok{bare}\r\n"))[0], 200, 'a bare token');
is((rpc("X-API-Token: ${\ substr($tok{alice}, 0, -1)}\r\n"))[0], 401, 'a prefix of a token is no token');
is(($t->http_get('/health'))[0], 200, '/health needs no token');
is(($t->http_get('/ready'))[0], 200, '/ready needs no token');
my @users;
Test::PCM::wait_for(sub { @users = map { $_->{user_id} // () } $t->wait_log(sub { ($_->{message} // '') eq 'http request' });
    my %u = map { $_ => 1 } @users; $u{alice} && $u{ci} && $u{bob} && $u{'token-2'} }, 10);
ok((grep { $_ eq 'alice' } @users) && (grep { $_ eq 'ci' } @users) && (grep { $_ eq 'bob' } @users)
    && (grep { $_ eq 'token-2' } @users), 'the identity in the access log (alice, ci, bob, token-2)')
    or diag explain \@users;
my $log = Test::PCM::slurp($t->log_file);
ok(!(grep { index($log, $_) >= 0 } values %tok), 'no token value anywhere in the log');

# The stdio bridge to the HTTP endpoint sends PULUMICOST_API_TOKEN.
my $init = encode_json({ jsonrpc => '2.0', id => 1, method => 'initialize', params => {
    protocolVersion => '2025-06-18', capabilities => {}, clientInfo => { name => 't', version => '1' } } });
my $url = 'http://127.0.0.1:' . $t->port . '/mcp';
my $out = `printf '%s\n' '$init' | PULUMICOST_API_TOKEN=$tok{alice} timeout 20 $t->{bin} bridge --url $url 2>&1`;
like($out, qr/"serverInfo"/, 'the bridge with PULUMICOST_API_TOKEN is let in') or diag $out;
$out = `printf '%s\n' '$init' | PULUMICOST_API_TOKEN= timeout 20 $t->{bin} bridge --url $url 2>&1`;
unlike($out, qr/"serverInfo"/, 'without it, not');
like($out, qr/"error".*answered 401: set PULUMICOST_API_TOKEN/, 'and the client is told why, as a JSON-RPC error');

# Reload: a token removed stops working, a new one works.
$conf->("\"carol:carol-token-cccccccccccc\"");
is($t->reload, 'ok', 'reloaded');
ok(Test::PCM::wait_for(sub { (rpc("X-API-Token: $tok{alice}\r\n"))[0] == 401 }, 10), 'a removed token: 401');
is((rpc("X-API-Token: carol-token-cccccccccccc\r\n"))[0], 200, 'the new one: 200');
$t->finish;

# Configurations that cannot authenticate are refused, not run open.
my $u = Test::PCM->new;
sub check_conf {
    my ($yaml, $re, $what) = @_;
    my $f = $u->write_file('c.yaml', $u->base_config(extra => $yaml));
    my ($rc, undef, $err) = $u->cmd('-t', '-c', $f);
    ok($rc != 0 && $err =~ $re, $what) or diag $err;
}
check_conf("security:\n  auth:\n    enabled: true\n    method: oauth\n", qr/method oauth needs security\.auth\.oauth\.issuer/,
    'method oauth without its settings: refused with why');
check_conf("security:\n  auth:\n    enabled: true\n", qr/method token needs tokens/, 'no token anywhere: refused');
check_conf("security:\n  auth:\n    enabled: true\n    tokens: [\"short\"]\n",
    qr/security\.auth\.tokens\[0\]: a token of 5 characters: at least 16/, 'a short token: refused, where');
check_conf("security:\n  auth:\n    enabled: true\n    token_file: $d/none\n",
    qr/security\.auth\.token_file: \Q$d\E\/none: No such file/, 'a missing token file: refused');
done_testing;
