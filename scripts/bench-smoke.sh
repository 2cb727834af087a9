#!/usr/bin/env bash
# Builds the benchmark harness and the ordo-one/benchmark micro suites (so they cannot rot) and
# runs the harness once at a tiny scale against a local memcached, failing when any row reports
# errors. No timings are judged here. With BENCH_SMOKE_MICRO=1 it also runs two micro benchmarks
# through the benchmark plugin (about 40 s on a new clone, most of it building the plugin's tool).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ensure_swift
ensure_packages libmemcached-dev memcached zlib1g-dev

# Builds every target of the package: mcdutils-bench and the MicroSuites benchmark target.
log "swift build -c release --package-path Benchmarks"
swift build -c release --package-path Benchmarks

# The suite's setup checks every operation's result once; the two benchmarks check each call.
if [ "${BENCH_SMOKE_MICRO:-0}" = 1 ]; then
  log "swift package benchmark --target MicroSuites --filter 'MemcachedKey|cas' --quiet"
  swift package --package-path Benchmarks benchmark --target MicroSuites \
    --filter 'MemcachedKey|cas' --quiet --no-progress
fi

port=""
pid=""
for _ in $(seq 1 20); do
  candidate=$((20000 + RANDOM % 40000))
  if (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then continue; fi
  memcached -u nobody -l 127.0.0.1 -p "$candidate" -U 0 -t 1 >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$port" ] && break
  kill "$pid" 2>/dev/null || true
done
if [ -z "$port" ]; then
  log "could not start memcached"
  exit 1
fi
trap 'kill "$pid" 2>/dev/null || true' EXIT

log "mcdutils-bench --scale 0.01 --reps 1"
output="$(Benchmarks/.build/release/mcdutils-bench --servers "127.0.0.1:$port" --reps 1 --scale 0.01)"
printf '%s\n' "$output"
rows=$(printf '%s\n' "$output" | awk -F'\t' 'NR > 1' | wc -l)
bad=$(printf '%s\n' "$output" | awk -F'\t' 'NR > 1 && $10 != 0' | wc -l)
if [ "$rows" -lt 30 ] || [ "$bad" -ne 0 ]; then
  log "benchmark smoke run: $rows rows, $bad with errors"
  exit 1
fi
log "benchmark smoke run: $rows rows, none with errors"
