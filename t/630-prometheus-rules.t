#!/usr/bin/perl
# The monitoring files shipped in contrib/: the Prometheus configuration
# and alerting rules (promtool check config, check rules, and the unit
# tests of alerts_test.yml), and the Grafana dashboard (its JSON, the
# seed's panels as written, and every query parsed by promtool).  t/620
# runs them against a real Prometheus scraping a real server.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;

my $src = abs_path($ENV{PCM_SRCDIR} // '.');
my $promtool = (grep { -x } '/usr/bin/promtool')[0];
plan(skip_all => 'promtool is not installed (apt-get install prometheus)') unless $promtool;
my $dir = tempdir('pcm-rules-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub run {
    my $out = `@_ 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = run("$promtool check config $src/contrib/prometheus/prometheus.yml");
is($rc, 0, 'promtool check config: the scrape configuration') or diag $out;
($rc, $out) = run("$promtool check rules $src/contrib/prometheus/alerts.yml");
is($rc, 0, 'promtool check rules: the alerts') or diag $out;
like($out, qr/SUCCESS: 9 rules found/, 'nine rules');
($rc, $out) = run("cd $src/contrib/prometheus && $promtool test rules alerts_test.yml");
is($rc, 0, 'promtool test rules: every alert fires when it should and only then') or diag $out;

# The seed's four alerts, as written there.
my $rules = do { local (@ARGV, $/) = "$src/contrib/prometheus/alerts.yml"; <> };
for (['HighErrorRate', 'rate(http_requests_total{status=~"5.."}[5m]) > 0.05'],
     ['HighLatency', 'histogram_quantile(0.95, http_request_duration_seconds_bucket) > 5'],
     ['PluginDown', 'pulumicost_plugin_health == 0'],
     ['ServerDown', 'up{job="pulumicost-mcp"} == 0']) {
    like($rules, qr/- alert: $_->[0]\n    expr: \Q$_->[1]\E\n/, "the seed's $_->[0]");
}
for (qw(ReloadFailed SeccompViolation PluginSlow CacheHitRateLow)) {
    like($rules, qr/- alert: $_\n/, "and $_");
}

# The dashboard.
my $d = decode_json(do { local (@ARGV, $/) = "$src/contrib/grafana/pulumicost-mcp.json"; <> });
is($d->{uid}, 'pulumicost-mcp', 'a dashboard uid');
ok($d->{title} && $d->{schemaVersion}, 'a title and a schema version');
my (%ids, @exprs, %title);
for my $p (@{$d->{panels}}) {
    ok(!$ids{$p->{id}}++, "panel id $p->{id} is unique");
    ok($p->{gridPos} && defined $p->{gridPos}{x} && $p->{gridPos}{w}, "panel $p->{id} has a position");
    $title{$p->{title}} = [map { $_->{expr} } @{$p->{targets}}];
    push @exprs, map { [$p->{id}, $_->{refId}, $_->{expr}] } @{$p->{targets}};
}
is_deeply($title{'Request Rate'}, ['rate(http_requests_total[5m])'], 'the seed\'s Request Rate panel');
is_deeply($title{'Error Rate'}, ['rate(http_requests_total{status=~"5.."}[5m])'], 'Error Rate');
is_deeply($title{'P95 Latency'}, ['histogram_quantile(0.95, http_request_duration_seconds_bucket)'], 'P95 Latency');
is_deeply($title{'Plugin Status'}, ['pulumicost_plugin_health'], 'Plugin Status');
ok(keys(%title) >= 12, 'and the server\'s own panels');

# Every query parses: wrapped as recording rules, Grafana's variables
# replaced, for promtool.
my %subst = ('$__rate_interval' => '5m', '$__interval' => '1m', '$__range' => '1h');
my @rec;
for my $e (@exprs) {
    my $x = $e->[2];
    $x =~ s/\Q$_\E/$subst{$_}/g for keys %subst;
    push @rec, { record => "panel_$e->[0]_$e->[1]", expr => $x };
}
open my $fh, '>', "$dir/dash.yml" or die $!;
print $fh encode_json({ groups => [{ name => 'dashboard', rules => \@rec }] });
close $fh;
($rc, $out) = run("$promtool check rules $dir/dash.yml");
is($rc, 0, 'promtool parses every dashboard query (' . scalar(@rec) . ')') or diag $out;

done_testing;
