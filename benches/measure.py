#!/usr/bin/env python3
"""Measure one server on the benchmark page (benches/PAGE.md).

Python 3.11 standard library only: asyncio + raw sockets, HTTP/1.1.

Modes (all print one JSON object on stdout):

  single      BASE PATH   one request (or --repeat R sequential ones) and its
                          timeline: connect, headers, first body byte, every
                          socket read and every HTTP chunk (de-chunked) with
                          arrival time and size, last byte, and in which chunk
                          / at what time each section marker id="s{i}"
                          arrived.
  concurrent  BASE PATH   -c C connections at once, one request each, all
                          bounded by --timeout; counts complete + correct
                          responses vs failures (by reason), latency
                          distribution, how many were held open at once.
  rss         --pid PID   only sample the memory of PID (and its children)
                          for --duration seconds.

--pid PID (repeatable) in any mode samples VmRSS of that process and all its
descendants every --interval ms while the measurement runs, and reads VmHWM
(each process's lifetime peak) at the end.

Times are milliseconds. In single mode they count from the moment the
request was written to the socket (connect time is reported on its own).

Examples:
  ./measure.py single http://127.0.0.1:3001 '/bench?delay=1000&boundaries=3'
  ./measure.py concurrent http://127.0.0.1:3001 '/bench?delay=2000' -c 2000 \
      --timeout 30 --pid "$SERVER_PID"
  ./measure.py rss --pid "$SERVER_PID" --duration 12
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

TEXT_ESCAPED_PREFIX = b"Tom &amp; Jerry &lt;say&gt; "
RAW_TEXT = b"<say>"
SHELL_END = b"</main>"
LI_RE = re.compile(rb"<li[\s>/]")


def now_ms() -> float:
    return time.perf_counter_ns() / 1e6


# --------------------------------------------------------------- HTTP parsing


class ProtocolError(Exception):
    pass


class ResponseParser:
    """Incremental HTTP/1.1 response parser that de-chunks the body.

    feed(data) returns a list of events:
      ("headers", status, headers_list)
      ("data", bytes, chunk_index)        body bytes (chunk_index None if not chunked)
      ("chunk_end", chunk_index, size)    an HTTP chunk is complete
      ("end",)                             the message is complete
    """

    MAX_HEAD = 64 * 1024

    def __init__(self, head_request: bool = False):
        self.head_request = head_request
        self.state = "head"
        self.buf = bytearray()
        self.status = None
        self.headers: list[tuple[str, str]] = []
        self.framing = None  # "chunked" | "content-length" | "close" | "none"
        self.remaining = 0
        self.chunk_index = -1
        self.chunk_size = 0
        self.keep_alive = True

    def header(self, name: str):
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def feed(self, data: bytes) -> list:
        ev: list = []
        if data:
            self.buf += data
        while True:
            st = self.state
            if st == "head":
                i = self.buf.find(b"\r\n\r\n")
                if i < 0:
                    if len(self.buf) > self.MAX_HEAD:
                        raise ProtocolError("header too large")
                    return ev
                head = bytes(self.buf[:i]).decode("latin-1")
                del self.buf[: i + 4]
                lines = head.split("\r\n")
                m = re.match(r"HTTP/1\.([01]) (\d{3})", lines[0])
                if not m:
                    raise ProtocolError("bad status line: %r" % lines[0][:80])
                self.status = int(m.group(2))
                for ln in lines[1:]:
                    k, _, v = ln.partition(":")
                    self.headers.append((k.strip().lower(), v.strip()))
                conn = (self.header("connection") or "").lower()
                self.keep_alive = m.group(1) == "1" and "close" not in conn
                ev.append(("headers", self.status, self.headers))
                te = (self.header("transfer-encoding") or "").lower()
                cl = self.header("content-length")
                if self.head_request or self.status in (204, 304) or 100 <= self.status < 200:
                    self.framing = "none"
                    self.state = "done"
                elif "chunked" in te:
                    self.framing = "chunked"
                    self.state = "chunk_size"
                elif cl is not None:
                    self.framing = "content-length"
                    self.remaining = int(cl)
                    self.state = "length" if self.remaining > 0 else "done"
                else:
                    self.framing = "close"
                    self.state = "close"
            elif st == "chunk_size":
                i = self.buf.find(b"\r\n")
                if i < 0:
                    if len(self.buf) > 4096:
                        raise ProtocolError("chunk size line too long")
                    return ev
                line = bytes(self.buf[:i]).split(b";", 1)[0].strip()
                del self.buf[: i + 2]
                try:
                    size = int(line, 16)
                except ValueError:
                    raise ProtocolError("bad chunk size %r" % line[:40])
                if size == 0:
                    self.state = "trailers"
                else:
                    self.chunk_index += 1
                    self.chunk_size = size
                    self.remaining = size
                    self.state = "chunk_data"
            elif st == "chunk_data":
                if not self.buf:
                    return ev
                take = min(self.remaining, len(self.buf))
                ev.append(("data", bytes(self.buf[:take]), self.chunk_index))
                del self.buf[:take]
                self.remaining -= take
                if self.remaining == 0:
                    ev.append(("chunk_end", self.chunk_index, self.chunk_size))
                    self.state = "chunk_crlf"
                else:
                    return ev
            elif st == "chunk_crlf":
                if len(self.buf) < 2:
                    return ev
                if self.buf[:2] != b"\r\n":
                    raise ProtocolError("missing CRLF after chunk data")
                del self.buf[:2]
                self.state = "chunk_size"
            elif st == "trailers":
                i = self.buf.find(b"\r\n")
                if i < 0:
                    return ev
                line = self.buf[:i]
                del self.buf[: i + 2]
                if not line:
                    self.state = "done"
            elif st == "length":
                if not self.buf:
                    return ev
                take = min(self.remaining, len(self.buf))
                ev.append(("data", bytes(self.buf[:take]), None))
                del self.buf[:take]
                self.remaining -= take
                if self.remaining == 0:
                    self.state = "done"
                else:
                    return ev
            elif st == "close":
                if self.buf:
                    ev.append(("data", bytes(self.buf), None))
                    self.buf.clear()
                return ev
            elif st == "done":
                ev.append(("end",))
                self.state = "finished"
                return ev
            else:  # finished
                return ev

    def feed_eof(self) -> list:
        if self.state == "close":
            self.state = "finished"
            return [("end",)]
        if self.state in ("done",):
            return self.feed(b"")
        if self.state == "finished":
            return []
        raise ProtocolError("connection closed in state %s" % self.state)


# --------------------------------------------------------------- validation


def page_params(path: str, boundaries: int | None, items: int | None) -> tuple[int, int]:
    q = parse_qs(urlsplit(path).query, keep_blank_values=True)

    def get(name, dflt):
        v = q.get(name)
        try:
            return int(v[0]) if v else dflt
        except ValueError:
            return dflt

    n = boundaries if boundaries is not None else get("boundaries", 3)
    k = items if items is not None else get("items", 20)
    return n, k


def markers(n: int) -> list[bytes]:
    return [b'id="s%d"' % i for i in range(n)]


def validate(status: int | None, body: bytes, n: int, k: int) -> str | None:
    """None if the response is a complete, correct benchmark page, else why not."""
    if status != 200:
        return "status_%s" % status
    for i, m in enumerate(markers(n)):
        c = body.count(m)
        if c != 1:
            return "section_s%d_count_%d" % (i, c)
    li = len(LI_RE.findall(body))
    if li != n * k:
        return "li_count_%d_want_%d" % (li, n * k)
    if body.count(TEXT_ESCAPED_PREFIX) != n * k:
        return "escaped_text_count_%d_want_%d" % (body.count(TEXT_ESCAPED_PREFIX), n * k)
    if RAW_TEXT in body:
        return "unescaped_text"
    if b"end of page" not in body or b"</html>" not in body.lower():
        return "no_page_end"
    return None


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    idx = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return round(s[idx], 3)


def dist(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "min": round(min(values), 3),
        "p50": pct(values, 50),
        "p90": pct(values, 90),
        "p99": pct(values, 99),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


# --------------------------------------------------------------- memory


def _read_status_kb(pid: int) -> dict:
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith(("VmRSS:", "VmHWM:")):
                    k, v = ln.split(":", 1)
                    out[k] = int(v.split()[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return out


def _descendants(roots: list[int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        rest = s.rsplit(")", 1)[-1].split()
        if len(rest) > 1:
            children.setdefault(int(rest[1]), []).append(int(d))
    seen, stack = [], list(roots)
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.append(p)
        stack.extend(children.get(p, []))
    return sorted(seen)


class RssSampler:
    """Samples the summed VmRSS of the given processes and their descendants."""

    def __init__(self, pids: list[int], interval_ms: float = 50, tree: bool = True):
        self.roots = pids
        self.interval = interval_ms / 1000.0
        self.tree = tree
        self.pids = _descendants(pids) if tree else list(pids)
        self.samples = 0
        self.peak_kb = 0
        self.peak_per_pid: dict[int, int] = {}
        self.before_kb = self._sum()
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._run, daemon=True)

    def _sum(self) -> int:
        total = 0
        for p in self.pids:
            kb = _read_status_kb(p).get("VmRSS", 0)
            total += kb
            if kb > self.peak_per_pid.get(p, 0):
                self.peak_per_pid[p] = kb
        return total

    def _run(self):
        last_scan = time.monotonic()
        while not self._stop.is_set():
            if self.tree and time.monotonic() - last_scan > 1.0:
                self.pids = _descendants(self.roots)
                last_scan = time.monotonic()
            s = self._sum()
            self.samples += 1
            self.peak_kb = max(self.peak_kb, s)
            self._stop.wait(self.interval)

    def start(self):
        self._th.start()
        return self

    def stop(self) -> dict:
        self._stop.set()
        self._th.join()
        after = self._sum()
        self.peak_kb = max(self.peak_kb, after, self.before_kb)
        hwm = {str(p): _read_status_kb(p).get("VmHWM") for p in self.pids}
        return {
            "pids": self.pids,
            "samples": self.samples,
            "interval_ms": self.interval * 1000,
            "rss_before_kb": self.before_kb,
            "rss_peak_sampled_kb": self.peak_kb,
            "rss_after_kb": after,
            "rss_peak_sampled_per_pid_kb": {str(k): v for k, v in self.peak_per_pid.items()},
            "vmhwm_kb": hwm,
            "vmhwm_sum_kb": sum(v for v in hwm.values() if v),
            "note": "rss_peak_sampled_kb = max over samples of the summed VmRSS during the run; "
            "VmHWM = each process's lifetime peak RSS (includes anything before this run)",
        }


# --------------------------------------------------------------- single mode


def build_request(host: str, port: int, path: str, close: bool = True, method: str = "GET") -> bytes:
    hosthdr = host if port == 80 else "%s:%d" % (host, port)
    return (
        "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: bench-measure/1\r\nAccept: */*\r\n"
        "%s\r\n" % (method, path, hosthdr, "Connection: close\r\n" if close else "")
    ).encode("latin-1")


def parse_base(base: str) -> tuple[str, int]:
    u = urlsplit(base)
    if u.scheme != "http":
        sys.exit("only http:// base URLs are supported")
    return u.hostname or "127.0.0.1", u.port or 80


async def single_run(host, port, path, n, k, timeout, keep_reads=True) -> dict:
    r: dict = {"path": path}
    t_c0 = now_ms()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    t_conn = now_ms()
    r["connect_ms"] = round(t_conn - t_c0, 3)
    writer.write(build_request(host, port, path))
    await writer.drain()
    t0 = now_ms()
    deadline = t0 + timeout * 1000

    parser = ResponseParser()
    body = bytearray()
    reads, chunks, open_chunks = [], [], {}
    found: dict[int, dict] = {}
    mk = markers(n)
    t_headers = t_first = t_last = t_shell = None
    read_i = -1
    try:
        while parser.state != "finished":
            left = (deadline - now_ms()) / 1000
            if left <= 0:
                raise asyncio.TimeoutError
            data = await asyncio.wait_for(reader.read(65536), left)
            t = now_ms() - t0
            if not data:
                events = parser.feed_eof()
            else:
                read_i += 1
                body_in_read = 0
                events = parser.feed(data)
            for e in events:
                if e[0] == "headers":
                    t_headers = t
                    r["status"] = e[1]
                    r["headers"] = {k_: v for k_, v in e[2]}
                elif e[0] == "data":
                    piece, ci = e[1], e[2]
                    if t_first is None:
                        t_first = t
                    t_last = t
                    start = len(body)
                    body += piece
                    body_in_read += len(piece)
                    if ci is not None and ci not in open_chunks:
                        open_chunks[ci] = {"index": ci, "t_first_ms": round(t, 3), "read": read_i}
                    # markers (search a little before `start` for split markers)
                    for i, m in enumerate(mk):
                        if i in found:
                            continue
                        pos = body.find(m, max(0, start - len(m)))
                        if pos >= 0:
                            found[i] = {"t_ms": round(t, 3), "read": read_i, "offset": pos}
                            if ci is not None:
                                found[i]["http_chunk"] = ci if pos >= start else _chunk_of(chunks, open_chunks, pos)
                    if t_shell is None and body.find(SHELL_END, max(0, start - len(SHELL_END))) >= 0:
                        t_shell = t
                elif e[0] == "chunk_end":
                    c = open_chunks.pop(e[1])
                    c["size"] = e[2]
                    c["t_ms"] = round(t, 3)
                    c["end_offset"] = len(body)
                    chunks.append(c)
            if data:
                reads.append({"t_ms": round(t, 3), "bytes": len(data), "body_bytes": body_in_read})
            else:
                break
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except Exception:
            pass

    r["framing"] = parser.framing
    r["headers_ms"] = _r(t_headers)
    r["first_body_byte_ms"] = _r(t_first)
    r["first_body_byte_after_headers_ms"] = _r(t_first - t_headers) if t_first is not None else None
    r["shell_complete_ms"] = _r(t_shell)
    r["last_byte_ms"] = _r(t_last)
    r["body_bytes"] = len(body)
    r["n_reads"] = len(reads)
    r["n_http_chunks"] = len(chunks)
    r["sections"] = {"s%d" % i: found.get(i) for i in range(n)}
    order = sorted(found, key=lambda i: (found[i]["t_ms"], found[i]["offset"]))
    r["section_order"] = ["s%d" % i for i in order]
    r["valid"] = validate(r.get("status"), bytes(body), n, k) is None
    r["invalid_reason"] = validate(r.get("status"), bytes(body), n, k)
    if keep_reads:
        r["http_chunks"] = [
            {"index": c["index"], "t_ms": c["t_ms"], "size": c["size"], "read": c["read"]} for c in chunks
        ]
        r["reads"] = reads
    return r


def _chunk_of(chunks, open_chunks, pos):
    start = 0
    for c in chunks:
        if pos < c["end_offset"]:
            return c["index"]
        start = c["end_offset"]
    return next(iter(open_chunks), None)


def _r(x):
    return None if x is None else round(x, 3)


async def mode_single(a) -> dict:
    host, port = parse_base(a.base)
    n, k = page_params(a.path, a.boundaries, a.items)
    runs = []
    for i in range(a.repeat):
        runs.append(await single_run(host, port, a.path, n, k, a.timeout, keep_reads=not a.brief))
        if a.pause_ms and i + 1 < a.repeat:
            await asyncio.sleep(a.pause_ms / 1000)
    out = {"mode": "single", "base": a.base, "path": a.path, "boundaries": n, "items": k}
    if a.repeat == 1:
        out.update(runs[0])
    else:
        out["runs"] = runs
        summ = {}
        for key in ("connect_ms", "first_body_byte_ms", "shell_complete_ms", "last_byte_ms"):
            vals = [r[key] for r in runs if r.get(key) is not None]
            summ[key] = dist(vals)
        for i in range(n):
            vals = [r["sections"]["s%d" % i]["t_ms"] for r in runs if r["sections"].get("s%d" % i)]
            summ["s%d_ms" % i] = dist(vals)
        summ["valid"] = sum(1 for r in runs if r["valid"])
        out["summary"] = summ
    return out


# --------------------------------------------------------------- concurrent mode


async def mode_concurrent(a) -> dict:
    host, port = parse_base(a.base)
    n, k = page_params(a.path, a.boundaries, a.items)
    req = build_request(host, port, a.path)
    C = a.connections
    state = {"in_flight": 0, "max_in_flight": 0, "connected": 0}
    results: list[dict] = [None] * C  # type: ignore

    async def one(idx: int):
        if a.ramp_ms:
            await asyncio.sleep(a.ramp_ms / 1000.0 * idx / C)
        res = {"ok": False}
        results[idx] = res
        t_s = now_ms()
        writer = None
        connected = False
        try:
            reader, writer = await asyncio.open_connection(host, port)
            connected = True
            t_c = now_ms()
            res["connect_ms"] = t_c - t_s
            state["connected"] += 1
            state["in_flight"] += 1
            state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
            writer.write(req)
            await writer.drain()
            t0 = now_ms()
            parser = ResponseParser()
            body = bytearray()
            while parser.state != "finished":
                data = await reader.read(65536)
                evs = parser.feed(data) if data else parser.feed_eof()
                for e in evs:
                    if e[0] == "data":
                        if "ttfb_ms" not in res:
                            res["ttfb_ms"] = now_ms() - t0
                        body += e[1]
                if not data:
                    break
            res["total_ms"] = now_ms() - t_s
            reason = validate(parser.status, bytes(body), n, k)
            if reason is None:
                res["ok"] = True
            else:
                res["reason"] = reason
        except asyncio.CancelledError:
            res["reason"] = "timeout" if connected else "timeout_connecting"
            raise
        except ProtocolError as e:
            res["reason"] = "protocol:" + str(e)[:60]
        except OSError as e:
            res["reason"] = "oserror:%s" % (e.__class__.__name__ if e.errno is None else os.strerror(e.errno))
        except Exception as e:  # noqa: BLE001
            res["reason"] = "error:" + e.__class__.__name__
        finally:
            if connected:
                state["in_flight"] -= 1
            if writer is not None:
                writer.close()

    sampler = RssSampler(a.pid, a.interval).start() if a.pid else None
    t_start = now_ms()
    tasks = [asyncio.create_task(one(i)) for i in range(C)]
    done, pending = await asyncio.wait(tasks, timeout=a.timeout)
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)
    wall = now_ms() - t_start
    mem = sampler.stop() if sampler else None

    ok = [r for r in results if r and r["ok"]]
    reasons: dict[str, int] = {}
    for r in results:
        if not r or not r["ok"]:
            why = (r or {}).get("reason", "not_started")
            reasons[why] = reasons.get(why, 0) + 1
    out = {
        "mode": "concurrent",
        "base": a.base,
        "path": a.path,
        "boundaries": n,
        "items": k,
        "connections": C,
        "timeout_s": a.timeout,
        "ramp_ms": a.ramp_ms,
        "wall_ms": round(wall, 1),
        "complete_ok": len(ok),
        "failed": C - len(ok),
        "failures_by_reason": reasons,
        "max_connections_held_at_once": state["max_in_flight"],
        "latency_total_ms": dist([r["total_ms"] for r in ok]),
        "ttfb_ms": dist([r["ttfb_ms"] for r in ok if "ttfb_ms" in r]),
        "connect_ms": dist([r["connect_ms"] for r in results if r and "connect_ms" in r]),
    }
    if mem:
        out["memory"] = mem
    return out


async def mode_rss(a) -> dict:
    if not a.pid:
        sys.exit("rss mode needs --pid")
    s = RssSampler(a.pid, a.interval).start()
    await asyncio.sleep(a.duration)
    return {"mode": "rss", "duration_s": a.duration, "memory": s.stop()}


# --------------------------------------------------------------- main


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)

    def common(sp, url=True):
        if url:
            sp.add_argument("base", help="base URL, e.g. http://127.0.0.1:3001")
            sp.add_argument("path", nargs="?", default="/bench", help="path + query (default /bench)")
            sp.add_argument("--boundaries", type=int, help="N to expect (default: from the query, else 3)")
            sp.add_argument("--items", type=int, help="K to expect (default: from the query, else 20)")
        sp.add_argument("--pid", type=int, action="append", default=[], help="server PID to sample RSS of (repeatable; children included)")
        sp.add_argument("--interval", type=float, default=50, help="RSS sampling interval in ms (default 50)")
        sp.add_argument("--out", help="also write the JSON here")

    s1 = sub.add_parser("single", help="timeline of one request")
    common(s1)
    s1.add_argument("--timeout", type=float, default=70, help="seconds (default 70)")
    s1.add_argument("--repeat", type=int, default=1)
    s1.add_argument("--pause-ms", type=float, default=0, help="pause between repeats")
    s1.add_argument("--brief", action="store_true", help="leave out the per-read / per-chunk lists")

    s2 = sub.add_parser("concurrent", help="C concurrent connections, one request each")
    common(s2)
    s2.add_argument("-c", "--connections", type=int, default=2000)
    s2.add_argument("--timeout", type=float, default=30, help="total time bound in seconds (default 30)")
    s2.add_argument("--ramp-ms", type=float, default=0, help="spread connection starts over this many ms (default 0: all at once)")

    s3 = sub.add_parser("rss", help="sample a process's memory for a while")
    common(s3, url=False)
    s3.add_argument("--duration", type=float, default=10)

    a = p.parse_args(argv)
    raise_nofile()
    if a.mode == "single":
        sampler = RssSampler(a.pid, a.interval).start() if a.pid else None
        out = asyncio.run(mode_single(a))
        if sampler:
            out["memory"] = sampler.stop()
    elif a.mode == "concurrent":
        out = asyncio.run(mode_concurrent(a))
    else:
        out = asyncio.run(mode_rss(a))
    text = json.dumps(out, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
