#!/usr/bin/env python3
"""scripts/stalled-kernel.py: what clients that stop reading cost the host's
kernel (docs/hardening.md, "What a stalled reader costs the kernel").

Opens READERS connections with a small receive buffer to URL, asks each for
the page and never reads. Then, from `ss -tm`, it sums the kernel memory of
every socket on the server's side: each socket whose local or remote port is
one of PORTS (the server's, and an edge's instances'), the readers' own
sockets left out. It reports that total while they are stalled, and again
AFTER seconds later (past the send timeout): what is left, in which states
(an orphan is a FIN-WAIT socket still holding its queue). Last, each reader
reads what still comes to it for up to 5 s: a reset connection gives only
what its own buffer held, a normally closed one the rest of the page. One
JSON object on stdout.

    scripts/stalled-kernel.py URL PORT [PORT...] [--readers 50] [--after 15]
"""
import argparse
import json
import re
import socket
import subprocess
import time
import urllib.parse


def sockets():
    """(state, local port, remote port, recv bytes, send bytes) per TCP
    socket; bytes are skmem's r and w (data and the kernel's overhead)."""
    out = subprocess.run(["ss", "-tmnH", "state", "all"], capture_output=True,
                         text=True, check=True).stdout
    found, current = [], None
    for line in out.splitlines():
        if not line.startswith(("\t", " ")):
            fields = line.split()
            if len(fields) < 5:
                continue
            current = [fields[0], int(fields[3].rsplit(":", 1)[1]),
                       int(fields[4].rsplit(":", 1)[1]) if fields[4][-1] != "*" else 0, 0, 0]
            found.append(current)
        elif current is not None and "skmem:(" in line:
            skmem = dict(re.findall(r"([a-z]+)(\d+)", line.split("skmem:(")[1].split(")")[0]))
            current[3], current[4] = int(skmem.get("r", 0)), int(skmem.get("w", 0))
    return found


def sockstat():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                v = line.split()[1:]
                return dict(zip(v[::2], map(int, v[1::2])))
    return {}


def server_side(ports, clients):
    return [s for s in sockets()
            if (s[1] in ports or s[2] in ports) and s[1] not in clients and s[0] != "LISTEN"]


def summary(socks, readers, ports):
    states, parts = {}, {}
    for s in socks:
        states[s[0]] = states.get(s[0], 0) + 1
        # Which side: accepted on a port of ours, or connected to one (an
        # edge's connections to its instances).
        part = f"on :{s[1]}" if s[1] in ports else f"to :{s[2]}"
        kib = parts.setdefault(part, {"recv_kib": 0, "send_kib": 0})
        kib["recv_kib"] += s[3] / 1024
        kib["send_kib"] += s[4] / 1024
    parts = {k: {n: round(v) for n, v in kib.items()} for k, kib in parts.items()}
    recv, send = sum(s[3] for s in socks), sum(s[4] for s in socks)
    return {"sockets": len(socks), "states": states, "by_side": parts,
            "recv_kib": round(recv / 1024), "send_kib": round(send / 1024),
            "kib_per_reader": round((recv + send) / 1024 / readers, 1),
            "max_send_kib_one_socket": round(max([s[4] for s in socks] or [0]) / 1024, 1)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("ports", type=int, nargs="+")
    p.add_argument("--readers", type=int, default=50)
    p.add_argument("--rcvbuf", type=int, default=4096)
    p.add_argument("--after", type=float, default=15, help="seconds after the last reader asked")
    a = p.parse_args()
    u = urllib.parse.urlsplit(a.url)
    target = u.path + ("?" + u.query if u.query else "")
    ports = set(a.ports)
    before = sockstat()

    readers = []
    for _ in range(a.readers):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        s.connect((u.hostname, u.port))
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {u.netloc}\r\n\r\n".encode())
        readers.append(s)
    asked = time.monotonic()
    clients = {s.getsockname()[1] for s in readers}

    # Stalled: sampled until the total stops growing (2 s within 1%).
    peak, last, steady_since = None, -1, time.monotonic()
    while time.monotonic() - asked < 20:
        time.sleep(0.25)
        now = summary(server_side(ports, clients), a.readers, ports)
        total = now["recv_kib"] + now["send_kib"]
        if peak is None or total > peak["recv_kib"] + peak["send_kib"]:
            peak = now
        if abs(total - last) > max(last, 1) * 0.01:
            last, steady_since = total, time.monotonic()
        elif time.monotonic() - steady_since >= 2:
            break
    held = sockstat()

    time.sleep(max(0.0, a.after - (time.monotonic() - asked)))
    after = summary(server_side(ports, clients), a.readers, ports)
    after_stat = sockstat()

    # What still reaches the readers once the server has given up on them.
    got, reset = 0, 0
    deadline = time.monotonic() + 5
    for s in readers:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += len(chunk)
        except ConnectionResetError:
            reset += 1
        except (socket.timeout, TimeoutError):
            pass
    for s in readers:
        s.close()
    print(json.dumps({
        "url": a.url, "readers": a.readers, "rcvbuf": a.rcvbuf,
        "stalled": peak, "after": {"seconds": a.after, **after},
        "read_after_kib": round(got / 1024), "readers_reset": reset,
        "sockstat_tcp_mem_pages": {"before": before.get("mem"), "stalled": held.get("mem"),
                                   "after": after_stat.get("mem")},
        "sockstat_orphans": {"before": before.get("orphan"), "stalled": held.get("orphan"),
                             "after": after_stat.get("orphan")},
    }))


if __name__ == "__main__":
    main()
