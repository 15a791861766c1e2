#!/usr/bin/perl
# contrib/docker without a Docker engine (CI has none): the Dockerfile's
# build stage is run step by step on this Debian 12 machine, in a build
# context made with .dockerignore's rules; every path the runtime stage
# copies must then exist, every package it installs must be one Debian
# has, and every library the binary needs must come from them.  The image's
# configuration serves (token auth, HEALTHCHECK, nginx's conf.d site in
# front), the compose file validates with docker-compose, and its
# Prometheus configuration with promtool.  The DESTDIR install it makes is
# also the install layout check (files, paths inside the unit).

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Find;
use File::Path qw(make_path);
use JSON::PP;
use Test::More;
use Test::PCM qw(wait_for);

my $src = abs_path($ENV{PCM_SRCDIR} // '.');
my $token = 'ci-docker:' . join('', map { sprintf '%02x', int rand 256 } 1 .. 16);

# --- the Dockerfile -----------------------------------------------------------

# Instructions with continuations joined: [stage index, keyword, argument].
sub dockerfile {
	my ($path) = @_;
	open my $fh, '<', $path or die "$path: $!";
	my (@ins, $cur, %arg);
	my $stage = -1;
	while (my $l = <$fh>) {
		chomp $l;
		next if !defined $cur && ($l =~ /^\s*#/ || $l !~ /\S/);
		$cur = defined $cur ? "$cur $l" : $l;
		next if $cur =~ s/\\\s*$//;
		my ($kw, $rest) = $cur =~ /^\s*(\w+)\s+(.*)$/ or die "cannot parse: $cur";
		undef $cur;
		$kw = uc $kw;
		$rest =~ s/\$\{(\w+)\}/$arg{$1} \/\/ die "undefined ARG $1"/ge;
		if ($kw eq 'ARG' && $rest =~ /^(\w+)=(\S+)$/) { $arg{$1} = $2; next }
		$stage++ if $kw eq 'FROM';
		push @ins, [ $stage, $kw, $rest ];
	}
	return @ins;
}

my @ins = dockerfile("$src/contrib/docker/Dockerfile");
my @from = map { $_->[2] } grep { $_->[1] eq 'FROM' } @ins;
is(scalar @from, 2, 'two stages: build and runtime');
like($from[0], qr/^debian:12-slim AS build$/, 'the build stage is Debian 12 (the machine CI runs this on)');
is($from[1], 'debian:12-slim', 'the runtime stage is Debian 12 slim');
my @user = grep { $_->[0] == 1 && $_->[1] eq 'USER' } @ins;
ok(@user && $user[-1][2] =~ /^(\d+):(\d+)$/ && $1 != 0 && $2 != 0, 'the runtime runs as a non-root uid and gid');

# The packages a RUN line installs with apt-get.
sub packages_of {
	my ($list) = $_[0] =~ /apt-get install((?:\s+[-\w.+]+)+)/ or return;
	return grep { !/^-/ } split ' ', $list;
}

# Every package either stage installs exists in Debian 12.
for my $run (grep { $_->[1] eq 'RUN' && $_->[2] =~ /apt-get install/ } @ins) {
	my @pkgs = packages_of($run->[2]);
	my @missing = grep { system("apt-cache show --no-all-versions $_ >/dev/null 2>&1") != 0 } @pkgs;
	ok(@pkgs && !@missing, "stage $run->[0]: the " . scalar(@pkgs) . ' packages it installs are in Debian')
	    or diag "unknown: @missing";
}

# --- the build context, as .dockerignore makes it ----------------------------

sub glob_re {
	my ($p) = @_;
	my $re = '';
	while (length $p) {
		if ($p =~ s{^\*\*/}{}) { $re .= '(?:.*/)?' }
		elsif ($p =~ s{^\*\*}{}) { $re .= '.*' }
		elsif ($p =~ s{^\*}{}) { $re .= '[^/]*' }
		elsif ($p =~ s{^\?}{}) { $re .= '[^/]' }
		else { $p =~ s{^(.)}{}s; $re .= quotemeta $1 }
	}
	return qr/^$re$/;
}

my @rules;
{
	open my $fh, '<', "$src/.dockerignore" or die ".dockerignore: $!";
	while (<$fh>) {
		chomp;
		next if /^\s*(#|$)/;
		my $neg = s/^!//;
		s{^/+}{};
		push @rules, [ $neg, glob_re($_) ];
	}
}
ok(scalar @rules, '.dockerignore has rules');

# Docker's rule: the last pattern matching the path or one of its parents wins.
sub ignored {
	my ($rel) = @_;
	my @parts = split m{/}, $rel;
	my $out = 0;
	for my $r (@rules) {
		for my $i (0 .. $#parts) {
			if (join('/', @parts[0 .. $i]) =~ $r->[1]) { $out = !$r->[0]; last }
		}
	}
	return $out;
}

ok(ignored('src/core/master.o') && ignored('.git/HEAD') && ignored('t/unit/test_conf')
    && ignored('t/npm/node_modules/yaml/package.json') && !ignored('t/unit/test_conf.c')
    && !ignored('src/core/master.c') && !ignored('configure.ac'),
    '.dockerignore keeps sources and drops build output');

my $t = Test::PCM->new;
my $d = $t->dir;
my $ctx = "$d/context";
my $files = 0;
find({ no_chdir => 1, wanted => sub {
	return if $File::Find::name eq $src;
	my $rel = substr($File::Find::name, length($src) + 1);
	if (ignored($rel)) { $File::Find::prune = 1 if -d $_; return }
	if (-d $_ && !-l $_) { make_path("$ctx/$rel"); return }
	make_path(dirname("$ctx/$rel"));
	system('cp', '-a', $File::Find::name, "$ctx/$rel") == 0 or die "cp $rel";
	$files++;
} }, $src);
system('chmod', '-R', 'u+w', $ctx);
ok($files > 100 && -f "$ctx/configure.ac" && !-e "$ctx/pulumicost-mcp",
    "the build context: $files files, no build output");

# --- the build stage, step by step ---------------------------------------------

my $out = "$d/out";
my %map = ('/src' => $ctx, '/out' => $out);
my $cwd = $ctx;
for my $i (grep { $_->[0] == 0 } @ins) {
	my ($kw, $arg) = @$i[1, 2];
	if ($kw eq 'WORKDIR') { $cwd = $map{$arg} // die "WORKDIR $arg"; next }
	if ($kw eq 'COPY') { is($arg, '. .', 'the build stage copies the whole context'); next }
	next unless $kw eq 'RUN' && $arg !~ /^apt-get/;
	(my $cmd = $arg) =~ s{(?<=[=\s])/out\b}{$out}g;
	my $log = "$d/build.log";
	my $rc = system("cd '$cwd' && ($cmd) >'$log' 2>&1");
	ok($rc == 0, 'build step: ' . substr($arg, 0, 60) . '...')
	    or diag substr(Test::PCM::slurp($log), -3000);
}

# The layout make install leaves (DESTDIR, prefix /usr): nothing else.
my @want = qw(usr/sbin/pulumicost-mcp etc/pulumicost-mcp/config.yaml
    usr/share/man/man8/pulumicost-mcp.8 usr/share/man/man5/pulumicost-mcp.yaml.5
    usr/lib/systemd/system/pulumicost-mcp.service usr/lib/sysusers.d/pulumicost-mcp.conf
    usr/lib/tmpfiles.d/pulumicost-mcp.conf etc/logrotate.d/pulumicost-mcp);
my @have;
find({ no_chdir => 1, wanted => sub { push @have, substr($_, length($out) + 1) if -f $_ } }, $out)
    if -d $out;
is_deeply([ sort @have ], [ sort @want ], 'make install DESTDIR= installs exactly the layout')
    or diag explain \@have;
my $unit = Test::PCM::slurp("$out/usr/lib/systemd/system/pulumicost-mcp.service");
like($unit, qr{^ExecStart=/usr/sbin/pulumicost-mcp --foreground -c /etc/pulumicost-mcp/config\.yaml$}m,
    'the installed unit runs the installed binary on the installed config');
ok(-x "$out/usr/sbin/pulumicost-mcp" && Test::PCM::slurp("$out/usr/sbin/pulumicost-mcp") !~ /\.debug_info/,
    'the binary is installed stripped (install-strip)');

# --- the runtime stage ---------------------------------------------------------

my %dest;	# image path -> host path
for my $c (grep { $_->[0] == 1 && $_->[1] eq 'COPY' } @ins) {
	my ($from, $s, $dst) = $c->[2] =~ /^(?:--from=(\w+)\s+)?(\S+)\s+(\S+)$/
	    or die "COPY $c->[2]";
	my $host = $from ? do { (my $h = $s) =~ s{^/out}{$out}; $h } : "$ctx/$s";
	ok(-e $host, "COPY " . ($from ? "--from=$from " : '') . "$s: present");
	$dest{$dst} = $host;
}
my ($entry) = map { decode_json($_->[2]) } grep { $_->[0] == 1 && $_->[1] eq 'ENTRYPOINT' } @ins;
my ($hc) = map { $_->[2] =~ /CMD\s+(\[.*\])$/ ? decode_json($1) : () }
    grep { $_->[0] == 1 && $_->[1] eq 'HEALTHCHECK' } @ins;
ok($entry && $dest{$entry->[0]} && $dest{$entry->[-1]}, 'ENTRYPOINT runs a copied binary on a copied config');
ok($hc && $dest{$hc->[0]}, 'HEALTHCHECK runs a copied script');

# Every shared library the binary loads comes from the runtime's packages
# (or from libc6 and libgcc-s1, which debian:12-slim has).
my ($rt) = grep { $_->[0] == 1 && $_->[1] eq 'RUN' } @ins;
my %rtpkg = map { $_ => 1 } qw(libc6 libgcc-s1), packages_of($rt->[2]);
my @libs = map { /=>\s*(\S+)/ ? $1 : () } split /\n/, `ldd $out/usr/sbin/pulumicost-mcp`;
my @stray;
for my $lib (@libs) {
	my $real = abs_path($lib);
	my ($pkg) = `dpkg -S '$lib' 2>/dev/null; dpkg -S '$real' 2>/dev/null` =~ /^([^:\s]+)(?::\w+)?:/m;
	push @stray, "$lib (" . ($pkg // 'no package') . ')' unless $pkg && $rtpkg{$pkg};
}
ok(@libs >= 8 && !@stray, scalar(@libs) . ' shared libraries, each from a package the runtime installs')
    or diag "not installed by the runtime stage: @stray";

# --- the image's configuration, served by the binary just built ---------------

my $conf = Test::PCM::slurp($dest{'/etc/pulumicost-mcp/config.yaml'});
{
	local $ENV{PULUMICOST_API_TOKENS};
	delete $ENV{PULUMICOST_API_TOKENS};
	my $err = `$out/usr/sbin/pulumicost-mcp -t -c $dest{'/etc/pulumicost-mcp/config.yaml'} 2>&1`;
	ok($? != 0 && $err =~ /needs tokens.*PULUMICOST_API_TOKENS/, 'without a token the image refuses to start, and says why')
	    or diag $err;
}
mkdir "$d/billing";
my @map = ([ '0.0.0.0:8080' => '127.0.0.1:%%PORT%%' ],
    [ 'unix:/run/pulumicost-mcp/mcp.sock' => 'unix:%%SOCK%%' ],
    [ '/run/pulumicost-mcp/pulumicost-mcp.pid' => '%%PIDFILE%%' ],
    [ 'port: 9464' => 'port: %%PORT_metrics%%' ], [ 'host: 0.0.0.0' => 'host: 127.0.0.1' ],
    [ '/var/lib/pulumicost-mcp/billing' => '%%TESTDIR%%/billing' ],
    [ '/opt/pulumicost/plugins' => '%%TESTDIR%%/plugins' ],
    [ 'worker_processes: auto' => 'worker_processes: 2' ],
    [ 'sandbox: enforce' => 'sandbox: %%SANDBOX%%' ], [ 'output: stderr' => 'output: %%LOG%%' ]);
my @unmapped = grep { !($conf =~ s/\Q$_->[0]\E/$_->[1]/) } @map;
ok(!@unmapped, 'every path and port of the image config maps to the test\'s')
    or diag 'not in the image config: ' . join(', ', map { $_->[0] } @unmapped);
$t->{bin} = "$out/usr/sbin/pulumicost-mcp";
$t->{sandbox} = $ENV{PCM_TEST_SANDBOX} // 'enforce';	# a plain build, not the sanitizers'
$t->env(PULUMICOST_API_TOKENS => $token);
$t->write_config($conf);
$t->run;

my ($tok) = $token =~ /:(.*)$/;
my $init = encode_json({ jsonrpc => '2.0', id => 1, method => 'initialize', params => {
    protocolVersion => '2025-06-18', capabilities => {}, clientInfo => { name => 't750', version => '1' } } });
sub mcp {
	my (%o) = @_;
	return $t->http("POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
	    . "Accept: application/json, text/event-stream\r\n" . ($o{auth} // '')
	    . "Content-Length: " . length($init) . "\r\nConnection: close\r\n\r\n$init", %o);
}
my ($s) = mcp();
is($s, 401, 'the image config asks for a token');
($s) = mcp(auth => "X-API-Token: $tok\r\n");
is($s, 200, 'and answers MCP with one');
my $hc_out = `$dest{$hc->[0]} -u http://127.0.0.1:@{[$t->port]} -T 4 2>&1`;
ok($? == 0, 'the HEALTHCHECK command passes') or diag $hc_out;
($s, my $h, my $b) = $t->http_get('/metrics', port => $t->port('metrics'));
ok($s == 200 && ($b // '') =~ /^pulumicost_build_info/m, 'the metrics port Prometheus scrapes answers');

# nginx's conf.d site from the compose file, in front of the socket.
SKIP: {
	my $site = Test::PCM::slurp("$src/contrib/docker/nginx.conf");
	my $nport = $t->port('nginx');
	my $sock = $t->sock;
	$site =~ s{unix:/run/pulumicost-mcp/mcp\.sock}{unix:$sock} or die;
	$site =~ s{listen 80;}{listen 127.0.0.1:$nport;} or die;
	$site =~ s{/etc/nginx/snippets/}{$src/contrib/nginx/} or die;
	my $npid = $t->nginx($site) or skip 'nginx is not installed', 3;
	ok(wait_for(sub { my ($st) = $t->http_get('/health', port => $nport, timeout => 1); ($st // 0) == 200 }, 10),
	    "compose's nginx site proxies /health") or diag Test::PCM::slurp("$d/ngx/stderr.log");
	($s) = mcp(port => $nport, auth => "Authorization: Bearer $tok\r\n");
	is($s, 200, 'and MCP with a bearer token');
	ok($t->nginx_stop($npid), 'nginx stopped');
}

# --- compose and Prometheus ----------------------------------------------------

SKIP: {
	skip 'docker-compose is not installed', 3 unless grep { -x "$_/docker-compose" } split /:/, $ENV{PATH};
	my $cf = "$src/contrib/docker/compose.yaml";
	my $cfg = `cd '$d' && PULUMICOST_API_TOKENS='$token' docker-compose -f '$cf' config 2>&1`;
	ok($? == 0, 'docker-compose validates compose.yaml') or diag $cfg;
	my @binds = $cfg =~ m{^\s*-\s*(/[^:\s]+):/}mg;
	my @absent = grep { !-e } @binds;
	ok(@binds >= 4 && !@absent, scalar(@binds) . ' bind mounts, each an existing file')
	    or diag "missing: @absent";
	my $err = `cd '$d' && env -u PULUMICOST_API_TOKENS docker-compose -f '$cf' config -q 2>&1`;
	ok($? != 0 && $err =~ /set PULUMICOST_API_TOKENS/, 'compose refuses to run without a token, and says why')
	    or diag $err;
}
SKIP: {
	skip 'promtool is not installed', 1 unless grep { -x "$_/promtool" } split /:/, $ENV{PATH};
	mkdir "$d/prom";
	system('cp', "$src/contrib/docker/prometheus.yml", "$src/contrib/prometheus/alerts.yml", "$d/prom/");
	my $o = `promtool check config '$d/prom/prometheus.yml' 2>&1`;
	ok($? == 0, "promtool accepts compose's prometheus.yml with the alerts") or diag $o;
}

$t->finish;
done_testing;
