#!/usr/bin/env bash
# benches/soak.sh: the soak test (not a unit test). Starts a release build
# of suspense-ssr on a fresh board, runs benches/soak.py against it (mixed
# traffic, a third of the clients hanging up mid-stream, pages whose parts
# fail, panic and time out), then stops it with SIGTERM, which must exit 0.
#
# Env: SECONDS_ (soak length, 60), CLIENTS (400), THREADS (server worker
# threads, 2), BIN (another build to soak, e.g. target/ab/<rev>/target/release/suspense-ssr),
# FLAGS (more server flags, e.g. '--db-pool-size 4'). Results:
# target/soak/<time>/ (summary.json, server.log).
# Exit 0 only if every check passed (see soak.py).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
SECONDS_="${SECONDS_:-60}"
CLIENTS="${CLIENTS:-400}"
THREADS="${THREADS:-2}"
out="$target_dir/soak/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
raise_fd_limit
# Warnings and errors only: every panic of /faults is logged.
export RUST_LOG="${RUST_LOG:-warn}"

build_release
port="$(free_port)"
# FLAGS is split into words on purpose.
# shellcheck disable=SC2086
SERVER_TIMEOUT=$((SECONDS_ + 300)) start_server "$out/server.log" "$port" "$BIN" \
  --addr "127.0.0.1:$port" --threads "$THREADS" --latency 0 \
  --database "$out/board.sqlite3" ${FLAGS:-}

status=0
python3 "$bench_dir/soak.py" "http://127.0.0.1:$port" "$server_pid" \
  --seconds "$SECONDS_" --clients "$CLIENTS" --out "$out" || status=$?

stop_server
echo "server: exit $server_status after SIGTERM" | tee -a "$out/summary.txt"
[ "$server_status" = 0 ] || status=1
echo "== soak $([ $status = 0 ] && echo PASSED || echo FAILED): $out" >&2
exit $status
