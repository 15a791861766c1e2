#!/usr/bin/perl
# Tracing: spans for HTTP requests, MCP requests (tool calls), broker reads
# and plugin calls, exported by the broker as OTLP/HTTP JSON to a local
# receiver (here, a small one in Perl that records what it gets).  The
# caller's trace continues from the traceparent header or from
# params._meta.traceparent; an unsampled caller gets no spans; the
# collector's 503 is retried; OTEL_* variables honoured.

use strict;
use warnings;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Test::PCM qw(wait_for);
use Test::PCM::Plugins qw(install_plugin node_ready);

my $t = Test::PCM->new;
my $d = $t->dir;
my $src = $ENV{PCM_SRCDIR} // '.';

# --- the receiver ----------------------------------------------------------

my $oport = $t->port('otlp');
my $sink = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1', LocalPort => $oport,
    Proto => 'tcp', ReuseAddr => 1) or die "otlp sink: $!";
my $rpid = fork // die;
if (!$rpid) {
    my $n = 0;
    while (my $c = $sink->accept) {
        my ($head, $body) = ('', '');
        while ($head !~ /\r\n\r\n/) { last unless sysread($c, $head, 4096, length $head) }
        ($head, $body) = split /\r\n\r\n/, $head, 2;
        my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () } split /\r\n/, $head;
        my $len = $h{'content-length'} // 0;
        while (length $body < $len) { last unless sysread($c, $body, $len - length $body, length $body) }
        my $status = $n++ == 0 ? 503 : 200;	# the first export is refused, once
        open my $fh, '>>', "$d/otlp.jsonl" or die;
        print $fh encode_json({ status => $status, line => (split /\r\n/, $head)[0], headers => \%h,
            body => $body }), "\n";
        close $fh;
        print $c "HTTP/1.1 $status X\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            . "Connection: close\r\n\r\n{}";
        close $c;
    }
    exit 0;
}
close $sink;

# --- the server ------------------------------------------------------------

my $plugins = node_ready();
mkdir "$d/plugins";
chmod 0755, "$d/plugins";
install_plugin("$d/plugins", 'aws-test', '1.0.0') if $plugins;
my $stack = "$src/t/fixtures/state/diy-checkpoint_s3bucket-test_test-upsert.json";
$t->env(OTEL_BSP_SCHEDULE_DELAY => 200, OTEL_SERVICE_NAME => 'pcm-test',
    OTEL_RESOURCE_ATTRIBUTES => 'deployment.environment=test,service.name=ignored',
    OTEL_EXPORTER_OTLP_HEADERS => 'x-tenant=t1');
$t->write_config($t->base_config(extra => <<"Y"));
  tracing:
    enabled: true
    endpoint: http://127.0.0.1:$oport/v1/traces
    sample_rate: 1
stacks:
  s3: $stack
pulumicost:
  plugin_dir: $d/plugins
Y
$t->run;
ok(wait_for(sub { !$plugins || ($t->tool(list_cost_plugins => {})->{structuredContent}{plugins}[0]{state} // '') eq 'ready' }, 30),
    'the plugin is ready (when Node is here)');

sub spans {
    my @s;
    return () unless -e "$d/otlp.jsonl";
    for (split /\n/, Test::PCM::slurp("$d/otlp.jsonl")) {
        my $r = decode_json($_);
        next unless $r->{status} == 200;
        my $doc = decode_json($r->{body});
        for my $rs (@{$doc->{resourceSpans}}) {
            for my $ss (@{$rs->{scopeSpans}}) {
                push @s, map { { %$_, resource => $rs->{resource}, headers => $r->{headers} } } @{$ss->{spans}};
            }
        }
    }
    return @s;
}
sub attr { my ($s, $k) = @_; my ($a) = grep { $_->{key} eq $k } @{$s->{attributes}}; return $a ? (values %{$a->{value}})[0] : undef; }
sub rpc {
    my ($body, $hdr) = @_;
    return $t->http("POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" . ($hdr // '')
        . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
}

my ($T1, $P1) = ('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7');
my $call = encode_json({ jsonrpc => '2.0', id => 7, method => 'tools/call',
    params => { name => 'analyze_projected_costs', arguments => { stack_name => 's3' } } });
my ($s, $h) = rpc($call, "traceparent: 00-$T1-$P1-01\r\n");
is($s, 200, 'a traced tool call');
like($h->{traceparent}, qr/^00-$T1-[0-9a-f]{16}-01$/, 'the response continues the caller\'s trace');
my ($our) = $h->{traceparent} =~ /^00-$T1-([0-9a-f]{16})/;

ok(wait_for(sub { my @x = grep { $_->{traceId} eq $T1 } spans(); @x >= 3 }, 20), 'its spans reach the collector')
    or diag Test::PCM::slurp("$d/otlp.jsonl");
my @t1 = grep { $_->{traceId} eq $T1 } spans();
my ($http) = grep { $_->{spanId} eq ($our // '') } @t1;
ok($http, 'the HTTP span is the one the traceparent header named');
is($http->{parentSpanId}, $P1, 'child of the caller\'s span');
is($http->{kind}, 2, 'kind SERVER');
is($http->{name}, 'POST /rpc', 'named by method and route');
is(attr($http, 'http.response.status_code'), '200', 'with its status');
my ($mcp) = grep { $_->{name} eq 'tools/call analyze_projected_costs' } @t1;
ok($mcp, 'the tool call\'s span');
is($mcp->{parentSpanId}, $http->{spanId}, 'a child of the HTTP span');
is($mcp->{kind}, 1, 'kind INTERNAL under it');
is(attr($mcp, 'gen_ai.tool.name'), 'analyze_projected_costs', 'gen_ai.tool.name');
is(attr($mcp, 'mcp.method.name'), 'tools/call', 'mcp.method.name');
is(attr($mcp, 'jsonrpc.request.id'), '7', 'jsonrpc.request.id');
my ($read) = grep { $_->{name} eq 'broker read_file' } @t1;
ok($read, 'the broker\'s read of the stack file');
is($read->{parentSpanId}, $mcp->{spanId}, 'within the tool call');
is(attr($read, 'file.path'), $stack, 'which file');
SKIP: {
    skip 'the Node test peers are not installed', 3 unless $plugins;
    my ($g) = grep { $_->{name} =~ /CostSourceService\/(Supports|GetProjectedCost)$/ } @t1;
    ok($g, 'plugin calls: gRPC client spans in the same trace');
    is($g->{kind}, 3, 'kind CLIENT');
    is(attr($g, 'rpc.system'), 'grpc', 'rpc.system grpc');
}
my $bad = grep { $_->{traceId} !~ /^[0-9a-f]{32}$/ || $_->{spanId} !~ /^[0-9a-f]{16}$/
    || $_->{endTimeUnixNano} < $_->{startTimeUnixNano} || $_->{kind} !~ /^\d$/ } spans();
is($bad, 0, 'every span well-formed: lowercase hex ids, end after start, integer kinds');
my %res = map { $_->{key} => (values %{$_->{value}})[0] } @{$http->{resource}{attributes}};
is($res{'service.name'}, 'pcm-test', 'OTEL_SERVICE_NAME');
is($res{'deployment.environment'}, 'test', 'OTEL_RESOURCE_ATTRIBUTES');
is($http->{headers}{'x-tenant'}, 't1', 'OTEL_EXPORTER_OTLP_HEADERS');
like($http->{headers}{'content-type'}, qr{^application/json}, 'OTLP/HTTP JSON');
my @posts = map { decode_json($_) } split /\n/, Test::PCM::slurp("$d/otlp.jsonl");
is($posts[0]{status}, 503, 'the collector refused the first export');
is($posts[0]{line}, 'POST /v1/traces HTTP/1.1', 'to the configured path');
my %first = map { $_->{spanId} => 1 } map { @{$_->{spans}} } map { @{$_->{scopeSpans}} }
    @{decode_json($posts[0]{body})->{resourceSpans}};
ok((grep { $first{$_->{spanId}} } spans()) == keys %first, 'and those spans arrived on a later try');

# params._meta.traceparent (MCP 2026-07-28) names the tool call's parent.
my ($T2, $P2) = ('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331');
rpc(encode_json({ jsonrpc => '2.0', id => 8, method => 'tools/list',
    params => { _meta => { traceparent => "00-$T2-$P2-01" } } }));
ok(wait_for(sub { grep { $_->{traceId} eq $T2 } spans() }, 20), '_meta.traceparent: a span in that trace');
my ($m2) = grep { $_->{traceId} eq $T2 } spans();
is($m2->{parentSpanId}, $P2, 'a child of the span _meta named');
is($m2->{kind}, 2, 'kind SERVER: it continues the client\'s trace itself');

# An unsampled caller: no spans.
my $T3 = 'a' x 31 . 'b';
rpc($call, "traceparent: 00-$T3-$P1-00\r\n");
rpc(encode_json({ jsonrpc => '2.0', id => 9, method => 'tools/list' }));
ok(wait_for(sub { (grep { $_->{name} eq 'POST /rpc' && !$_->{parentSpanId} } spans()) >= 1 }, 20),
    'a request without a traceparent starts a sampled trace (sample_rate 1)');
ok(!(grep { $_->{traceId} eq $T3 } spans()), 'the unsampled caller\'s trace has no spans');
# Spans travel to the broker in batches (64, or 100 ms): 150 quick requests,
# 150 spans, none lost at a batch's edge.
my $T5 = 'd' x 30;
for my $i (1 .. 150) {
    rpc(encode_json({ jsonrpc => '2.0', id => $i, method => 'tools/list' }),
        sprintf("traceparent: 00-%s%02x-%s-01\r\n", $T5, $i, $P1));
}
my $n5 = 0;
ok(wait_for(sub { $n5 = grep { $_->{traceId} =~ /^$T5/ && $_->{name} eq 'POST /rpc' } spans(); $n5 == 150 }, 20),
    'the spans of 150 requests all exported, batched') or diag "$n5 of 150";

# A path with a byte that is not UTF-8: the export is still JSON, the byte \xHH.
my $T4 = 'c' x 32;
$t->http("GET /caf\xe9 HTTP/1.1\r\nHost: x\r\ntraceparent: 00-$T4-$P1-01\r\nConnection: close\r\n\r\n");
ok(wait_for(sub { grep { $_->{traceId} eq $T4 } eval { spans() } }, 20), 'a path that is not UTF-8: its span is exported as JSON')
    or diag $@;
is(attr((grep { $_->{traceId} eq $T4 } spans())[0] // {}, 'url.path'), '/caf\\xE9', 'url.path with the byte written \\xE9');
my (undef, undef, $page) = $t->http_get('/metrics');
like($page, qr/^pulumicost_trace_spans_total\{result="exported"\} [1-9]\d*$/m, 'exported spans counted');
ok($t->count_log(qr/^tracing: the collector at .* is unavailable \(503\); retrying/) == 1, 'the refusal logged once');

$t->finish;
kill 'TERM', $rpid;
waitpid($rpid, 0);
done_testing;
