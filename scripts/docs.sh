#!/usr/bin/env bash
# Builds the DocC documentation of both libraries with swift-docc-plugin, failing on any warning
# (a broken symbol link, an undocumented parameter). The archives land in
# .build/plugins/Swift-DocC/outputs/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ensure_swift
ensure_packages libmemcached-dev zlib1g-dev

for target in Memcached MCDUtils; do
  log "swift package generate-documentation --target $target --warnings-as-errors"
  swift package --scratch-path "$SCRATCH_PATH" generate-documentation --target "$target" \
    --warnings-as-errors
done
