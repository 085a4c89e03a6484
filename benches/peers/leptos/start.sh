#!/usr/bin/env bash
# Start the Leptos 0.8 peer of the benchmark page (benches/PAGE.md):
# leptos 0.8.23 + leptos_axum 0.8.10 + axum 0.8, feature "ssr" only,
# SsrMode::OutOfOrder streaming, on 127.0.0.1:${PORT:-3003}.
#   PORT=3003  HOST=127.0.0.1
#   THREADS=N       tokio worker threads (default: number of cores)
#   DATA=suspend    each boundary awaits a plain async block (default)
#   DATA=resource   each boundary reads a Resource (Leptos also streams its
#                   serialized value for hydration)
#   BUILD_ONLY=1    build and exit (compare.sh builds first, so that its
#                   port wait does not include a cold build)
#   LEPTOS_TARGET_DIR  where cargo builds (default: the repository's
#                   target/peers/leptos; its own lock, never the workspace's)
# Builds with `cargo build --release --locked` from crates.io (a cold build
# compiles about 230 crates: minutes on 2 cores, ~0.7 GB; an up-to-date
# check takes under a second), then execs the binary, so $! of a
# backgrounded start.sh is the server's PID.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
export CARGO_TARGET_DIR="${LEPTOS_TARGET_DIR:-$root/target/peers/leptos}"
cargo build --release --locked --quiet --manifest-path "$here/Cargo.toml"
[ -n "${BUILD_ONLY:-}" ] && exit 0
export HOST="${HOST:-127.0.0.1}"
export PORT="${PORT:-3003}"
export BENCH_CSS="${BENCH_CSS:-$root/static/bench.css}"
exec "$CARGO_TARGET_DIR/release/bench-leptos"
