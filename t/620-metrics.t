#!/usr/bin/perl
# Prometheus metrics: the text format 0.0.4 page on the server's listeners
# and on observability.metrics.port, summed over every worker through the
# metrics segment, never going backwards across reloads and worker
# restarts; checked by promtool and by the checks promtool misses; scraped
# by a real Prometheus, where the seed's PromQL expressions return data.

use strict;
use warnings;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Test::PCM qw(wait_for);
use Test::PCM::Plugins qw(install_plugin plugin_server);

my ($t, $d, $root) = plugin_server();
install_plugin($root, 'kubecost', '1.0.0');
install_plugin($root, 'crashy', '0.1.0', mode => 'crash');
my $mport = $t->port('metrics');
my $config = $t->base_config(extra => <<"Y");
  metrics:
    port: $mport
stacks:
  example: builtin:example
pulumicost:
  plugin_dir: $root
plugins:
  retry_delay: 200ms
  health_check_interval: 1s
Y
# base_config ends with the observability section: metrics go under it.
$t->write_config($config);
$t->allow_alert(qr/was killed by signal 9/);
$t->run;

my $port = $t->port;
sub rpc {
    my ($body) = @_;
    return $t->http("POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
}
sub page {
    my ($p) = @_;
    my ($s, $h, $b) = $t->http("GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        $p ? (port => $p) : ());
    return wantarray ? ($s, $h, $b) : $b;
}
# name{labels} => value, from a page.
sub samples {
    my ($b) = @_;
    my %v;
    for (split /\n/, $b // '') {
        next if /^#/ || !length;
        $v{$1} = $2 if /^(\S+(?:\{.*\})?) (\S+)$/;
    }
    return \%v;
}
sub body { return scalar page(@_); }
sub value { my ($name) = @_; return samples(body())->{$name} // 0; }

# --- the page and its format ------------------------------------------------

my $list = encode_json({ jsonrpc => '2.0', id => 1, method => 'tools/list' });
rpc($list) for 1 .. 3;
rpc('{"jsonrpc":"2.0","id":2,"method":"no/such"}');
rpc('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"analyze_projected_costs",'
    . '"arguments":{"stack_name":"example"}}}');
rpc('{"jsonrpc": oops');

my ($s, $h, $b) = page();
is($s, 200, '/metrics on the server listener');
is($h->{'content-type'}, 'text/plain; version=0.0.4; charset=utf-8', 'text format 0.0.4');
like($b, qr/\n\z/, 'the last line ends in a newline');
unlike($b, qr/\r/, 'no carriage returns');
my ($s2, undef, $b2) = page($mport);
is($s2, 200, '/metrics on observability.metrics.port');
like($b2, qr/^# TYPE http_requests_total counter$/m, 'the same page there');
is(($t->http("GET /mcp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", port => $mport))[0],
    404, 'the metrics port serves nothing else');
is(($t->http_get('/health', port => $mport))[0], 200, 'but the probes');
is(($t->http("POST /metrics HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))[0],
    405, 'POST /metrics: 405');

my $v = samples($b);
is($v->{'http_requests_total{method="POST",path="/rpc",status="200"}'}, 5, 'http_requests_total by method, path, status')
    or diag $b;
is($v->{'http_requests_total{method="POST",path="/rpc",status="400"}'}, 1, 'the unparsable body: a 400 of its own');
is($v->{'pulumicost_requests_total{transport="rpc",method="tools/list",tool=""}'}, 3, 'MCP requests by transport and method');
is($v->{'pulumicost_requests_total{transport="rpc",method="other",tool=""}'}, 1, 'an unknown method is "other", not its name');
is($v->{'pulumicost_errors_total{transport="rpc",type="method_not_found"}'}, 1, 'errors by kind');
is($v->{'pulumicost_errors_total{transport="rpc",type="parse_error"}'}, 1, 'parse errors too');
is($v->{'pulumicost_cost_queries_total{tool="analyze_projected_costs",result="ok"}'}, 1, 'cost queries by tool and result');
is($v->{'pulumicost_resources_analyzed_count{tool="analyze_projected_costs"}'}, 1, 'resources analysed: one analysis');
ok($v->{'pulumicost_resources_analyzed_sum{tool="analyze_projected_costs"}'} >= 10,
    'of the example stack\'s resources');
is($v->{'pulumicost_workers{state="serving"}'}, 2, 'two workers serving');
is($v->{'pulumicost_generation'}, 1, 'generation 1');
like($b, qr/^pulumicost_build_info\{version="[^"]+",libevent="[^"]+",openssl="[^"]+",json_c="[^"]+"\} 1$/m, 'build info');
unlike($b, qr/no\/such/, 'request data never becomes a label');

# The tool call's own log line, with the fields operators filter on.
my $call = $t->wait_log(sub { ($_->{message} // '') eq 'tool call analyze_projected_costs completed' });
is($call->{method}, 'analyze_projected_costs', 'the tool call\'s log line: method');
is($call->{status}, 'success', 'status');
is($call->{stack_name}, 'example', 'stack_name');
ok(($call->{resource_count} // 0) >= 10, 'resource_count');
like($call->{request_id} // '', qr/^req-[0-9a-f]+$/, 'request_id, as in the access line');
ok(defined $call->{duration_ms}, 'duration_ms');

ok(wait_for(sub { (samples(body())->{'pulumicost_plugin_health{plugin="kubecost"}'} // '') eq '1' }, 30),
    'pulumicost_plugin_health{plugin="kubecost"} 1');
ok(wait_for(sub { my $x = samples(body()); ($x->{'pulumicost_plugin_health{plugin="crashy"}'} // '') eq '0'
    && ($x->{'pulumicost_plugin_restarts_total{plugin="crashy"}'} // 0) >= 1 }, 30),
    'a crashing plugin: health 0, restarts counted');
ok(wait_for(sub { value('pulumicost_plugin_calls_total{plugin="kubecost",rpc="Name",code="OK"}') >= 1 }, 20),
    'plugin calls (the health checks) by plugin, RPC and code');
like(body(), qr/^pulumicost_plugin_latency_seconds_bucket\{plugin="kubecost",rpc="Name",le="\+Inf"\} \d+$/m,
    'plugin latency histogram');

# The checks promtool misses: +Inf buckets, cumulative buckets, +Inf equal
# to _count, no duplicate series, HELP and TYPE once per family.
sub promcheck {
    my ($page) = @_;
    my (%type, %help, %seen, %bucket, %count, @err);
    for my $l (split /\n/, $page) {
        if ($l =~ /^# (HELP|TYPE) (\S+) (.*)$/) {
            my $h = $1 eq 'HELP' ? \%help : \%type;
            push @err, "second $1 for $2" if $h->{$2}++;
            $type{"$2:type"} = $3 if $1 eq 'TYPE';
            next;
        }
        next if $l =~ /^#/;
        my ($name, $lab, $val) = $l =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
            or do { push @err, "unparsable: $l"; next };
        $lab //= '';
        push @err, "duplicate series $name\{$lab}" if $seen{"$name\{$lab}"}++;
        if ($name =~ /^(.*)_bucket$/ && ($type{"$1:type"} // '') eq 'histogram') {
            my $base = $1;
            my ($le) = $lab =~ /le="([^"]+)"/;
            (my $rest = $lab) =~ s/,?le="[^"]+"//;
            push @{$bucket{"$base\{$rest}"}}, [$le eq '+Inf' ? 9**9**9 : $le, $val];
        } elsif ($name =~ /^(.*)_count$/ && ($type{"$1:type"} // '') eq 'histogram') {
            $count{"$1\{$lab}"} = $val;
        }
    }
    for my $k (sort keys %bucket) {
        my @b = @{$bucket{$k}};
        push @err, "$k: no +Inf bucket" unless $b[-1][0] == 9**9**9;
        push @err, "$k: buckets not cumulative" if grep { $b[$_][1] < $b[$_ - 1][1] } 1 .. $#b;
        push @err, "$k: +Inf differs from _count" unless ($count{$k} // -1) == $b[-1][1];
    }
    return @err;
}
my @err = promcheck(body());
ok(!@err, 'histograms complete and cumulative, no duplicate series') or diag join "\n", @err;

SKIP: {
    my $promtool = (grep { -x } '/usr/bin/promtool')[0];
    skip 'promtool is not installed (apt-get install prometheus)', 1 unless $promtool;
    $t->write_file('page.txt', body());
    my $out = `$promtool check metrics < $d/page.txt 2>&1`;
    is($? >> 8, 0, 'promtool check metrics: clean') or diag $out;
}

# --- summed over workers ----------------------------------------------------

my $before = value('http_requests_total{method="POST",path="/rpc",status="200"}');
rpc($list) for 1 .. 40;
my %pids;
ok(wait_for(sub { %pids = map { $_->{pid} => 1 } grep { ($_->{message} // '') eq 'http request'
    && ($_->{path} // '') eq '/rpc' } $t->log_lines; keys %pids == 2 }, 10), 'requests were served by both workers');
is(value('http_requests_total{method="POST",path="/rpc",status="200"}'), $before + 40,
    'and every one is counted, whichever worker served it');

# --- never backwards ---------------------------------------------------------

$before = samples(body());
is($t->reload, 'ok', 'reload');
ok(wait_for(sub { value('pulumicost_generation') == 2 }, 20), 'generation 2 after the reload');
my $after = samples(body());
is($after->{pulumicost_reloads_total}, 1, 'pulumicost_reloads_total 1');
my @back = grep { /_total|_count|_bucket|_sum/ && ($after->{$_} // 0) < $before->{$_} } keys %$before;
ok(!@back, 'no counter went backwards across the reload') or diag explain \@back;

# A worker of the new generation (the old ones may still be leaving).
ok(wait_for(sub { value('pulumicost_workers{state="draining"}') == 0 }, 20), 'the old generation has left');
my ($w) = grep { ($t->generation_of($_) // 0) == 2 } $t->workers;
$before = samples(body());
kill 'KILL', $w;
ok(wait_for(sub { value('pulumicost_worker_restarts_total') >= 1 && value('pulumicost_workers{state="serving"}') == 2 }, 20),
    'a killed worker: restart counted, two serving again');
$after = samples(body());
@back = grep { /_total|_count|_bucket|_sum/ && ($after->{$_} // 0) < $before->{$_} } keys %$before;
ok(!@back, 'no counter went backwards across the worker\'s restart') or diag explain \@back;

$t->write_config("server: [broken\n");
is($t->reload, 'failed', 'a broken configuration is refused');
is(value('pulumicost_reload_failures_total'), 1, 'pulumicost_reload_failures_total 1');
$t->write_config($config);

# --- a real Prometheus -------------------------------------------------------

SKIP: {
    my $prom = (grep { -x } '/usr/bin/prometheus')[0];
    skip 'prometheus is not installed (apt-get install prometheus)', 11 unless $prom;
    my $src = $ENV{PCM_SRCDIR} // '.';
    my $pport = $t->port('prometheus');
    $t->write_file('prometheus.yml', <<"P");
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
rule_files: ['$src/contrib/prometheus/alerts.yml']
scrape_configs:
  - job_name: pulumicost-mcp
    metrics_path: /metrics
    static_configs: [{targets: ['127.0.0.1:$mport']}]
P
    my $ppid = fork // die;
    if (!$ppid) {
        open STDOUT, '>', "$d/prometheus.log";
        open STDERR, '>&', \*STDOUT;
        exec $prom, "--config.file=$d/prometheus.yml", "--storage.tsdb.path=$d/tsdb",
            "--web.listen-address=127.0.0.1:$pport";
        exit 127;
    }
    my $query = sub {
        my ($q) = @_;
        (my $e = $q) =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
        my (undef, $j) = $t->json_get("/api/v1/query?query=$e", port => $pport);
        return $j && $j->{status} eq 'success' ? $j->{data}{result} : undef;
    };
    ok(wait_for(sub { my $r = $query->('up{job="pulumicost-mcp"}'); $r && @$r && $r->[0]{value}[1] eq '1' }, 30),
        'Prometheus scrapes the metrics port: up') or diag Test::PCM::slurp("$d/prometheus.log");
    my (undef, $tg) = $t->json_get('/api/v1/targets', port => $pport);
    is($tg->{data}{activeTargets}[0]{lastError}, '', 'no scrape error');

    # Traffic between scrapes, a 5xx among it: /ready while the broker is
    # stopped answers 503 (it cannot be reached).
    my $broker = $t->broker;
    kill 'STOP', $broker;
    my ($rs) = $t->http_get('/ready');
    kill 'CONT', $broker;
    is($rs, 503, '/ready with the broker stopped: 503');
    my $cache_call = '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"analyze_projected_costs",'
        . '"arguments":{"stack_name":"example"}}}';
    my $deadline = time + 40;
    my %want = (
        'rate(http_requests_total[5m])' => undef,
        'rate(http_requests_total{status=~"5.."}[5m])' => undef,
        'histogram_quantile(0.95, http_request_duration_seconds_bucket)' => undef,
        'pulumicost_plugin_health{plugin="kubecost"}' => '1',
        'pulumicost_active_connections' => undef,
        'rate(pulumicost_cache_hits_total[5m]) / rate(pulumicost_cache_requests_total[5m])' => undef,
    );
    my %got;
    while (time < $deadline && keys %got < keys %want) {
        rpc($list);
        rpc($cache_call);
        for my $q (keys %want) {
            next if $got{$q};
            my $r = $query->($q);
            $got{$q} = $r if $r && @$r && $r->[0]{value}[1] ne 'NaN'
                && (!defined $want{$q} || $r->[0]{value}[1] eq $want{$q});
        }
        select undef, undef, undef, 0.5;
    }
    ok($got{$_}, "the seed's query returns data: $_") for sort keys %want;

    # The shipped alerting rules load, and each one's query runs against
    # the real series; every dashboard query is accepted.
    my (undef, $rules) = $t->json_get('/api/v1/rules', port => $pport);
    my @r = map { @{$_->{rules}} } @{$rules->{data}{groups} // []};
    ok(@r == 9 && !(grep { $_->{health} eq 'err' || !defined $query->($_->{query}) } @r),
        'contrib/prometheus/alerts.yml: 9 rules loaded, each query runs')
        or diag explain [map { "$_->{name}: $_->{health} " . ($_->{lastError} // '') } @r];
    my $dash = decode_json(Test::PCM::slurp("$src/contrib/grafana/pulumicost-mcp.json"));
    my @bad;
    for my $e (map { map { $_->{expr} } @{$_->{targets}} } @{$dash->{panels}}) {
        (my $x = $e) =~ s/\$__rate_interval/1m/g;
        push @bad, $e unless defined $query->($x);
    }
    ok(!@bad, 'every dashboard query runs on the real Prometheus') or diag explain \@bad;
    kill 'TERM', $ppid;
    ok(wait_for(sub { waitpid($ppid, WNOHANG) == $ppid }, 20), 'Prometheus stopped');
}

$t->finish;
done_testing;
