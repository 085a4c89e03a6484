#!/usr/bin/env python3
"""benches/soak.py: mixed traffic against a running suspense-ssr, for a while.

Usage: soak.py URL PID [--seconds 60] [--clients 400] [--warmup 8] [--out DIR]

CLIENTS concurrent clients, each a loop of requests over its own keep-alive
connection, each request drawn from a fixed mix: streamed pages whose parts
resolve, fail, panic and time out (/faults), /bench at several delays and in
all three modes, the board, static files. One client in three hangs up in
the middle of every streamed page it asks for (after the shell, before the
end). Every page read to its end is checked: status, chunked framing, a
document that ends, every placeholder swapped in (stream mode), and the
content the page must show.

Memory: the server's RSS (/proc/PID/status) after a warm-up of the same
traffic, after each half of the soak once the server is idle, and its
thread count. RSS grows under this traffic with no leak at all: glibc
keeps freed memory in its arenas, and fragmentation spreads what is live
over more pages (heaptrack: 9.6 MB peak heap and 0.1 MB never freed, for
15,000 requests as for 60,000, while RSS goes 25 -> 32 MiB). So the check
here is coarse, for a gross leak: RSS after the second half within 15% of
RSS after the first (a leak of 1 KiB a request would add 80 MiB); whether
anything leaks at all is benches/leaks.sh's question (heaptrack's count of
what was never freed, against the requests served). Pages: after the
soak, /metrics must show no pending boundary and no active stream.

Pass (exit 0): no failed check, pending boundaries and active streams back
to 0, and RSS after the second half within 15% of RSS after the first.
Writes DIR/summary.json.
"""

import argparse
import asyncio
import json
import os
import random
import re
import sys
import time
import zlib
from urllib.parse import urlsplit

MIX = [
    # (weight, path, kind)
    (4, "/faults?delay=300", "faults"),
    (2, "/faults?delay=120&render=in-order", "faults"),
    (1, "/faults?delay=120&render=buffered", "faults"),
    (3, "/bench?delay=400&items=10", "bench"),
    (3, "/bench?delay=0", "bench"),
    (1, "/bench?delay=200&render=in-order", "bench"),
    (1, "/bench?delay=200&boundaries=16&items=4", "bench16"),
    (2, "/", "board"),
    (1, "/posts/1", "post"),
    (2, "/static/bench.css", "static"),
]
FAULT_TEXTS = [
    "Resolved after",
    "The data source answered with an error",
    "The code behind this part panicked",
    "data never came; it timed out.",
    "the part nested in it fails later.",
    "This part failed; the rest of the page did not.",
]


class Stats:
    def __init__(self):
        self.requests = 0
        self.completed = 0
        self.hung_up = 0
        self.failures = []
        self.by_kind = {}
        self.errors = 0

    def fail(self, what):
        if len(self.failures) < 50:
            self.failures.append(what)
        self.errors += 1


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers


async def read_chunked(reader, stop_after=None):
    """The body, de-chunked; with `stop_after`, only that many chunks."""
    body = bytearray()
    chunks = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body), True
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
        chunks += 1
        if stop_after is not None and chunks >= stop_after:
            return bytes(body), False


def check_page(kind, path, body):
    """Returns what is wrong with a completed page, or None."""
    text = body.decode("utf-8")
    if not text.rstrip().endswith("</html>"):
        return "does not end with </html>"
    stream = "render=" not in path
    if stream:
        placed = set(re.findall(r'<\?start name="b(\d+)">', text))
        sent = set(re.findall(r'<template for="b(\d+)">', text))
        called = set(re.findall(r"<\?s b(\d+) ", text))
        if not placed <= sent or sent != called:
            return f"placeholders {sorted(placed)}, fragments {sorted(sent)}, swaps {sorted(called)}"
    else:
        if "<template" in text or "<script" in text:
            return "transport markup in a document-order page"
    if kind == "faults":
        for needle in FAULT_TEXTS:
            if needle not in text:
                return f"missing {needle!r}"
    elif kind in ("bench", "bench16"):
        n = 16 if kind == "bench16" else 3
        for i in range(n):
            if f'id="s{i}"' not in text:
                return f"missing section {i}"
    elif kind in ("board", "post"):
        if "</main>" not in text:
            return "no </main>"
    return None


async def client(n, host, port, deadline, stats, hang_up):
    rng = random.Random(n)
    # One client in four takes gzip: the compression layer is soaked too.
    gzip = n % 4 == 1
    encoding = "gzip" if gzip else "identity"
    weights = [w for w, _, _ in MIX]
    reader = writer = None
    while time.monotonic() < deadline:
        _, path, kind = rng.choices(MIX, weights)[0]
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: {encoding}\r\n\r\n".encode())
            await writer.drain()
            stats.requests += 1
            status, headers = await asyncio.wait_for(read_head(reader), 30)
            if status != 200:
                stats.fail(f"{path}: status {status}")
                writer.close()
                writer = None
                continue
            streamed = headers.get("transfer-encoding") == "chunked"
            if hang_up and streamed:
                # After the shell, or a fragment or two more.
                await asyncio.wait_for(read_chunked(reader, stop_after=rng.randint(1, 3)), 30)
                writer.close()  # mid-stream: the rest is the server's to drop
                writer = None
                stats.hung_up += 1
                continue
            if streamed:
                body, _ = await asyncio.wait_for(read_chunked(reader), 60)
            else:
                body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 30)
            if headers.get("content-encoding") == "gzip":
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
            stats.completed += 1
            stats.by_kind[kind] = stats.by_kind.get(kind, 0) + 1
            if kind != "static":
                problem = check_page(kind, path, body)
                if problem:
                    stats.fail(f"{path}: {problem}")
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, zlib.error) as e:
            stats.fail(f"{path}: {type(e).__name__}: {e}")
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()


def rss_kib(pid):
    return status_field(pid, "VmRSS")


def threads(pid):
    return status_field(pid, "Threads")


def status_field(pid, name):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {name} in /proc/{pid}/status")


async def metrics(host, port):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    text = data.decode()
    values = {}
    for line in text.split("\r\n\r\n", 1)[1].splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


async def phase(host, port, seconds, clients, stats=None):
    stats = stats or Stats()
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(client(n, host, port, deadline, stats, n % 3 == 0) for n in range(clients)))
    return stats


async def settle(host, port, pid):
    """Waits (at most 20 s) for the server to be idle; returns the metrics."""
    for _ in range(100):
        m = await metrics(host, port)
        if m.get("suspense_pending_boundaries", 1) == 0 and m.get("suspense_active_streams", 1) == 0:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(1)
    return await metrics(host, port)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("pid", type=int)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=400)
    ap.add_argument("--warmup", type=float, default=8)
    ap.add_argument("--out", default=".")
    a = ap.parse_args()
    u = urlsplit(a.url)
    host, port = u.hostname, u.port

    print(f"warm-up: {a.warmup:.0f} s, {a.clients} clients", file=sys.stderr)
    warm = await phase(host, port, a.warmup, a.clients)
    await settle(host, port, a.pid)
    rss_before = rss_kib(a.pid)
    threads_before = threads(a.pid)
    print(f"RSS after warm-up: {rss_before / 1024:.1f} MiB; soak: {a.seconds:.0f} s", file=sys.stderr)

    # The soak in two halves, the server settled after each: the RSS it
    # holds after the first is the high-water mark of its allocators
    # (glibc keeps freed memory in its per-thread arenas) and caches; a
    # leak goes on growing in the second, a filled cache does not.
    started = time.monotonic()
    soak = await phase(host, port, a.seconds / 2, a.clients)
    await settle(host, port, a.pid)
    rss_mid = rss_kib(a.pid)
    print(f"RSS after the first half: {rss_mid / 1024:.1f} MiB", file=sys.stderr)
    await phase(host, port, a.seconds / 2, a.clients, soak)
    elapsed = time.monotonic() - started
    rss_end_of_load = rss_kib(a.pid)
    threads_end_of_load = threads(a.pid)
    after = await settle(host, port, a.pid)
    rss_after = rss_kib(a.pid)

    growth = (rss_after - rss_before) / rss_before
    late_growth = (rss_after - rss_mid) / rss_mid
    summary = {
        "seconds": round(elapsed, 1),
        "clients": a.clients,
        "hanging_up_clients": len(range(0, a.clients, 3)),
        "requests": soak.requests,
        "completed": soak.completed,
        "completed_per_kind": soak.by_kind,
        "hung_up_mid_stream": soak.hung_up,
        "failed_checks": soak.errors,
        "failures": soak.failures,
        "warmup_failed_checks": warm.errors,
        "rss_before_mib": round(rss_before / 1024, 1),
        "rss_at_end_of_load_mib": round(rss_end_of_load / 1024, 1),
        "rss_after_mib": round(rss_after / 1024, 1),
        "rss_after_first_half_mib": round(rss_mid / 1024, 1),
        "rss_growth_pct": round(growth * 100, 1),
        "rss_growth_second_half_pct": round(late_growth * 100, 1),
        "threads_before": threads_before,
        "threads_at_end_of_load": threads_end_of_load,
        "threads_after": threads(a.pid),
        "pending_boundaries_after": after.get("suspense_pending_boundaries"),
        "active_streams_after": after.get("suspense_active_streams"),
        "boundaries": {k.split('"')[1]: v for k, v in after.items() if k.startswith("suspense_boundaries_total")},
        "client_disconnects": after.get("suspense_client_disconnects_total"),
    }
    ok = (
        soak.errors == 0
        and warm.errors == 0
        and soak.completed > 0
        and summary["pending_boundaries_after"] == 0
        and summary["active_streams_after"] == 0
        and abs(late_growth) <= 0.15
    )
    summary["pass"] = ok
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
