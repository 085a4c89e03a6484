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
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
N="${N:-1000}"
export RUST_LOG=warn
raise_fd_limit
build_release
tmp="$(mktemp -d /tmp/held.XXXXXX)"
at_exit 'rm -rf "$tmp"'
status=0
for gzip in 1 0; do
  port="$(free_port)"
  SERVER_TIMEOUT=300 start_server "$tmp/server-$gzip.log" "$port" "$BIN" --addr "127.0.0.1:$port" \
    --static-dir "$root/static" --database "$tmp/board-$gzip.sqlite3"
  python3 "$bench_dir/held.py" "$port" "$server_pid" "$N" "$gzip" || status=1
  stop_server
done
exit $status
