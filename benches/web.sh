#!/usr/bin/env bash
# benches/web.sh: the web server's half, measured in one run on this machine.
#
#   1. static file: /static/bench.css from suspense-ssr against nginx (the
#      shared nginx peer) on the same file;
#   2. parallelism: /bench?delay=0 with --threads 1 against --threads 2;
#   3. concurrency: CONC streams held at /bench?delay=2000 by ONE thread;
#   4. nginx in front (deploy/nginx.conf, two instances of --threads 1)
#      against one instance of --threads 2 direct: throughput and first byte.
#
# Env: DUR (seconds per load run, 10), RUNS (runs per point, median, 3),
# CONC (held streams, 10000), BENCH (../shared/bench). Servers listen on
# 127.0.0.1 only, each bounded by `timeout`, stopped by PID. Results:
# target/bench/web-<time>/, table.md the summary.
set -euo pipefail
# No per-request log lines while measuring, as the nginx peer runs with
# access_log off (warnings and errors still go to the instance's log).
export RUST_LOG="${RUST_LOG:-warn}"
root="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="${BENCH:-$root/../shared/bench}"
BENCH="$(cd "$BENCH" && pwd)"
DUR="${DUR:-10}"
RUNS="${RUNS:-3}"
CONC="${CONC:-10000}"
out="$root/target/bench/web-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ -x /usr/sbin/nginx ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }

echo "== building suspense-ssr (release)" >&2
(cd "$root" && cargo build --release --locked --quiet)
bin="$root/target/release/suspense-ssr"

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
wait_port() {
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "port $1 did not open" >&2; return 1
}
ssr() { # port threads -> starts an instance, appends its pid; server_pid
  (cd "$root" && exec timeout 900 "$bin" --addr "127.0.0.1:$1" --threads "$2" >"$out/ssr-$1.log" 2>&1) &
  pids+=($!); wait_port "$1"
  server_pid="$(pgrep -P "${pids[-1]}" | head -1)"
}
stop_all() { cleanup; pids=(); sleep 0.5; }
load() { # name url -> median of RUNS lines in $out/name.txt
  "$BENCH/load.sh" "$2" 2 >/dev/null
  : >"$out/$1.txt"
  for _ in $(seq 1 "$RUNS"); do "$BENCH/load.sh" "$2" "$DUR" 64 | tee -a "$out/$1.txt"; done
}

# 1. static file
ssr 3020 2
load static-ssr "http://127.0.0.1:3020/static/bench.css"
stop_all
(PORT=3021 exec timeout 900 "$BENCH/peers/nginx/start.sh" >"$out/nginx-peer.log" 2>&1) &
pids+=($!); wait_port 3021
load static-nginx "http://127.0.0.1:3021/static/bench.css"
stop_all

# 2. one thread against two
ssr 3022 1
load threads-1 "http://127.0.0.1:3022/bench?delay=0"
stop_all
ssr 3023 2
load threads-2 "http://127.0.0.1:3023/bench?delay=0"
python3 "$BENCH/measure.py" single http://127.0.0.1:3023 "/bench?delay=1000" --repeat 5 --pause-ms 200 \
  --brief --out "$out/direct-single.json" >/dev/null
stop_all

# 3. many streams, one thread
ssr 3024 1
sleep 1
python3 "$BENCH/measure.py" concurrent http://127.0.0.1:3024 "/bench?delay=2000" -c "$CONC" --timeout 60 \
  --pid "$server_pid" --out "$out/held-1-thread.json" >/dev/null
stop_all

# 4. nginx in front of two instances (the deploy file, ports and paths rewritten)
ssr 3025 1
ssr 3026 1
prefix="$out/nginx"
mkdir -p "$prefix/tmp"
sed -e 's/server 127.0.0.1:3001/server 127.0.0.1:3025/' -e 's/server 127.0.0.1:3002/server 127.0.0.1:3026/' \
    -e 's/listen 8080;/listen 127.0.0.1:3027;/' -e "s#root /srv/suspense-ssr;#root $root;#" \
    "$root/deploy/nginx.conf" >"$prefix/suspense-ssr.conf"
cat >"$prefix/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes auto;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path $prefix/tmp/body; proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi; uwsgi_temp_path $prefix/tmp/uwsgi; scgi_temp_path $prefix/tmp/scgi;
  include $prefix/suspense-ssr.conf;
}
CONF
chmod -R a+rX "$prefix"
(exec timeout 900 /usr/sbin/nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log") &
pids+=($!); wait_port 3027
load via-nginx "http://127.0.0.1:3027/bench?delay=0"
python3 "$BENCH/measure.py" single http://127.0.0.1:3027 "/bench?delay=1000" --repeat 5 --pause-ms 200 \
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
