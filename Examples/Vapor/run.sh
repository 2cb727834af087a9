#!/usr/bin/env bash
# The Vapor example: starts two local memcached nodes on free loopback ports, builds and starts
# CounterApp (sessions in memcached through MCDUtilsVapor) against them, logs in, reads and
# increments with curl, shows the count, and stops everything. Installs what is missing first
# (Debian/Ubuntu).
#
# Set COUNTER_APP_SCRATCH_PATH to build in a folder other than CounterApp/.build.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$root/scripts/common.sh"

app_package="$here/CounterApp"
scratch_path="${COUNTER_APP_SCRATCH_PATH:-$app_package/.build}"

ensure_swift
ensure_packages libmemcached-dev memcached zlib1g-dev pkg-config curl

WORK="$(mktemp -d)"

stop_all() {
  local count=${#STARTED_PIDS[@]}
  stop_started
  if [ "$count" -gt 0 ]; then
    log "stopped the app and the memcached nodes"
  fi
  rm -rf "$WORK"
}
trap stop_all EXIT

log "swift build --package-path Examples/Vapor/CounterApp (a first build of Vapor takes minutes)"
swift build --package-path "$app_package" --scratch-path "$scratch_path" --product CounterApp
bin_path="$(swift build --package-path "$app_package" --scratch-path "$scratch_path" --show-bin-path)"

start_memcached_node
start_memcached_node
MEMCACHED_SERVERS="$(IFS=,; echo "${MEMCACHED_NODES[*]}")"
export MEMCACHED_SERVERS
log "started 2 memcached nodes: $MEMCACHED_SERVERS"

app_port="$(free_port)"
"$bin_path/CounterApp" serve --env production --hostname 127.0.0.1 --port "$app_port" \
  >"$WORK/app.log" 2>&1 &
STARTED_PIDS+=("$!")
if ! wait_for_port "${STARTED_PIDS[-1]}" "$app_port" 60; then
  log "CounterApp did not start; its log:"
  cat "$WORK/app.log" >&2
  exit 1
fi
base="http://127.0.0.1:$app_port"
log "CounterApp listens on $base"

# request METHOD PATH [CURL ARGS...]: shows the request, sends it with the cookie jar, prints the
# answer, and fails on an HTTP error.
request() {
  local method="$1" path="$2"
  shift 2
  printf '$ curl -X %s %s%s\n' "$method" "$path" "${*:+ $*}"
  curl --silent --show-error --fail-with-body --cookie "$WORK/cookies" \
    --cookie-jar "$WORK/cookies" -X "$method" "$@" "$base$path"
}

request POST /login --data user=ann
request GET /count
request POST /increment
request POST /increment
request POST /increment
request GET /count
count="$(curl --silent --fail --cookie "$WORK/cookies" "$base/count")"
log "the count after three increments: ${count##* }"
session="$(awk '$6 == "vapor-session" { print $7 }' "$WORK/cookies")"
log "session ${session:0:8}… lives in memcached on $MEMCACHED_SERVERS (one replica)"
request POST /logout
printf '$ curl -X GET /count   (after logging out)\n'
curl --silent --cookie "$WORK/cookies" --write-out ' (HTTP %{http_code})\n' "$base/count"
