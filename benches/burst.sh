#!/usr/bin/env bash
# benches/burst.sh: what a burst of held pages leaves behind. For each log
# level, a fresh release server holds N pages of /bench?delay=2000 at once
# (../shared/bench/measure.py concurrent: every page checked complete),
# then sits idle; prints its RSS before, at the peak, and 3, 6 and 16 s
# after the last page ended (the server trims its heap about a second after
# a burst: src/heap.rs). The default log level, `info`, makes a request
# span per request; `warn` makes none (docs/benchmarks.md, "After the
# burst").
#
#   benches/burst.sh
#   LEVELS=warn N=2000 BIN=target/ab/6964ad6/target/release/suspense-ssr benches/burst.sh
#
# Env: N (10000), LEVELS ("info warn"), BIN (this tree's release build),
# BENCH (../shared/bench). Servers listen on 127.0.0.1 only, each bounded
# by `timeout`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$(cd "${BENCH:-$root/../shared/bench}" && pwd)"
N="${N:-10000}"
LEVELS="${LEVELS:-info warn}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ -z "${BIN:-}" ]; then
  (cd "$root" && cargo build --release --locked --quiet)
  BIN="$root/target/release/suspense-ssr"
fi
tmp="$(mktemp -d /tmp/burst.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
rss() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
for level in $LEVELS; do
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  RUST_LOG="$level" timeout 300 "$BIN" --addr "127.0.0.1:$port" --static-dir "$root/static" \
    --database "$tmp/board-$level.sqlite3" >"$tmp/server-$level.log" 2>&1 &
  wrapper=$!
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  pid="$(pgrep -P "$wrapper" | head -1)"
  sleep 1
  idle="$(rss "$pid")"
  python3 "$BENCH/measure.py" concurrent "http://127.0.0.1:$port" '/bench?delay=2000' -c "$N" \
    --timeout 60 --pid "$pid" --out "$tmp/$level.json" >/dev/null
  sleep 3; after3="$(rss "$pid")"
  sleep 3; after6="$(rss "$pid")"
  sleep 10; after16="$(rss "$pid")"
  python3 - "$tmp/$level.json" "$level" "$N" "$idle" "$after3" "$after6" "$after16" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
level, n, idle, *after = sys.argv[2:]
peak = run["memory"]["rss_peak_sampled_kb"] / 1024
print(f"RUST_LOG={level}: {run['complete_ok']} of {n} pages complete, {run['failed']} failed; "
      f"RSS idle {idle} MiB, peak {peak:.1f} MiB, after 3/6/16 s {' / '.join(after)} MiB")
PY
  kill -TERM "$pid" 2>/dev/null || true
  wait "$wrapper" 2>/dev/null || true
done
