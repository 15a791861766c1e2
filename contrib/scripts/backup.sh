#!/bin/sh
# Back up what a pulumicost-mcp server needs to be rebuilt: its
# configuration file, the token file, the plugin directory, the pricing
# spec directory, the billing exports and the stack files it names (asked
# of the server itself: pulumicost-mcp -T), with a SHA-256 of every file
# inside the archive and of the archive beside it.
#   backup.sh [-c CONFIG] [-o DIR] [-b BINARY]
# Prints the archive's path.  restore.sh puts it back and verifies it.
set -eu
conf=/etc/pulumicost-mcp/config.yaml out=. bin=pulumicost-mcp
while getopts c:o:b: opt; do
	case $opt in
	c) conf=$OPTARG ;;
	o) out=$OPTARG ;;
	b) bin=$OPTARG ;;
	*) echo "usage: $0 [-c CONFIG] [-o DIR] [-b BINARY]" >&2; exit 2 ;;
	esac
done
[ -r "$conf" ] || { echo "$0: cannot read $conf" >&2; exit 1; }
conf=$(cd "$(dirname "$conf")" && pwd)/$(basename "$conf")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The effective configuration names every path, defaults applied.
if ! "$bin" -T -c "$conf" > "$work/effective.yaml"; then
	echo "$0: $conf does not load; fix it first (pulumicost-mcp -t)" >&2
	exit 1
fi
{
	echo "$conf"
	awk '
	/^[a-z_]+:/ { section = $1; sub(":", "", section); infocus = 0 }
	/^  plugin_dir: |^  spec_dir: |^    token_file: / { v = $2 }
	section == "stacks" && /^    (state|preview): / { v = $2 }
	section == "stacks" && /^  "[^"]*": "/ { v = $2 }
	section == "billing" && /^  focus:/ { infocus = 1; next }
	infocus && /^    - / { v = $2 }
	infocus && !/^    - / { infocus = 0 }
	v != "" { gsub("\"", "", v); if (v !~ /^builtin:/) print v; v = "" }
	' "$work/effective.yaml"
} | sort -u > "$work/names"

mkdir -p "$work/stage/files"
n=0
while read -r p; do
	[ -e "$p" ] || continue
	(cd / && cp -a --parents "${p#/}" "$work/stage/files/")
	n=$((n + 1))
done < "$work/names"
echo "$conf" > "$work/stage/CONFIG"
(cd "$work/stage/files" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum) \
    > "$work/stage/MANIFEST.sha256"

name=pulumicost-backup-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
tar -C "$work/stage" -czf "$out/$name.tar.gz" files MANIFEST.sha256 CONFIG
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "$out/$name.tar.gz: $n paths, $(wc -l < "$work/stage/MANIFEST.sha256") files"
