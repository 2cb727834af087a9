#!/usr/bin/env bash
# Runs the Hummingbird session example from scratch: installs what is missing, starts two
# memcached nodes on free loopback ports, builds and starts the app with its sessions in them
# (one replica), logs in, reads and increments the session's counter with curl, shows the count
# and each node's items, logs out, and stops everything it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ensure_swift
ensure_packages libmemcached-dev memcached zlib1g-dev pkg-config curl

jar="$(mktemp)"
trap 'stop_started; rm -f "$jar"' EXIT

start_memcached_node
start_memcached_node
servers="$(IFS=,; echo "${MEMCACHED_NODES[*]}")"
log "memcached nodes: $servers"

build_app
start_app MCDUTILS_SERVERS="$servers" MCDUTILS_REPLICAS=1 LOG_LEVEL=warning
base="http://127.0.0.1:$APP_PORT"
log "the app listens on $base"

show() {
  local shown="curl $*"
  echo "\$ ${shown//$jar/cookies.txt}"
  curl -sS --fail-with-body "$@"
}
show -c "$jar" -X POST "$base/login/ada"
show -b "$jar" "$base/session"
for _ in 1 2 3; do show -b "$jar" -X POST "$base/increment"; done
show -b "$jar" "$base/session"
echo "items per node (the session and its replica):" \
  "${MEMCACHED_NODES[0]}: $(memcached_stat "${MEMCACHED_NODES[0]}" curr_items)," \
  "${MEMCACHED_NODES[1]}: $(memcached_stat "${MEMCACHED_NODES[1]}" curr_items)"
show -b "$jar" -c "$jar" -X POST "$base/logout"
echo "\$ curl -b cookies.txt $base/session   (after logout)"
curl -sS -o /dev/null -w "HTTP %{http_code}\n" -b "$jar" "$base/session"
log "stopping the app and the memcached nodes"
