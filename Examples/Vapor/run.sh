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

PIDS=()
WORK="$(mktemp -d)"

stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "${#PIDS[@]}" -gt 0 ]; then
    log "stopped the app and the memcached nodes"
  fi
  PIDS=()
  rm -rf "$WORK"
}
trap stop_all EXIT

# free_port: prints a loopback port that nothing listens on now.
free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
}

# wait_for_port PID PORT: waits up to TIMEOUT seconds (default 10) until PORT accepts
# connections, failing early when PID exits.
wait_for_port() {
  local pid="$1" port="$2" deadline=$((SECONDS + ${3:-10}))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$pid" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# start_node: starts memcached on a free loopback port; another port is tried when one is taken
# between the look and the start.
NODES=()
start_node() {
  local attempt port pid
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    memcached -u nobody -l 127.0.0.1 -p "$port" -U 0 -t 1 >/dev/null 2>&1 &
    pid=$!
    if wait_for_port "$pid" "$port" 5; then
      PIDS+=("$pid")
      NODES+=("127.0.0.1:$port")
      return 0
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  log "could not start memcached on a free loopback port"
  return 1
}

log "swift build --package-path Examples/Vapor/CounterApp (a first build of Vapor takes minutes)"
swift build --package-path "$app_package" --scratch-path "$scratch_path" --product CounterApp
bin_path="$(swift build --package-path "$app_package" --scratch-path "$scratch_path" --show-bin-path)"

start_node
start_node
MEMCACHED_SERVERS="$(IFS=,; echo "${NODES[*]}")"
export MEMCACHED_SERVERS
log "started 2 memcached nodes: $MEMCACHED_SERVERS"

app_port="$(free_port)"
"$bin_path/CounterApp" serve --env production --hostname 127.0.0.1 --port "$app_port" \
  >"$WORK/app.log" 2>&1 &
PIDS+=("$!")
if ! wait_for_port "${PIDS[-1]}" "$app_port" 60; then
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
