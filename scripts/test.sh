#!/usr/bin/env bash
# The whole test suite: installs what is missing (Debian/Ubuntu), checks the formatting, builds
# with the tests and runs them against memcached servers that the tests start themselves.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ensure_swift
# sasl2-bin: saslpasswd2, with which the SASL tests create the password database of the
# `memcached -S` servers they start. nutcracker: twemproxy, which the proxy tests start in front
# of memcached nodes.
ensure_packages libmemcached-dev memcached zlib1g-dev sasl2-bin nutcracker

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

BUILD_LOG="$(mktemp)"
trap 'rm -f "$BUILD_LOG"' EXIT

# check_package DIR [SWIFTPM OPTIONS...]: the formatting of DIR's Sources and Tests, a build with
# the tests that fails on a warning in them, and the tests.
check_package() {
  local dir="$1"
  shift
  log "swift format lint --strict --recursive $dir/Sources $dir/Tests"
  swift format lint --strict --recursive "$dir/Sources" "$dir/Tests"
  log "swift build $* --build-tests"
  swift build "$@" --build-tests 2>&1 | tee "$BUILD_LOG"
  if grep -E "^$(cd "$dir" && pwd)/(Sources|Tests)/.*: warning:" "$BUILD_LOG"; then
    log "the build of $dir has warnings (above)"
    exit 1
  fi
  log "swift test $*"
  swift test "$@"
}

check_package . --scratch-path "$SCRATCH_PATH"

# The framework packages, each a package of its own that builds its own dependencies (a first
# build of Hummingbird or Vapor takes minutes), checked the same way against memcached servers
# their tests start. MCDUTILS_SKIP_INTEGRATIONS=1 leaves them out, for a quick run of the core
# alone.
if [ "${MCDUTILS_SKIP_INTEGRATIONS:-0}" != 1 ]; then
  for package in Integrations/Hummingbird/MCDUtilsHummingbird Integrations/Vapor/MCDUtilsVapor; do
    check_package "$package" --package-path "$package"
  done
fi
