"""The closing table of a run: one line per checked criterion, then the summary."""
from __future__ import annotations

from typing import Any

from buildgate.verdict import Verdict


def terminal_lines(report: dict[str, Any], width: int = 100) -> list[str]:
    """One line per criterion that was checked (message on all but a pass), then the counts."""
    lines = []
    for cid, c in report["criteria"].items():
        if c["verdict"] == Verdict.NOT_CHECKED:
            continue
        line = f"{cid:<4} {c['verdict'].upper():<8} {c['title']}"
        if c["verdict"] != Verdict.PASS:
            line += f" :: {' '.join(str(c['message']).split())}"
        lines.append(line if len(line) <= width else line[: width - 1] + "…")
    s = report["summary"]
    waived = f", {s['waived']} waived" if s.get("waived") else ""
    lines.append(
        f"criteria: {s['pass']} pass, {s['fail']} fail, {s['error']} error, "
        f"{s['skipped']} skipped{waived}, {s['not_checked']} not checked"
    )
    return lines


def gate_line(report: dict[str, Any]) -> str:
    """``gate: open`` or ``gate: closed by W2 fail, …`` (or by an interruption)."""
    g = report["gate"]
    if g.get("interrupted"):
        return "gate: closed (the run was interrupted)"
    if g["open"]:
        return "gate: open"
    return "gate: closed by " + ", ".join(f"{k} {v}" for k, v in g["blocking"].items())
