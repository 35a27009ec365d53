"""Claims as terminal lines (the pytest run and ``buildgate history --claims`` print the same)."""
from __future__ import annotations

from typing import Any


def one_line(text: Any) -> str:
    """Untrusted text as one printable line: whitespace collapsed, control characters (a
    document's escape sequences) shown as ``?``."""
    return "".join(c if c.isprintable() else "?" for c in " ".join(str(text).split()))


def claim_line(claim: dict[str, Any]) -> str:
    """One judged claim: status, line, text, and what decided it (with ``file:line``)."""
    line = f"{claim['status'].upper():<13} line {claim['line']}: {one_line(claim['text'])}"
    if claim["status"] == "verified":
        return line + (f" [{one_line(claim['check'])}]" if claim.get("check") else "")
    line += f" :: {one_line(claim['reason'])}"
    where = [w for w in claim.get("where", []) if w not in claim["reason"]]
    return line + (f" [at {one_line(', '.join(where[:3]))}]" if where else "")


def clip(line: str, width: int) -> str:
    return line if len(line) <= width else line[: max(width - 1, 1)] + "…"
