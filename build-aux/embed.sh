#!/bin/sh
# embed.sh SYMBOL FILE: a C source defining "const char SYMBOL[]" with the
# text of FILE, so data the server needs offline (the pricing catalogue,
# the example stack) is compiled in.
set -e
[ $# -eq 2 ] || { echo "usage: embed.sh SYMBOL FILE" >&2; exit 2; }
printf '/* Generated from %s by build-aux/embed.sh: do not edit. */\n' "${2##*/}"
printf 'extern const char %s[];\nconst char %s[] =\n' "$1" "$1"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$/\\n"/' "$2"
printf ';\n'
