# shellcheck shell=bash disable=SC2034  # sourced: its variables are for the scripts
# benches/lib.sh: what every benches/*.sh script needs, sourced first:
#
#   . "$(dirname "$0")/lib.sh"
#
# Paths: $root (the repository), $bench_dir (benches/), $target_dir
# (CARGO_TARGET_DIR, else target/), $MEASURE (measure.py), $LOAD (load.sh),
# $PEERS_DIR (benches/peers). Functions:
#
#   free_port                   a port nobody listens on, from the kernel
#   wait_port PORT [SECONDS]    until 127.0.0.1:PORT accepts (30 s), or fail
#   raise_fd_limit              the soft descriptor limit up to the hard one
#   need_tool CMD [PACKAGE]     apt-get install PACKAGE (CMD) when CMD is missing
#   need_load_tool              oha or wrk (wrk is installed when neither is)
#   build_release               cargo build --release --locked; sets $BIN
#                               unless the caller set it (another build)
#   start_server LOG PORT CMD…  CMD under `timeout` in $root, output to LOG;
#                               waits for PORT; sets $server_pid, $wrapper_pid
#   stop_server [WRAPPER] [SIG] signal that server (TERM), wait; $server_status
#   stop_all_servers            stop_server for every server still running
#   descendants PID             PID and every process under it
#   at_exit 'COMMAND'           run COMMAND when the script exits
#
# Every server started with start_server is stopped by its PID when the
# script exits, however it exits; nothing is stopped by name. Servers
# listen on 127.0.0.1 only.
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench_dir/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
MEASURE="$bench_dir/measure.py"
LOAD="$bench_dir/load.sh"
PEERS_DIR="$bench_dir/peers"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # PORT [SECONDS]
  local tries=$(( ${2:-30} * 10 ))
  for _ in $(seq 1 "$tries"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "port $1 did not open within ${2:-30} s" >&2
  return 1
}

# 10,000 held connections need that many descriptors on each side.
raise_fd_limit() { ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; }

need_tool() { # COMMAND [APT_PACKAGE]
  command -v "$1" >/dev/null && return 0
  echo "== installing ${2:-$1} (apt-get)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${2:-$1}" >/dev/null
}

need_load_tool() { command -v oha >/dev/null || need_tool wrk; }

build_release() {
  [ -n "${BIN:-}" ] && return 0
  echo "== building suspense-ssr (release)" >&2
  (cd "$root" && cargo build --release --locked --quiet)
  BIN="$target_dir/release/suspense-ssr"
}

descendants() { # PID -> PID and all below it, parents first
  local child
  echo "$1"
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do descendants "$child"; done
}

# The servers this script started: wrapper (`timeout`) PID -> server PID.
declare -A _servers=()
_cleanups=()
at_exit() { _cleanups+=("$1"); }
_on_exit() {
  local c
  stop_all_servers
  for c in "${_cleanups[@]}"; do eval "$c" || true; done
}
trap _on_exit EXIT

# start_server LOG PORT COMMAND [ARGS…]: runs COMMAND in $root under
# `timeout $SERVER_TIMEOUT` (900 s), waits START_SECONDS (60) for PORT.
# $server_pid is the process to signal and measure: the wrapper's child
# (start scripts exec their server, so that is the server), or, with
# SERVER_COMM set, the first process below the wrapper of that name (the
# program a profiler such as heaptrack runs).
start_server() {
  local log=$1 port=$2 p
  shift 2
  (cd "$root" && exec timeout "${SERVER_TIMEOUT:-900}" "$@") >"$log" 2>&1 &
  wrapper_pid=$!
  _servers[$wrapper_pid]=""
  if ! wait_port "$port" "${START_SECONDS:-60}"; then
    echo "== the server did not start: $*" >&2
    tail -n 20 "$log" >&2
    return 1
  fi
  server_pid=""
  for p in $(descendants "$wrapper_pid"); do
    [ "$p" = "$wrapper_pid" ] && continue
    if [ -z "${SERVER_COMM:-}" ] || [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$SERVER_COMM" ]; then
      server_pid=$p
      break
    fi
  done
  [ -n "$server_pid" ] || { echo "== no server process under $wrapper_pid: $*" >&2; return 1; }
  _servers[$wrapper_pid]=$server_pid
}

# stop_server [WRAPPER_PID] [SIGNAL]: sends SIGNAL (TERM) to the server
# started with that wrapper (default: the last one), gives it STOP_SECONDS
# (30) to exit, then kills it; waits for the wrapper (a profiler may still
# be writing its file). $server_status is the wrapper's exit status: the
# server's own, or 124 when `timeout` ran out.
stop_server() {
  local w="${1:-${wrapper_pid:-}}" sig="${2:-TERM}" pid
  server_status=0
  [ -n "$w" ] && [ -n "${_servers[$w]+set}" ] || return 0
  pid="${_servers[$w]}"
  unset '_servers[$w]'
  if [ -n "$pid" ]; then
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 $(( ${STOP_SECONDS:-30} * 10 ))); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  else
    kill -TERM "$w" 2>/dev/null || true
  fi
  wait "$w" 2>/dev/null || server_status=$?
}

stop_all_servers() {
  local w
  for w in "${!_servers[@]}"; do stop_server "$w"; done
}

# start_edge PREFIX A_PORT B_PORT EDGE_PORT HTTP_PORT: the edge as deployed
# (deploy/nginx.conf) over plain HTTP on 127.0.0.1:EDGE_PORT, in front of
# instances on A_PORT and B_PORT, as tests/it/nginx.rs runs it: ports and
# paths rewritten, a throwaway certificate for the TLS lines it keeps, the
# files it serves (the static tree, the prerendered shells) from a fresh
# `suspense-ssr export` in PREFIX/export. Starts nginx only; the instances
# are the caller's.
start_edge() {
  local prefix=$1 p_a=$2 p_b=$3 p_edge=$4 p_http=$5
  need_tool nginx
  need_tool openssl
  mkdir -p "$prefix/tmp" "$prefix/acme" "$prefix/tls"
  "$BIN" export --out "$prefix/export" --static-dir "$root/static" \
    --database "$prefix/board.sqlite3" >"$prefix/export.log"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -keyout "$prefix/tls/privkey.pem" -out "$prefix/tls/fullchain.pem" 2>/dev/null
  sed -e "s/server 127.0.0.1:3001/server 127.0.0.1:$p_a/" -e "s/server 127.0.0.1:3002/server 127.0.0.1:$p_b/" \
    "$root/deploy/nginx-upstreams.inc" >"$prefix/upstreams.inc"
  sed -e "s#include /etc/nginx/suspense-ssr/upstreams.inc;#include $prefix/upstreams.inc;#" \
      -e "s#listen 80;#listen 127.0.0.1:$p_http;#" -e "s#listen 443 ssl http2#listen 127.0.0.1:$p_edge#" \
      -e "s#/etc/nginx/suspense-ssr/tls/#$prefix/tls/#g" -e "s#root /var/www/acme;#root $prefix/acme;#" \
      -e "s#root /srv/suspense-ssr;#root $prefix/export;#" \
      -e "s#set \$prerendered /srv/suspense-ssr/prerendered;#set \$prerendered $prefix/export/prerendered;#" \
      "$root/deploy/nginx.conf" >"$prefix/suspense-ssr.conf"
  cat >"$prefix/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes auto;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path $prefix/tmp/body; proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi; uwsgi_temp_path $prefix/tmp/uwsgi; scgi_temp_path $prefix/tmp/scgi;
  include $prefix/suspense-ssr.conf;
}
CONF
  chmod -R a+rX "$prefix"
  start_server "$prefix/stdout.log" "$p_edge" "$(command -v nginx)" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log"
}
