"""Typed reads of API objects: every field K5, K6 and their evidence use goes through here.

The cluster answers JSON, and nothing but the API server's good manners says that
``spec.replicas`` is an integer or ``status.conditions`` a list. A field of the wrong type is a
:class:`~buildgate.errors.ProtocolError` (verdict error) naming the field, what was expected,
what was found and the object (``namespace/Kind/name``), never a ``ValueError`` or
``AttributeError`` from deep inside a check. A field that is absent or ``null`` reads as the
default, as the API's own defaulting would have it.
"""
from __future__ import annotations

from typing import Any

from buildgate.errors import ProtocolError

_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", bool: "a boolean",
          float: "a number"}


def describe(value: Any) -> str:
    """``'two' (a string)``: a short, one-line picture of a value for a message."""
    if value is None:
        return "null"
    kind = _NAMES.get(type(value), type(value).__name__)
    text = repr(value)
    if len(text) > 40:
        text = text[:39] + "…"
    return f"{text} ({kind})" if not isinstance(value, (dict, list)) else kind


def malformed(kind: str, path: str, expected: str, value: Any, where: str) -> ProtocolError:
    return ProtocolError(f"malformed {kind} status: {path}: expected {expected}; found {describe(value)}", where)


def ref_of(obj: Any, kind: str, namespace: str | None = None, name: str | None = None) -> str:
    """``namespace/Kind/name`` of ``obj``, from its metadata when it has usable names, else from
    the names the caller asked for (a malformed object still gets named)."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) else namespace
    nm = meta.get("name") if isinstance(meta.get("name"), str) else name
    return f"{ns or '?'}/{kind}/{nm or '?'}"


def get(obj: Any, path: str, want: type | tuple[type, ...], where: str, kind: str, default: Any = None,
        prefix: str = "") -> Any:
    """``obj[a][b]...`` for ``path`` ``"a.b"``, checked to be ``want``; ``default`` when absent or
    null. Booleans are never integers here (JSON ``true`` is not a replica count). ``prefix``
    is where ``obj`` itself sits in its object (``spec.containers[0].``), for the message."""
    wants = want if isinstance(want, tuple) else (want,)
    cur = obj
    walked: list[str] = [prefix.rstrip(".")] if prefix else []
    for key in path.split("."):
        if cur is None:
            return default
        if not isinstance(cur, dict):
            return _raise(kind, ".".join(walked) or "(the object)", (dict,), cur, where)
        walked.append(key)
        cur = cur.get(key)
    if cur is None:
        return default
    if not isinstance(cur, wants) or (isinstance(cur, bool) and bool not in wants):
        return _raise(kind, prefix + path, wants, cur, where)
    return cur


def _raise(kind: str, path: str, wants: tuple[type, ...], value: Any, where: str) -> Any:
    expected = " or ".join(_NAMES.get(w, w.__name__) for w in wants)
    raise malformed(kind, path, expected, value, where)


def _list_of(obj: Any, path: str, where: str, kind: str, prefix: str, item: type, label: str) -> list:
    out = get(obj, path, list, where, kind, [], prefix)
    for i, value in enumerate(out):
        if not isinstance(value, item):
            raise malformed(kind, f"{prefix}{path}[{i}]", label, value, where)
    return out


def objects(obj: Any, path: str, where: str, kind: str, prefix: str = "") -> list[dict]:
    """A list of objects at ``path`` (``[]`` when absent or null); each element must be an object."""
    return _list_of(obj, path, where, kind, prefix, dict, "an object")


def strings(obj: Any, path: str, where: str, kind: str, prefix: str = "") -> list[str]:
    """A list of strings at ``path`` (``[]`` when absent or null)."""
    return _list_of(obj, path, where, kind, prefix, str, "a string")


def text(obj: Any, path: str, where: str, kind: str, default: str = "", prefix: str = "") -> str:
    return get(obj, path, str, where, kind, default, prefix)


def integer(obj: Any, path: str, where: str, kind: str, default: int = 0, prefix: str = "") -> int:
    return get(obj, path, int, where, kind, default, prefix)
