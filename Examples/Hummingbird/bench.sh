#!/usr/bin/env bash
# Load benchmark of the Hummingbird session example with wrk: the same app with its sessions in
# memcached (MCDUtilsHummingbird) and in Hummingbird's MemoryPersistDriver, measured in the same
# run, on GET /session (reads the session, answers "NAME COUNT") and POST /increment, at 16 and
# 64 connections, ROUNDS rounds; prints every run and the ratio mcdutils / memory of requests/s
# (median and range over the rounds) as a Markdown table.
#
# Pinning, for a 2-CPU machine: both apps and memcached share APP_CPU (default 0) and wrk runs
# alone on LOAD_CPU (default 1). The server side thus has one CPU whichever driver it uses
# (memcached's work is part of the MCDUtils app's cost, as it would be on a shared host), the
# app and memcached talk within one CPU (a loopback round trip of ~15 us instead of ~55 us
# across CPUs), and the load generator never takes CPU time from the server.
#
# Settings (environment): ROUNDS (3), DURATION (10s), WARMUP (3s), CONNECTIONS ("16 64"),
# SESSIONS (64 logged-in sessions the requests cycle through), APP_CPU (0), LOAD_CPU (1),
# MEMCACHED_CPU (APP_CPU), MCDUTILS_ASYNC_EXECUTION and MCDUTILS_POOL_SIZE (passed to the app),
# NODES (1 memcached node; with 2 or more each session has one replica), RESULTS (a file for
# the raw numbers; default a temporary file).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-16 64}
SESSIONS=${SESSIONS:-64}
APP_CPU=${APP_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
MEMCACHED_CPU=${MEMCACHED_CPU:-$APP_CPU}
NODES=${NODES:-1}
RESULTS=${RESULTS:-$(mktemp)}
work=$(mktemp -d)
trap 'rm -rf "$work"; stop_started' EXIT

ensure_swift
ensure_packages libmemcached-dev memcached zlib1g-dev pkg-config curl wrk
build_app

for _ in $(seq "$NODES"); do
  start_memcached_node
  taskset -a -cp "$MEMCACHED_CPU" "${STARTED_PIDS[-1]}" >/dev/null
done
server_list=$(IFS=,; echo "${MEMCACHED_NODES[*]}")

declare -A port
for driver in mcdutils memory; do
  APP_PREFIX="taskset -c $APP_CPU" start_app SESSION_DRIVER=$driver \
    MCDUTILS_SERVERS="$server_list" LOG_LEVEL=warning \
    MCDUTILS_ASYNC_EXECUTION="${MCDUTILS_ASYNC_EXECUTION:-adaptive}" \
    MCDUTILS_POOL_SIZE="${MCDUTILS_POOL_SIZE:-8}"
  port[$driver]=$APP_PORT
done
for driver in mcdutils memory; do
  # Log in SESSIONS visitors; keep each one's "SESSION_ID=..." for the Cookie header.
  for visitor in $(seq "$SESSIONS"); do
    curl -sS -o /dev/null -D - -X POST "http://127.0.0.1:${port[$driver]}/login/visitor$visitor" \
      | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p'
  done >"$work/$driver.cookies"
done

echo "memcached: ${MEMCACHED_NODES[*]}; apps: mcdutils :${port[mcdutils]}, memory :${port[memory]}"
echo "CPUs: apps on $APP_CPU, memcached on $MEMCACHED_CPU, wrk on $LOAD_CPU;" \
  "$(nproc) CPUs, $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(memcached -V), $(wrk -v 2>&1 | head -1)"

# Runs wrk against $1 (driver) $2 (METHOD) $3 (path) with $4 connections for $5; prints
# requests/s, or fails when a response was not 2xx or a socket error occurred.
load() {
  local output
  output=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$4" -d"$5" -s "$HERE/sessions.lua" \
    "http://127.0.0.1:${port[$1]}" -- "$2" "$3" "$work/$1.cookies")
  if grep -qE "Non-2xx|Socket errors" <<<"$output"; then
    echo "$output" >&2
    echo "wrk saw errors for $1 $2 $3" >&2
    return 1
  fi
  awk '/^Requests\/sec:/ { print $2 }' <<<"$output"
}

for driver in mcdutils memory; do
  load "$driver" GET /session 16 "$WARMUP" >/dev/null
  load "$driver" POST /increment 16 "$WARMUP" >/dev/null
done

printf "round\troute\tconnections\tmcdutils\tmemory\tratio\n" | tee "$RESULTS"
for round in $(seq "$ROUNDS"); do
  for route in "GET /session" "POST /increment"; do
    for connections in $CONNECTIONS; do
      read -r method path <<<"$route"
      mcdutils=$(load mcdutils "$method" "$path" "$connections" "$DURATION")
      memory=$(load memory "$method" "$path" "$connections" "$DURATION")
      ratio=$(awk -v a="$mcdutils" -v b="$memory" 'BEGIN { printf "%.3f", a / b }')
      printf "%s\t%s\t%s\t%s\t%s\t%s\n" "$round" "$route" "$connections" "$mcdutils" \
        "$memory" "$ratio" | tee -a "$RESULTS"
    done
  done
done

echo
echo "| route | connections | mcdutils req/s (median) | memory req/s (median) | ratio median | ratio range |"
echo "|---|---|---|---|---|---|"
tail -n +2 "$RESULTS" | sort -t$'\t' -k2,2 -k3,3n | awk -F'\t' '
  function median(list, n,   sorted, i, j, t) {
    for (i = 1; i <= n; i++) sorted[i] = list[i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
      if (sorted[j] < sorted[i]) { t = sorted[i]; sorted[i] = sorted[j]; sorted[j] = t }
    return n % 2 ? sorted[(n + 1) / 2] : (sorted[n / 2] + sorted[n / 2 + 1]) / 2
  }
  function flush() {
    if (n == 0) return
    printf "| `%s` | %s | %.0f | %.0f | %.2f | %.2f–%.2f |\n", route, connections,
      median(m, n), median(b, n), median(r, n), low, high
  }
  $2 != route || $3 != connections { flush(); route = $2; connections = $3; n = 0 }
  { n++; m[n] = $4; b[n] = $5; r[n] = $6
    if (n == 1 || $6 < low) low = $6
    if (n == 1 || $6 > high) high = $6 }
  END { flush() }'
echo
echo "raw results: $RESULTS"
