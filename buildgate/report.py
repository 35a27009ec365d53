"""The verdict report: scenario verdicts aggregated per criterion.

Shape (stable: CI gates and audits read it)::

    {"buildgate": 1,
     "target": {...},
     "criteria": {"W3": {"verdict": "pass|fail|error|skipped",
                         "title": "...", "layer": "repo",
                         "scenarios": [{"name", "nodeid", "verdict", "message", "step"}],
                         "evidence": ["..."], "message": "..."}},
     "summary": {"pass": n, "fail": n, "error": n, "skipped": n, "waived": n, "not_checked": n},
     "scenarios": [{"nodeid", "name", "criteria", "verdict", "message", "evidence", "step",
                    "feature", "scenario", "steps", "duration"}]}

Later stages add keys (``gate``, ``waivers``, ``claims``); none of them changes this shape.

A criterion decided by several scenarios passes only if all of them pass; otherwise the worst
verdict wins, in the order fail > error > skipped > pass. A criterion no selected scenario
decided is ``skipped`` with the message "not checked in this run".
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from buildgate.criteria import CRITERIA

VERDICTS = ("pass", "fail", "error", "skipped")
_RANK = {"pass": 0, "skipped": 1, "error": 2, "fail": 3}
NOT_CHECKED = "not checked in this run"


@dataclass
class ScenarioVerdict:
    """The verdict of one scenario (one pytest item)."""

    nodeid: str
    name: str
    criteria: list[str]
    verdict: str
    message: str = ""
    evidence: list[str] = field(default_factory=list)
    step: str | None = None
    feature: dict[str, Any] = field(default_factory=dict)   # uri, name, line, tags, description
    scenario: dict[str, Any] = field(default_factory=dict)  # line, tags, description
    steps: list[dict[str, Any]] = field(default_factory=list)  # keyword, name, line, status, error
    duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def worst(verdicts: Iterable[str]) -> str:
    """The verdict a criterion gets from its scenarios' verdicts."""
    vs = list(verdicts)
    return max(vs, key=_RANK.__getitem__) if vs else "skipped"


def aggregate(scenarios: Iterable[ScenarioVerdict], target: dict[str, Any]) -> dict[str, Any]:
    """Build the report from scenario verdicts (any order; duplicates by nodeid keep the last)."""
    by_node = {s.nodeid: s for s in scenarios}
    per_criterion: dict[str, list[ScenarioVerdict]] = {cid: [] for cid in CRITERIA}
    for s in by_node.values():
        for cid in s.criteria:
            per_criterion.setdefault(cid, []).append(s)
    criteria: dict[str, Any] = {}
    for cid, items in per_criterion.items():
        items.sort(key=lambda s: s.nodeid)
        verdict = worst(s.verdict for s in items)
        if not items:
            message = NOT_CHECKED
        else:
            deciding = [s for s in items if s.verdict == verdict]
            message = "; ".join(dict.fromkeys(s.message for s in deciding if s.message)) or verdict
        evidence = list(dict.fromkeys(e for s in items for e in s.evidence))
        info = CRITERIA.get(cid)
        criteria[cid] = {
            "verdict": verdict,
            "title": info.title if info else "",
            "layer": info.layer if info else "",
            "message": message,
            "scenarios": [
                {"name": s.name, "nodeid": s.nodeid, "verdict": s.verdict, "message": s.message, "step": s.step}
                for s in items
            ],
            "evidence": evidence,
        }
    return {
        "buildgate": 1,
        "target": target,
        "criteria": criteria,
        "summary": summarize(criteria),
        "scenarios": [s.to_dict() for s in sorted(by_node.values(), key=lambda s: s.nodeid)],
    }


def summarize(criteria: dict[str, Any]) -> dict[str, int]:
    """Counts per verdict over the checked criteria, plus how many were not checked."""
    checked = [c for c in criteria.values() if c["message"] != NOT_CHECKED]
    summary = {v: sum(1 for c in checked if c["verdict"] == v) for v in (*VERDICTS, "waived")}
    summary["not_checked"] = len(criteria) - len(checked)
    return summary


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=False) + "\n"


def terminal_lines(report: dict[str, Any], width: int = 100) -> list[str]:
    """A closing table: one line per criterion that was checked, then the summary."""
    lines = []
    for cid, c in report["criteria"].items():
        if c["message"] == NOT_CHECKED:
            continue
        msg = "" if c["verdict"] == "pass" else c["message"]
        line = f"{cid:<4} {c['verdict'].upper():<8} {c['title']}"
        if msg:
            line += f" :: {msg}"
        lines.append(line if len(line) <= width else line[: width - 1] + "…")
    s = report["summary"]
    waived = f", {s['waived']} waived" if s.get("waived") else ""
    lines.append(
        f"criteria: {s['pass']} pass, {s['fail']} fail, {s['error']} error, "
        f"{s['skipped']} skipped{waived}, {s['not_checked']} not checked"
    )
    return lines
