"""The HTTP layer under the official ``kubernetes`` client: read-only, no redirects, bounded.

The official client builds the requests (URLs, query, the kubeconfig's TLS and credentials);
:class:`BoundedRest` replaces its ``rest_client`` and sends them through the client's own
urllib3 pool, with these guarantees:

* **read-only**: only GET and HEAD leave; anything else is refused before it is sent;
* **no redirects**: a 3xx comes back as what it is (the reader names the status and the
  target host); urllib3 would otherwise follow it, to another host too;
* **a deadline per request** (:class:`~buildgate.bounded.Deadline`): ``request_timeout``
  bounds each socket read, and a watchdog shuts the socket down when the whole exchange --
  connect, headers, body, or a watch stream -- outlives its deadline. A server that drips one
  byte every two seconds, or a watch that sends BOOKMARKs forever, ends there;
* **a byte cap**: an answer is read in chunks and refused as soon as it passes
  ``max_bytes`` (a ``Content-Length`` over it is refused before reading); a watch stream is
  read line by line, each line and the whole stream capped; error answers are read up to
  :data:`MAX_ERROR_BYTES` (only their Status message matters).

Deadline and cap problems are :class:`~buildgate.errors.Unreachable` /
:class:`~buildgate.errors.ProtocolError` with one-line reasons.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from buildgate.bounded import Deadline
from buildgate.errors import ProtocolError, Unreachable
from buildgate.redact import safe_url

MAX_ERROR_BYTES = 64 * 1024
CHUNK = 64 * 1024
_LOCAL = threading.local()  # the calling thread's in-flight request (its Watchdog)


class Watchdog:
    """Shuts down the socket of one in-flight request when its deadline passes."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.expired = False
        self._conn: Any = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        if deadline.end != float("inf"):
            self._timer = threading.Timer(deadline.remaining(), self.fire)
            self._timer.daemon = True
            self._timer.start()

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conn = conn
            late = self.expired
        if late:
            self._shutdown(conn)

    def fire(self) -> None:
        with self._lock:
            self.expired = True
            conn = self._conn
        if conn is not None:
            self._shutdown(conn)

    @staticmethod
    def _shutdown(conn: Any) -> None:
        sock = getattr(conn, "sock", None)
        if sock is None:
            return
        try:  # the plain-socket shutdown, also under TLS: the blocked read returns at once
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except (OSError, TypeError):
            pass

    def done(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class _Tracked:
    """Mixed into urllib3's connection classes: tell the calling thread's watchdog which
    connection its request runs on (a new one when it connects, a pooled one when it sends)."""

    def connect(self) -> None:
        _note(self)
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> Any:
        _note(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]


def _note(conn: Any) -> None:
    dog = getattr(_LOCAL, "watchdog", None)
    if dog is not None:
        dog.attach(conn)


def _pool_classes() -> dict[str, type]:
    import urllib3
    from urllib3.connection import HTTPConnection, HTTPSConnection

    class Conn(_Tracked, HTTPConnection):
        pass

    class ConnS(_Tracked, HTTPSConnection):
        pass

    class Pool(urllib3.HTTPConnectionPool):
        ConnectionCls = Conn

    class PoolS(urllib3.HTTPSConnectionPool):
        ConnectionCls = ConnS

    return {"http": Pool, "https": PoolS}


class Answer:
    """What :meth:`BoundedRest.request` returns: a ``RESTResponse`` look-alike whose body is
    read under the deadline and the byte cap (all at once with :meth:`read`, or line by line
    with :meth:`lines` for a watch)."""

    def __init__(self, raw: Any, dog: Watchdog, max_bytes: int, where: str) -> None:
        self._raw = raw
        self._dog = dog
        self.max_bytes = max_bytes
        self.where = where
        self.status = raw.status
        self.reason = raw.reason
        self.data: bytes | None = None

    # -- RESTResponse's interface (what the official client touches) --
    @property
    def response(self) -> Answer:
        return self

    @property
    def headers(self) -> Any:
        return self._raw.headers

    def getheaders(self) -> Any:
        return self._raw.headers

    def getheader(self, name: str, default: Any = None) -> Any:
        return self._raw.headers.get(name, default)

    def read(self) -> bytes:
        if self.data is None:
            ok = 200 <= self.status < 300
            self.data = self._read_all(self.max_bytes if ok else MAX_ERROR_BYTES, truncate=not ok)
        return self.data

    # -- bounded reading --
    def _chunks(self) -> Iterator[bytes]:
        import urllib3

        try:
            while True:
                chunk = self._raw.read1(CHUNK)  # what has arrived, up to CHUNK: a watch event at a time
                if self._dog.expired:
                    raise self._late()
                if not chunk:
                    return
                yield chunk
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            if self._dog.expired:
                raise self._late() from None
            raise Unreachable(f"the answer broke off: {type(exc).__name__}", self.where) from None

    def _late(self) -> Unreachable:
        self.close()
        return Unreachable(f"the answer did not arrive within the {self._dog.deadline.seconds:g}s "
                           f"{self._dog.deadline.what} (a server answering too slowly)", self.where)

    def _read_all(self, limit: int, truncate: bool = False) -> bytes:
        length = self._raw.headers.get("content-length")
        if not truncate and length and length.strip().isdigit() and int(length) > limit:
            self.close()
            raise ProtocolError(f"the answer is {int(length)} bytes, over the {limit}-byte limit", self.where)
        parts: list[bytes] = []
        size = 0
        try:
            for chunk in self._chunks():
                size += len(chunk)
                if size > limit:
                    if truncate:
                        parts.append(chunk[: len(chunk) - (size - limit)])
                        break
                    raise ProtocolError(f"the answer is over the {limit}-byte limit", self.where)
                parts.append(chunk)
        finally:
            self.close()
        return b"".join(parts)

    def lines(self, max_line: int) -> Iterator[bytes]:
        """Each non-empty line of a streamed answer (a watch); a line over ``max_line`` bytes,
        or a stream over ``max_bytes`` in all, is a :class:`ProtocolError`."""
        buf = b""
        total = 0
        for chunk in self._chunks():
            total += len(chunk)
            if total > self.max_bytes:
                self.close()
                raise ProtocolError(f"the watch stream passed the {self.max_bytes}-byte limit", self.where)
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    yield line
            if len(buf) > max_line:
                self.close()
                raise ProtocolError(f"a watch event is over the {max_line}-byte limit", self.where)
        if buf.strip():
            yield buf

    @property
    def expired(self) -> bool:
        return self._dog.expired

    def close(self) -> None:
        self._dog.done()
        try:
            self._raw.release_conn()
            self._raw.close()
        except Exception:  # closing a broken connection: nothing to report  # noqa: BLE001
            pass


class BoundedRest:
    """Stands in for the official client's ``RESTClientObject`` (same ``request`` signature)."""

    def __init__(self, original: Any, *, request_deadline: float, max_bytes: int) -> None:
        self.configuration = original.configuration
        self.pool_manager = original.pool_manager
        self.pool_manager.pool_classes_by_scheme = _pool_classes()
        self.request_deadline = request_deadline
        self.max_bytes = max_bytes
        self._local = threading.local()

    @contextmanager
    def limits(self, deadline: Deadline | None = None, max_bytes: int | None = None) -> Iterator[None]:
        """Requests made by this thread inside the block get this deadline and byte cap."""
        old = getattr(self._local, "limits", None)
        self._local.limits = (deadline, max_bytes)
        try:
            yield
        finally:
            self._local.limits = old

    def close(self) -> None:
        self.pool_manager.clear()

    def request(self, method: str, url: str, headers: dict | None = None, body: Any = None,
                post_params: Any = None, _request_timeout: Any = None) -> Answer:
        import urllib3

        where = safe_url(url)
        if method not in ("GET", "HEAD") or body is not None or post_params:
            raise ProtocolError(f"buildgate is read-only: refusing to send {method}", where)
        deadline, max_bytes = getattr(self._local, "limits", None) or (None, None)
        deadline = deadline or Deadline(self.request_deadline, "request deadline")
        timeout = None
        if isinstance(_request_timeout, tuple) and len(_request_timeout) == 2:
            timeout = urllib3.Timeout(connect=_request_timeout[0], read=_request_timeout[1])
        elif isinstance(_request_timeout, (int, float)):
            timeout = urllib3.Timeout(connect=_request_timeout, read=_request_timeout)
        dog = Watchdog(deadline)
        _LOCAL.watchdog = dog
        try:
            raw = self.pool_manager.request(method, url, fields={}, headers=headers or {}, timeout=timeout,
                                            preload_content=False, redirect=False, retries=False)
        except (urllib3.exceptions.HTTPError, OSError):
            dog.done()
            if dog.expired:
                raise Unreachable(f"no answer within the {deadline.seconds:g}s {deadline.what} "
                                  f"(a server answering too slowly)", where) from None
            raise
        finally:
            _LOCAL.watchdog = None
        answer = Answer(raw, dog, max_bytes or self.max_bytes, where)
        if not _is_watch(url) or not 200 <= raw.status < 300:
            answer.read()
        return answer


def _is_watch(url: str) -> bool:
    q = parse_qs(urlsplit(url).query)
    return any(v.lower() in ("true", "1") for v in q.get("watch", []))


def install(api_client: Any, *, request_deadline: float, max_bytes: int) -> BoundedRest:
    """Put a :class:`BoundedRest` under ``api_client`` (an official ``ApiClient``)."""
    rest = BoundedRest(api_client.rest_client, request_deadline=request_deadline, max_bytes=max_bytes)
    api_client.rest_client = rest
    return rest
