#!/usr/bin/env bash
# benches/ab.sh REV: this tree's release build against git revision REV's,
# on the same URL, in alternating runs (the machine drifts: alternating
# keeps the drift out of the ratio). For "what did this change cost".
# REV `.` is this tree's build again, for a flag's cost (BEFORE_FLAGS).
#
#   benches/ab.sh ef32d3e                  # before the hardening issue
#   URL='/bench?delay=0' RUNS=4 DUR=8 benches/ab.sh HEAD~3
#   BEFORE_FLAGS='--sched-slice off' FIRST=1 benches/ab.sh .
#   BEFORE_FLAGS='--threads 1' benches/ab.sh .
#
# Env: URL (path, /bench?delay=0), RUNS (pairs, 4), DUR (seconds per run,
# 8), CONNS (64), THREADS (server threads, 2), FLAGS (extra server flags,
# --no-compression), BEFORE_FLAGS (more flags for REV's server only),
# RUST_LOG (warn; `info` is the server's default),
# FIRST (1: also the first body byte, each server's p50 of SINGLES (21)
# single requests to FIRST_URL (/bench?delay=100) on fresh connections,
# 200 ms apart, as compare.sh times it; benches/measure.py). REV is built
# once into target/ab/<rev>/ (a worktree
# with its own target dir: a cold build, minutes). Servers listen on
# 127.0.0.1 only, each bounded by `timeout`. Load from oha if installed,
# else wrk (2 threads; installed if missing).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
if [ "${1:?usage: benches/ab.sh REV}" = . ]; then
  rev=.
else
  rev="$(cd "$root" && git rev-parse --short "$1")"
fi
URL="${URL:-/bench?delay=0}"
RUNS="${RUNS:-4}"
DUR="${DUR:-8}"
CONNS="${CONNS:-64}"
THREADS="${THREADS:-2}"
FLAGS="${FLAGS:---no-compression}"
export RUST_LOG="${RUST_LOG:-warn}"
need_load_tool
load() { # seconds url -> req/s
  if command -v oha >/dev/null; then
    oha -z "${1}s" -c "$CONNS" --no-tui "$2" 2>/dev/null | awk '/Requests\/sec/{printf "%.0f", $2}'
  else
    wrk -t2 -c "$CONNS" -d "${1}s" "$2" 2>/dev/null | awk '/Requests\/sec/{printf "%.0f", $2}'
  fi
}

dir="$target_dir/ab/$rev"
build_release
if [ "$1" = . ]; then
  rev="this tree${BEFORE_FLAGS:+ $BEFORE_FLAGS}"
  before_bin="$BIN"
else
  before_bin="$dir/target/release/suspense-ssr"
fi
if [ "$1" != . ] && [ ! -x "$before_bin" ]; then
  rm -rf "$dir/src"
  (cd "$root" && git worktree add -f -q "$dir/src" "$rev")
  echo "== building $rev (release)" >&2
  (cd "$dir/src" && CARGO_TARGET_DIR="$dir/target" cargo build --release --quiet)
  (cd "$root" && git worktree remove -f "$dir/src")
fi
SINGLES="${SINGLES:-21}"
FIRST_URL="${FIRST_URL:-/bench?delay=100}"
run() { # binary [more flags] -> req/s (and, with FIRST=1, " first-byte-ms")
  local port db bin="$1"
  shift
  port="$(free_port)"
  db="$(mktemp -d)"
  # BEFORE_FLAGS may set the threads itself (`--threads 1`).
  local threads=(--threads "$THREADS")
  case " $* " in *" --threads "*) threads=() ;; esac
  # shellcheck disable=SC2086
  SERVER_TIMEOUT=$((DUR + 120)) START_SECONDS=10 start_server "$db/server.log" "$port" \
    "$bin" --addr "127.0.0.1:$port" "${threads[@]}" $FLAGS "$@" --database "$db/board.sqlite3" || return 1
  load 2 "http://127.0.0.1:$port$URL" >/dev/null
  load "$DUR" "http://127.0.0.1:$port$URL"
  if [ "${FIRST:-0}" = 1 ]; then
    sleep 1
    python3 "$MEASURE" single "http://127.0.0.1:$port" "$FIRST_URL" --repeat "$SINGLES" \
      --pause-ms 200 --brief --out "$db/first.json" >/dev/null
    python3 -c 'import json, sys; print(" %.3f" % json.load(open(sys.argv[1]))["summary"]["first_body_byte_ms"]["p50"], end="")' "$db/first.json"
  fi
  stop_server
  rm -rf "$db"
}
before=(); after=(); before_first=(); after_first=()
for i in $(seq 1 "$RUNS"); do
  # shellcheck disable=SC2086
  read -r rps first < <(run "$before_bin" ${BEFORE_FLAGS:-}; echo)
  [ -n "$rps" ] || { echo "no figure from $rev's server" >&2; exit 1; }
  before+=("$rps"); before_first+=("${first:-0}")
  read -r rps first < <(run "$BIN"; echo)
  [ -n "$rps" ] || { echo "no figure from this tree's server" >&2; exit 1; }
  after+=("$rps"); after_first+=("${first:-0}")
  echo "run $i: $rev ${before[-1]} req/s, this tree ${after[-1]} req/s${first:+; first body byte ${before_first[-1]} ms, ${after_first[-1]} ms}"
done
python3 - "${before[*]}" "${after[*]}" "$rev" "${before_first[*]}" "${after_first[*]}" "${FIRST:-0}" <<'PY'
import statistics, sys
b = [float(x) for x in sys.argv[1].split()]
a = [float(x) for x in sys.argv[2].split()]
mb, ma = statistics.median(b), statistics.median(a)
print(f"median: {sys.argv[3]} {mb:,.0f} req/s, this tree {ma:,.0f} req/s: {ma / mb:.2f}x")
if sys.argv[6] == "1":
    fb = statistics.median(float(x) for x in sys.argv[4].split())
    fa = statistics.median(float(x) for x in sys.argv[5].split())
    print(f"first body byte, median of the runs' p50s: {sys.argv[3]} {fb:.3f} ms, this tree {fa:.3f} ms: {fa / fb:.2f}x")
PY
