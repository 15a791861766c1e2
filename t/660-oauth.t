#!/usr/bin/perl
# security.auth.method oauth: the server as an OAuth 2.1 resource server.
# Protected resource metadata (RFC 9728) and the 401 challenge that points
# at it; JWT access tokens verified locally against a JWKS file: RS256 and
# ES256 accepted; tampered, expired, not-yet-valid, wrong-issuer,
# wrong-audience, unknown-key and wrong-algorithm tokens refused (401), a
# missing scope 403; no token ever in the log.  Tokens are made here with
# the openssl command.

use strict;
use warnings;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Test::More;
use Test::PCM;

my $t = Test::PCM->new;
plan(skip_all => 'openssl is needed') unless `which openssl` =~ /openssl/;
my $d = $t->dir;
sub sh { my $c = shift; my $o = `$c 2>/dev/null`; $? == 0 or die "failed: $c"; return $o; }
sub b64url { my $s = encode_base64($_[0], ''); $s =~ tr{+/}{-_}; $s =~ s/=+$//; return $s; }

sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $d/rsa.pem");
sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $d/stranger.pem");
sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $d/ec.pem");
my ($mod) = sh("openssl rsa -in $d/rsa.pem -noout -modulus") =~ /Modulus=([0-9A-F]+)/;
my $ecpub = sh("openssl pkey -in $d/ec.pem -pubout -outform DER");
my $pt = substr($ecpub, -64);
$t->write_file('jwks.json', encode_json({ keys => [
    { kty => 'RSA', kid => 'rsa-1', use => 'sig', alg => 'RS256', n => b64url(pack('H*', $mod)), e => 'AQAB' },
    { kty => 'EC', kid => 'ec-1', crv => 'P-256', x => b64url(substr($pt, 0, 32)), y => b64url(substr($pt, 32)) },
] }));

# DER ECDSA signature to JOSE's r || s.
sub der_to_raw {
    my ($der) = @_;
    my ($rl) = unpack('x3 C', $der);
    my $r = substr($der, 4, $rl);
    my $sl = unpack('C', substr($der, 5 + $rl, 1));
    my $s = substr($der, 6 + $rl, $sl);
    return join '', map { substr(("\0" x 32) . s/^\0+//r, -32) } $r, $s;
}
my $n = 0;
sub jwt {
    my (%o) = @_;
    my $alg = $o{alg} // 'RS256';
    my $hdr = b64url(encode_json({ alg => $alg, typ => 'at+jwt', %{$o{header} // {}} }));
    my $now = time;
    my %c = (iss => 'https://auth.example.com', aud => $o{aud_default} // "http://127.0.0.1:" . $t->port . "/mcp",
        sub => 'user@example.com', exp => $now + 300, iat => $now, scope => 'mcp:tools profile', %{$o{claims} // {}});
    delete $c{$_} for grep { !defined $c{$_} } keys %c;
    my $input = "$hdr." . b64url(encode_json(\%c));
    return "$input." if $alg eq 'none';
    $n++;
    $t->write_file("in$n", $input);
    my $key = $o{key} // ($alg eq 'ES256' ? 'ec' : 'rsa');
    my $sig;
    if ($alg eq 'HS256') {
        # The classic confusion: HMAC keyed with the RSA public key.
        my $pub = sh("openssl pkey -in $d/rsa.pem -pubout");
        $t->write_file("pub$n", $pub);
        $sig = sh("openssl dgst -sha256 -mac HMAC -macopt key:'$pub' -binary $d/in$n");
    } else {
        $sig = sh("openssl dgst -sha256 -sign $d/$key.pem -binary $d/in$n");
        $sig = der_to_raw($sig) if $alg eq 'ES256';
    }
    return "$input." . b64url($sig);
}

my $port = $t->port;
$t->write_config($t->base_config(extra => <<"Y"));
security:
  auth:
    enabled: true
    method: oauth
    oauth:
      issuer: https://auth.example.com
      audience: http://127.0.0.1:$port/mcp
      jwks_file: $d/jwks.json
      scopes: [mcp:tools]
      leeway: 5s
Y
$t->run;

my $body = encode_json({ jsonrpc => '2.0', id => 1, method => 'tools/list' });
sub rpc {
    my ($tok) = @_;
    return $t->http("POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        . ($tok ? "Authorization: Bearer $tok\r\n" : '')
        . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
}

my ($s, $h, $b) = rpc();
is($s, 401, 'no token: 401');
is($h->{'www-authenticate'}, qq{Bearer resource_metadata="http://127.0.0.1:$port/.well-known/oauth-protected-resource", scope="mcp:tools"},
    'the challenge names the resource metadata and the scope');
my ($ms, $meta) = $t->json_get('/.well-known/oauth-protected-resource');
is($ms, 200, 'the protected resource metadata, without a token');
is($meta->{resource}, "http://127.0.0.1:$port/mcp", 'resource: this server');
is_deeply($meta->{authorization_servers}, ['https://auth.example.com'], 'its authorization server');
is_deeply($meta->{scopes_supported}, ['mcp:tools'], 'its scopes');
is(($t->json_get('/.well-known/oauth-protected-resource/mcp'))[0], 200, 'and at the path-specific URL');

my %tok;
$tok{rs} = jwt();
($s) = rpc($tok{rs});
is($s, 200, 'an RS256 token: served');
$tok{es} = jwt(alg => 'ES256', header => { kid => 'ec-1' });
is((rpc($tok{es}))[0], 200, 'an ES256 token: served');
my $line = $t->wait_log(sub { ($_->{message} // '') eq 'http request' && ($_->{status} // 0) == 200
    && ($_->{path} // '') eq '/rpc' });
is($line->{user_id}, 'user@example.com', 'the identity is the token\'s subject');

my @bad = (
    [expired => jwt(claims => { exp => time - 60 }), qr/expired/],
    [not_yet => jwt(claims => { nbf => time + 600 }), qr/not valid yet/],
    [no_exp => jwt(claims => { exp => undef }), qr/no exp/],
    [issuer => jwt(claims => { iss => 'https://evil.example.com' }), qr/another issuer/],
    [audience => jwt(claims => { aud => 'https://other.example.com/mcp' }), qr/another audience/],
    [unknown_key => jwt(key => 'stranger'), qr/does not verify/],
    [wrong_kid => jwt(header => { kid => 'ec-1' }), qr/does not verify/],
    [none => jwt(alg => 'none'), qr/algorithm none is not accepted/],
    [hs256 => jwt(alg => 'HS256'), qr/algorithm HS256 is not accepted/],
    [rs_by_ec => do { my $j = jwt(alg => 'ES256'); my @p = split /\./, $j;
        b64url(encode_json({ alg => 'RS256' })) . ".$p[1].$p[2]" }, qr/does not verify/],
    [garbage => 'not-a-jwt', qr/not a JWT/],
);
# Tampered: the claims changed under the original signature.
{
    my @p = split /\./, $tok{rs};
    push @bad, [tampered => "$p[0]." . b64url(encode_json({ iss => 'https://auth.example.com',
        aud => "http://127.0.0.1:$port/mcp", sub => 'admin', exp => time + 300, scope => 'mcp:tools' })) . ".$p[2]",
        qr/does not verify/];
}
for my $c (@bad) {
    ($s, $h, $b) = rpc($c->[1]);
    is($s, 401, "$c->[0]: 401");
    like($h->{'www-authenticate'} // '', qr/error="invalid_token"/, "$c->[0]: invalid_token");
    like($b, $c->[2], "$c->[0]: saying why");
}
($s, $h, $b) = rpc(jwt(claims => { scope => 'profile' }));
is($s, 403, 'a token without the scope: 403');
like($h->{'www-authenticate'}, qr/error="insufficient_scope"/, 'insufficient_scope');
like($b, qr/lacks the scope mcp:tools/, 'naming it');
is((rpc(jwt(claims => { scope => undef, scp => ['mcp:tools'] })))[0], 200, 'scopes as an scp array');
is((rpc(jwt(claims => { exp => time - 2 })))[0], 200, 'within the leeway');

my $log = Test::PCM::slurp($t->log_file);
my @leaked = grep { index($log, (split /\./, $_->[1])[-1] // 'x') >= 0 } grep { $_->[1] =~ /\./ } @bad;
ok(index($log, $tok{rs}) < 0 && index($log, $tok{es}) < 0 && !@leaked, 'no token in the log');
ok($t->count_log(qr/^access token refused \(401\): the token expired/) >= 1, 'refusals logged with the reason');
$t->finish;

my $u = Test::PCM->new;
my $f = $u->write_file('c.yaml', $u->base_config(extra => "security:\n  auth:\n    enabled: true\n    method: oauth\n"
    . "    oauth:\n      issuer: https://a\n      audience: https://b/mcp\n      jwks_file: $d/nope.json\n"));
my ($rc, undef, $err) = $u->cmd('-t', '-c', $f);
ok($rc != 0 && $err =~ /nope\.json: cannot read/, 'a missing JWKS file: -t fails, naming it') or diag $err;
$f = $u->write_file('c.yaml', $u->base_config(extra => "security:\n  auth:\n    enabled: true\n    method: oauth\n"));
($rc, undef, $err) = $u->cmd('-t', '-c', $f);
ok($rc != 0 && $err =~ /method oauth needs security\.auth\.oauth\.issuer/, 'oauth without its settings: -t fails') or diag $err;
done_testing;
