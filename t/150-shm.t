#!/usr/bin/perl
# Shared memory across processes: what one worker stores another reads; a
# shard lock held by a killed worker is recovered, never a hang.

use strict;
use warnings;
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
$t->skip_unless_hooks;
$t->write_config($t->base_config(workers => 1));
$t->allow_alert(qr/was killed by signal 9/);
$t->run;

my ($s, $j) = $t->json_get('/debug/shm?key=alpha&put=one');
ok($j->{stored}, 'stored a value');
my $shard = $j->{shard};
($s, $j) = $t->json_get('/debug/shm?key=alpha');
is($j->{value}, 'one', 'read it back');
my $rec = $j->{recoveries};

# The worker takes the shard lock and keeps it; then it is killed.
($s, $j) = $t->json_get("/debug/shm-lock?shard=$shard");
ok($j->{locked}, 'worker holds the shard lock');
my $holder = $j->{pid};
kill 'KILL', $holder;
ok(wait_for(sub { my @w = $t->workers; @w == 1 && $w[0] != $holder }, 5), 'replacement worker up');

# The next access recovers the shard (its contents are gone) in bounded time.
($s, $j) = $t->json_get('/debug/shm?key=alpha', timeout => 5);
is($s, 200, 'access to the shard does not hang');
ok(!$j->{found}, 'recovered shard was wiped');
is($j->{recoveries}, $rec + 1, 'recovery counted');
($s, $j) = $t->json_get('/debug/shm?key=alpha&put=two');
($s, $j) = $t->json_get('/debug/shm?key=alpha');
is($j->{value}, 'two', 'shard usable after recovery');

# The segment survives a reload (same geometry): values persist.
is($t->reload, 'ok', 'reload');
($s, $j) = $t->json_get('/debug/shm?key=alpha');
is($j->{value}, 'two', 'cache kept across a reload with the same geometry');
$t->finish;
done_testing;
