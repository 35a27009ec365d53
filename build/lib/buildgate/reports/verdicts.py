"""The verdict report: scenario verdicts aggregated per criterion.

Shape (stable: CI gates and audits read it)::

    {"buildgate": 1,
     "target": {...},
     "criteria": {"W3": {"verdict": "pass|fail|error|skipped|waived|not checked",
                         "title": "...", "layer": "repo",
                         "scenarios": [{"name", "nodeid", "verdict", "message", "step"}],
                         "evidence": ["..."], "message": "..."}},
     "summary": {"pass": n, "fail": n, "error": n, "skipped": n, "waived": n, "not_checked": n},
     "scenarios": [{"nodeid", "name", "criteria", "verdict", "message", "evidence", "step",
                    "feature", "scenario", "steps", "duration"}]}

Later stages add keys (``gate``, ``waivers``, ``claims``, ``interrupted``); none of them changes
this shape.

A criterion decided by several scenarios passes only if all of them pass; otherwise the worst
verdict wins (:func:`buildgate.verdict.worst`). A criterion no selected scenario decided is
``not checked``, with the message "not checked in this run".
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from buildgate.criteria import CRITERIA
from buildgate.verdict import NOT_CHECKED_MESSAGE, Verdict, worst


@dataclass
class ScenarioVerdict:
    """The verdict of one scenario (one pytest item)."""

    nodeid: str
    name: str
    criteria: list[str]
    verdict: Verdict
    message: str = ""
    evidence: list[str] = field(default_factory=list)
    step: str | None = None
    feature: dict[str, Any] = field(default_factory=dict)   # uri, name, line, tags, description
    scenario: dict[str, Any] = field(default_factory=dict)  # line, tags, description
    steps: list[dict[str, Any]] = field(default_factory=list)  # keyword, name, line, status, error
    duration: float = 0.0

    def __post_init__(self) -> None:
        self.verdict = Verdict(self.verdict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
            message = NOT_CHECKED_MESSAGE
        else:
            deciding = [s for s in items if s.verdict == verdict]
            message = "; ".join(dict.fromkeys(s.message for s in deciding if s.message)) or verdict.value
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
            "evidence": list(dict.fromkeys(e for s in items for e in s.evidence)),
        }
    return {
        "buildgate": 1,
        "target": target,
        "criteria": criteria,
        "summary": summarize(criteria),
        "scenarios": [s.to_dict() for s in sorted(by_node.values(), key=lambda s: s.nodeid)],
    }


def summarize(criteria: dict[str, Any]) -> dict[str, int]:
    """Counts per verdict; ``not_checked`` counts the criteria no selected scenario decided."""
    counted = (Verdict.PASS, Verdict.FAIL, Verdict.ERROR, Verdict.SKIPPED, Verdict.WAIVED, Verdict.NOT_CHECKED)
    summary = {v.value: sum(1 for c in criteria.values() if c["verdict"] == v) for v in counted}
    summary["not_checked"] = summary.pop(Verdict.NOT_CHECKED.value)
    return summary


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, sort_keys=False) + "\n"
