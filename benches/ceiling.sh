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
# Env: DUR (10), RUNS (3). Results: target/bench/ceiling-<time>/table.md.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
export RUST_LOG="${RUST_LOG:-warn}"
DUR="${DUR:-10}"
RUNS="${RUNS:-3}"
out="$target_dir/bench/ceiling-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
need_load_tool
need_tool valgrind
build_release
echo "== building benches/ceiling (release)" >&2
CARGO_TARGET_DIR="$target_dir/ceiling" cargo build --release --quiet --manifest-path "$bench_dir/ceiling/Cargo.toml"
ceiling="$target_dir/ceiling/release/ceiling"

# First body byte on a fresh connection, p50 of 100 (measure.py, a new
# connection each): name base path -> NAME.first.json
first() {
  python3 "$MEASURE" single "$2" "$3" --repeat 100 --pause-ms 10 --brief --out "$out/$1.first.json" >/dev/null
}
# CPU time (clock ticks, user and system) of the process tree of the server
# started last (the `timeout` in front of it, the server, nginx's workers).
ticks() {
  local p u=0 s=0 pu ps
  for p in $(descendants "$wrapper_pid"); do
    read -r pu ps < <(awk '{print $14, $15}' "/proc/$p/stat" 2>/dev/null || echo "0 0")
    u=$((u + pu)); s=$((s + ps))
  done
  echo "$u $s"
}
# name url -> NAME.load.txt (RUNS lines), and NAME.cpu.txt: CPU time
# per request over the runs, the server's (user, system) and the load
# generator's (user + system), in microseconds. On shared cores a request
# costs all three.
load() {
  "$LOAD" "$2" 2 >/dev/null
  : >"$out/$1.load.txt"
  local before after client
  before="$(ticks)"
  client="$( (for _ in $(seq 1 "$RUNS"); do "$LOAD" "$2" "$DUR" 64 | tee -a "$out/$1.load.txt" >&2; done; times) | tail -1)"
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

port="$(free_port)"
start_server "$out/ssr.log" "$port" "$BIN" --addr "127.0.0.1:$port" --static-dir "$root/static" \
  --database "$out/board.sqlite3"
ssr="http://127.0.0.1:$port"
# The bytes a client without Accept-Encoding gets (as the load tool asks).
curl -s --raw -o /dev/null -w '%{size_download}\n' "$ssr/bench?delay=0" >"$out/chunked-size.txt"
curl -s -o "$out/page.html" "$ssr/bench?delay=0"
load ssr "$ssr/bench?delay=0"
first ssr "$ssr" '/bench?delay=50'
stop_server

port="$(free_port)"
start_server "$out/ceiling.log" "$port" "$ceiling" "$out/page.html" "$port" "$(nproc)"
hyper="http://127.0.0.1:$port"
load hyper-full "$hyper/full"
load hyper-chunked "$hyper/chunked"
load hyper-askama "$hyper/askama"
load hyper-askama-escape "$hyper/askama-escape"
load hyper-askama-streamed "$hyper/askama-streamed"
first hyper-full "$hyper" /full
first hyper-chunked "$hyper" /chunked
first hyper-askama "$hyper" /askama
first hyper-askama-escape "$hyper" /askama-escape
first hyper-askama-streamed "$hyper" /askama-streamed
first hyper-askama-streamed-50 "$hyper" /askama-streamed-50
stop_server

port="$(free_port)"
start_server "$out/nginx.log" "$port" env PORT="$port" "$PEERS_DIR/nginx/start.sh"
curl -s -o "$out/nginx.html" "http://127.0.0.1:$port/bench"
load nginx "http://127.0.0.1:$port/bench"
first nginx "http://127.0.0.1:$port" /bench
stop_server

# Instructions per request for hyper alone: (Ir(1200) - Ir(200)) / 1000.
count() { # n path -> $ir, total Ir
  local port
  port="$(free_port)"
  SERVER_TIMEOUT=600 START_SECONDS=120 start_server "$out/callgrind-$1.log" "$port" \
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$1" "$ceiling" "$out/page.html" "$port" 1
  python3 - "$port" "$1" "$2" <<'PY'
import http.client, sys
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    c.request("GET", path); r = c.getresponse(); assert r.status == 200; r.read()
PY
  stop_server "" INT
  ir="$(grep '^totals:' "$out/callgrind.$1" | awk '{print $2}')"
}
for path in chunked askama askama-escape askama-streamed; do
  count 200 "/$path"; few=$ir
  count 1200 "/$path"; many=$ir
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
