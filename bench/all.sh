#!/bin/sh
# Every benchmark in one run, one after another; each replaces its own
# section of bench/RESULTS.md (machine, date, versions, medians, ratios).
# Needs what each needs: jq, sqlite3, wrk, sslscan, nginx, node, taskset
# and the Node peers (cd t/npm && npm ci).   sh bench/all.sh
set -eu
cd "$(dirname "$0")/.."
[ -x ./pulumicost-mcp ] || { echo "build first: make" >&2; exit 2; }
for b in parse projected focus plugins security peers; do
	echo "== bench/$b.pl"
	perl "bench/$b.pl"
done
