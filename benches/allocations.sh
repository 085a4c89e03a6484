#!/usr/bin/env bash
# benches/allocations.sh: heap allocations per request, counted by heaptrack
# (a count, like benches/instructions.sh: it repeats on this noisy machine).
# A release build with one worker thread serves FEW then MANY sequential
# keep-alive requests of URL; (calls(MANY) - calls(FEW)) / (MANY - FEW) is
# what one request allocates (startup cancels out). Also writes where the
# MANY run's allocations come from, by their innermost frames of this
# project's code, to stacks.txt beside the totals.
#
#   benches/allocations.sh
#   URL=/healthz benches/allocations.sh
#
# Env: URL (/bench?delay=0), FEW (500), MANY (1500), BIN (this tree's
# release build), FLAGS. Results: target/allocations/<time>/.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
URL="${URL:-/bench?delay=0}"
FEW="${FEW:-500}"
MANY="${MANY:-1500}"
FLAGS="${FLAGS:-}"
export RUST_LOG=warn
out="$target_dir/allocations/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
need_tool heaptrack
build_release
run() { # requests -> $calls, the allocation calls heaptrack counted
  local n=$1 port
  port="$(free_port)"
  # heaptrack runs the server as its child: signal that one (SERVER_COMM).
  # shellcheck disable=SC2086
  SERVER_TIMEOUT=600 START_SECONDS=120 SERVER_COMM=suspense-ssr start_server "$out/server-$n.log" "$port" \
    heaptrack -o "$out/heaptrack.$n" "$BIN" --addr "127.0.0.1:$port" --threads 1 \
    --latency 0 --static-dir "$root/static" --database "$out/db-$n/board.sqlite3" $FLAGS
  python3 - "$port" "$n" "$URL" <<'PY'
import http.client, sys
port, n, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    c.request("GET", url)
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
PY
  stop_server "" INT
  calls="$(heaptrack_print -f "$out/heaptrack.$n.zst" 2>/dev/null \
    | awk '/^calls to allocation functions/ {print $5}')"
}
run "$FEW"; few=$calls
run "$MANY"; many=$calls
per=$(( (many - few) / (MANY - FEW) ))
heaptrack_print -f "$out/heaptrack.$MANY.zst" --flamegraph-cost-type allocations \
  -F "$out/folded.txt" >/dev/null 2>&1 || true
# Each stack's count, keyed by its three innermost frames outside the
# standard library's containers (so `String::with_capacity` is named by
# whoever asked for it).
python3 - "$out/folded.txt" "$MANY" >"$out/stacks.txt" <<'PY'
import collections, re, sys
generic = re.compile(r"\((alloc|boxed|mod|raw_vec|string|arc|sync|rc|vec|spec_from_elem|"
                     r"spec_extend|borrow|str|slice|spec_from_iter|spec_from_iter_nested|cow|fmt)\.rs\)$")
per_stack = collections.Counter()
for line in open(sys.argv[1]):
    stack, _, count = line.rstrip().rpartition(" ")
    frames = [f.strip() for f in stack.split(";") if f.strip() and not generic.search(f.strip())]
    per_stack[" <- ".join(reversed(frames[-3:]))[:220]] += int(count)
for stack, count in per_stack.most_common(40):
    print(f"{count / int(sys.argv[2]):6.2f}  {stack}")
PY
{
  echo "URL $URL, flags '$FLAGS': $per allocations per request (heaptrack: $few calls for $FEW requests, $many for $MANY)"
  echo "where the MANY run's allocations come from, per request (startup included):"
  head -25 "$out/stacks.txt"
} | tee "$out/summary.txt"
echo "== results: $out" >&2
