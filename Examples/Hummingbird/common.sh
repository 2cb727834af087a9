# Shared by run.sh and bench.sh: sourced, not run. The project's scripts/common.sh (installing
# packages, free ports, memcached nodes, stopping what was started), plus building and starting
# the example app.

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../../scripts/common.sh"
APP_PACKAGE="$HERE/SessionApp"
# Set SESSION_APP_SCRATCH_PATH to build in a folder other than SessionApp/.build.
APP_SCRATCH_PATH="${SESSION_APP_SCRATCH_PATH:-$APP_PACKAGE/.build}"

# build_app: builds the app in release mode and sets APP_BINARY to its path.
build_app() {
  log "swift build -c release --package-path Examples/Hummingbird/SessionApp" \
    "(the first build takes a few minutes)"
  swift build -c release --quiet --package-path "$APP_PACKAGE" --scratch-path "$APP_SCRATCH_PATH"
  APP_BINARY="$(swift build -c release --package-path "$APP_PACKAGE" \
    --scratch-path "$APP_SCRATCH_PATH" --show-bin-path)/SessionApp"
}

# start_app [NAME=VALUE...]: starts the app on a free loopback port with those environment
# settings, prefixed by $APP_PREFIX (such as "taskset -c 0"), waits until it listens, and sets
# APP_PORT to its port.
start_app() {
  APP_PORT="$(free_port)"
  env "$@" APP_PORT="$APP_PORT" ${APP_PREFIX:-} "$APP_BINARY" &
  STARTED_PIDS+=("$!")
  if ! wait_for_port "${STARTED_PIDS[-1]}" "$APP_PORT" 60; then
    log "the app did not start"
    return 1
  fi
}

# memcached_stat HOST:PORT NAME: prints the value of the statistic NAME of a memcached node.
memcached_stat() {
  exec 3<>"/dev/tcp/${1%:*}/${1##*:}"
  printf 'stats\r\nquit\r\n' >&3
  tr -d '\r' <&3 | awk -v name="$2" '$1 == "STAT" && $2 == name { print $3 }'
  exec 3<&-
}
