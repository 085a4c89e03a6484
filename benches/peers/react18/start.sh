#!/usr/bin/env bash
# Start the React 18 peer of the benchmark page (benches/PAGE.md):
# React 18.3.1 renderToPipeableStream on node:http (Node 20 or later).
#   PORT=3001 (default)   WORKERS=1 (default; 2 = node:cluster with 2 workers)
#   CLUSTER_SCHED=rr|none  HOST=127.0.0.1
# Installs react and react-dom from npm at the versions package-lock.json
# pins (`npm ci`, into node_modules/ here, which git ignores) when they are
# missing, then runs in the foreground (exec), so $! of a backgrounded
# start.sh is node's PID.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$here"
if [ ! -f node_modules/react-dom/package.json ] || [ ! -f node_modules/react/package.json ]; then
  npm ci --no-audit --no-fund >&2
fi
export NODE_ENV=production
export HOST="${HOST:-127.0.0.1}"
export BENCH_CSS="${BENCH_CSS:-$root/static/bench.css}"
exec node server.js
