"""RE2 patterns for untrusted text: a claim document is long and written by anyone."""
from __future__ import annotations

from typing import Any

from buildgate.errors import InputError


def compile_pattern(pattern: str, where: str) -> Any:
    """A case-insensitive pattern, compiled with RE2 (google-re2).

    Claim documents are untrusted and long; Python's backtracking ``re`` can take quadratic or
    exponential time on patterns such as ``\\b(resolved|complete)\\b.*(solution)``. RE2 matches in
    linear time; it refuses backreferences and lookarounds, which is said at ``file:line``.
    """
    import re2

    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise InputError(f"invalid pattern (RE2 syntax: no backreferences or lookarounds): {reason}", where) from None
