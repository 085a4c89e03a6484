#!/usr/bin/env python3
"""benches/held.py: what a held page costs the server, with and without gzip.

Usage: held.py PORT PID N GZIP

Opens N connections to 127.0.0.1:PORT at once, each asking for
/bench?delay=3000 (with `Accept-Encoding: gzip` when GZIP is 1), reads
each to its end, and samples the server's RSS (/proc/PID/status) every
100 ms meanwhile. Prints one line: idle RSS, peak RSS, and (peak - idle) / N
per page, and exits 1 if a page did not end well (plain: `</html>`; gzip:
decompressed whole and ending with `</html>`).
"""

import asyncio
import sys
import zlib


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def dechunk(body):
    out, i = bytearray(), 0
    while True:
        end = body.index(b"\r\n", i)
        size = int(body[i:end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += body[end + 2 : end + 2 + size]
        i = end + 2 + size + 2


async def one(port, gzip):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    accept = "Accept-Encoding: gzip\r\n" if gzip else ""
    writer.write(f"GET /bench?delay=3000 HTTP/1.1\r\nHost: t\r\n{accept}Connection: close\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(-1), 30)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    body = dechunk(body) if b"transfer-encoding: chunked" in head.lower() else body
    if gzip:
        if b"content-encoding: gzip" not in head.lower():
            return False
        body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    return body.rstrip().endswith(b"</html>")


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
