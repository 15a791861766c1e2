#!/usr/bin/perl
# Configuration: every error kind names file, line, column and key; the
# seed's production config loads unchanged once its files exist.

use strict;
use warnings;
use Test::More;
use Test::PCM;

my $t = Test::PCM->new;
my $src = $ENV{PCM_SRCDIR} // '.';

sub check {
	my ($yaml, $re, $name) = @_;
	my $f = $t->write_file('case.yaml', $yaml);
	my ($rc, undef, $err) = $t->cmd('-t', '-c', $f);
	is($rc, 1, "$name: exit 1");
	like($err, $re, "$name: message") or diag $err;
}

check("server:\n  port: 0\n", qr/case\.yaml:2:9: server\.port: value 0 is out of range \(1\.\.65535\)/, 'out of range');
check("server:\n  prot: 80\n", qr/case\.yaml:2:3: server\.prot: unknown key/, 'unknown key');
check("cache:\n  ttl:\n    cost_data: 1m\n    cost_data: 2m\n", qr/case\.yaml:4:5: cache\.ttl\.cost_data: duplicate key \(first set at line 3\)/, 'duplicate key');
check("mcp:\n  enable_streaming: sometimes\n", qr/case\.yaml:2:21: mcp\.enable_streaming: expected true or false/, 'wrong type (bool)');
check("plugins:\n  max_concurrent: \"10\"\n", qr/plugins\.max_concurrent: expected an integer, got "10"/, 'quoted integer');
check("server:\n  shutdown_timeout: forever\n", qr/server\.shutdown_timeout: expected a duration/, 'bad duration');
check("server:\n  reload_timeout: 2h\n", qr/server\.reload_timeout: duration "2h" is out of range \(100ms\.\.10m\)/, 'duration range');
check("mcp:\n  max_message_size: 10 parsecs\n", qr/mcp\.max_message_size: expected a size/, 'bad size');
check("server:\n  worker_processes: many\n", qr/server\.worker_processes: expected a number or "auto"/, 'workers');
check("server:\n  sandbox: strict\n", qr/server\.sandbox: "strict" is not one of: enforce, trap, log, off/, 'enum');
check("server:\n  listen:\n    - address: \"unix:\"\n", qr/case\.yaml:3:16: server\.listen\[0\]\.address: "unix:" needs a socket path/, 'listener address');
check("server:\n  listen:\n    - address: 127.0.0.1:80\n      colour: blue\n", qr/server\.listen\[0\]\.colour: unknown key/, 'listener key');
check("server:\n  listen:\n    - address: 127.0.0.1:80\n      mode: \"0600\"\n", qr/mode, owner and group apply to unix: sockets only/, 'mode on TCP');
check("server:\n  listen:\n    - address: unix:/tmp/x.sock\n      protocol: smtp\n", qr/protocol: "smtp" is not one of: http, stream/, 'protocol');
check("server: [\n", qr/case\.yaml:2:1: did not find expected node content/, 'YAML syntax');
check("observability:\n  tracing:\n    sample_rate: 2\n", qr/observability\.tracing\.sample_rate: value 2 is out of range/, 'double range');
check("observability:\n  metrics:\n    path: metrics\n", qr/observability\.metrics\.path: must start with \//, 'metrics path');
check("stacks:\n  prod:\n    state: a.json\n    colour: red\n", qr/stacks\.prod\.colour: unknown key/, 'stack key');
check("server:\n  user: nosuchuser-pcm\n", qr/server\.user: no such user "nosuchuser-pcm"/, 'user');

# The seed's production configuration, unchanged except for the paths of
# files that must exist (TLS certificate and key, API tokens).
SKIP: {
	skip 'openssl not installed', 4 unless `which openssl` =~ /\S/;
	my $d = $t->dir;
	system("openssl req -x509 -newkey rsa:2048 -nodes -keyout $d/key.pem"
	    . " -out $d/cert.pem -days 2 -subj /CN=localhost >/dev/null 2>&1");
	my $seed = Test::PCM::slurp("$src/conf/config.yaml");
	ok(length $seed, 'seed config found');
	my ($rc, undef, $err) = $t->cmd('-t', '-c', "$src/conf/config.yaml");
	like($err, qr/security\.tls\.cert_file: cannot read "\/etc\/pulumicost-mcp\/tls\/cert\.pem"/,
	    'seed config as shipped: the missing certificate is named');
	$seed =~ s{/etc/pulumicost-mcp/tls/}{$d/}g;
	$seed =~ s{/etc/pulumicost-mcp/api-tokens}{$d/api-tokens}g;
	$t->write_file('api-tokens', "# identity:token\nops:0123456789abcdef0123456789\n");
	my $f = $t->write_file('seed.yaml', $seed);
	($rc, undef, $err) = $t->cmd('-t', '-c', $f);
	is($rc, 0, 'seed config loads once its certificate exists') or diag $err;
	my $out;
	($rc, $out) = $t->cmd('-T', '-c', $f);
	like($out, qr/sample_rate: 0\.1/, 'seed values are in effect');
}

# The example configurations shipped in conf/ validate.
{
	my ($rc, undef, $err) = $t->cmd('-t', '-c', "$src/conf/local.yaml", '-p', $t->dir);
	is($rc, 0, 'conf/local.yaml validates') or diag $err;
}

# A key that is not a string, a bad top level.
check("- 1\n- 2\n", qr/\(top level\): expected a mapping, got a list/, 'top level list');

done_testing;
