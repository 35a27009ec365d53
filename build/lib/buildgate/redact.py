"""The one place buildgate keeps credentials out of its output.

* :class:`Secret` holds a credential (a token, a password, a ready ``Authorization`` value).
  Its ``repr`` and ``str`` are ``Secret('***')``, so a secret that reaches a message, a
  ``--showlocals`` traceback or pytest's ``--junitxml`` by mistake prints nothing. Code that
  must send it calls :meth:`Secret.reveal` at the last moment, inside the call expression.
* :func:`safe_url` is a URL fit for a message: no userinfo, no query string (signed URLs carry
  their signature there), no fragment. :func:`origin_of` is the address of a server without
  userinfo. (Repository URLs are compared by :mod:`buildgate.repo_url`, which drops userinfo.)
* :func:`redact` masks credential-shaped substrings of free text (``Bearer …``, JWTs, GitHub
  tokens, ``password=…``, ``user:pass@`` in URLs) and any literal secrets, keeps one line and
  caps the length. Evidence built from what a remote says goes through it.

The registry, cluster and GitOps layers use these; nothing else redacts on its own.
"""
from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import urlsplit, urlunsplit

MAX_LINE = 300
MASK = "[REDACTED]"


class Secret:
    """A string that never prints itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        self._value = str(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


def reveal(value: object) -> object:
    """``value.reveal()`` for a :class:`Secret`, ``value`` otherwise (for header dicts)."""
    return value.reveal() if isinstance(value, Secret) else value


def safe_url(url: object) -> str:
    """A URL safe for messages: no userinfo, no query string, no fragment."""
    try:
        parts = urlsplit(str(url))
        netloc = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<invalid url>"


def origin_of(url: object) -> str:
    """``scheme://host[:port]`` of ``url``, without userinfo (``?`` for an unparsable one)."""
    try:
        parts = urlsplit(str(url or ""))
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:
        return "<invalid url>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{':' + str(port) if port else ''}"


_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    (re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), MASK),
    (re.compile(r"(?i)\b([a-z0-9_.-]*(?:password|passwd|token|secret|api[_-]?key|access[_-]?key|credentials?))"
                r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;]+)"), r"\1\2" + MASK),
    (re.compile(r"(?i)(://)(?!git@)[^/\s@]+@"), r"\1" + MASK + "@"),  # any userinfo but ssh's ``git@``
]


def redact(text: object, secrets: Iterable[str | Secret] = ()) -> str:
    """Mask credential-shaped substrings (and any literal ``secrets``), keep one line, cap length."""
    out = " ".join(str(text).split())
    for s in secrets:
        value = s.reveal() if isinstance(s, Secret) else s
        if value:
            out = out.replace(value, MASK)
    for rx, repl in _PATTERNS:
        out = rx.sub(repl, out)
    return out if len(out) <= MAX_LINE else out[: MAX_LINE - 1] + "…"
