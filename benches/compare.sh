#!/usr/bin/env bash
# benches/compare.sh: suspense-ssr beside its peers (benches/peers: React 18,
# nginx, Leptos), measured in one run with benches/load.sh and
# benches/measure.py, one server at a time on the same two cores as the load
# generator. The page is benches/PAGE.md.
#
#   benches/compare.sh                 suspense-ssr as shipped (gzip for clients that
#                                      ask, as oha does) and with --no-compression (as
#                                      the peers send), React 18 (1 process), nginx
#   PEERS="ssr react1 nginx leptos" benches/compare.sh    also Leptos (cold build: minutes)
#   PEERS="ssr nginx" RUNS=1 DUR=3 SINGLES=3 CONC=500 PEER_CONC=500 benches/compare.sh
#                                      the smallest run: does everything start and answer
#   PEERS=edge SINGLES=3 benches/compare.sh
#                                      only the edge's row: /bench prerendered through
#                                      nginx, streamed whole through it, and the static page
#
# What it needs besides this repository (benches/README.md): cargo, python3;
# Node 20 and npm for React (start.sh runs `npm ci`); nginx (start.sh
# installs it with apt-get when missing); oha or wrk (wrk installed when
# neither is). Leptos is built from crates.io on first use.
#
# Env: DUR (load seconds, 10), RUNS (load runs per server, median reported, 3),
# SINGLES (single requests at delay=1000 for the first and last byte, one
# every 200 ms after the last ended, 21), CONC (connections held at delay=2000 for
# suspense-ssr, 10000), PEER_CONC (the same for the peers, 2000, as in
# benches/README.md), TOOL (load.sh's load generator: oha if installed, else
# wrk). Servers listen on 127.0.0.1 only, each bounded by `timeout`, and are
# stopped by PID. Results: target/bench/<time>/, with table.md the summary.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# No per-request log lines while measuring, as the nginx peer runs with
# access_log off (warnings and errors still go to the instance's log).
export RUST_LOG="${RUST_LOG:-warn}"
DUR="${DUR:-10}"
RUNS="${RUNS:-3}"
SINGLES="${SINGLES:-21}"
CONC="${CONC:-10000}"
PEER_CONC="${PEER_CONC:-2000}"
read -r -a peers <<<"${PEERS:-ssr ssr-nc react1 nginx edge}"
out="$target_dir/bench/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
raise_fd_limit
need_load_tool
build_release
git -C "$root" describe --always --dirty >"$out/tree.txt" 2>/dev/null || true

start() { # name -> sets base, server_pid
  local name="$1" port
  # A free port each time: other servers may run on this machine.
  port="$(free_port)"
  case "$name" in
    ssr)    start_server "$out/$name.server.log" $port "$BIN" --addr "127.0.0.1:$port" \
              --static-dir "$root/static" ;;
    ssr-nc) start_server "$out/$name.server.log" $port "$BIN" --addr "127.0.0.1:$port" \
              --static-dir "$root/static" --no-compression ;;
    react1) start_server "$out/$name.server.log" $port env PORT=$port WORKERS=1 "$PEERS_DIR/react18/start.sh" ;;
    nginx)  start_server "$out/$name.server.log" $port env PORT=$port "$PEERS_DIR/nginx/start.sh" ;;
    leptos) start_server "$out/$name.server.log" $port env PORT=$port "$PEERS_DIR/leptos/start.sh" ;;
    *) echo "unknown peer $name" >&2; exit 2 ;;
  esac
  base="http://127.0.0.1:$port"
  echo "== $name: pid $server_pid on $base" >&2
}
stop() { stop_server; }

# The edge's row (docs/prerendering.md): deploy/nginx.conf over plain HTTP in
# front of two instances (lib.sh's start_edge), serving /bench prerendered
# (the shell from `suspense-ssr export`, the parts included with SSI), the
# same page streamed whole through it
# (`render=stream`) and the export's static page (from its /static/); first
# and last byte p50 of SINGLES each, and when each section arrived.
edge() {
  local prefix="$out/edge" p_a p_b p_edge p_http
  read -r p_a p_b p_edge p_http <<<"$(for _ in 1 2 3 4; do free_port; done | tr '\n' ' ')"
  start_server "$out/edge.a.log" "$p_a" "$BIN" --addr "127.0.0.1:$p_a" --static-dir "$root/static" --threads 1
  start_server "$out/edge.b.log" "$p_b" "$BIN" --addr "127.0.0.1:$p_b" --static-dir "$root/static" --threads 1
  start_edge "$prefix" "$p_a" "$p_b" "$p_edge" "$p_http"
  # The static page beside the shells, at a path the edge serves from disk.
  cp "$prefix/export/bench/index.html" "$prefix/export/static/bench-static.html"
  local base="http://127.0.0.1:$p_edge" name path
  for name in prerendered streamed static; do
    case "$name" in
      prerendered) path="/bench?delay=1000" ;;
      streamed) path="/bench?delay=1000&render=stream" ;;
      static) path="/static/bench-static.html" ;;
    esac
    python3 "$MEASURE" single "$base" "$path" --boundaries 3 --items 20 --repeat "$SINGLES" --pause-ms 200 \
      --brief --out "$out/edge.$name.json" >/dev/null
  done
  stop_all_servers
}

for name in "${peers[@]}"; do
  [ "$name" = edge ] && { edge; continue; }
  # Install or build a peer before its port wait starts.
  if [ "$name" = leptos ]; then
    echo "== leptos: cargo build --release (cold: minutes)" >&2
    BUILD_ONLY=1 "$PEERS_DIR/leptos/start.sh" >"$out/leptos.build.log" 2>&1
  fi
  if [ "$name" = react1 ] && [ ! -f "$PEERS_DIR/react18/node_modules/react-dom/package.json" ]; then
    echo "== react18: npm ci" >&2
    (cd "$PEERS_DIR/react18" && npm ci --no-audit --no-fund) >"$out/react1.npm.log" 2>&1
  fi
  if [ "$name" = nginx ]; then
    load_path="/bench"; t_path="/bench"; order_path="/bench"; hold_path="/bench"; conc=$PEER_CONC
  else
    load_path="/bench?delay=0"; t_path="/bench?delay=1000"; order_path="/bench?delay=1000&boundaries=3"
    hold_path="/bench?delay=2000"; conc=$PEER_CONC
    [[ "$name" = ssr* ]] && conc=$CONC
  fi
  start "$name"
  "$LOAD" "$base$load_path" 2 >/dev/null # warm-up
  # RUNS load runs back to back; the table takes the median (this machine is
  # noisy: single runs of the same server vary by 20-30%).
  : >"$out/$name.load.txt"
  for _ in $(seq 1 "$RUNS"); do
    RSS_PID="$server_pid" "$LOAD" "$base$load_path" "$DUR" 64 | tee -a "$out/$name.load.txt"
  done
  sleep 1
  python3 "$MEASURE" single "$base" "$t_path" --repeat "$SINGLES" --pause-ms 200 --brief \
    --out "$out/$name.single-repeat.json" >/dev/null
  python3 "$MEASURE" single "$base" "$order_path" --out "$out/$name.single.json" >/dev/null
  stop
  # The holding test on a fresh server, so its memory is not the load run's.
  start "$name"
  sleep 1
  python3 "$MEASURE" concurrent "$base" "$hold_path" -c "$conc" --timeout 60 \
    --pid "$server_pid" --out "$out/$name.concurrent.json" >/dev/null
  # What the server keeps once they have all ended (KiB, with its children).
  sleep 3
  { ps -o rss= -p "$server_pid"; ps -o rss= --ppid "$server_pid" || true; } | awk '{s += $1} END {print s}' \
    >"$out/$name.after-hold.txt"
  stop
done

python3 - "$out" "$SINGLES" "${peers[@]}" <<'PY' | tee "$out/table.md"
import json, os, re, sys
out, singles, names = sys.argv[1], sys.argv[2], sys.argv[3:]
edge = "edge" in names
names = [n for n in names if n != "edge"]
label = {"ssr": "suspense-ssr (gzip)", "ssr-nc": "suspense-ssr, --no-compression", "react1": "React 18, 1 process", "nginx": "nginx, static file",
         "leptos": "Leptos 0.8"}
if names:
    rows = {}
    for n in names:
        runs = [dict(re.findall(r"(\w+)=(\S+)", l)) for l in open(f"{out}/{n}.load.txt") if "rps=" in l]
        runs.sort(key=lambda kv: float(kv["rps"]))
        kv = runs[len(runs) // 2]
        rep = json.load(open(f"{out}/{n}.single-repeat.json"))["summary"]
        one = json.load(open(f"{out}/{n}.single.json"))
        con = json.load(open(f"{out}/{n}.concurrent.json"))
        mem = con.get("memory", {})
        order = ", ".join(f"{k} {v['t_ms']:.1f}" for k, v in
                          sorted(one.get("sections", {}).items(), key=lambda kv: kv[1]["t_ms"]))
        rows[n] = {
            "rps": float(kv["rps"]),
            "rps_all": ", ".join(f"{float(r['rps']):,.0f}" for r in runs),
            "lat": f"{kv.get('p50_ms')} / {kv.get('p99_ms')} ms",
            "rss_load": kv.get("peak_rss_mb", "?") + " MiB",
            "ttfb": rep["first_body_byte_ms"]["p50"],
            "last": rep["last_byte_ms"]["p50"],
            "order": f"shell {one['first_body_byte_ms']:.2f}; {order} ms",
            "hold": f"{con['complete_ok']} / {con['failed']} of {con['connections']}",
            "hold_rss": f"{mem.get('rss_peak_sampled_kb', 0) / 1024:.1f} MiB (idle {mem.get('rss_before_kb', 0) / 1024:.1f})",
            "after_hold": f"{int(open(f'{out}/{n}.after-hold.txt').read()) / 1024:.1f} MiB",
        }
    try:
        tree = open(f"{out}/tree.txt").read().strip()
    except OSError:
        tree = "?"
    tools = sorted({m for n in names for m in re.findall(r"tool=(\S+)", open(f"{out}/{n}.load.txt").read())})
    print(f"`{out}`, tree {tree}, load from {', '.join(tools)}")
    print()
    print("| measurement | " + " | ".join(label.get(n, n) for n in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    def line(title, key, fmt=str):
        print(f"| {title} | " + " | ".join(fmt(rows[n][key]) for n in names) + " |")
    line("throughput, 64 conns (`delay=0`; nginx `/bench`), median", "rps", lambda v: f"{v:,.0f} req/s")
    line("... every run", "rps_all")
    line("latency under load (median run), p50 / p99", "lat")
    line("peak RSS during the load (median run)", "rss_load")
    line(f"first body byte, `delay=1000`, p50 of {singles}", "ttfb", lambda v: f"{v:.2f} ms")
    line(f"last byte, `delay=1000`, p50 of {singles}", "last", lambda v: f"{v:.1f} ms")
    line("`delay=1000&boundaries=3`: arrivals", "order")
    line("held at `delay=2000`: complete+correct / failed", "hold")
    line("... peak RSS while held", "hold_rss")
    line("... RSS 3 s after they all ended", "after_hold")
    if "ssr" in rows:
        ssr = rows["ssr"]
        print()
        for n in names:
            if n != "ssr":
                print(f"- throughput suspense-ssr / {label.get(n, n)}: {ssr['rps'] / rows[n]['rps']:.2f}x")
        if "nginx" in rows:
            print(f"- first byte suspense-ssr / nginx static: {ssr['ttfb'] / rows['nginx']['ttfb']:.2f}x")
if edge:
    ways = [("prerendered", "prerendered: the shell from the export, the parts with SSI"),
            ("streamed", "streamed whole (`render=stream`)"), ("static", "the static page (export)")]
    got = {w: json.load(open(f"{out}/edge.{w}.json"))["summary"] for w, _ in ways}
    print()
    print(f"`/bench?delay=1000` through nginx (deploy/nginx.conf, two instances of `--threads 1`), p50 of {singles}:")
    print()
    print("| through nginx | first body byte | sections s2 / s1 / s0 | last byte |")
    print("|---|---|---|---|")
    for w, title in ways:
        g = got[w]
        secs = " / ".join(f"{g[f's{i}_ms']['p50']:.1f}" for i in (2, 1, 0))
        print(f"| {title} | {g['first_body_byte_ms']['p50']:.2f} ms | {secs} ms | {g['last_byte_ms']['p50']:.1f} ms |")
    print()
    print(f"- first byte prerendered / static: {got['prerendered']['first_body_byte_ms']['p50'] / got['static']['first_body_byte_ms']['p50']:.2f}x (target 1.1x)")
    print(f"- first byte prerendered / streamed whole: {got['prerendered']['first_body_byte_ms']['p50'] / got['streamed']['first_body_byte_ms']['p50']:.2f}x")
    print(f"- last part prerendered / streamed whole: {got['prerendered']['last_byte_ms']['p50'] / got['streamed']['last_byte_ms']['p50']:.3f}x")
PY
echo "results in $out" >&2
