#!/usr/bin/env bash
# The whole test suite: installs what is missing (Debian/Ubuntu), checks the formatting, builds
# with the tests and runs them against memcached servers that the tests start themselves.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ensure_swift
ensure_packages libmemcached-dev memcached zlib1g-dev

# The codec's interoperability tests read and write MessagePack with Python's msgpack.
if ! command -v python3 >/dev/null 2>&1; then
  apt_install python3 python3-msgpack
fi
if ! python3 -c 'import msgpack' 2>/dev/null; then
  if [ "$(command -v python3)" = /usr/bin/python3 ]; then
    apt_install python3-msgpack || python3 -m pip install --quiet msgpack
  else
    python3 -m pip install --quiet msgpack || apt_install python3-msgpack
  fi
  python3 -c 'import msgpack' || {
    log "python3 cannot import msgpack"
    exit 1
  }
fi

log "swift format lint --strict --recursive Sources Tests"
swift format lint --strict --recursive Sources Tests

log "swift build --build-tests"
BUILD_LOG="$(mktemp)"
trap 'rm -f "$BUILD_LOG"' EXIT
swift build --scratch-path "$SCRATCH_PATH" --build-tests 2>&1 | tee "$BUILD_LOG"
if grep -E "^$(pwd)/(Sources|Tests)/.*: warning:" "$BUILD_LOG"; then
  log "the build has warnings (above)"
  exit 1
fi

log "swift test"
swift test --scratch-path "$SCRATCH_PATH"
