"""Bounds on what a remote server can make buildgate spend: wall time and memory.

A registry or an API server that is slow on purpose (a body sent one byte per second, a watch
that never ends) or generous on purpose (a 400 MiB answer, JSON nested 200,000 deep) must end
in a one-line error, never a hang, a ``MemoryError`` or a ``RecursionError``.

* :class:`Deadline`: the wall-clock end of one request or one wait (``time.monotonic``);
* :class:`RunBudget`: the total seconds one run may spend talking to a remote; every request's
  deadline is cut to what is left of it;
* :func:`loads_json`: ``json.loads`` whose failures (bad JSON, nesting deeper than the parser's
  stack) are a :class:`~buildgate.errors.ProtocolError` naming what was parsed and where.

Socket-level timeouts bound each read; these bound the whole.
"""
from __future__ import annotations

import json
import math
import threading
import time
from typing import Any

from buildgate.errors import ProtocolError


class Deadline:
    """``seconds`` from now (``math.inf`` never ends)."""

    __slots__ = ("end", "seconds", "what")

    def __init__(self, seconds: float, what: str = "request") -> None:
        self.seconds = seconds
        self.what = what
        self.end = time.monotonic() + seconds if math.isfinite(seconds) else math.inf

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.end

    def cap(self, timeout: float | None) -> float:
        """A per-operation timeout cut to what is left (never ``None``: 0 when expired)."""
        left = self.remaining()
        return left if timeout is None else min(timeout, left)


class RunBudget:
    """Seconds a run may spend on one remote in total, charged as requests complete."""

    def __init__(self, seconds: float, what: str = "run") -> None:
        self.seconds = seconds
        self.what = what
        self._spent = 0.0
        self._lock = threading.Lock()

    @property
    def spent(self) -> float:
        return self._spent

    def remaining(self) -> float:
        return max(0.0, self.seconds - self._spent)

    def charge(self, seconds: float) -> None:
        with self._lock:
            self._spent += max(0.0, seconds)

    def deadline(self, per_request: float, what: str = "request") -> Deadline:
        """A request's deadline: ``per_request`` seconds, or what is left of the run if less."""
        left = self.remaining()
        if left < per_request:
            return Deadline(left, f"{self.what} budget")
        return Deadline(per_request, what)


def loads_json(raw: bytes | str, what: str, where: str | None = None) -> Any:
    """Parse JSON from a remote; malformed or absurdly nested input is a :class:`ProtocolError`."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ProtocolError(f"{what} is JSON nested too deeply to parse", where) from None
    except (ValueError, TypeError):
        raise ProtocolError(f"{what} is not valid JSON", where) from None
