#!/usr/bin/env bash
# benches/leaks.sh: does the server leak? RSS cannot say (glibc keeps freed
# memory in its per-thread arenas, so RSS creeps up under mixed traffic
# with no leak at all), so this asks the allocator's own record: the server
# runs under heaptrack through a short and a long soak (benches/soak.py: the
# same mixed traffic, hang-ups, failing, panicking and timing-out parts),
# exits on SIGTERM, and heaptrack counts what was never freed. A leak grows
# with the requests served; what is allocated once (caches, pools, the
# runtime) does not.
#
#   benches/leaks.sh
#
# Pass (exit 0): every soak check passed in both runs, and the long run
# leaked less than 1 byte more per extra request than the short one (one
# forgotten allocation per request, 16 bytes or more, fails it).
# Env: SHORT (10), LONG (40) soak seconds; CLIENTS (200). Results:
# target/leaks/<time>/ (each run's heaptrack file, soak summary, server log).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
SHORT="${SHORT:-10}"
LONG="${LONG:-40}"
CLIENTS="${CLIENTS:-200}"
out="$target_dir/leaks/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
raise_fd_limit
export RUST_LOG=warn
need_tool heaptrack
unset BIN
build_release

run() { # seconds -> out/<seconds>/
  local dir="$out/$1" port
  mkdir -p "$dir"
  port="$(free_port)"
  # heaptrack runs the server as its child: signal and watch that one.
  SERVER_TIMEOUT=$(($1 + 300)) START_SECONDS=120 SERVER_COMM=suspense-ssr start_server "$dir/server.log" "$port" \
    heaptrack -o "$dir/heap" "$BIN" --addr "127.0.0.1:$port" --threads 2 --latency 0 \
    --static-dir "$root/static" --database "$dir/board.sqlite3"
  local pid=$server_pid
  # soak.py's own verdict includes its RSS mark, which is not this test's
  # question; the summary's checks are read below.
  python3 "$bench_dir/soak.py" "http://127.0.0.1:$port" "$pid" --seconds "$1" --warmup 3 \
    --clients "$CLIENTS" --out "$dir" >"$dir/soak.txt" 2>&1 || true
  # Pages a hung-up client left behind end at their next write or timer.
  sleep 2
  stop_server
  heaptrack_print -f "$dir"/heap.*zst >"$dir/heaptrack.txt" 2>/dev/null
}
run "$SHORT"
run "$LONG"

python3 - "$out" "$SHORT" "$LONG" <<'PY'
import json, re, sys
out, short, long_ = sys.argv[1], sys.argv[2], sys.argv[3]
def size(text):
    number, unit = re.fullmatch(r"([\d.]+)([KMG]?)", text).groups()
    return float(number) * {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}[unit]
rows = {}
for s in (short, long_):
    report = open(f"{out}/{s}/heaptrack.txt").read()
    grab = lambda label: size(re.search(label + r": ([\d.]+[KMG]?)", report).group(1))
    summary = json.load(open(f"{out}/{s}/summary.json"))
    rows[s] = {
        "requests": summary["requests"],
        "leaked": grab("total memory leaked"),
        "peak": grab("peak heap memory consumption"),
        "checks": summary["failed_checks"] == 0 and summary["warmup_failed_checks"] == 0
        and summary["pending_boundaries_after"] == 0 and summary["active_streams_after"] == 0,
        "rss": f"{summary['rss_before_mib']} -> {summary['rss_after_mib']} MiB",
    }
print("| soak | requests | never freed at exit | peak heap | RSS after warm-up -> after | checks |")
print("|---|---|---|---|---|---|")
for s, r in rows.items():
    print(f"| {s} s | {r['requests']:,} | {r['leaked'] / 1e3:.1f} kB | {r['peak'] / 1e6:.2f} MB | {r['rss']} | {'pass' if r['checks'] else 'FAIL'} |")
a, b = rows[short], rows[long_]
per = (b["leaked"] - a["leaked"]) / max(1, b["requests"] - a["requests"])
ok = a["checks"] and b["checks"] and per < 1
print(f"\nleaked per extra request: {per:.3f} bytes ({'pass' if ok else 'FAIL'}: under 1 byte)")
sys.exit(0 if ok else 1)
PY
