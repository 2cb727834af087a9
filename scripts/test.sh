#!/usr/bin/env bash
# The whole test suite: installs what is missing (Debian/Ubuntu), checks the formatting, builds
# with the tests and runs them against memcached servers that the tests start themselves.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ensure_swift
# sasl2-bin: saslpasswd2, with which the SASL tests create the password database of the
# `memcached -S` servers they start.
ensure_packages libmemcached-dev memcached zlib1g-dev sasl2-bin

# The codec's interoperability tests read and write MessagePack with Python's msgpack, and
# sealed values with its cryptography module.
if ! command -v python3 >/dev/null 2>&1; then
  apt_install python3 python3-msgpack python3-cryptography
fi
for module in msgpack cryptography; do
  python3 -c "import $module" 2>/dev/null && continue
  if [ "$(command -v python3)" = /usr/bin/python3 ]; then
    apt_install "python3-$module" || python3 -m pip install --quiet "$module"
  else
    python3 -m pip install --quiet "$module" || apt_install "python3-$module"
  fi
  python3 -c "import $module" || {
    log "python3 cannot import $module"
    exit 1
  }
done

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

# The framework packages, each a package of its own that builds its own dependencies (a first
# build of Hummingbird or Vapor takes minutes): formatting, a build without warnings in our
# code, and their tests against memcached servers the tests start. MCDUTILS_SKIP_INTEGRATIONS=1
# leaves them out, for a quick run of the core alone.
if [ "${MCDUTILS_SKIP_INTEGRATIONS:-0}" != 1 ]; then
  for package in Integrations/Hummingbird/MCDUtilsHummingbird Integrations/Vapor/MCDUtilsVapor; do
    log "swift format lint --strict --recursive $package/Sources $package/Tests"
    swift format lint --strict --recursive "$package/Sources" "$package/Tests"
    log "swift build --package-path $package --build-tests"
    swift build --package-path "$package" --build-tests 2>&1 | tee "$BUILD_LOG"
    if grep -E "^$(pwd)/$package/(Sources|Tests)/.*: warning:" "$BUILD_LOG"; then
      log "the build of $package has warnings (above)"
      exit 1
    fi
    log "swift test --package-path $package"
    swift test --package-path "$package"
  done
fi
