"""Claims as terminal lines (the pytest run and ``buildgate history --claims`` print the same)."""
from __future__ import annotations

from typing import Any

from buildgate.reports.terminal import clip, one_line

__all__ = ["claim_line", "clip", "one_line"]


def claim_line(claim: dict[str, Any]) -> str:
    """One judged claim: status, line, text, and what decided it (with ``file:line``)."""
    line = f"{claim['status'].upper():<13} line {claim['line']}: {one_line(claim['text'])}"
    if claim["status"] == "verified":
        return line + (f" [{one_line(claim['check'])}]" if claim.get("check") else "")
    line += f" :: {one_line(claim['reason'])}"
    where = [w for w in claim.get("where", []) if w not in claim["reason"]]
    return line + (f" [at {one_line(', '.join(where[:3]))}]" if where else "")
