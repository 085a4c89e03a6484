#!/usr/bin/env bash
# benches/instructions.sh: instructions per request, counted by callgrind
# (a count, not a time: it repeats on this noisy machine). A release build
# with one worker thread serves FEW then MANY sequential keep-alive requests
# of URL under valgrind; (Ir(MANY) - Ir(FEW)) / (MANY - FEW) is the cost of
# one request in user space (startup cancels out; the kernel's share is not
# counted). Prints that and the top functions per request, counted the
# same way.
#
#   benches/instructions.sh
#   URL='/bench?delay=0' FLAGS=--no-compression BIN=target/ab/6af827c/target/release/suspense-ssr benches/instructions.sh
#   UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36' benches/instructions.sh
#
# Env: URL (/bench?delay=0), FEW (200), MANY (1200), BIN (this tree's
# release build), FLAGS, UA (a User-Agent to send; none by default, as
# wrk sends none), RUST_LOG (warn; `info` is the server's default). Results:
# target/instructions/<time>/.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
URL="${URL:-/bench?delay=0}"
FEW="${FEW:-200}"
MANY="${MANY:-1200}"
FLAGS="${FLAGS:-}"
export RUST_LOG="${RUST_LOG:-warn}"
out="$target_dir/instructions/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
need_tool valgrind
build_release
run() { # requests -> $ir, the total instructions callgrind counted
  local n=$1 port
  port="$(free_port)"
  # valgrind runs the server in its own process: signal that one.
  # shellcheck disable=SC2086
  START_SECONDS=120 start_server "$out/server-$n.log" "$port" \
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$n" \
    "$BIN" --addr "127.0.0.1:$port" --threads 1 --latency 0 --static-dir "$root/static" \
    --database "$out/db-$n/board.sqlite3" $FLAGS
  python3 - "$port" "$n" "$URL" "${UA:-}" <<'PY'
import http.client, sys
port, n, url, ua = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
headers = {"User-Agent": ua} if ua else {}
c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    c.request("GET", url, headers=headers)
    r = c.getresponse()
    body = r.read()
    assert r.status == 200, (r.status, body[-80:])
    if r.getheader("content-type", "").startswith("text/html"):
        assert body.rstrip().endswith(b"</html>"), body[-80:]
PY
  stop_server "" INT
  ir="$(grep '^totals:' "$out/callgrind.$n" | awk '{print $2}')"
}
run "$FEW"; few=$ir
run "$MANY"; many=$ir
per=$(( (many - few) / (MANY - FEW) ))
{
  echo "URL $URL, flags '$FLAGS'${UA:+, user agent '$UA'}: $per instructions per request (callgrind: $few for $FEW requests, $many for $MANY)"
  # Per request, by function: each function's own count (inlined code
  # included) in the MANY run less the FEW run's, over the requests between
  # them, so startup (arguments, the database, the routes) drops out.
  echo "per request, by function (own instructions; (MANY - FEW) / $((MANY - FEW))):"
  python3 - "$out/callgrind.$FEW" "$out/callgrind.$MANY" "$((MANY - FEW))" <<'PY'
import re, subprocess, sys
def own(path):
    text = subprocess.run(["callgrind_annotate", "--threshold=100", "--auto=no", path],
                          capture_output=True, text=True, check=True).stdout
    counts = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*?:(.*?)(?: \[.*\])?$", line)
        if m:
            counts[m.group(2)] = counts.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    return counts
few, many, n = own(sys.argv[1]), own(sys.argv[2]), int(sys.argv[3])
rows = sorted(((many.get(k, 0) - few.get(k, 0)) / n, k) for k in set(few) | set(many))
for per, name in reversed(rows[-25:]):
    print(f"{per:9,.0f}  {name[:150]}")
PY
} | tee "$out/summary.txt"
echo "== results: $out" >&2
