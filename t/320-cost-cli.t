#!/usr/bin/perl
# pulumicost-mcp cost projected: the engine on the command line, for CI;
# JSON compatible with finfocus core's, NDJSON, a table; exit statuses.

use strict;
use warnings;
use Cwd qw(abs_path);
use JSON::PP;
use Test::More;
use Test::PCM;

my $src = abs_path($ENV{PCM_SRCDIR} // '.');
my $t = Test::PCM->new;
my $ex = "$src/conf/example-preview.json";

my ($rc, $out, $err) = $t->cmd('cost', 'projected', '--pulumi-json', $ex, '--output', 'json');
is($rc, 0, 'json: exit 0') or diag $err;
my $j = decode_json($out);
my $s = $j->{finfocus}{summary};
ok($s->{totalMonthly} > 0, 'finfocus.summary.totalMonthly');
is($s->{currency}, 'USD', 'currency');
is(scalar(@{$j->{finfocus}{resources}}), 5, 'resources: the changed ones and the unpriced one');
my ($w) = grep { $_->{resourceId} =~ /::worker$/ } @{$j->{finfocus}{resources}};
is($w->{resourceType}, 'aws:ec2/instance:Instance', 'CostResult.resourceType');
is($w->{startDate}, '0001-01-01T00:00:00Z', 'Go zero times, as finfocus writes them');
ok(abs($w->{monthly} - ($w->{breakdown}{'instance hours'} + $w->{breakdown}{'root volume'})) < 1e-6,
    'breakdown by component adds up to monthly');
my ($cdn) = grep { $_->{resourceId} =~ /::cdn$/ } @{$j->{finfocus}{resources}};
like($cdn->{notes}, qr/^unpriced \(not a zero cost\): resource type/, 'an unpriced resource says so in notes');
is($s->{coverage}{unpriced}, 1, 'and the summary carries the coverage');

# The same figure as the MCP tool, through a server.
$t->write_config($t->base_config);
$t->run;
my $body = encode_json({ jsonrpc => '2.0', id => 1, method => 'analyze_projected_costs',
    params => { pulumi_json => Test::PCM::slurp($ex) } });
my (undef, undef, $b) = $t->http("POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
    . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body");
is(decode_json($b)->{result}{structuredContent}{total_monthly}, $s->{totalMonthly}, 'CLI and MCP agree');
$t->finish;

($rc, $out) = $t->cmd('cost', 'projected', '--pulumi-json', $ex, '--output', 'ndjson');
my @l = split /\n/, $out;
is(scalar(@l), 5, 'ndjson: one CostResult per line');
ok(!grep({ !eval { decode_json($_); 1 } } @l), 'each line is JSON');

($rc, $out) = $t->cmd('cost', 'projected', '--pulumi-json', $ex);
like($out, qr/^COST SUMMARY\n  Total monthly: \d+\.\d\d USD\n/, 'table by default');
like($out, qr/\nRESOURCE DETAILS\n/, 'with resource details');
like($out, qr/\nUNPRICED \(not in the total\)\n  urn:pulumi:prod::shop::aws:cloudfront/, 'and the unpriced ones');

($rc, $out) = $t->cmd('cost', 'projected', '--pulumi-json', "$src/conf/example-stack.json", '--output', 'json',
    '--filter', 'tag:env=dev', '--group-by', 'tag:service');
$j = decode_json($out);
is(scalar(@{$j->{finfocus}{resources}}), 2, '--filter tag:KEY=VALUE');
ok(exists $j->{finfocus}{summary}{groups}{totals}{ci}, '--group-by tag:KEY');

# From standard input, as in a pipeline.
$t->write_file('in.json', Test::PCM::slurp("$src/conf/example-stack.json"));
$out = `$t->{bin} cost projected --pulumi-json - --output json < $t->{dir}/in.json`;
is($? >> 8, 0, 'stdin: exit 0');
ok(decode_json($out)->{finfocus}{summary}{totalMonthly} > 0, 'stdin: priced');

# Errors and exit statuses.
($rc, $out, $err) = $t->cmd('cost', 'projected', '--pulumi-json', "$t->{dir}/none.json");
is($rc, 1, 'a missing file: exit 1');
like($err, qr{^pulumicost-mcp: \S+/none\.json: cannot read: No such file or directory$}m, 'saying which and why');
$t->write_file('bad.json', '{"steps": [{"op": "create"}]}');
($rc, undef, $err) = $t->cmd('cost', 'projected', '--pulumi-json', "$t->{dir}/bad.json");
is($rc, 1, 'a bad document: exit 1');
like($err, qr{bad\.json: steps\[0\]: urn is missing$}m, 'with the error of the document');
($rc, undef, $err) = $t->cmd('cost', 'projected', '--pulumi-json', $ex, '--output', 'xml');
is($rc, 2, 'a bad --output: exit 2');
like($err, qr/--output xml: expected table, json or ndjson/, 'saying what is allowed');
($rc, undef, $err) = $t->cmd('cost', 'projected', '--pulumi-json', $ex, '--filter', 'colour');
is($rc, 2, 'a bad --filter: exit 2');
($rc, undef, $err) = $t->cmd('cost', 'projected', '--pulumi-json', $ex, '--group-by', 'weather');
like($err, qr/group_by\[0\]: "weather" is not one of/, 'a bad --group-by');
($rc, undef, $err) = $t->cmd('cost', 'frobnicate');
is($rc, 2, 'an unknown cost subcommand: exit 2');
like($err, qr/^usage: pulumicost-mcp cost projected/, 'with the usage');
done_testing;
