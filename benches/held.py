#!/usr/bin/env python3
"""benches/held.py: what a held page costs the server, with and without gzip.

Usage: held.py PORT PID N GZIP

Opens N connections to 127.0.0.1:PORT at once, each asking for
/bench?delay=3000 (with `Accept-Encoding: gzip` when GZIP is 1), reads
each to its end, and samples the server's RSS (/proc/PID/status) every
100 ms meanwhile. Prints one line: idle RSS, peak RSS, and (peak - idle) / N
per page, and exits 1 unless every page came whole and right: gzipped when
asked, and checked as the soak checks a page (soak.py's reader and
`check_page`: ends with `</html>`, every section there, every placeholder
swapped in).
"""

import asyncio
import sys
import zlib

from soak import check_page, read_chunked, read_head, rss_kib

PATH = "/bench?delay=3000"


async def one(port, gzip):
    """Whether the page came whole and right."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    accept = "gzip" if gzip else "identity"
    writer.write(f"GET {PATH} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: {accept}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    status, headers = await asyncio.wait_for(read_head(reader), 30)
    body, ended = await asyncio.wait_for(read_chunked(reader), 30)
    writer.close()
    if status != 200 or not ended or (headers.get("content-encoding") == "gzip") != gzip:
        return False
    if gzip:
        body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    return check_page("bench", PATH, body) is None


async def main():
    port, pid, n, gzip = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
    idle = peak = rss_kib(pid)
    tasks = [asyncio.create_task(one(port, gzip)) for _ in range(n)]
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.1)
        peak = max(peak, rss_kib(pid))
    ok = sum(1 for t in tasks if not t.exception() and t.result())
    print(
        f"gzip={'yes' if gzip else 'no'} pages={n} complete={ok} idle={idle / 1024:.1f} MiB "
        f"peak={peak / 1024:.1f} MiB per_page={(peak - idle) / n:.1f} KiB"
    )
    sys.exit(0 if ok == n else 1)


asyncio.run(main())
