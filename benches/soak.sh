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
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
SECONDS_="${SECONDS_:-60}"
CLIENTS="${CLIENTS:-400}"
THREADS="${THREADS:-2}"
out="$root/target/soak/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# Warnings and errors only: every panic of /faults is logged.
export RUST_LOG="${RUST_LOG:-warn}"

if [ -z "${BIN:-}" ]; then
  echo "== building suspense-ssr (release)" >&2
  (cd "$root" && cargo build --release --locked --quiet)
  BIN="$root/target/release/suspense-ssr"
fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# FLAGS is split into words on purpose.
# shellcheck disable=SC2086
(cd "$root" && exec timeout $((SECONDS_ + 300)) "$BIN" \
  --addr "127.0.0.1:$port" --threads "$THREADS" --latency 0 \
  --database "$out/board.sqlite3" ${FLAGS:-} >"$out/server.log" 2>&1) &
wrapper=$!
for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
pid="$(pgrep -P "$wrapper" | head -1)"
trap 'kill -TERM "$pid" 2>/dev/null || true' EXIT

status=0
python3 "$root/benches/soak.py" "http://127.0.0.1:$port" "$pid" \
  --seconds "$SECONDS_" --clients "$CLIENTS" --out "$out" || status=$?

kill -TERM "$pid"
if wait "$wrapper"; then echo "server: exit 0 after SIGTERM" | tee -a "$out/summary.txt"
else echo "server: exit $? after SIGTERM" | tee -a "$out/summary.txt"; status=1; fi
trap - EXIT
echo "== soak $([ $status = 0 ] && echo PASSED || echo FAILED): $out" >&2
exit $status
