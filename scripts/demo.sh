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

stop_nodes() {
  local count=${#STARTED_PIDS[@]}
  stop_started
  if [ "$count" -gt 0 ]; then
    log "stopped $count memcached nodes"
  fi
}
trap stop_nodes EXIT

for _ in $(seq 1 "$NODE_COUNT"); do
  start_memcached_node
done
MCDUTILS_SERVERS="$(IFS=,; echo "${MEMCACHED_NODES[*]}")"
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
