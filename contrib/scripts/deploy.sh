#!/bin/sh
# Deploy a new configuration to a running pulumicost-mcp: check it with
# the server binary (-t), keep the current one, put the new one in place,
# reload (SIGHUP through -s reload, or systemctl), then health-check; when
# the reload is refused or the server is not healthy after it, put the old
# configuration back and reload again.
#   deploy.sh NEW_CONFIG [-c CONFIG] [-b BINARY] [-u URL] [-S]   (-S: systemctl reload)
set -eu
[ $# -ge 1 ] || { echo "usage: $0 NEW_CONFIG [-c CONFIG] [-b BINARY] [-u URL] [-S]" >&2; exit 2; }
new=$1
shift
conf=/etc/pulumicost-mcp/config.yaml bin=pulumicost-mcp url=http://127.0.0.1:8080 systemd=0
while getopts c:b:u:S opt; do
	case $opt in
	c) conf=$OPTARG ;;
	b) bin=$OPTARG ;;
	u) url=$OPTARG ;;
	S) systemd=1 ;;
	*) echo "usage: $0 NEW_CONFIG [-c CONFIG] [-b BINARY] [-u URL] [-S]" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)

reload() {
	if [ "$systemd" = 1 ]; then
		systemctl reload pulumicost-mcp
	else
		"$bin" -c "$conf" -s reload
	fi
}

# The generation the server serves, from its metrics.
generation() {
	curl -s --max-time 5 "$url/metrics" | sed -n 's/^pulumicost_generation \([0-9]*\)$/\1/p'
}

# Wait (bounded) for the generation to move past $1: 0 when it did.
wait_generation() {
	i=0
	while [ "$i" -lt 100 ]; do
		g=$(generation)
		if [ -n "$g" ] && [ "$g" -gt "$1" ]; then return 0; fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

if ! "$bin" -t -c "$new"; then
	echo "deploy: $new does not load: nothing changed" >&2
	exit 1
fi
before=$(generation)
[ -n "$before" ] || { echo "deploy: no server answers at $url/metrics" >&2; exit 1; }
cp -p "$conf" "$conf.previous"
cp "$new" "$conf"
reload
if wait_generation "$before" && sh "$here/health-check.sh" -u "$url"; then
	echo "deploy: generation $(generation) serves $new"
	exit 0
fi
echo "deploy: the new configuration did not take or the server is unhealthy: rolling back" >&2
cp -p "$conf.previous" "$conf"
now=$(generation)
reload
wait_generation "${now:-$before}" || true
sh "$here/health-check.sh" -u "$url" || true
exit 1
