"""Claims across a history: each claim judged at every commit, and when it started or stopped holding.

Each revision gets its own :class:`~buildgate.context.Context` (trees read from git objects, the
work tree untouched) and a :class:`~buildgate.claims.judging.Runner` whose whole criteria come from
the timeline's outcomes at that commit. Claim checks and parts are reused from the previous
commit while what they read is unchanged (:class:`~buildgate.claims.judging.Reuse`), so a long
history costs little more than its changes.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from buildgate.claims.document import Claim
from buildgate.claims.judging import Finding, Reuse, Runner, judge
from buildgate.context import Context
from buildgate.repo import Commit, Repo
from buildgate.target import Target


def follow(claims: list[Claim], commits: Sequence[Commit], repo: Repo, target: Target,
           decided_at: Callable[[str, str], Finding], keep: Sequence[str] = ()) -> dict[str, Any]:
    """Judge ``claims`` at every commit (oldest first). ``decided_at(sha, cid)`` is a whole
    criterion's verdict at that commit; ``keep`` lists commits whose full claim sections are
    returned too (``at``)."""
    reuse = Reuse()
    changes: list[list[dict[str, Any]]] = [[] for _ in claims]
    prev: list[dict[str, Any]] | None = None
    kept: dict[str, dict[str, Any]] = {}
    section: dict[str, Any] = {"claims": []}
    for commit in commits:
        ctx = Context(target, repo.at(commit.sha))
        section = judge(claims, Runner(ctx, lambda cid, sha=commit.sha: decided_at(sha, cid), reuse))
        for i, entry in enumerate(section["claims"]):
            before = prev[i]["status"] if prev is not None else None
            if before != entry["status"]:
                changes[i].append({"sha": commit.sha, "subject": commit.subject, "from": before, "to": entry["status"],
                                   "check": entry["check"], "reason": entry["reason"]})
        if commit.sha in keep:
            kept[commit.sha] = section
        prev = section["claims"]
    out = []
    for i, entry in enumerate(section["claims"]):
        out.append({**{k: entry[k] for k in ("text", "line", "section", "kind", "summary", "status", "check", "reason",
                                              "where")}, "changes": changes[i]})
    return {"summary": section.get("summary", ""), "claims": out, "at": kept, "stats": dict(reuse.stats)}


def describe(changes: list[dict[str, Any]]) -> str:
    """When a claim held: ``started holding at 1a2b3c4 (subject), stopped holding at 4d5e6f7 (subject)``."""
    spans: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    start: dict[str, Any] | None = None
    for ch in changes:
        if ch["to"] == "verified":
            start = ch
        elif ch["from"] == "verified" and start is not None:
            spans.append((start, ch))
            start = None
    if start is not None:
        spans.append((start, None))
    if not spans:
        return "never held in this range"
    parts = []
    for a, b in spans[-4:]:
        began = "held from the first commit" if a["from"] is None else f"started holding at {_at(a)}"
        parts.append(began + ("" if b is None else f", stopped holding at {_at(b)}"))
    more = f"{len(spans) - 4} earlier spans; " if len(spans) > 4 else ""
    return more + "; ".join(parts)


def _at(change: dict[str, Any]) -> str:
    subject = change["subject"] if len(change["subject"]) <= 50 else change["subject"][:49] + "…"
    return f"{change['sha'][:7]} ({subject})"
