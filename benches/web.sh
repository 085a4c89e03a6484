#!/usr/bin/env bash
# benches/web.sh: the web server's half, measured in one run on this machine.
#
#   1. static file: /static/bench.css from suspense-ssr against nginx (the
#      nginx peer, benches/peers/nginx) on the same file;
#   2. parallelism: /bench?delay=0 with --threads 1 against --threads 2;
#   3. concurrency: CONC streams held at /bench?delay=2000 by ONE thread;
#   4. nginx in front (deploy/nginx.conf over plain HTTP, two instances of --threads 1)
#      against one instance of --threads 2 direct: throughput and first byte.
#
# Env: DUR (seconds per load run, 10), RUNS (runs per point, median, 3),
# CONC (held streams, 10000). Servers listen on
# 127.0.0.1 only, each bounded by `timeout`, stopped by PID. Results:
# target/bench/web-<time>/, table.md the summary.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# No per-request log lines while measuring, as the nginx peer runs with
# access_log off (warnings and errors still go to the instance's log).
export RUST_LOG="${RUST_LOG:-warn}"
DUR="${DUR:-10}"
RUNS="${RUNS:-3}"
CONC="${CONC:-10000}"
out="$target_dir/bench/web-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
raise_fd_limit
need_tool nginx
need_load_tool
build_release

ssr() { # port threads -> starts an instance; $server_pid
  start_server "$out/ssr-$1.log" "$1" "$BIN" --addr "127.0.0.1:$1" --threads "$2"
}
stop_all() { stop_all_servers; sleep 0.5; }
load() { # name url -> RUNS lines in $out/name.txt
  "$LOAD" "$2" 2 >/dev/null
  : >"$out/$1.txt"
  for _ in $(seq 1 "$RUNS"); do "$LOAD" "$2" "$DUR" 64 | tee -a "$out/$1.txt"; done
}
# A free port for each server and the edge's two listeners (others may
# run on this machine).
read -r p_static p_nginx p_t1 p_t2 p_held p_a p_b p_edge p_http <<<"$(for _ in 1 2 3 4 5 6 7 8 9; do free_port; done | tr '\n' ' ')"

# 1. static file
ssr "$p_static" 2
load static-ssr "http://127.0.0.1:$p_static/static/bench.css"
stop_all
start_server "$out/nginx-peer.log" "$p_nginx" env PORT="$p_nginx" "$PEERS_DIR/nginx/start.sh"
load static-nginx "http://127.0.0.1:$p_nginx/static/bench.css"
stop_all

# 2. one thread against two
ssr "$p_t1" 1
load threads-1 "http://127.0.0.1:$p_t1/bench?delay=0"
stop_all
ssr "$p_t2" 2
load threads-2 "http://127.0.0.1:$p_t2/bench?delay=0"
python3 "$MEASURE" single "http://127.0.0.1:$p_t2" "/bench?delay=1000" --repeat 5 --pause-ms 200 \
  --brief --out "$out/direct-single.json" >/dev/null
stop_all

# 3. many streams, one thread
ssr "$p_held" 1
sleep 1
python3 "$MEASURE" concurrent "http://127.0.0.1:$p_held" "/bench?delay=2000" -c "$CONC" --timeout 60 \
  --pid "$server_pid" --out "$out/held-1-thread.json" >/dev/null
stop_all

# 4. nginx in front of two instances (the deploy file, ports and paths rewritten)
ssr "$p_a" 1
ssr "$p_b" 1
# The edge as deployed (lib.sh's start_edge: deploy/nginx.conf over plain
# HTTP on a loopback port, as tests/it/nginx.rs runs it; `/bench` is served
# prerendered from the export, its parts from the two instances).
start_edge "$out/nginx" "$p_a" "$p_b" "$p_edge" "$p_http"
load via-nginx "http://127.0.0.1:$p_edge/bench?delay=0"
python3 "$MEASURE" single "http://127.0.0.1:$p_edge" "/bench?delay=1000" --repeat 5 --pause-ms 200 \
  --brief --out "$out/nginx-single.json" >/dev/null
stop_all

python3 - "$out" "$CONC" <<'PY' | tee "$out/table.md"
import json, re, sys
out, conc = sys.argv[1], sys.argv[2]
def median(name):
    runs = [dict(re.findall(r"(\w+)=(\S+)", l)) for l in open(f"{out}/{name}.txt") if "rps=" in l]
    runs.sort(key=lambda kv: float(kv["rps"]))
    return float(runs[len(runs) // 2]["rps"]), ", ".join(f"{float(r['rps']):,.0f}" for r in runs)
s_ssr, s_ssr_all = median("static-ssr")
s_ngx, s_ngx_all = median("static-nginx")
t1, t1_all = median("threads-1")
t2, t2_all = median("threads-2")
vn, vn_all = median("via-nginx")
held = json.load(open(f"{out}/held-1-thread.json"))
mem = held.get("memory", {})
direct = json.load(open(f"{out}/direct-single.json"))["summary"]
proxied = json.load(open(f"{out}/nginx-single.json"))["summary"]
print("| measurement | figure | runs |")
print("|---|---|---|")
print(f"| `/static/bench.css`, suspense-ssr (2 threads) | {s_ssr:,.0f} req/s | {s_ssr_all} |")
print(f"| `/static/bench.css`, nginx (peer, workers auto) | {s_ngx:,.0f} req/s | {s_ngx_all} |")
print(f"| `/bench?delay=0`, `--threads 1` | {t1:,.0f} req/s | {t1_all} |")
print(f"| `/bench?delay=0`, `--threads 2` | {t2:,.0f} req/s | {t2_all} |")
print(f"| `/bench?delay=0` through nginx, 2 instances of `--threads 1` | {vn:,.0f} req/s | {vn_all} |")
print(f"| {conc} streams held at `delay=2000`, `--threads 1`: complete+correct / failed | "
      f"{held['complete_ok']} / {held['failed']} | peak RSS {mem.get('rss_peak_sampled_kb', 0) / 1024:.0f} MiB |")
print(f"| first body byte, `delay=1000`, direct / through nginx (p50 of 5) | "
      f"{direct['first_body_byte_ms']['p50']:.2f} / {proxied['first_body_byte_ms']['p50']:.2f} ms | |")
print(f"| last byte, `delay=1000`, direct / through nginx (p50 of 5) | "
      f"{direct['last_byte_ms']['p50']:.1f} / {proxied['last_byte_ms']['p50']:.1f} ms | |")
print()
print(f"- static file, suspense-ssr / nginx: {s_ssr / s_ngx:.2f}x")
print(f"- two threads / one thread: {t2 / t1:.2f}x")
print(f"- through nginx / direct (2 threads): {vn / t2:.2f}x")
PY
echo "results in $out" >&2
