#!/bin/sh
# Restore a backup.sh archive and verify it: the archive's own checksum,
# every file's checksum after it is written, and the restored configuration
# loading (pulumicost-mcp -t).  Nothing is written when the archive does
# not verify.
#   restore.sh ARCHIVE [-r ROOT] [-b BINARY]
# ROOT (default /) is where the files go: a scratch root to inspect first.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 ARCHIVE [-r ROOT] [-b BINARY]" >&2; exit 2; }
archive=$1
shift
root=/ bin=pulumicost-mcp
while getopts r:b: opt; do
	case $opt in
	r) root=$OPTARG ;;
	b) bin=$OPTARG ;;
	*) echo "usage: restore.sh ARCHIVE [-r ROOT] [-b BINARY]" >&2; exit 2 ;;
	esac
done
[ -r "$archive" ] || { echo "$0: cannot read $archive" >&2; exit 1; }
[ -r "$archive.sha256" ] || { echo "$0: $archive.sha256 is missing: refusing an unverified archive" >&2; exit 1; }
if ! (cd "$(dirname "$archive")" && sha256sum -c --quiet "$(basename "$archive").sha256"); then
	echo "$0: $archive does not match its checksum: not restored" >&2
	exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xzf "$archive"
if ! (cd "$work/files" && sha256sum -c --quiet ../MANIFEST.sha256); then
	echo "$0: a file of the archive does not match the manifest: not restored" >&2
	exit 1
fi
mkdir -p "$root"
cp -a "$work/files/." "$root/"
if ! (cd "$root" && sha256sum -c --quiet "$work/MANIFEST.sha256"); then
	echo "$0: files written to $root do not match the manifest" >&2
	exit 1
fi
conf=$(cat "$work/CONFIG")
if command -v "$bin" >/dev/null 2>&1 && ! "$bin" -t -c "$root/$conf" >/dev/null; then
	echo "$0: the restored configuration $root/$conf does not load" >&2
	exit 1
fi
echo "restore verified: $(wc -l < "$work/MANIFEST.sha256") files in $root, configuration $conf loads"
