# Shared by run.sh and bench.sh: installs what is missing, finds free loopback ports, starts
# memcached nodes and the app, and stops everything that was started when the script exits.
# Sourced, not run.

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
APP_PACKAGE="$HERE/SessionApp"
STARTED_PIDS=()

# Installs the Debian packages this example needs, when any is missing (as root, or with sudo).
install_missing() {
  local missing=()
  for package in libmemcached-dev memcached zlib1g-dev pkg-config curl "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Whether something accepts connections on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A port on 127.0.0.1 that nothing listens on now.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 30000))
    port_in_use "$port" || { echo "$port"; return; }
  done
}

# Waits until 127.0.0.1:$1 accepts connections (at most $2 seconds, default 30).
wait_for_port() {
  local deadline=$((SECONDS + ${2:-30}))
  until port_in_use "$1"; do
    ((SECONDS < deadline)) || { echo "nothing listens on port $1" >&2; return 1; }
    sleep 0.1
  done
}

# Starts a memcached node on a free loopback port, prefixed by "$@" (such as taskset), and
# prints the port.
start_memcached() {
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    "$@" memcached -u nobody -l 127.0.0.1 -p "$port" -U 0 -t 1 >/dev/null 2>&1 &
    local pid=$!
    STARTED_PIDS+=("$pid")
    if wait_for_port "$port" 5 2>/dev/null && kill -0 "$pid" 2>/dev/null; then
      echo "$port"
      return
    fi
    kill "$pid" 2>/dev/null || true
  done
  echo "memcached did not start" >&2
  return 1
}

# Builds the app in release mode and prints the path of its binary.
build_app() {
  swift build -c release --package-path "$APP_PACKAGE" >&2
  echo "$(swift build -c release --package-path "$APP_PACKAGE" --show-bin-path)/SessionApp"
}

# Sends "stats" to the memcached node on port $1 and prints the value of the statistic $2.
memcached_stat() {
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'stats\r\nquit\r\n' >&3
  tr -d '\r' <&3 | awk -v name="$2" '$1 == "STAT" && $2 == name { print $3 }'
  exec 3<&-
}

# Stops, by their process ids, the nodes and apps this script started.
stop_started() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${STARTED_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  STARTED_PIDS=()
}
