#!/usr/bin/perl
# contrib/scripts/backup.sh and restore.sh: a backup holds the
# configuration and every file it names (token file, plugins, pricing
# specs, billing exports, stack files) with checksums; a restore into a
# scratch root gives the same bytes and a configuration that loads; a
# damaged archive is refused before anything is written.

use strict;
use warnings;
use Test::More;
use Test::PCM;

my $t = Test::PCM->new;
my $d = $t->dir;
my $src = $ENV{PCM_SRCDIR} // '.';
my $bin = $t->bin;
my $scripts = "$src/contrib/scripts";

mkdir "$d/$_" for qw(etc plugins plugins/p plugins/p/1.0.0 specs billing stacks out);
$t->write_file('etc/tokens', "ci:0123456789abcdef0123\n");
chmod 0600, "$d/etc/tokens";
$t->write_file('plugins/p/1.0.0/finfocus-plugin-p', "#!/bin/sh\nexit 0\n");
chmod 0755, "$d/plugins/p/1.0.0/finfocus-plugin-p";
$t->write_file('specs/t3.yaml', Test::PCM::slurp("$src/t/fixtures/pulumicost-spec/examples__specs__aws-ec2-t3-micro.yaml"));
$t->write_file('billing/2024-09.csv', Test::PCM::slurp("$src/fuzz/seeds/focus/min.csv"));
$t->write_file('stacks/prod.json', Test::PCM::slurp("$src/fuzz/seeds/pulumi/state.json"));
$t->write_file('etc/config.yaml', <<"Y");
pulumicost:
  plugin_dir: $d/plugins
pricing:
  spec_dir: $d/specs
security:
  auth:
    enabled: true
    token_file: $d/etc/tokens
stacks:
  prod: $d/stacks/prod.json
billing:
  focus:
    - $d/billing
Y

my $out = `sh $scripts/backup.sh -c $d/etc/config.yaml -o $d/out -b $bin 2>&1`;
is($? >> 8, 0, 'backup.sh: done') or diag $out;
like($out, qr/: 6 paths, 6 files$/m, 'the configuration and the five paths it names, six files');
my ($archive) = glob("$d/out/pulumicost-backup-*.tar.gz");
ok($archive && -e "$archive.sha256", 'an archive and its checksum');
my $list = `tar -tzf $archive`;
like($list, qr{^files\Q$d\E/plugins/p/1\.0\.0/finfocus-plugin-p$}m, 'the plugin directory');
like($list, qr{^MANIFEST\.sha256$}m, 'a manifest of checksums');

$out = `sh $scripts/restore.sh $archive -r $d/root -b $bin 2>&1`;
is($? >> 8, 0, 'restore.sh into a scratch root') or diag $out;
like($out, qr/^restore verified: 6 files in \Q$d\E\/root, configuration .*config\.yaml loads$/m, 'verified');
for my $f (qw(etc/config.yaml etc/tokens plugins/p/1.0.0/finfocus-plugin-p specs/t3.yaml billing/2024-09.csv stacks/prod.json)) {
    is(Test::PCM::slurp("$d/root$d/$f"), Test::PCM::slurp("$d/$f"), "$f: the same bytes");
}
is((stat "$d/root$d/etc/tokens")[2] & 07777, 0600, 'the token file keeps its mode');

# A damaged archive: refused, nothing written.
open my $fh, '+<', $archive or die;
seek $fh, 100, 0;
print $fh 'XXXX';
close $fh;
$out = `sh $scripts/restore.sh $archive -r $d/root2 -b $bin 2>&1`;
ok($? >> 8 != 0 && $out =~ /does not match its checksum: not restored/, 'a damaged archive is refused') or diag $out;
ok(!-e "$d/root2", 'and nothing is written');
unlink "$archive.sha256";
$out = `sh $scripts/restore.sh $archive -r $d/root2 -b $bin 2>&1`;
like($out, qr/sha256 is missing: refusing an unverified archive/, 'an archive without its checksum is refused');
done_testing;
