# Shared by scripts/demo.sh and scripts/test.sh: sourced, not run.
# Installs what is missing from Debian's packages and builds with SwiftPM.

# The SwiftPM build folder; set MCDUTILS_SCRATCH_PATH to keep a build of your own beside others.
SCRATCH_PATH="${MCDUTILS_SCRATCH_PATH:-.build}"

log() {
  printf '==> %s\n' "$*" >&2
}

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    log "need root to run: $* (run as root or install sudo)"
    return 1
  fi
}

APT_UPDATED=no

# apt_install PACKAGE...: installs the packages, updating the package lists first (once).
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    log "missing: $* (this script installs them with apt-get on Debian/Ubuntu; install them by hand)"
    return 1
  fi
  if [ "$APT_UPDATED" = no ]; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=yes
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# ensure_packages PACKAGE...: installs those of the Debian packages that are not installed.
ensure_packages() {
  local missing=()
  local package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$package")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
  fi
}

# ensure_swift: fails with a clear message when there is no Swift toolchain.
ensure_swift() {
  if ! command -v swift >/dev/null 2>&1; then
    log "no Swift toolchain on PATH: install Swift 6.1 or later (https://www.swift.org/install/)"
    return 1
  fi
}
