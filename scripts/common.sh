# Shared by the scripts of scripts/ and Examples/: sourced, not run.
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

# The processes a script started (memcached nodes, an app), stopped by stop_started, and the
# addresses of the memcached nodes among them.
STARTED_PIDS=()
MEMCACHED_NODES=()

# free_port: prints a loopback port that nothing listens on now.
free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
}

# wait_for_port PID PORT [SECONDS]: waits (10 s by default) until PORT accepts connections,
# failing early when PID exits.
wait_for_port() {
  local pid="$1" port="$2" deadline=$((SECONDS + ${3:-10}))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$pid" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# start_memcached_node: starts memcached on a free loopback port (another port is tried when one
# is taken between the look and the start), and adds it to STARTED_PIDS and MEMCACHED_NODES.
start_memcached_node() {
  local port pid
  for _ in 1 2 3 4 5; do
    port="$(free_port)"
    memcached -u nobody -l 127.0.0.1 -p "$port" -U 0 -t 1 >/dev/null 2>&1 &
    pid=$!
    if wait_for_port "$pid" "$port" 5; then
      STARTED_PIDS+=("$pid")
      MEMCACHED_NODES+=("127.0.0.1:$port")
      return 0
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  log "could not start memcached on a free loopback port"
  return 1
}

# stop_started: stops every process in STARTED_PIDS and waits for them.
stop_started() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  STARTED_PIDS=()
}
