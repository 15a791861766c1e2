#!/bin/sh
# Build the libFuzzer targets (make fuzz): the library's sources compiled
# once with coverage, ASan and UBSan, then each fuzz/fuzz_NAME.c linked
# against them into fuzz/fuzz_NAME in the build directory.
#   build.sh SRCDIR "LIBRARY SOURCES" "TARGETS" "CPPFLAGS" "LIBS"
set -eu
srcdir=$1 sources=$2 targets=$3 cppflags=$4 libs=$5
cc=${FUZZ_CC:-clang}
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -std=c11 -pthread $san"
obj=fuzz/obj
mkdir -p "$obj"
objs=
for s in $sources; do
	case $s in *.c) ;; *) continue ;; esac
	src=$s
	[ -f "$src" ] || src=$srcdir/$s
	o=$obj/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')
	if [ ! -f "$o" ] || [ -n "$(find "$src" -newer "$o")" ]; then
		# shellcheck disable=SC2086
		$cc $cflags -fsanitize=fuzzer-no-link $cppflags -c "$src" -o "$o"
	fi
	objs="$objs $o"
done
for t in $targets; do
	# shellcheck disable=SC2086
	$cc $cflags -fsanitize=fuzzer $cppflags "$srcdir/fuzz/fuzz_$t.c" $objs $libs \
	    -o "fuzz/fuzz_$t"
	echo "built fuzz/fuzz_$t"
done
