#!/usr/bin/env bash
# benches/held.sh: what a held page costs, for a browser (which always asks
# for gzip) and for a client that does not ask (as measure.py and the peers'
# figures). For each, a fresh release server holds N pages of
# /bench?delay=3000 at once (benches/held.py); prints RSS per page.
#
#   benches/held.sh
#   N=1000 BIN=target/ab/6964ad6/target/release/suspense-ssr benches/held.sh
#
# Env: N (1000), BIN (this tree's release build).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
N="${N:-1000}"
export RUST_LOG=warn
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ -z "${BIN:-}" ]; then
  (cd "$root" && cargo build --release --locked --quiet)
  BIN="$root/target/release/suspense-ssr"
fi
tmp="$(mktemp -d /tmp/held.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
status=0
for gzip in 1 0; do
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  timeout 300 "$BIN" --addr "127.0.0.1:$port" --static-dir "$root/static" \
    --database "$tmp/board-$gzip.sqlite3" >"$tmp/server-$gzip.log" 2>&1 &
  wrapper=$!
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  pid="$(pgrep -P "$wrapper" | head -1)"
  python3 "$root/benches/held.py" "$port" "$pid" "$N" "$gzip" || status=1
  kill -TERM "$pid" 2>/dev/null || true
  wait "$wrapper" 2>/dev/null || true
done
exit $status
