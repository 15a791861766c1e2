package Bench;

# What the benchmarks share: a server on a free loopback port with a
# one-worker configuration, stopped when the script ends, and timed
# requests to its /rpc endpoint.

use strict;
use warnings;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my @pids;
END { local $?; for my $p (@pids) { kill 'TERM', $p; waitpid($p, 0) } }

sub free_port { IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1')->sockport }

# Run @cmd (stdout to /dev/null), stopped with SIGTERM when the script ends.
sub spawn {
    my (@cmd) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', '/dev/null';
        exec @cmd;
        exit 127;
    }
    push @pids, $pid;
    return $pid;
}

# Wait up to 10 s for something to listen on $port.
sub wait_port {
    my ($port) = @_;
    for (1 .. 500) { return 1 if IO::Socket::INET->new("127.0.0.1:$port"); sleep 0.02 }
    return 0;
}

sub median { my @v = sort { $a <=> $b } @_; return $v[$#v / 2]; }

# A preview of $n resources made from the shapes of the bundled example
# (conf/example-preview.json), each URN made unique: a Perl structure.
sub preview {
    my ($root, $n) = @_;
    require JSON::PP;
    my $ex = JSON::PP::decode_json(do { local (@ARGV, $/) = "$root/conf/example-preview.json"; <> });
    my @shapes = grep { $_->{newState} } @{$ex->{steps}};
    my @steps;
    for my $i (0 .. $n - 1) {
        my $s = JSON::PP->new->decode(JSON::PP::encode_json($shapes[$i % @shapes]));
        for my $st (grep { $_ } $s->{newState}, $s->{oldState}) {
            $st->{urn} =~ s/::([^:]+)$/::$1-$i/;
        }
        $s->{urn} = $s->{newState}{urn};
        push @steps, $s;
    }
    return { config => $ex->{config}, steps => \@steps };
}

# The tool call the peers are timed on: tools/call analyze_projected_costs
# with preview($root, $n) inside a JSON string, as canonical JSON text.
sub call_body {
    my ($root, $n) = @_;
    require JSON::PP;
    my $J = JSON::PP->new->canonical;
    return $J->encode({ jsonrpc => '2.0', id => 1, method => 'tools/call', params => {
        name => 'analyze_projected_costs', arguments => { pulumi_json => $J->encode(preview($root, $n)) } } });
}

# Start $bin in $dir (the broker reads as nobody: $dir is made readable)
# with $extra YAML after the listener and log settings; returns the port.
sub start_server {
    my ($bin, $dir, $extra) = @_;
    chmod 0755, $dir;
    my $port = free_port();
    open my $cf, '>', "$dir/c.yaml" or die "$dir/c.yaml: $!";
    print $cf "server:\n  listen:\n    - address: 127.0.0.1:$port\n  worker_processes: 1\n"
        . "  pid_file: $dir/pid\nobservability:\n  logging:\n    output: $dir/log\n" . ($extra // '');
    close $cf;
    spawn($bin, '-c', "$dir/c.yaml", '-p', $dir, '--foreground');
    wait_port($port) or die "server did not start (see $dir/log)\n";
    return $port;
}

# POST $body to $path (the headers an MCP client sends); returns the
# seconds it took and the response body, de-chunked.
sub post {
    my ($port, $path, $body) = @_;
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or die "connect $port: $!";
    my $t0 = time;
    print $s "POST $path HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        . "Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\n"
        . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
    local $/;
    my $r = <$s> // '';
    my $dt = time - $t0;
    my ($head, $b) = split /\r\n\r\n/, $r, 2;
    $b //= '';
    if (($head // '') =~ /^Transfer-Encoding:\s*chunked/mi) {
        my $o = '';
        while ($b =~ s/^([0-9a-fA-F]+)\r\n//) {
            my $n = hex $1;
            last unless $n;
            $o .= substr($b, 0, $n, '');
            $b =~ s/^\r\n//;
        }
        $b = $o;
    }
    return ($dt, $b);
}

sub rpc { my ($port, $body) = @_; return post($port, '/rpc', $body) }

# Put $md (a section starting "## TITLE") into $out: it replaces the
# section of the same title, so RESULTS.md keeps the latest run of each.
sub write_section {
    my ($out, $md) = @_;
    my ($title) = $md =~ /^(## .*)$/m or die "no section title\n";
    my $old = -e $out ? do { local (@ARGV, $/) = $out; <> } : '';
    $md =~ s/\s*$/\n/;
    $old =~ s/^\Q$title\E\n.*?(?=^## |\z)/$md\n/ms or $old .= ($old =~ /\n\z|^\z/ ? '' : "\n") . "\n$md";
    $old =~ s/\n{3,}/\n\n/g;
    open my $fh, '>', "$out.tmp" or die "$out.tmp: $!";
    print $fh $old;
    close $fh or die "$out.tmp: $!";
    rename "$out.tmp", $out or die "$out: $!";
}

sub stop_servers { for my $p (splice @pids) { kill 'TERM', $p; waitpid($p, 0) } }

1;
