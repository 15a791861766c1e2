#!/bin/sh
# Load a pulumicost-mcp server with wrk: tools/list, or one tool call, over
# /rpc with keep-alive.  Prints wrk's summary with latency percentiles.
#   loadtest.sh [-u URL] [-c CONNECTIONS] [-d SECONDS] [-t TOKEN] [-x TOOL ARGS_JSON]
# e.g. loadtest.sh -c 16 -d 30 -x analyze_projected_costs '{"stack_name":"example"}'
set -eu
url=http://127.0.0.1:8080 conns=16 secs=10 token=${PULUMICOST_API_TOKEN:-} tool='' args='{}'
while getopts u:c:d:t:x: opt; do
	case $opt in
	u) url=$OPTARG ;;
	c) conns=$OPTARG ;;
	d) secs=$OPTARG ;;
	t) token=$OPTARG ;;
	x) tool=$OPTARG ;;
	*) echo "usage: $0 [-u URL] [-c N] [-d SECONDS] [-t TOKEN] [-x TOOL ARGS_JSON]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$tool" ] && [ $# -gt 0 ] && args=$1
command -v wrk >/dev/null || { echo "$0: wrk is needed (apt-get install wrk)" >&2; exit 1; }
lua=$(mktemp)
trap 'rm -f "$lua"' EXIT
if [ -n "$tool" ]; then
	body="{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$tool\",\"arguments\":$args}}"
else
	body='{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
fi
cat > "$lua" <<LUA
wrk.method = "POST"
wrk.body = [[$body]]
wrk.headers["Content-Type"] = "application/json"
local token = "$token"
if token ~= "" then wrk.headers["X-API-Token"] = token end
-- Each wrk thread has its own Lua state: errors are summed in done().
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) errors = 0 end
response = function(status, headers, body)
  if status ~= 200 or string.find(body, '"error"', 1, true) or
     string.find(body, '"isError":true', 1, true) then errors = errors + 1 end
end
done = function(summary, latency, requests)
  local e = 0
  for _, t in ipairs(threads) do e = e + t:get("errors") end
  io.write(string.format("p50 %.2f ms, p99 %.2f ms, %d requests, %d errors\\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, e))
end
LUA
exec wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$lua" "$url/rpc"
