#!/usr/bin/env bash
# Builds the benchmark harness, the profiling driver and the ordo-one/benchmark micro suites (so
# they cannot rot), runs the harness once at a tiny scale against two local memcached servers (so
# the replica rows run too) and every profiling case a few times, failing when any row reports
# errors. No timings are judged here. With BENCH_SMOKE_MICRO=1 it also runs two micro benchmarks
# through the benchmark plugin (about 40 s on a new clone, most of it building the plugin's tool).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ensure_swift
ensure_packages libmemcached-dev memcached zlib1g-dev

# Builds every target of the package: mcdutils-bench, mcdutils-profile and MicroSuites.
log "swift build -c release --package-path Benchmarks"
swift build -c release --package-path Benchmarks

# The suite's setup checks every operation's result once; the two benchmarks check each call.
if [ "${BENCH_SMOKE_MICRO:-0}" = 1 ]; then
  log "swift package benchmark --target MicroSuites --filter 'MemcachedKey|cas' --quiet"
  swift package --package-path Benchmarks benchmark --target MicroSuites \
    --filter 'MemcachedKey|cas' --quiet --no-progress
fi

trap stop_started EXIT
start_memcached_node
start_memcached_node
servers="$(IFS=,; echo "${MEMCACHED_NODES[*]}")"

log "mcdutils-bench --servers $servers --scale 0.01 --reps 1"
output="$(Benchmarks/.build/release/mcdutils-bench --servers "$servers" --reps 1 --scale 0.01)"
printf '%s\n' "$output"
rows=$(printf '%s\n' "$output" | awk -F'\t' 'NR > 1' | wc -l)
bad=$(printf '%s\n' "$output" | awk -F'\t' 'NR > 1 && $10 != 0' | wc -l)
replica_rows=$(printf '%s\n' "$output" | awk -F'\t' '$4 ~ /_r1$/' | wc -l)
if [ "$rows" -lt 30 ] || [ "$bad" -ne 0 ] || [ "$replica_rows" -ne 2 ]; then
  log "benchmark smoke run: $rows rows, $bad with errors, $replica_rows replica rows"
  exit 1
fi
log "benchmark smoke run: $rows rows, none with errors"

# Each exits non-zero when an operation fails.
for name in session_write session_read sess_write_emul sess_read_emul codec_encode codec_decode \
  codec_struct_encode codec_struct_decode get_100 set_100 session_write_r1 session_read_r1 \
  session_write_sealed session_read_sealed; do
  Benchmarks/.build/release/mcdutils-profile --servers "$servers" --case "$name" --count 20
done
log "profile smoke run: every case ran without errors"
