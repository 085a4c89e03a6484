#!/usr/bin/env bash
# benches/ab.sh REV: this tree's release build against git revision REV's,
# on the same URL, in alternating runs (the machine drifts: alternating
# keeps the drift out of the ratio). For "what did this change cost".
#
#   benches/ab.sh ef32d3e                  # before the hardening issue
#   URL='/bench?delay=0' RUNS=4 DUR=8 benches/ab.sh HEAD~3
#
# Env: URL (path, /bench?delay=0), RUNS (pairs, 4), DUR (seconds per run,
# 8), CONNS (64), THREADS (server threads, 2), FLAGS (extra server flags,
# --no-compression). REV is built once into target/ab/<rev>/ (a worktree
# with its own target dir: a cold build, minutes). Servers listen on
# 127.0.0.1 only, each bounded by `timeout`. Load from oha if installed,
# else wrk (2 threads; installed if missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rev="$(cd "$root" && git rev-parse --short "${1:?usage: benches/ab.sh REV}")"
URL="${URL:-/bench?delay=0}"
RUNS="${RUNS:-4}"
DUR="${DUR:-8}"
CONNS="${CONNS:-64}"
THREADS="${THREADS:-2}"
FLAGS="${FLAGS:---no-compression}"
export RUST_LOG=warn
command -v oha >/dev/null || command -v wrk >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}
load() { # seconds url -> req/s
  if command -v oha >/dev/null; then
    oha -z "${1}s" -c "$CONNS" --no-tui "$2" 2>/dev/null | awk '/Requests\/sec/{printf "%.0f", $2}'
  else
    wrk -t2 -c "$CONNS" -d "${1}s" "$2" 2>/dev/null | awk '/Requests\/sec/{printf "%.0f", $2}'
  fi
}

dir="$root/target/ab/$rev"
if [ ! -x "$dir/target/release/suspense-ssr" ]; then
  rm -rf "$dir/src"
  (cd "$root" && git worktree add -f -q "$dir/src" "$rev")
  echo "== building $rev (release)" >&2
  (cd "$dir/src" && CARGO_TARGET_DIR="$dir/target" cargo build --release --quiet)
  (cd "$root" && git worktree remove -f "$dir/src")
fi
echo "== building this tree (release)" >&2
(cd "$root" && cargo build --release --quiet)

run() { # binary -> req/s
  local port db
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  db="$(mktemp -d)"
  # shellcheck disable=SC2086
  (cd "$root" && exec timeout $((DUR + 60)) "$1" --addr "127.0.0.1:$port" --threads "$THREADS" \
    $FLAGS --database "$db/board.sqlite3" >/dev/null 2>&1) &
  local wrapper=$!
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  load 2 "http://127.0.0.1:$port$URL" >/dev/null
  load "$DUR" "http://127.0.0.1:$port$URL"
  pkill -TERM -P "$wrapper" 2>/dev/null || true
  wait "$wrapper" 2>/dev/null || true
  rm -rf "$db"
}
before=(); after=()
for i in $(seq 1 "$RUNS"); do
  before+=("$(run "$dir/target/release/suspense-ssr")")
  after+=("$(run "$root/target/release/suspense-ssr")")
  echo "run $i: $rev ${before[-1]} req/s, this tree ${after[-1]} req/s"
done
python3 - "${before[*]}" "${after[*]}" "$rev" <<'PY'
import statistics, sys
b = [float(x) for x in sys.argv[1].split()]
a = [float(x) for x in sys.argv[2].split()]
mb, ma = statistics.median(b), statistics.median(a)
print(f"median: {sys.argv[3]} {mb:,.0f} req/s, this tree {ma:,.0f} req/s: {ma / mb:.2f}x")
PY
