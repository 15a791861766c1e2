#!/usr/bin/perl
# Reload under load: clients over TCP (keep-alive and one-shot) and the
# unix socket run while 20 reloads happen; not one request may fail.

use strict;
use warnings;
use HTTP::Tiny;
use IO::Socket::UNIX;
use POSIX qw(:sys_wait_h);
use Socket qw(SOCK_STREAM);
use Test::More;
use Test::PCM qw(wait_for);
use Time::HiRes qw(time sleep);

my $t = Test::PCM->new;
$t->write_config;
$t->run;

my $stop = $t->dir . '/stop-load';
my $port = $t->port;
my $sock = $t->sock;

sub one_shot_unix {
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $sock) or return "connect: $!";
	print $s "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	my ($st) = Test::PCM::read_response($s, 10);
	return defined $st && $st == 200 ? '' : 'status ' . ($st // 'none');
}

sub one_shot_tcp {
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
	    Timeout => 5) or return "connect: $!";
	print $s "GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	my ($st) = Test::PCM::read_response($s, 10);
	return defined $st && $st == 200 ? '' : 'status ' . ($st // 'none');
}

# Each client writes "ok fail" counts and its first errors to a file.
my @kids;
my %kind = (0 => 'keepalive', 1 => 'unix', 2 => 'tcp');
for my $i (0 .. 8) {
	my $kind = $kind{$i % 3};
	my $pid = fork // die;
	if ($pid == 0) {
		my ($ok, $fail, @why) = (0, 0);
		my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 10);
		my $deadline = time + 60;
		while (!-e $stop && time < $deadline) {
			my $e;
			if ($kind eq 'keepalive') {
				my $r = $http->get("http://127.0.0.1:$port/health");
				$e = $r->{status} == 200 ? '' : "status $r->{status} $r->{content}";
			} elsif ($kind eq 'unix') {
				$e = one_shot_unix();
			} else {
				$e = one_shot_tcp();
			}
			if ($e eq '') { $ok++ } else { $fail++; push @why, $e if @why < 5 }
		}
		open my $fh, '>', $t->dir . "/load.$i";
		print $fh "$ok $fail\n", map { "$_\n" } @why;
		close $fh;
		POSIX::_exit(0);
	}
	push @kids, $pid;
}

# 20 reloads while the clients run.
sleep 0.5;
my $done = 0;
for (1 .. 20) {
	my $r = $t->reload;
	$done++ if ($r // '') eq 'ok';
	sleep 0.1;
}
sleep 0.5;
open my $fh, '>', $stop;
close $fh;
for my $k (@kids) {
	my $ok = wait_for(sub { waitpid($k, WNOHANG) != 0 }, 30);
	kill 'KILL', $k unless $ok;
}

my ($ok, $fail, @why) = (0, 0);
for my $i (0 .. 8) {
	my @l = split /\n/, Test::PCM::slurp($t->dir . "/load.$i");
	my ($o, $f) = split / /, shift(@l) // '0 0';
	$ok += $o;
	$fail += $f;
	push @why, map { "$kind{$i % 3}: $_" } @l;
}
is($done, 20, '20 reloads completed');
ok($ok > 500, "requests served during reloads: $ok");
is($fail, 0, "failed requests: $fail") or diag join "\n", @why;
diag "reload under load: $ok requests, $fail failures, $done reloads";

ok(wait_for(sub { my @w = $t->workers; @w == 2 && !grep { $t->generation_of($_) != 21 } @w }, 15),
    'exactly one generation of two workers remains');
$t->finish;
done_testing;
