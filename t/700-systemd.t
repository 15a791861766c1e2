#!/usr/bin/perl
# The systemd and logrotate files of contrib/: the unit verifies
# (systemd-analyze verify, with ExecStart pointed at the built binary) and
# scores an exposure of 2.0 or better (systemd-analyze security --offline);
# sysusers and tmpfiles create the account and directories in a scratch
# root; the logrotate file rotates a running server's log and its
# postrotate makes the master reopen it (USR1) without losing a line.

use strict;
use warnings;
use Test::More;
use Test::PCM qw(wait_for);

my $t = Test::PCM->new;
my $d = $t->dir;
my $src = $ENV{PCM_SRCDIR} // '.';
my $bin = $t->bin;

SKIP: {
    skip 'systemd-analyze is not installed (apt-get install systemd)', 8
        unless `which systemd-analyze 2>/dev/null` =~ /systemd-analyze/;
    my $unit = Test::PCM::slurp("$src/contrib/systemd/pulumicost-mcp.service");
    like($unit, qr/^Type=notify$/m, 'Type=notify');
    like($unit, qr{^ExecReload=/bin/kill -HUP \$MAINPID$}m, 'reload is SIGHUP');
    $unit =~ s{/usr/sbin/pulumicost-mcp}{$bin}g;
    mkdir "$d/unit";
    $t->write_file('unit/pulumicost-mcp.service', $unit);
    my $out = `systemd-analyze verify --man=no $d/unit/pulumicost-mcp.service 2>&1`;
    is($? >> 8, 0, 'systemd-analyze verify: clean') or diag $out;
    $out = `systemd-analyze security --offline=true $d/unit/pulumicost-mcp.service 2>&1`;
    my ($score) = $out =~ /Overall exposure level for pulumicost-mcp\.service: ([\d.]+)/;
    ok(defined $score && $score <= 2.0, "exposure level ${\ ($score // '?')} (2.0 or better)") or diag $out;
    system("systemd-analyze security --offline=true --threshold=20 $d/unit/pulumicost-mcp.service >/dev/null 2>&1");
    is($? >> 8, 0, 'and --threshold=20 agrees');

    SKIP: {
        # Both write owners into the tree: an unprivileged run (make
        # distcheck in CI) cannot; the suite's root runs check them.
        skip 'systemd-sysusers and systemd-tmpfiles --root need root', 3 if $> != 0;
        mkdir "$d/root";
        mkdir "$d/root/etc";
        $t->write_file("root/etc/$_", '') for qw(passwd group shadow gshadow);
        $out = `systemd-sysusers --root=$d/root $src/contrib/systemd/pulumicost-mcp.sysusers.conf 2>&1`;
        like(Test::PCM::slurp("$d/root/etc/passwd"), qr/^pulumicost-mcp:x:\d+:\d+:[^:]*:\/var\/lib\/pulumicost-mcp:/m,
            'sysusers: the account') or diag $out;
        $out = `systemd-tmpfiles --root=$d/root --create $src/contrib/systemd/pulumicost-mcp.tmpfiles.conf 2>&1`;
        is($? >> 8, 0, 'tmpfiles: created') or diag $out;
        ok(-d "$d/root/run/pulumicost-mcp" && -d "$d/root/var/log/pulumicost-mcp"
            && (stat "$d/root/var/lib/pulumicost-mcp")[2] % 01000 == 0750, 'the directories, mode 0750');
    }
}

SKIP: {
    my $lr = (grep { -x } '/usr/sbin/logrotate')[0];
    skip 'logrotate is not installed (apt-get install logrotate)', 4 unless $lr;
    $t->write_config($t->base_config);
    $t->run;
    my $pid = $t->pid;
    my $conf = Test::PCM::slurp("$src/contrib/logrotate/pulumicost-mcp");
    my $log = $t->log_file;
    $conf =~ s{/var/log/pulumicost-mcp/\*\.log}{$log};
    $conf =~ s{^\s*create .*\n}{}m;		# the test's user owns its files
    $conf =~ s{systemctl kill .*\\\n\s*}{}m;	# no systemd here: the pid file path
    $conf =~ s{/run/pulumicost-mcp/pulumicost-mcp\.pid}{$t->pid_file}e;
    $t->write_file('logrotate.conf', $conf);
    $t->http_get('/health') for 1 .. 3;
    my $out = `$lr -f -s $d/logrotate.state $d/logrotate.conf 2>&1`;
    is($? >> 8, 0, 'logrotate -f: rotated') or diag $out;
    ok(-e "$log.1", 'the old log moved aside');
    ok(wait_for(sub { -e $log && Test::PCM::slurp($log) =~ /"message":"log file reopened"/ }, 10),
        'postrotate: the master reopened its log (USR1)');
    $t->http_get('/health');
    ok(wait_for(sub { Test::PCM::slurp($log) =~ /"path":"\/health"/ }, 10), 'and logs go on in the new file');
}

$t->finish if $t->pid;
done_testing;
