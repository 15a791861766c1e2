#!/usr/bin/perl
# Logs: JSON lines with the documented fields; levels; workers' lines reach
# the master's file; USR1 reopens after a rename with no line lost; the
# text format and the stderr output.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
$t->write_config;
$t->run;

for (1 .. 10) { $t->http_get("/health?before=$_") }
ok(wait_for(sub { $t->count_log(qr/^http request$/) >= 10 }, 5), 'access lines written');
my @l = $t->log_lines;
ok(@l > 10, 'every line is a JSON object');
my ($w) = grep { ($_->{role} // '') eq 'worker' } @l;
ok($w, 'worker lines reach the master-owned log');
for my $f (qw(timestamp level message service version pid role)) {
	ok(defined $w->{$f}, "field $f present");
}
like($w->{timestamp}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'timestamp is RFC 3339 UTC with ms');

is($w->{service}, 'pulumicost-mcp', 'service name');
ok(!grep({ $_->{level} eq 'debug' } @l), 'no debug lines at level info');

# Rename, USR1, and keep going: no line lost, new lines in a new file.
my $log = $t->log_file;
rename $log, "$log.1" or die;
for (1 .. 10) { $t->http_get("/health?between=$_") }	# written to the renamed file
$t->signal('USR1');
ok(wait_for(sub { -e $log }, 5), 'USR1 created a new log file');
for (1 .. 10) { $t->http_get("/health?after=$_") }
ok(wait_for(sub { Test::PCM::slurp($log) =~ /after=10|"path":"\/health"/ && (() = Test::PCM::slurp($log) =~ /"message":"http request"/g) >= 10 }, 5),
    'new lines go to the new file');
my $old = Test::PCM::slurp("$log.1");
my $new = Test::PCM::slurp($log);
my $n = () = ($old . $new) =~ /"message":"http request"/g;
is($n, 30, 'all 30 access lines are in the two files');
like($new, qr/"message":"log file reopened"/, 'the new file records the reopen');
# A path with bytes that are not UTF-8: written \xHH (as nginx does), the
# line still JSON.
my ($st) = $t->http("GET /caf\xe9?q=\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
is($st, 404, 'a path that is not UTF-8: 404');
ok(wait_for(sub { grep { ($_->{path} // '') =~ /^\/caf/ } $t->log_lines }, 5), 'its access line is JSON')
    or diag join "\n", $t->raw_log_lines;
is((grep { ($_->{path} // '') =~ /^\/caf/ } $t->log_lines)[0]{path}, '/caf\\xE9', 'the byte written \\xE9');
is(scalar(grep { !eval { decode_json($_); 1 } } $t->raw_log_lines), 0, 'every line of the log is UTF-8 JSON');

# A reload that names another output moves the log there.
my $other = $t->dir . '/other.log';
my $cfg = Test::PCM::slurp($t->conf);
$t->write_file('config.yaml', $cfg =~ s/output: \S+/output: $other/r);
kill 'HUP', $t->pid;
ok(wait_for(sub { Test::PCM::slurp($other) =~ /reload complete/ }, 10), 'new output used after the reload');
like(Test::PCM::slurp($log), qr/log output moves to \Q$other\E/, 'the old output says where the log went');
$t->finish;

# Text format on stderr, at debug level.
my $u = Test::PCM->new;
$cfg = $u->base_config(level => 'debug');
$cfg =~ s/output: %%LOG%%/output: stderr\n    format: text/;
$u->write_config($cfg);
$u->run(no_wait => 1);
ok(wait_for(sub { Test::PCM::slurp($u->stderr_file) =~ /generation 1 ready/ }, 10), 'text lines on stderr');
like(Test::PCM::slurp($u->stderr_file), qr/^\d{4}-\S+Z \[info\] master\[\d+\]: listening on/m, 'text format');
like(Test::PCM::slurp($u->stderr_file), qr/\[debug\]/, 'debug level honoured');
$u->stop;
done_testing;
