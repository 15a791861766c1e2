#!/usr/bin/env bash
# pulumicost-mcp developer entry point for a fresh Debian 12 machine.
#   contrib/scripts/dev.sh run    install what is missing, build, run on the
#                                 embedded defaults (127.0.0.1:8080 and
#                                 run/pulumicost-mcp.sock in this tree)
#   contrib/scripts/dev.sh test   install what is missing, build with test
#                                 hooks, run the whole test suite with prove
# Environment: PCM_TEST_SANDBOX=trap|enforce|log|off for the test run.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD

PKGS="build-essential autoconf automake libtool pkg-config make perl curl
openssl procps libevent-dev libjson-c-dev libyaml-dev libseccomp-dev
libssl-dev zlib1g-dev libnghttp2-dev mandoc"

# The test suite also runs a real nginx in front of the server, socat, and a
# real Prometheus (and promtool) scraping it.
TEST_PKGS="nginx-light socat prometheus logrotate valgrind yamllint wrk docker-compose shellcheck"

need_install() {
	local p
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || return 0
	done
	return 1
}

install_deps() {
	need_install || return 0
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get \
	    -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $PKGS
}

# npm fetches the pinned test peers; Debian's npm package is used only
# where no npm is installed (the test suite brings its own Node 22).
# systemd-analyze checks the shipped unit (t/700); a container may refuse
# the package, and then only those checks skip.
install_optional() {
	local sudo=
	command -v systemd-analyze >/dev/null 2>&1 && return 0
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
	    install -y -qq --no-install-recommends systemd >/dev/null 2>&1 ||
	    echo "systemd could not be installed: t/700 skips its unit checks" >&2
}

install_npm() {
	command -v npm >/dev/null 2>&1 && return 0
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get \
	    -o DPkg::Lock::Timeout=300 install -y -qq npm
}

build() {
	if ! [ -x configure ] || ! [ configure -nt configure.ac ]; then
		autoreconf -fi
	fi
	if [ ! -f Makefile ] || [ "$(cat .configured 2>/dev/null)" != "$*" ]; then
		./configure -q "$@"
		echo "$*" > .configured
	fi
	make -j"$(nproc)"
}

case "${1:-}" in
run)
	install_deps
	build
	mkdir -p run
	cat <<MSG
pulumicost-mcp is starting on its embedded defaults. Reach it with:
  curl http://127.0.0.1:8080/health
  curl http://127.0.0.1:8080/ready
  curl --unix-socket $top/run/pulumicost-mcp.sock http://localhost/health
  curl -s http://127.0.0.1:8080/rpc -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
MCP clients: POST http://127.0.0.1:8080/mcp (Streamable HTTP), or for Claude Desktop
  "command": "$top/pulumicost-mcp",
  "args": ["bridge", "--socket", "$top/run/pulumicost-mcp-stream.sock"]
Stop it with Ctrl-C (or: ./pulumicost-mcp -p $top -s quit).
MSG
	exec ./pulumicost-mcp -p "$top" --foreground
	;;
test)
	PKGS="$PKGS $TEST_PKGS"
	install_deps
	install_optional
	install_npm
	# Real MCP peers (the official conformance suite, Node 22), pinned.
	if [ ! -d t/npm/node_modules ] || [ t/npm/package-lock.json -nt t/npm/node_modules ]; then
		(cd t/npm && npm ci --no-audit --no-fund --loglevel=error)
		touch t/npm/node_modules
	fi
	build --enable-test-hooks --enable-werror
	make -j"$(nproc)" check TESTS= >/dev/null
	export PCM_BINARY="$top/pulumicost-mcp" PCM_SRCDIR="$top"
	# The unit test programs (not their sources or objects), then the rest.
	set --
	for f in t/unit/test_*; do
		case $f in *.*) ;; *) set -- "$@" "$f" ;; esac
	done
	exec prove -I t/lib "$@" t/*.t
	;;
*)
	echo "usage: $0 run|test" >&2
	exit 1
	;;
esac
