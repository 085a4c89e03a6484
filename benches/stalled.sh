#!/usr/bin/env bash
# benches/stalled.sh: what clients that stop reading hold (issue 17). Starts
# a release build, opens READERS connections with a tiny receive buffer to
# the largest bench page, never reads, and reports the server's RSS growth
# per stalled reader; then waits for --send-timeout to close them all.
#
#   benches/stalled.sh
#   READERS=1000 SEND_TIMEOUT=10s benches/stalled.sh
#   BIN=target/ab/6af827c/target/release/suspense-ssr FLAGS= benches/stalled.sh  # an older build
#
# Env: READERS (200), URL (path, /bench?boundaries=64&items=1000&delay=0),
# SEND_TIMEOUT (10s), BIN (this tree's release build), FLAGS (extra flags,
# --send-timeout $SEND_TIMEOUT; empty for a build without it), THREADS (2).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
READERS="${READERS:-200}"
URL="${URL:-/bench?boundaries=64&items=1000&delay=0}"
SEND_TIMEOUT="${SEND_TIMEOUT:-10s}"
FLAGS="${FLAGS---send-timeout $SEND_TIMEOUT}"
THREADS="${THREADS:-2}"
export RUST_LOG="${RUST_LOG:-error}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ -z "${BIN:-}" ]; then
  (cd "$root" && cargo build --release --locked --quiet)
  BIN="$root/target/release/suspense-ssr"
fi
db="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# shellcheck disable=SC2086
(cd "$root" && exec timeout 300 "$BIN" --addr "127.0.0.1:$port" --threads "$THREADS" \
  --latency 0 --database "$db/board.sqlite3" $FLAGS) &
wrapper=$!
trap 'kill -TERM "$pid" 2>/dev/null || true; rm -rf "$db"' EXIT
for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
pid="$(pgrep -P "$wrapper" | head -1)"
expect=()
case "$FLAGS" in *--send-timeout*) expect=(--expect-timeout "$(python3 -c "import re,sys; s='$SEND_TIMEOUT'; m=re.fullmatch(r'(\d+)(ms|s|m)',s); print(int(m[1])*{'ms':0.001,'s':1,'m':60}[m[2]])")");; esac
python3 "$root/benches/stalled.py" "http://127.0.0.1:$port$URL" "$pid" --readers "$READERS" "${expect[@]}"
