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
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
URL="${URL:-/bench?delay=0}"
FEW="${FEW:-500}"
MANY="${MANY:-1500}"
FLAGS="${FLAGS:-}"
export RUST_LOG=warn
out="$root/target/allocations/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
command -v heaptrack >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq heaptrack >/dev/null
}
if [ -z "${BIN:-}" ]; then
  (cd "$root" && cargo build --release --locked --quiet)
  BIN="$root/target/release/suspense-ssr"
fi
run() { # requests -> allocation calls
  local n=$1 port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  # shellcheck disable=SC2086
  timeout 600 heaptrack -o "$out/heaptrack.$n" "$BIN" --addr "127.0.0.1:$port" --threads 1 \
    --latency 0 --static-dir "$root/static" --database "$out/db-$n/board.sqlite3" $FLAGS \
    >"$out/server-$n.log" 2>&1 &
  local wrapper=$!
  for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
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
  pkill -INT -f -- "--addr 127.0.0.1:$port" || true
  wait "$wrapper" 2>/dev/null || true
  heaptrack_print -f "$out/heaptrack.$n.zst" 2>/dev/null \
    | awk '/^calls to allocation functions/ {print $5}'
}
few="$(run "$FEW")"
many="$(run "$MANY")"
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
