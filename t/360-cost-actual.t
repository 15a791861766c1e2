#!/usr/bin/perl
# FOCUS billing exports and actual spend (pulumicost-mcp cost actual): the
# daily series and per-service totals of the FinOps Foundation's real
# sample, computed here independently (our own CSV reading and proration),
# and each bad input with its exact report.

use strict;
use warnings;
use Cwd qw(abs_path);
use JSON::PP;
use POSIX qw(floor);
use Test::More;
use Test::PCM;
use Time::Local qw(timegm);

my $src = abs_path($ENV{PCM_SRCDIR} // '.');
my $csv = "$src/t/fixtures/focus/focus-1.0_sample_rows-0mod3.csv";
my $t = Test::PCM->new;

# --- independent reading: one record per line in this file ------------------
sub fields { my @f; my $l = shift; while ($l =~ /\G(?:"((?:[^"]|"")*)"|([^,]*))(?:,|$)/g) {
	my $v = defined $1 ? $1 =~ s/""/"/gr : $2; push @f, $v; last if pos($l) >= length $l } @f }
sub ts { my ($y, $m, $d, $H, $M, $S) = $_[0] =~ /^(\d+)-(\d+)-(\d+)[ T](\d+):(\d+):(\d+)/;
	timegm($S, $M, $H, $d, $m - 1, $y) }
open my $fh, '<', $csv or die $!;
chomp(my $h = <$fh>);
my @h = fields($h);
my %c = map { $h[$_] => $_ } 0 .. $#h;
my (%day, %svc, $total, $rows);
while (my $l = <$fh>) {
	chomp $l;
	my @f = fields($l);
	my $v = $f[$c{BilledCost}];
	next if $v eq 'NULL' || $v eq '';
	my ($s, $e) = (ts($f[$c{ChargePeriodStart}]), ts($f[$c{ChargePeriodEnd}]));
	$rows++;
	$total += $v;
	$svc{$f[$c{ServiceName}] eq 'NULL' ? '(none)' : $f[$c{ServiceName}]} += $v;
	# Split over days by the time overlapped.
	for (my $d = floor($s / 86400) * 86400; $d < $e; $d += 86400) {
		my ($lo, $hi) = ($s > $d ? $s : $d, $e < $d + 86400 ? $e : $d + 86400);
		$day{$d} += $v * ($hi - $lo) / ($e - $s) if $hi > $lo;
	}
}
close $fh;

my ($rc, $out, $err) = $t->cmd('cost', 'actual', '--focus', $csv, '--basis', 'billed',
    '--granularity', 'daily', '--group-by', 'service', '--output', 'json');
is($rc, 0, 'the FOCUS sample loads') or diag $err;
my $j = decode_json($out);
ok(abs($j->{totals}{USD} - $total) < 1e-6, sprintf('total BilledCost %.6f', $total));
is($j->{metadata}{rows_used}, $rows, "every row with a cost used ($rows)");
is($j->{metadata}{bad_rows}{count}, 0, 'no bad rows in the real sample');
my $bad = 0;
for my $s (keys %svc) {
	$bad++ unless abs(($j->{groups}{totals}{$s}{USD} // 0) - $svc{$s}) < 1e-6;
}
is($bad, 0, 'per service: every total matches (' . scalar(keys %svc) . ' services)');
my %series = map { ts($_->{period_start}) => $_->{cost}{USD} // 0 } @{$j->{series}};
$bad = 0;
for my $d (keys %day) { $bad++ unless abs(($series{$d} // 0) - $day{$d}) < 1e-6 }
is($bad, 0, 'per day: every day matches, charges spanning days split by time (' . scalar(keys %day) . ' days)');
ok(abs(eval { my $s = 0; $s += $_ for values %series; $s } - $total) < 1e-4, 'the series adds up to the total (each period rounded to a millionth)');

($rc, $out) = $t->cmd('cost', 'actual', '--focus', $csv, '--granularity', 'monthly', '--output', 'json',
    '--from', '2024-09-01', '--to', '2024-10-01');
$j = decode_json($out);
is(scalar(@{$j->{series}}), 1, 'monthly: one period in September');
is($j->{cost_basis}, 'effective', 'EffectiveCost by default');
ok(exists $j->{by_charge_category}{Credit}, 'charge categories kept apart (Credit)');

# --- bad input ---------------------------------------------------------------
my $head = 'ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ServiceName';
my %files = (
    'cols.csv' => "ChargePeriodStart,BilledCost\n2024-01-01,1\n",
    'rows.csv' => join("\n", $head,
	'2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,1.5,1.5,USD,EC2',
	'2024-01-01T00:00:00Z,2024-01-02T00:00:00Z,abc,1,USD,EC2',
	'2024-13-01,2024-01-02,1,1,USD,EC2',
	'2024-01-01,2024-01-02,1,1,USD',
	'2024-01-01,2024-01-02,1,1,XYZ,EC2',
	'2024-01-02,2024-01-01,1,1,USD,EC2',
	'2024-01-01,2024-01-02,NULL,NULL,USD,EC2',
	'"2024-01-01","2024-01-02",2,2,"USD","Elastic ""Load"" Balancing, classic"') . "\n",
    'empty.csv' => '',
);
$t->write_file($_, $files{$_}) for keys %files;
my $d = $t->dir;
($rc, undef, $err) = $t->cmd('cost', 'actual', '--focus', "$d/cols.csv");
is($rc, 1, 'missing required columns: exit 1');
like($err, qr{cols\.csv: not a FOCUS export: missing required columns: ChargePeriodEnd BillingCurrency$}m,
    'naming them');
($rc, undef, $err) = $t->cmd('cost', 'actual', '--focus', "$d/empty.csv");
like($err, qr{empty\.csv: empty file: no header}, 'an empty file');
($rc, $out, $err) = $t->cmd('cost', 'actual', '--focus', "$d/rows.csv", '--output', 'json', '--group-by', 'service');
is($rc, 0, 'bad rows are reported, not fatal') or diag $err;
$j = decode_json($out);
is($j->{totals}{USD}, 3.5, 'the good rows are counted (1.5 + 2)');
is($j->{metadata}{bad_rows}{count}, 6, 'six bad rows');
is_deeply([ map { "$_->{line}: $_->{reason}" } @{$j->{metadata}{bad_rows}{first}} ], [
    '3: a cost, quantity or price is not a number',
    '4: ChargePeriodStart or ChargePeriodEnd is not a date-time',
    '5: 5 fields where the header has 6',
    '6: BillingCurrency "XYZ" is not an ISO 4217 code',
    '7: ChargePeriodEnd is before ChargePeriodStart',
    '8: neither BilledCost nor EffectiveCost is set',
], 'each with its line and reason');
like($j->{metadata}{bad_rows}{first}[0]{file}, qr{rows\.csv$}, 'and its file');
ok(exists $j->{groups}{totals}{'Elastic "Load" Balancing, classic'}, 'RFC 4180 quoting: doubled quotes and commas');

# Text that is not UTF-8 (a Latin-1 export) never reaches an answer: the row
# is bad and says why; UTF-8 text goes through as it is.
$t->write_file('enc.csv', join("\n",
	'ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ServiceName,Tags',
	"2024-01-01,2024-01-02,1,1,USD,Caf\xe9,NULL",
	"2024-01-01,2024-01-02,2,2,USD,EC2,\"{\"\"team\"\":\"\"\xe9quipe\"\"}\"",
	'2024-01-01,2024-01-02,4,4,USD,EC2,"{""team"":""a"",}"',
	'2024-01-01,2024-01-02,8,8,USD,EC2,"[""team""]"',
	"2024-01-01,2024-01-02,16,16,USD,Caf\xc3\xa9,\"{\"\"team\"\":\"\"\xc3\xa9quipe\"\"}\"") . "\n");
($rc, $out, $err) = $t->cmd('cost', 'actual', '--focus', "$d/enc.csv", '--output', 'json',
    '--group-by', 'service');
is($rc, 0, 'text that is not UTF-8: bad rows, not fatal') or diag $err;
$j = eval { JSON::PP->new->utf8->decode($out) };
ok($j, 'the answer is valid UTF-8 JSON') or diag $@;
is($j->{totals}{USD}, 16, 'only the UTF-8 row is counted');
is_deeply([ map { "$_->{line}: $_->{reason}" } @{$j->{metadata}{bad_rows}{first}} ], [
    '2: ServiceName is not UTF-8 text (a FOCUS export is UTF-8; was it saved in another encoding?)',
    '3: Tags is not UTF-8 text (a FOCUS export is UTF-8; was it saved in another encoding?)',
    '4: Tags is not a JSON object: invalid JSON at byte 12: quoted object property name expected',
    '5: Tags is not a JSON object',
], 'each saying which cell and why');
is_deeply([ keys %{$j->{groups}{totals}} ], ["Caf\x{e9}"], 'UTF-8 names kept as they are');
# Grouped by a tag: each row's own Tags (values in full), untagged as (none).
my $long = 'x' x 300;
$t->write_file('tags.csv', join("\n",
	'ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ServiceName,Tags',
	'2024-01-01,2024-01-02,1,1,USD,EC2,"{""team"":""web"",""env"":""prod""}"',
	'2024-01-01,2024-01-02,2,2,USD,EC2,"{""env"":""prod"",""team"":""web""}"',
	'2024-01-01,2024-01-02,4,4,USD,RDS,"{""team"":""data""}"',
	'2024-01-01,2024-01-02,8,8,USD,RDS,NULL',
	"2024-01-01,2024-01-02,16,16,USD,S3,\"{\"\"team\"\":\"\"$long\"\"}\"") . "\n");
($rc, $out, $err) = $t->cmd('cost', 'actual', '--focus', "$d/tags.csv", '--output', 'json',
    '--group-by', 'tag:team');
is($rc, 0, '--group-by tag:team') or diag $err;
is_deeply({ map { $_ => $j->{groups}{totals}{$_}{USD} } keys %{($j = decode_json($out))->{groups}{totals}} },
    { web => 3, data => 4, '(none)' => 8, $long => 16 },
    'by each row\'s Tags, whatever their key order; untagged as (none); a 300-byte value whole');

mkdir "$d/latin1" or die;
$t->write_file("latin1/caf\xe9.csv", $files{'rows.csv'});
($rc, undef, $err) = $t->cmd('cost', 'actual', '--focus', "$d/latin1");
is($rc, 1, 'a billing file named in another encoding: exit 1');
like($err, qr{latin1: holds a billing file whose name is not UTF-8 \(rename it\)$}m, 'saying so');

# gzip, whole and truncated.
system("gzip -c $d/rows.csv > $d/rows.csv.gz") == 0 or die;
($rc, $out) = $t->cmd('cost', 'actual', '--focus', "$d/rows.csv.gz", '--output', 'json');
is(decode_json($out)->{totals}{USD}, 3.5, '.csv.gz read');
system("gzip -c $csv | head -c 20000 > $d/cut.csv.gz") == 0 or die;
($rc, undef, $err) = $t->cmd('cost', 'actual', '--focus', "$d/cut.csv.gz");
is($rc, 1, 'a truncated gzip: exit 1');
like($err, qr{cut\.csv\.gz: read error after line \d+ \(a truncated or corrupt file\)$}m, 'saying so');
done_testing;
