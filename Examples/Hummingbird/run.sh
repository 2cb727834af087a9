#!/usr/bin/env bash
# Runs the Hummingbird session example from scratch: installs what is missing, starts two
# memcached nodes on free loopback ports, builds and starts the app with its sessions in them,
# logs in, reads and increments the session's counter with curl, and stops everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
trap stop_started EXIT

install_missing
first=$(start_memcached)
second=$(start_memcached)
echo "memcached nodes on 127.0.0.1:$first and 127.0.0.1:$second"

echo "building the app (the first build takes a few minutes)"
binary=$(build_app)
app_port=$(free_port)
MCDUTILS_SERVERS="127.0.0.1:$first,127.0.0.1:$second" MCDUTILS_REPLICAS=1 \
  APP_PORT=$app_port LOG_LEVEL=warning "$binary" &
STARTED_PIDS+=($!)
wait_for_port "$app_port" 60
base="http://127.0.0.1:$app_port"
jar=$(mktemp)
trap 'rm -f "$jar"; stop_started' EXIT

show() {
  echo "\$ curl $*"
  curl -sS --fail-with-body "$@"
}
show -c "$jar" -X POST "$base/login/ada"
show -b "$jar" "$base/session"
for _ in 1 2 3; do show -b "$jar" -X POST "$base/increment"; done
show -b "$jar" "$base/session"
echo "items per node (the session and its replica): " \
  "$first: $(memcached_stat "$first" curr_items)," \
  "$second: $(memcached_stat "$second" curr_items)"
show -b "$jar" -c "$jar" -X POST "$base/logout"
echo "\$ curl -b jar $base/session  (after logout)"
curl -sS -o /dev/null -w "HTTP %{http_code}\n" -b "$jar" "$base/session"
