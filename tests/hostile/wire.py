"""A loopback HTTP server that writes raw bytes, so it can misbehave the way a hostile server
would: drip a body one byte at a time, send headers no parser likes, never end a stream,
declare 400 MiB. One request per connection (``Connection: close``); a port from the OS.

``server.route(prefix, handler)``: ``handler(req, wire)`` answers a request whose path starts
with ``prefix`` (longest prefix wins). ``server.seen`` lists every request. ``stop()`` ends
every connection, so no dripping thread outlives its test.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit


@dataclass
class Req:
    method: str
    target: str  # path and query as sent
    headers: dict[str, str]  # lower-case names

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.target).query).items()}


class Stopped(Exception):
    """The server is stopping: the handler ends."""


class Wire:
    """The raw connection of one request."""

    def __init__(self, conn: socket.socket, stopping: threading.Event) -> None:
        self.conn = conn
        self.stopping = stopping

    def send(self, data: bytes) -> None:
        if self.stopping.is_set():
            raise Stopped()
        self.conn.sendall(data)

    def pause(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise Stopped()

    def drip(self, data: bytes, every: float = 0.2) -> None:
        """One byte, then a pause, for as long as ``data`` lasts."""
        for i in range(len(data)):
            self.send(data[i:i + 1])
            self.pause(every)

    def head(self, status: int, headers: dict[str, str] | None = None, reason: str = "X") -> None:
        lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        h = {"Content-Length": str(len(body)), "Connection": "close", **(headers or {})}
        self.head(status, h)
        self.send(body)

    def json(self, status: int, doc: object, headers: dict[str, str] | None = None) -> None:
        self.reply(status, json.dumps(doc).encode(), {"Content-Type": "application/json", **(headers or {})})

    def chunk(self, data: bytes) -> None:
        self.send(b"%x\r\n%s\r\n" % (len(data), data))

    def endless(self, piece: bytes, chunked: bool = True) -> None:
        """Send ``piece`` again and again until the client goes away or the server stops."""
        while True:
            self.chunk(piece) if chunked else self.send(piece)


Handler = Callable[[Req, Wire], None]


class WireServer:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.seen: list[Req] = []
        self.stopping = threading.Event()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(32)
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._accept = threading.Thread(target=self._serve, daemon=True, name="wire-accept")
        self._accept.start()

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def route(self, prefix: str, handler: Handler) -> WireServer:
        self.routes[prefix] = handler
        return self

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
                t = threading.Thread(target=self._one, args=(conn,), daemon=True, name="wire-conn")
                self._threads.append(t)
            t.start()

    def _one(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(30)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                got = conn.recv(4096)
                if not got:
                    return
                data += got
            head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, target, _ = (head[0].split(" ", 2) + ["", ""])[:3]
            headers = {}
            for line in head[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            req = Req(method, target, headers)
            self.seen.append(req)
            path = req.path
            match = max((p for p in self.routes if path.startswith(p)), key=len, default=None)
            wire = Wire(conn, self.stopping)
            if match is None:
                wire.json(404, {"errors": [{"code": "NOT_FOUND"}]})
            else:
                self.routes[match](req, wire)
        except (Stopped, OSError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self) -> None:
        self.stopping.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        except OSError:
            pass
        self._sock.close()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in threads + [self._accept]:
            t.join(timeout=5)
        alive = [t for t in threads if t.is_alive()]
        assert not alive, f"{len(alive)} wire server thread(s) still running"


def wire_servers() -> Iterator[Callable[[], WireServer]]:
    """For a fixture: ``start()`` makes a server; all are stopped at teardown."""
    started: list[WireServer] = []

    def start() -> WireServer:
        s = WireServer()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


class Clock:
    """The hang guard: ``with Clock(limit) as c: ...`` fails the test if the block ran longer
    than ``limit`` seconds (a generous bound, not a speed goal)."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.elapsed = 0.0

    def __enter__(self) -> Clock:
        self._start = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.monotonic() - self._start
        assert self.elapsed < self.limit, f"took {self.elapsed:.1f}s, over the {self.limit:g}s hang guard"
