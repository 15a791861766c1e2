#!/usr/bin/perl
# contrib/scripts: shellcheck-clean (and .ci/run); health-check.sh (healthy, unhealthy), deploy.sh (a good
# configuration is checked, put in place, reloaded and health-checked; a
# broken one changes nothing) and loadtest.sh (wrk with Lua, errors
# counted).

use strict;
use warnings;
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
my $d = $t->dir;
my $src = $ENV{PCM_SRCDIR} // '.';
my $bin = $t->bin;
my $s = "$src/contrib/scripts";
plan(skip_all => 'curl is needed') unless `which curl` =~ /curl/;

SKIP: {
	skip 'shellcheck is not installed (apt-get install shellcheck)', 1
	    unless `which shellcheck 2>/dev/null` =~ /shellcheck/;
	my @files = (glob("$s/*.sh"), "$src/bench/all.sh", "$src/.ci/run");
	my $o = `shellcheck @files 2>&1`;
	is($? >> 8, 0, 'shellcheck: ' . scalar(@files) . ' scripts clean') or diag $o;
}

$t->write_config($t->base_config);
$t->run;
my $url = 'http://127.0.0.1:' . $t->port;

my $out = `sh $s/health-check.sh -u $url -m 2>&1`;
is($? >> 8, 0, 'health-check.sh: healthy') or diag $out;
is($out, "ok health\nok ready\nok metrics\nok tools/list\n", 'each check said');
$out = `sh $s/health-check.sh -s ${\ $t->sock} 2>&1`;
is($? >> 8, 0, 'and over the unix socket') or diag $out;
$out = `sh $s/health-check.sh -u http://127.0.0.1:1 -T 2 2>&1`;
is($? >> 8, 1, 'nothing listening: exit 1');
like($out, qr/^FAIL health: /m, 'saying which check failed');

SKIP: {
    skip 'wrk is not installed', 3 unless `which wrk 2>/dev/null` =~ /wrk/;
    $out = `sh $s/loadtest.sh -u $url -c 4 -d 2 2>&1`;
    like($out, qr/Requests\/sec:\s+\d+/, 'loadtest.sh: wrk ran') or diag $out;
    like($out, qr/p50 [\d.]+ ms, p99 [\d.]+ ms, \d+ requests, 0 errors/, 'no errors, percentiles reported');
    $out = `sh $s/loadtest.sh -u $url -c 2 -d 1 -x no_such_tool '{}' 2>&1`;
    like($out, qr/, [1-9]\d* errors/, 'errors are counted (an unknown tool)') or diag $out;
}
# deploy.sh: a configuration that loads goes live; one that does not changes nothing.
my $conf = $t->conf;
(my $next = Test::PCM::slurp($conf)) .= "rate_limiting:\n  enabled: true\n  requests_per_minute: 6000\n  burst: 100\n";
$t->write_file('next.yaml', $next);
$out = `sh $s/deploy.sh $d/next.yaml -c $conf -b $bin -u $url 2>&1`;
is($? >> 8, 0, 'deploy.sh: a good configuration') or diag $out;
like($out, qr/^deploy: generation 2 serves /m, 'reloaded into generation 2');
is(Test::PCM::slurp($conf), $next, 'the new configuration is in place');
ok(-e "$conf.previous", 'the old one kept beside it');
$t->write_file('broken.yaml', "server: [\n");
$out = `sh $s/deploy.sh $d/broken.yaml -c $conf -b $bin -u $url 2>&1`;
is($? >> 8, 1, 'deploy.sh: a broken configuration is refused');
like($out, qr/does not load: nothing changed/, 'saying so');
is(Test::PCM::slurp($conf), $next, 'the configuration in place is untouched');
like(`curl -s $url/metrics`, qr/^pulumicost_generation 2$/m, 'and no reload happened');

$t->finish;
done_testing;
