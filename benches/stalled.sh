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
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
READERS="${READERS:-200}"
URL="${URL:-/bench?boundaries=64&items=1000&delay=0}"
SEND_TIMEOUT="${SEND_TIMEOUT:-10s}"
FLAGS="${FLAGS---send-timeout $SEND_TIMEOUT}"
THREADS="${THREADS:-2}"
export RUST_LOG="${RUST_LOG:-error}"
raise_fd_limit
build_release
db="$(mktemp -d)"
# The server's own warnings and errors are shown when the script ends.
at_exit 'cat "$db/server.log" >&2; rm -rf "$db"'
port="$(free_port)"
# shellcheck disable=SC2086
SERVER_TIMEOUT=300 start_server "$db/server.log" "$port" "$BIN" --addr "127.0.0.1:$port" --threads "$THREADS" \
  --latency 0 --database "$db/board.sqlite3" $FLAGS
expect=()
case "$FLAGS" in *--send-timeout*) expect=(--expect-timeout "$(python3 -c "import re,sys; s='$SEND_TIMEOUT'; m=re.fullmatch(r'(\d+)(ms|s|m)',s); print(int(m[1])*{'ms':0.001,'s':1,'m':60}[m[2]])")");; esac
python3 "$bench_dir/stalled.py" "http://127.0.0.1:$port$URL" "$server_pid" --readers "$READERS" "${expect[@]}"
