#!/usr/bin/env bash
# benches/ceiling.sh: how far this stack can go on this machine. One run,
# one server at a time on the same two cores as the load generator (as
# compare.sh): suspense-ssr as shipped on `/bench?delay=0`; hyper alone
# (benches/ceiling: the same HTTP/1.1 setup, no axum, engine, middleware,
# tracing or metrics) sending the very bytes suspense-ssr sent, as one
# Content-Length body and as four chunks; and the nginx peer's static page:
# throughput and latency under load (wrk), and the first body byte of a
# single request on a fresh connection (measure.py).
# hyper alone also renders the bench page with askama on each request
# (`/askama`: the site's section template and escaper, in document order,
# one body; `/askama-escape`: askama's own escaper; `/askama-streamed`:
# the shell written first, the sections a scheduler turn later, two writes
# as a streamed page at delay=0 needs; `/askama-streamed-50`, for the
# first byte only: the sections wait for three tokio timers, as the bench
# page's parts do at delay=50): the floor of making this page's content on
# this stack, whatever the engine costs.
# Then callgrind's instructions per request for hyper alone, for each of
# its routes (as benches/instructions.sh counts suspense-ssr's).
#
#   benches/ceiling.sh
# Env: DUR (10), RUNS (3), BENCH (../shared/bench). Results:
# target/bench/ceiling-<time>/table.md.
set -euo pipefail
export RUST_LOG="${RUST_LOG:-warn}"
root="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$(cd "${BENCH:-$root/../shared/bench}" && pwd)"
DUR="${DUR:-10}"
RUNS="${RUNS:-3}"
out="$root/target/bench/ceiling-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
command -v wrk >/dev/null || command -v oha >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
}
echo "== building suspense-ssr and benches/ceiling (release)" >&2
(cd "$root" && cargo build --release --locked --quiet)
CARGO_TARGET_DIR="$root/target/ceiling" cargo build --release --quiet --manifest-path "$root/benches/ceiling/Cargo.toml"
ceiling="$root/target/ceiling/release/ceiling"

pids=()
stop_all() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }
trap stop_all EXIT
wait_port() {
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "port $1 did not open" >&2; return 1
}
# First body byte on a fresh connection, p50 of 100 (measure.py, a new
# connection each): name base path -> NAME.first.json
first() {
  python3 "$BENCH/measure.py" single "$2" "$3" --repeat 100 --pause-ms 10 --brief --out "$out/$1.first.json" >/dev/null
}
# CPU time (clock ticks, user and system) of a process tree: the server
# started last (the `timeout` in front of it, the server, nginx's workers).
ticks() {
  local p all="${pids[-1]}" u=0 s=0 pu ps
  for p in $(pgrep -P "${pids[-1]}"); do all="$all $p $(pgrep -P "$p" | tr '\n' ' ')"; done
  for p in $all; do
    read -r pu ps < <(awk '{print $14, $15}' "/proc/$p/stat" 2>/dev/null || echo "0 0")
    u=$((u + pu)); s=$((s + ps))
  done
  echo "$u $s"
}
# name port url -> NAME.load.txt (RUNS lines), and NAME.cpu.txt: CPU time
# per request over the runs, the server's (user, system) and the load
# generator's (user + system), in microseconds. On shared cores a request
# costs all three.
load() {
  "$BENCH/load.sh" "$3" 2 >/dev/null
  : >"$out/$1.load.txt"
  local before after client
  before="$(ticks)"
  client="$( (for _ in $(seq 1 "$RUNS"); do "$BENCH/load.sh" "$3" "$DUR" 64 | tee -a "$out/$1.load.txt" >&2; done; times) | tail -1)"
  after="$(ticks)"
  python3 - "$out/$1" "$before" "$after" "$client" "$(getconf CLK_TCK)" <<'PY'
import re, sys
base, before, after, client, hz = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4], int(sys.argv[5])
requests = sum(int(re.search(r"requests=(\d+)", l).group(1)) for l in open(base + ".load.txt") if "requests=" in l)
secs = lambda t: sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", t))
user, system = ((int(a) - int(b)) / hz for a, b in zip(after, before))
us = lambda t: f"{t * 1e6 / requests:.1f}"
open(base + ".cpu.txt", "w").write(f"server_user_us={us(user)} server_sys_us={us(system)} client_us={us(secs(client))} requests={requests}\n")
PY
  cat "$out/$1.cpu.txt" >&2
}

timeout 900 "$root/target/release/suspense-ssr" --addr 127.0.0.1:3010 --static-dir "$root/static" \
  --database "$out/board.sqlite3" >"$out/ssr.log" 2>&1 & pids+=($!)
wait_port 3010
# The bytes a client without Accept-Encoding gets (as the load tool asks).
curl -s --raw -o /dev/null -w '%{size_download}\n' 'http://127.0.0.1:3010/bench?delay=0' >"$out/chunked-size.txt"
curl -s -o "$out/page.html" 'http://127.0.0.1:3010/bench?delay=0'
load ssr 3010 'http://127.0.0.1:3010/bench?delay=0'
first ssr http://127.0.0.1:3010 '/bench?delay=50'
stop_all

timeout 900 "$ceiling" "$out/page.html" 3012 "$(nproc)" >"$out/ceiling.log" 2>&1 & pids+=($!)
wait_port 3012
load hyper-full 3012 'http://127.0.0.1:3012/full'
load hyper-chunked 3012 'http://127.0.0.1:3012/chunked'
load hyper-askama 3012 'http://127.0.0.1:3012/askama'
load hyper-askama-escape 3012 'http://127.0.0.1:3012/askama-escape'
load hyper-askama-streamed 3012 'http://127.0.0.1:3012/askama-streamed'
first hyper-full http://127.0.0.1:3012 /full
first hyper-chunked http://127.0.0.1:3012 /chunked
first hyper-askama http://127.0.0.1:3012 /askama
first hyper-askama-escape http://127.0.0.1:3012 /askama-escape
first hyper-askama-streamed http://127.0.0.1:3012 /askama-streamed
first hyper-askama-streamed-50 http://127.0.0.1:3012 /askama-streamed-50
stop_all

PORT=3002 timeout 900 "$BENCH/peers/nginx/start.sh" >"$out/nginx.log" 2>&1 & pids+=($!)
wait_port 3002
curl -s -o "$out/nginx.html" 'http://127.0.0.1:3002/bench'
load nginx 3002 'http://127.0.0.1:3002/bench'
first nginx http://127.0.0.1:3002 /bench
stop_all

# Instructions per request for hyper alone: (Ir(1200) - Ir(200)) / 1000.
count() { # n path -> total Ir
  local port=3013
  timeout 600 valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$1" \
    "$ceiling" "$out/page.html" "$port" 1 >/dev/null 2>&1 & local w=$!
  wait_port "$port"
  python3 - "$port" "$1" "$2" <<'PY'
import http.client, sys
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    c.request("GET", path); r = c.getresponse(); assert r.status == 200; r.read()
PY
  kill -INT "$w" 2>/dev/null || true; pkill -INT -f "ceiling $out/page.html $port" || true
  wait "$w" 2>/dev/null || true
  grep '^totals:' "$out/callgrind.$1" | awk '{print $2}'
}
for path in chunked askama askama-escape askama-streamed; do
  few="$(count 200 "/$path")"; many="$(count 1200 "/$path")"
  echo "$(( (many - few) / 1000 ))" >"$out/hyper-$path.instructions.txt"
done

python3 - "$out" <<'PY' | tee "$out/table.md"
import json, re, sys, os
out = sys.argv[1]
names = [("ssr", "suspense-ssr, `/bench?delay=0`"), ("hyper-full", "hyper alone, same bytes, one body"),
         ("hyper-chunked", "hyper alone, same bytes, 4 chunks"),
         ("hyper-askama", "hyper alone, the page rendered by askama, the site's escaper"),
         ("hyper-askama-escape", "hyper alone, the page rendered by askama, askama's escaper"),
         ("hyper-askama-streamed", "hyper alone, askama, the site's escaper, streamed: shell, then sections"),
         ("nginx", "nginx, static page")]
rows = {}
for n, _ in names:
    runs = [dict(re.findall(r"(\w+)=(\S+)", l)) for l in open(f"{out}/{n}.load.txt") if "rps=" in l]
    runs.sort(key=lambda kv: float(kv["rps"]))
    rows[n] = runs[len(runs) // 2] | {"all": ", ".join(f"{float(r['rps']):,.0f}" for r in runs)}
    rows[n]["first"] = json.load(open(f"{out}/{n}.first.json"))["summary"]["first_body_byte_ms"]["p50"]
size = os.path.getsize(f"{out}/page.html"); nsize = os.path.getsize(f"{out}/nginx.html")
print(f"page: {size:,} bytes (suspense-ssr's, sent again by hyper alone); nginx's static page {nsize:,} bytes")
print()
print("| server | req/s (median of runs) | every run | p50 / p99 ms under load | / nginx | first body byte, p50 of 100 | / nginx | CPU µs a request: server user + system, load generator |")
print("|---|---|---|---|---|---|---|---|")
ng, nf = float(rows["nginx"]["rps"]), rows["nginx"]["first"]
for n, label in names:
    r = rows[n]
    cpu = dict(re.findall(r"(\w+)=(\S+)", open(f"{out}/{n}.cpu.txt").read()))
    print(f"| {label} | {float(r['rps']):,.0f} | {r['all']} | {r.get('p50_ms')} / {r.get('p99_ms')} | {float(r['rps']) / ng:.2f}x | {r['first']:.3f} ms | {r['first'] / nf:.2f}x | {cpu['server_user_us']} + {cpu['server_sys_us']}, {cpu['client_us']} |")
f50 = json.load(open(f"{out}/hyper-askama-streamed-50.first.json"))["summary"]["first_body_byte_ms"]["p50"]
print(f"| hyper alone, askama, streamed, the sections after three timers (`delay=50`, as suspense-ssr's first byte is measured) | | | | | {f50:.3f} ms | {f50 / nf:.2f}x | |")
print()
for path, label in [("chunked", "4 chunks"), ("askama", "askama, the site's escaper"), ("askama-escape", "askama, askama's escaper"),
                    ("askama-streamed", "askama, streamed in two writes")]:
    ir = int(open(f"{out}/hyper-{path}.instructions.txt").read())
    print(f"hyper alone, {label}: {ir:,} instructions per request (callgrind, 1 worker)")
PY
echo "results in $out" >&2
