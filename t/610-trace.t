#!/usr/bin/perl
# W3C trace context on HTTP: a valid traceparent continues the caller's
# trace (a new span id of ours, echoed in the response), an invalid one
# starts a new trace, none starts one too; trace_id, span_id and
# trace_flags in the access log; tracestate passed through.

use strict;
use warnings;
use Test::More;
use Test::PCM;

my $t = Test::PCM->new;
$t->write_config($t->base_config);
$t->run;

my $in = '0af7651916cd43dd8448eb211c80319c';
my $parent = 'b7ad6b7169203331';
sub get {
    my ($tp, $extra) = @_;
    my ($s, $h) = $t->http_get('/health', headers => (defined $tp ? "traceparent: $tp\r\n" : '') . ($extra // ''));
    return $h->{traceparent} // '';
}
my $tp = get("00-$in-$parent-01");
like($tp, qr/^00-$in-[0-9a-f]{16}-01$/, 'the caller\'s trace continues, sampled flag kept');
isnt((split /-/, $tp)[2], $parent, 'with a span id of our own');
my ($s, $h) = $t->http_get('/health', headers => "traceparent: 00-$in-$parent-01\r\ntracestate: vendor=abc\r\n");
is($h->{tracestate}, 'vendor=abc', 'tracestate passed through');
like(get(undef), qr/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/, 'no traceparent: a new trace');
for my $bad ("00-" . uc($in) . "-$parent-01", "00-" . ('0' x 32) . "-$parent-01",
    "ff-$in-$parent-01", "00-$in-" . ('0' x 16) . "-01", "00-$in-$parent-1", "00-$in-$parent-01-extra") {
    my $got = get($bad);
    ok($got =~ /^00-([0-9a-f]{32})-[0-9a-f]{16}-00$/ && $1 ne $in, "invalid ($bad): a new trace");
}
like(get("01-$in-$parent-01-future"), qr/^00-$in-/, 'a later version with more fields: its ids are used');
my @lines = $t->wait_log(sub { ($_->{message} // '') eq 'http request' && ($_->{parent_span_id} // '') eq $parent });
ok(@lines && $lines[0]{trace_id} eq $in && $lines[0]{span_id} =~ /^[0-9a-f]{16}$/ && $lines[0]{trace_flags} eq '01',
    'trace_id, span_id, trace_flags and parent_span_id in the access log') or diag explain \@lines;
$t->finish;
done_testing;
