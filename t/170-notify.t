#!/usr/bin/perl
# systemd notify protocol: READY=1 once serving, RELOADING=1 with
# MONOTONIC_USEC then READY=1 on reload, STOPPING=1 on stop.

use strict;
use warnings;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
my $path = $t->dir . '/notify.sock';
my $rx = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path) or die "$path: $!";
$rx->blocking(0);
my @msgs;
sub drain { while (defined(my $r = $rx->recv(my $buf, 4096, 0))) { last unless length $buf; push @msgs, $buf } }
sub seen { my ($re) = @_; drain(); return scalar grep { $_ =~ $re } @msgs; }

$t->env(NOTIFY_SOCKET => $path);
$t->write_config;
$t->run;
ok(wait_for(sub { seen(qr/^READY=1\nSTATUS=Serving generation 1$/) }, 5), 'READY=1 when serving');
kill 'HUP', $t->pid;
ok(wait_for(sub { seen(qr/^RELOADING=1\nMONOTONIC_USEC=\d+$/) }, 5), 'RELOADING=1 with MONOTONIC_USEC');
ok(wait_for(sub { seen(qr/^READY=1\nSTATUS=Serving generation 2$/) }, 10), 'READY=1 after the reload');
$t->write_file('config.yaml', "server: [\n");
kill 'HUP', $t->pid;
ok(wait_for(sub { seen(qr/^READY=1\nSTATUS=Reload failed/) }, 5), 'a failed reload reports READY with its status');
$t->stop('TERM');
ok(wait_for(sub { seen(qr/^STOPPING=1/) }, 5), 'STOPPING=1 on stop');
$t->finish;
done_testing;
