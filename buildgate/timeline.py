"""History timeline: the repository-layer criteria at every commit of a range.

Trees are read from git objects (``Repo.at(sha)``), never checked out, so the user's work tree
is untouched. A check whose recorded reads (files, listings) are unchanged at the next commit
is not run again: its outcome is reused (checks that read git history always run). Commits are
split into contiguous chunks across worker processes, so reuse still works within each chunk.
"""
from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterable

from buildgate.errors import InputError
from buildgate.repo import Commit, Repo
from buildgate.repochecks import REPO_CHECKS, Outcome, RevisionContext, run_check
from buildgate.target import Target


@dataclass
class Timeline:
    """Outcomes per commit (oldest first) for the criteria that were run."""

    commits: list[Commit]
    criteria: list[str]
    outcomes: dict[str, dict[str, Outcome]]      # sha -> criterion -> outcome
    stats: dict[str, int] = field(default_factory=dict)

    def transitions(self) -> dict[str, list[dict[str, Any]]]:
        """Per criterion: the commits where its verdict changed (the first commit counts too)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for cid in self.criteria:
            prev = None
            for c in self.commits:
                o = self.outcomes[c.sha][cid]
                if prev is None or o.verdict != prev:
                    out.setdefault(cid, []).append(
                        {"sha": c.sha, "subject": c.subject, "from": prev, "to": o.verdict, "message": o.message}
                    )
                prev = o.verdict
        return out

    def verdict_at(self, sha: str, cid: str) -> str:
        return self.outcomes[sha][cid].verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "commits": [{"sha": c.sha, "subject": c.subject, "author": c.author, "timestamp": c.timestamp} for c in self.commits],
            "criteria": self.criteria,
            "verdicts": {c.sha: {cid: self.outcomes[c.sha][cid].verdict for cid in self.criteria} for c in self.commits},
            "transitions": self.transitions(),
            "stats": self.stats,
        }


def commits_in(repo: Repo, rev_range: str | None = None) -> list[Commit]:
    """Commits of ``rev_range`` (default: everything reachable from HEAD), first-parent, oldest first."""
    spec = rev_range or "HEAD"
    if spec.startswith("-"):
        raise InputError(f"invalid revision range {spec!r}")
    commits = repo.log("--first-parent", rev=spec)
    if not commits:
        raise InputError(f"no commits in {spec}", str(repo.root))
    return list(reversed(commits))


def _run_chunk(root: str, target: Target, shas: list[str], criteria: list[str], reuse: bool = True) -> tuple[dict, dict]:
    repo = Repo(root)
    results: dict[str, dict[str, Outcome]] = {}
    prev: dict[str, Outcome] = {}
    stats = {"run": 0, "reused": 0}
    for sha in shas:
        at = repo.at(sha)
        ctx = RevisionContext(at, target)
        here: dict[str, Outcome] = {}
        for cid in criteria:
            last = prev.get(cid)
            if reuse and last is not None and at.replay_equal(last.reads):
                here[cid] = last
                stats["reused"] += 1
            else:
                here[cid] = run_check(cid, ctx)
                stats["run"] += 1
        results[sha] = here
        prev = here
    return results, stats


def run(
    repo: Repo,
    target: Target,
    rev_range: str | None = None,
    criteria: Iterable[str] | None = None,
    jobs: int | None = None,
    reuse: bool = True,
) -> Timeline:
    """Run the repository criteria at every commit of ``rev_range`` (``reuse=False``: no reuse)."""
    commits = commits_in(repo, rev_range)
    wanted = list(criteria) if criteria else list(REPO_CHECKS)
    unknown = [c for c in wanted if c not in REPO_CHECKS]
    if unknown:
        raise InputError(f"not repository-layer criteria: {', '.join(unknown)} (choose from {', '.join(REPO_CHECKS)})")
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(commits)))
    shas = [c.sha for c in commits]
    size = -(-len(shas) // jobs)
    chunks = [shas[i:i + size] for i in range(0, len(shas), size)]
    outcomes: dict[str, dict[str, Outcome]] = {}
    stats = {"commits": len(commits), "run": 0, "reused": 0, "jobs": jobs}
    if jobs == 1:
        parts = [_run_chunk(str(repo.root), target, chunks[0], wanted, reuse)]
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            n = len(chunks)
            parts = list(pool.map(_run_chunk, [str(repo.root)] * n, [target] * n, chunks, [wanted] * n, [reuse] * n))
    for results, st in parts:
        outcomes.update(results)
        stats["run"] += st["run"]
        stats["reused"] += st["reused"]
    return Timeline(commits, wanted, outcomes, stats)


_SYMBOL = {"pass": "✓", "fail": "✗", "error": "!"}


def terminal_table(tl: Timeline, closed_at: str | None = None) -> list[str]:
    """One line per criterion: where it started and stopped holding, and its state now."""
    lines = [f"{'crit':<5} {'now':<6} {'since':<9} changes (commit: verdict)"]
    head = tl.commits[-1].sha
    for cid, changes in tl.transitions().items():
        now = tl.verdict_at(head, cid)
        since = changes[-1]["sha"][:7]
        hist = ", ".join(f"{ch['sha'][:7]}:{ch['to']}" for ch in changes[-6:])
        if len(changes) > 6:
            hist = f"… ({len(changes) - 6} earlier), " + hist
        line = f"{cid:<5} {now:<6} {since:<9} {hist}"
        if closed_at:
            then = tl.verdict_at(closed_at, cid)
            if then == "pass" and now != "pass":
                line += f"  [held when closed at {closed_at[:7]}, {now} now]"
        lines.append(line)
    st = tl.stats
    lines.append(f"{st['commits']} commits, {st['run']} checks run, {st['reused']} reused from unchanged inputs")
    return lines


def svg(tl: Timeline, cell: int = 6) -> str:
    """A timeline chart: one row per criterion, one column per commit, coloured by verdict."""
    colour = {"pass": "#2da44e", "fail": "#cf222e", "error": "#bf8700"}
    label_w, top = 48, 16
    width = label_w + cell * len(tl.commits) + 8
    height = top + (cell + 4) * len(tl.criteria) + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="10">',
           f'<text x="{label_w}" y="11">{len(tl.commits)} commits, oldest left</text>']
    for row, cid in enumerate(tl.criteria):
        y = top + row * (cell + 4)
        out.append(f'<text x="2" y="{y + cell}">{cid}</text>')
        for col, c in enumerate(tl.commits):
            v = tl.outcomes[c.sha][cid].verdict
            out.append(f'<rect x="{label_w + col * cell}" y="{y}" width="{cell}" height="{cell}" fill="{colour[v]}">'
                       f'<title>{c.sha[:7]} {cid} {v}</title></rect>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def dumps(tl: Timeline, closed_at: str | None = None) -> str:
    data = tl.to_dict()
    if closed_at:
        head = tl.commits[-1].sha
        data["closed_at"] = {
            "sha": closed_at,
            "held_then_not_now": [c for c in tl.criteria if tl.verdict_at(closed_at, c) == "pass" and tl.verdict_at(head, c) != "pass"],
            "verdicts_then": {c: tl.verdict_at(closed_at, c) for c in tl.criteria},
            "verdicts_now": {c: tl.verdict_at(head, c) for c in tl.criteria},
        }
    return json.dumps(data, indent=2) + "\n"
