#!/usr/bin/env bash
# benches/burst.sh: what a burst of held pages leaves behind. For each log
# level, a fresh release server holds N pages of /bench?delay=2000 at once
# (benches/measure.py concurrent: every page checked complete),
# then sits idle; prints its RSS before, at the peak, and 3, 6 and 16 s
# after the last page ended (the server trims its heap about a second after
# a burst: src/server/heap.rs). The default log level, `info`, makes a request
# span per request; `warn` makes none (docs/benchmarks.md, "After the
# burst").
#
#   benches/burst.sh
#   LEVELS=warn N=2000 BIN=target/ab/6964ad6/target/release/suspense-ssr benches/burst.sh
#
# Env: N (10000), LEVELS ("info warn"), BIN (this tree's release build).
# Servers listen on 127.0.0.1 only, each bounded by `timeout`.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
N="${N:-10000}"
LEVELS="${LEVELS:-info warn}"
raise_fd_limit
build_release
tmp="$(mktemp -d /tmp/burst.XXXXXX)"
at_exit 'rm -rf "$tmp"'
rss() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
for level in $LEVELS; do
  port="$(free_port)"
  RUST_LOG="$level" SERVER_TIMEOUT=300 start_server "$tmp/server-$level.log" "$port" \
    "$BIN" --addr "127.0.0.1:$port" --static-dir "$root/static" --database "$tmp/board-$level.sqlite3"
  pid=$server_pid
  sleep 1
  idle="$(rss "$pid")"
  python3 "$MEASURE" concurrent "http://127.0.0.1:$port" '/bench?delay=2000' -c "$N" \
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
  stop_server
done
