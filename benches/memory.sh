#!/usr/bin/env bash
# benches/memory.sh: what a held stream costs, and where every byte of it
# goes (issue 15). Two measurements of a release build on /bench?delay=2000:
#
#   1. RSS: HELD (10,000) pages held at once by benches/measure.py
#      (concurrent mode, no Accept-Encoding); peak RSS over the idle RSS,
#      per stream.
#   2. Accounting: the same with PROFILED (2,000) pages under heaptrack;
#      every allocation site live at the heap's peak, per stream, largest
#      first (heaptrack_print --print-peaks).
#
#   benches/memory.sh
#   BIN=target/hyperpatch/release/suspense-ssr benches/memory.sh   # another build
#
# Env: HELD, PROFILED, BIN (this tree's release build), FLAGS (extra server
# flags). Needs heaptrack (installed with apt-get when missing). Results: target/memory/<time>/ (rss.json, peaks.txt, table.md).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
HELD="${HELD:-10000}"
PROFILED="${PROFILED:-2000}"
FLAGS="${FLAGS:-}"
export RUST_LOG=warn
out="$target_dir/memory/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
raise_fd_limit
need_tool heaptrack
build_release

if [ -n "${TABLE_ONLY:-}" ]; then out="$TABLE_ONLY"; fi
# 1. RSS per held stream.
port="$(free_port)"
# shellcheck disable=SC2086
SERVER_TIMEOUT=300 start_server "$out/rss-server.log" "$port" "$BIN" --addr "127.0.0.1:$port" \
  --threads 2 --latency 0 --static-dir "$root/static" --database "$out/rss.sqlite3" $FLAGS
python3 "$MEASURE" concurrent "http://127.0.0.1:$port" '/bench?delay=2000' \
  -c "$HELD" --timeout 60 --pid "$server_pid" >"$out/rss.json"
stop_server

# 2. Where it goes, under heaptrack.
port="$(free_port)"
# heaptrack runs the server as its child: signal that one (SERVER_COMM).
# shellcheck disable=SC2086
SERVER_TIMEOUT=300 START_SECONDS=120 SERVER_COMM=suspense-ssr start_server "$out/heap-server.log" "$port" \
  heaptrack -o "$out/heap" "$BIN" --addr "127.0.0.1:$port" --threads 2 --latency 0 \
  --static-dir "$root/static" --database "$out/heap.sqlite3" $FLAGS
python3 "$MEASURE" concurrent "http://127.0.0.1:$port" '/bench?delay=2000' \
  -c "$PROFILED" --timeout 60 >"$out/heap-load.json"
stop_server "" INT
heaptrack_print -f "$out/heap.zst" --print-peaks 1 --print-allocators 0 --print-temporary 0 \
  --print-leaks 0 --peak-limit 60 >"$out/peaks.txt" 2>/dev/null

python3 - "$out" "$HELD" "$PROFILED" <<'PY'
import json, re, sys
out, held, profiled = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rss = json.load(open(f"{out}/rss.json"))
mem = rss["memory"]
per = (mem["rss_peak_sampled_kb"] - mem["rss_before_kb"]) / held
lines = open(f"{out}/peaks.txt").read().split("\n")
sites, cur = [], None
for l in lines:
    m = re.match(r"^(\s*)([\d.]+)([KMG]?)B? (?:peak memory )?consumed over (\d+) calls from", l)
    if m:
        if cur: sites.append(cur)
        kib = float(m.group(2)) * {"": 1 / 1024, "K": 1, "M": 1024, "G": 1024 * 1024}[m.group(3)]
        cur = {"kib": kib, "calls": int(m.group(4)), "sub": "peak memory" not in l, "frames": []}
    elif cur is not None and l.strip().startswith("at "):
        f = re.sub(r"/root/.cargo/registry/src/index[^/]*/", "", l.strip()[3:])
        if not re.search(r"/rustc/|library/(alloc|core|std)/", f):
            cur["frames"].append(f)
if cur: sites.append(cur)
total = 0.0
table = [f"| allocation site (first frames) | KiB per stream | allocations per stream |", "|---|---|---|"]
# One row per site (heaptrack splits a site by the thread that allocated);
# only what each stream has at least once.
merged = {}
for s in sites:
    if not s["sub"]:
        continue
    key = " ← ".join(s["frames"][:3])
    k, c = merged.get(key, (0.0, 0))
    merged[key] = (k + s["kib"], c + s["calls"])
for key, (kib, calls) in sorted(merged.items(), key=lambda kv: -kv[1][0]):
    if calls < profiled * 0.9:
        continue
    total += kib / profiled
    table.append(f"| `{key}` | {kib / profiled:.2f} | {calls / profiled:.1f} |")
table.append(f"| **sum of these** | **{total:.2f}** | |")
summary = (f"RSS: {held} pages held at delay=2000, {rss['complete_ok']} complete, {rss['failed']} failed; "
           f"idle {mem['rss_before_kb']/1024:.1f} MiB, peak {mem['rss_peak_sampled_kb']/1024:.1f} MiB: "
           f"{per:.2f} KiB per held stream")
open(f"{out}/table.md", "w").write(summary + "\n\n" + "\n".join(table) + "\n")
print(summary)
print("\n".join(table))
PY
echo "== results: $out" >&2
