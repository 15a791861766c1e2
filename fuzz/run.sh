#!/bin/sh
# Run every fuzz target for SECONDS each (default 20) from its seeds
# (fuzz/seeds/NAME and the test fixtures), keeping the corpus it grows in
# fuzz/corpus/NAME; print executions and corpus size per target.  A crash
# stops with the target's report and the input under fuzz/crashes/.
#   run.sh SRCDIR [SECONDS] [TARGETS]
set -eu
srcdir=$1 secs=${2:-20}
targets=${3:-"jsonrpc jtext mcp config pulumi focus spec pb jwt traceparent"}
mkdir -p fuzz/crashes
for t in $targets; do
	corpus=fuzz/corpus/$t seeds=$srcdir/fuzz/seeds/$t
	mkdir -p "$corpus"
	extra=
	case $t in
	config) extra="$srcdir/conf" ;;
	pulumi) extra="$srcdir/t/fixtures/state $srcdir/t/fixtures/preview" ;;
	focus) extra="$srcdir/t/fixtures/focus" ;;
	spec) extra="$srcdir/t/fixtures/pulumicost-spec" ;;
	esac
	dict=
	[ -f "$srcdir/fuzz/$t.dict" ] && dict="-dict=$srcdir/fuzz/$t.dict"
	# shellcheck disable=SC2086
	if ! ./fuzz/fuzz_$t -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=fuzz/crashes/$t- $dict "$corpus" \
	    "$seeds" $extra >fuzz/$t.log 2>&1; then
		tail -60 "fuzz/$t.log"
		echo "fuzz_$t: FAILED (input in fuzz/crashes/)"
		exit 1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "fuzz/$t.log")
	echo "fuzz_$t: $runs executions in ${secs}s, corpus $(find "$corpus" -type f | wc -l) files"
done
