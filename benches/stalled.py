#!/usr/bin/env python3
"""benches/stalled.py URL PID: what clients that stop reading cost a server.

Opens N connections with a tiny receive buffer (the worst case for the
server: the kernel takes almost nothing off it), asks each for URL and never
reads. Reports the server's RSS growth per stalled reader once it has
settled, then waits for the server's send timeout to close them and checks
that /metrics shows every page dropped. Prints one JSON object.
"""
import argparse
import json
import re
import socket
import time
import urllib.parse
import urllib.request


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def metric(base, name):
    text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    m = re.search(rf"^{re.escape(name)} (\d+)", text, re.M)
    return int(m.group(1)) if m else 0


def settle(pid, limit):
    """RSS once it has changed by less than 1% over two seconds."""
    deadline = time.monotonic() + limit
    last = rss_kib(pid)
    while time.monotonic() < deadline:
        time.sleep(2)
        now = rss_kib(pid)
        if abs(now - last) <= last * 0.01:
            return now
        last = now
    return last


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("pid", type=int)
    p.add_argument("--readers", type=int, default=200)
    p.add_argument("--rcvbuf", type=int, default=4096)
    p.add_argument("--expect-timeout", type=float, default=None,
                   help="seconds: wait this long (plus slack) for the server to close them")
    a = p.parse_args()
    u = urllib.parse.urlsplit(a.url)
    base = f"{u.scheme}://{u.netloc}"
    target = u.path + ("?" + u.query if u.query else "")

    # Warm up: the same page read whole a few times, so the allocator's
    # pools hold what one page needs before the baseline.
    for _ in range(5):
        urllib.request.urlopen(a.url, timeout=30).read()
    before = settle(a.pid, 10)

    readers = []
    for _ in range(a.readers):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        s.connect((u.hostname, u.port))
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {u.netloc}\r\n\r\n".encode())
        readers.append(s)
    opened = time.monotonic()
    held = settle(a.pid, 20)
    streams = metric(base, "suspense_active_streams")
    result = {
        "url": a.url,
        "readers": a.readers,
        "rcvbuf": a.rcvbuf,
        "rss_before_kib": before,
        "rss_held_kib": held,
        "kib_per_reader": round((held - before) / a.readers, 1),
        "active_streams_held": streams,
    }
    if a.expect_timeout is not None:
        deadline = opened + a.expect_timeout + 30
        while time.monotonic() < deadline:
            if metric(base, "http_send_timeouts_total") >= a.readers and \
                    metric(base, "suspense_active_streams") == 0:
                break
            time.sleep(0.5)
        result["closed_after_s"] = round(time.monotonic() - opened, 1)
        result["send_timeouts"] = metric(base, "http_send_timeouts_total")
        result["active_streams_after"] = metric(base, "suspense_active_streams")
        result["pending_boundaries_after"] = metric(base, "suspense_pending_boundaries")
        closed = 0
        for s in readers:
            s.settimeout(5)
            try:
                while s.recv(65536):
                    pass
                closed += 1
            except (ConnectionResetError, BrokenPipeError):
                closed += 1
            except socket.timeout:
                pass
        result["connections_closed"] = closed
        result["rss_after_kib"] = rss_kib(a.pid)
    for s in readers:
        s.close()
    print(json.dumps(result))
    ok = a.expect_timeout is None or (
        result["connections_closed"] == a.readers and result["active_streams_after"] == 0)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
