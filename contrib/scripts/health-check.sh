#!/bin/sh
# Is a pulumicost-mcp server healthy?  Liveness (/health), readiness
# (/ready, which asks the broker), and optionally that the metrics page
# answers and an MCP tools/list works.  Exit 0 healthy, 1 not, 2 misuse;
# one line per check, for cron, a load balancer's script check or a deploy.
#   health-check.sh [-u URL | -s SOCKET] [-t TOKEN] [-m] [-T SECONDS]
set -eu
url=http://127.0.0.1:8080 sock='' token=${PULUMICOST_API_TOKEN:-} metrics=0 timeout=5
while getopts u:s:t:mT: opt; do
	case $opt in
	u) url=$OPTARG ;;
	s) sock=$OPTARG url=http://localhost ;;
	t) token=$OPTARG ;;
	m) metrics=1 ;;
	T) timeout=$OPTARG ;;
	*) echo "usage: $0 [-u URL | -s SOCKET] [-t TOKEN] [-m] [-T SECONDS]" >&2; exit 2 ;;
	esac
done
fail=0

# check NAME PATH [curl args...]: prints "ok NAME" or "FAIL NAME: why".
check() {
	name=$1 path=$2
	shift 2
	if [ -n "$sock" ]; then set -- --unix-socket "$sock" "$@"; fi
	if [ -n "$token" ]; then set -- -H "X-API-Token: $token" "$@"; fi
	if body=$(curl -sS --max-time "$timeout" -w '\n%{http_code}' "$@" "$url$path" 2>&1); then
		code=$(printf '%s\n' "$body" | tail -n 1)
		if [ "$code" = 200 ]; then
			echo "ok $name"
			return 0
		fi
		echo "FAIL $name: HTTP $code $(printf '%s\n' "$body" | sed '$d' | head -c 200)"
	else
		echo "FAIL $name: $(printf '%s\n' "$body" | tail -n 1)"
	fi
	fail=1
}

check health /health
check ready /ready
if [ "$metrics" = 1 ]; then
	check metrics /metrics
	check tools/list /rpc -H 'Content-Type: application/json' \
	    -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
fi
exit "$fail"
