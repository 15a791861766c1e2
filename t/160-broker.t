#!/usr/bin/perl
# The broker reads files for the sandboxed workers: only configured paths,
# with a size limit and clear errors; a killed broker is restarted and the
# workers are linked to the new one.

use strict;
use warnings;
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
$t->skip_unless_hooks;
my $d = $t->dir;
mkdir "$d/specs";
$t->write_file('specs/ec2.json', '{"billing_mode":"per_hour"}');
$t->write_file('secret.txt', 'top secret');
$t->write_config($t->base_config(extra => "billing:\n  focus:\n    - specs\n"));
$t->allow_alert(qr/broker pid \d+ \(generation 1\) was killed by signal 9/);
$t->run;

my ($s, $j) = $t->json_get("/debug/read?path=$d/specs/ec2.json");
is($s, 200, 'worker reads a file through the broker');
is($j->{bytes_read}, 27, 'whole file');
is($j->{head}, '{"billing_mode":"per_hour"}', 'right content');
($s, $j) = $t->json_get("/debug/read?path=$d/secret.txt");
is($j->{error}{code}, 'forbidden', 'a file outside the configured paths is refused');
like($j->{error}{message}, qr/outside the configured/, 'with a reason');
($s, $j) = $t->json_get("/debug/read?path=$d/specs/none.json");
is($j->{error}{code}, 'not_found', 'missing file: not_found');
($s, $j) = $t->json_get("/debug/read?path=$d/specs/ec2.json&max=10");
is($j->{error}{code}, 'too_large', 'size limit');
like($j->{error}{message}, qr/27 bytes, over the limit of 10/, 'size limit explained');

my $b = $t->broker;
kill 'KILL', $b;
ok(wait_for(sub { my $n = $t->broker; $n && $n != $b }, 5), 'broker restarted');
ok(wait_for(sub { my ($st, $jj) = $t->json_get("/debug/read?path=$d/specs/ec2.json");
    $st == 200 && $jj->{bytes_read} == 27 }, 5), 'workers use the new broker');
ok(wait_for(sub { my ($st) = $t->http_get('/ready'); $st == 200 }, 5), 'ready again');
$t->finish;
done_testing;
