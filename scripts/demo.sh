#!/usr/bin/env bash
# The main job: starts two local memcached nodes on free loopback ports, talks to them with
# the mcdutils command, and stops them. Installs what is missing first (Debian/Ubuntu).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

NODE_COUNT=2

ensure_swift
ensure_packages libmemcached-dev memcached

log "swift build --product mcdutils"
swift build --scratch-path "$SCRATCH_PATH" --product mcdutils
BIN_PATH="$(swift build --scratch-path "$SCRATCH_PATH" --show-bin-path)"

NODE_PIDS=()
NODE_ADDRESSES=()

stop_nodes() {
  local pid
  for pid in "${NODE_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${NODE_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "${#NODE_PIDS[@]}" -gt 0 ]; then
    log "stopped ${#NODE_PIDS[@]} memcached nodes"
  fi
  NODE_PIDS=()
}
trap stop_nodes EXIT

# start_node: starts memcached on a free loopback port and waits until it accepts connections.
# A port that is taken makes memcached exit at once, and another port is tried.
start_node() {
  local attempt port pid
  for attempt in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      continue # something listens there already
    fi
    memcached -u nobody -l 127.0.0.1 -p "$port" -U 0 -t 1 >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
      if ! kill -0 "$pid" 2>/dev/null; then
        break
      fi
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        NODE_PIDS+=("$pid")
        NODE_ADDRESSES+=("127.0.0.1:$port")
        return 0
      fi
      sleep 0.05
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  log "could not start memcached on a free loopback port"
  return 1
}

for _ in $(seq 1 "$NODE_COUNT"); do
  start_node
done
MCDUTILS_SERVERS="$(IFS=,; echo "${NODE_ADDRESSES[*]}")"
export MCDUTILS_SERVERS
log "started $NODE_COUNT memcached nodes: MCDUTILS_SERVERS=$MCDUTILS_SERVERS"

# mcdutils ARGS...: runs the command, showing it first.
mcdutils() {
  local shown=() arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_.,:/=+-]+$ ]]; then
      shown+=("$arg")
    else
      shown+=("'${arg//\'/\'\\\'\'}'")
    fi
  done
  printf '$ mcdutils %s\n' "${shown[*]}"
  "$BIN_PATH/mcdutils" "$@"
}

# The steps of the demo, in order; each is a function, so more can be added.
demo_client() {
  mcdutils ping
  mcdutils set greeting "Hello from MCDUtils" --ttl 300
  mcdutils get greeting
  mcdutils server-for greeting session-1 session-2
}

demo_client

# The session steps: one process adds items to a session, a second one reads it back, and the
# consistent hash says which node holds it.
demo_session() {
  local session_id="demo-session-$RANDOM$RANDOM"
  printf '$ printf ... | mcdutils session add --id %s\n' "$session_id"
  printf 'user Ada Lovelace\nlanguage Swift\npassword hunter2\n' \
    | "$BIN_PATH/mcdutils" session add --id "$session_id"
  mcdutils session show --id "$session_id"
  mcdutils server-for "$session_id"
}

demo_session
