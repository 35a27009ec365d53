"""The closing table of a run: one line per checked criterion, then the summary."""
from __future__ import annotations

from typing import Any

from buildgate.verdict import Verdict


def one_line(text: Any) -> str:
    """Untrusted text as one printable line: whitespace collapsed, control characters (escape
    sequences from an audited file) shown as ``?``."""
    return "".join(c if c.isprintable() else "?" for c in " ".join(str(text).split()))


def clip(line: str, width: int) -> str:
    return line if len(line) <= width else line[: max(width - 1, 1)] + "…"


def terminal_lines(report: dict[str, Any], width: int = 100) -> list[str]:
    """One line per criterion that was checked (message on all but a pass), then the counts."""
    lines = []
    for cid, c in report["criteria"].items():
        if c["verdict"] == Verdict.NOT_CHECKED:
            continue
        line = f"{cid:<4} {c['verdict'].upper():<8} {one_line(c['title'])}"
        if c["verdict"] != Verdict.PASS:
            line += f" :: {one_line(c['message'])}"
        lines.append(clip(line, width))
    s = report["summary"]
    waived = f", {s['waived']} waived" if s.get("waived") else ""
    lines.append(
        f"criteria: {s['pass']} pass, {s['fail']} fail, {s['error']} error, "
        f"{s['skipped']} skipped{waived}, {s['not_checked']} not checked"
    )
    return lines


def gate_line(report: dict[str, Any]) -> str:
    """``gate: open`` or ``gate: closed by W2 (fail), …`` (or by an interruption)."""
    from buildgate.reports.gate import gate_state

    return f"gate: {gate_state(report)}"
