"""Running the repository criteria at every commit of a range, incrementally.

- Trees are read from git objects, never checked out: the user's work tree is untouched. The
  trees of consecutive commits come from one ``git log --raw`` (each commit costs what it changed).
- A check whose recorded reads (tree entries, folder ids, file names, history answers) are the
  same at the next commit is not run again: its outcome is reused. Checks that read git history
  run at every commit, but their git questions are answered from the parent commit's answers
  (see :mod:`buildgate.repo`), so they cost little.
- What a check computes from one file (named paths, the docs' topics, shellcheck findings, a
  rendering) is kept per blob id, so a file is parsed once per distinct content.
- Commits are split into contiguous chunks across worker processes, so reuse works within each.
- With a persistent cache (:mod:`buildgate.timeline.cache`), outcomes of commits seen by an
  earlier run are loaded, not computed; HEAD and the ``fresh`` commits (``--closed-at``) are
  always computed afresh, before anything is read from the cache, and a cache that disagrees
  with them is dropped.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from buildgate.errors import InputError
from buildgate.repo import Commit, ContentCache, Repo, first_parent_trees, frozen_state
from buildgate.target import Target
from buildgate.timeline import checks
from buildgate.timeline.checks import Outcome


@dataclass
class Timeline:
    """Outcomes per commit (oldest first) for the criteria that were run."""

    commits: list[Commit]
    criteria: list[str]
    outcomes: dict[str, dict[str, Outcome]]      # sha -> criterion -> outcome
    stats: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # one-line warnings (a cache ignored, ...)

    def transitions(self) -> dict[str, list[dict[str, Any]]]:
        """Per criterion: the commits where its verdict changed (the first commit counts too)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for cid in self.criteria:
            prev = None
            for c in self.commits:
                o = self.outcomes[c.sha][cid]
                if prev is None or o.verdict != prev:
                    out.setdefault(cid, []).append(
                        {"sha": c.sha, "subject": c.subject, "timestamp": c.timestamp, "from": prev,
                         "to": o.verdict, "message": o.message}
                    )
                prev = o.verdict
        return out

    def verdict_at(self, sha: str, cid: str) -> str:
        return self.outcomes[sha][cid].verdict

    @property
    def head(self) -> str:
        return self.commits[-1].sha

    def regressions(self, closed: str) -> list[str]:
        """Criteria that held at ``closed`` and don't at HEAD."""
        return [c for c in self.criteria if self.verdict_at(closed, c) == "pass" and self.verdict_at(self.head, c) != "pass"]

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


def _runs(shas: list[str], order: dict[str, int]) -> list[list[str]]:
    """Maximal runs of consecutive commits (by their position in the range)."""
    runs: list[list[str]] = []
    for sha in shas:
        if runs and order[sha] == order[runs[-1][-1]] + 1:
            runs[-1].append(sha)
        else:
            runs.append([sha])
    return runs


def _load_content(content: dict[str, dict[str, Any]]) -> None:
    for name, entries in content.items():
        cache = ContentCache.ALL.get(name)
        if cache is not None:
            for key, value in entries.items():
                cache.put(key, value)


def _content() -> dict[str, dict[str, Any]]:
    return {name: dict(cache.entries) for name, cache in ContentCache.ALL.items()}


def _run_chunk(root: str, target: Target, runs: list[list[str]], criteria: list[str], reuse: bool = True,
               content: dict[str, dict[str, Any]] | None = None) -> tuple[dict, dict, dict]:
    """Outcomes for runs of consecutive commits, reusing an outcome while its reads are unchanged."""
    if content:
        _load_content(content)
    repo = Repo(root)
    results: dict[str, dict[str, Outcome]] = {}
    stats = {"run": 0, "reused": 0}
    with frozen_state():
        for run_shas in runs:
            prev: dict[str, Outcome] = {}
            for at in first_parent_trees(repo, run_shas):
                ctx = checks.context(at, target)
                here: dict[str, Outcome] = {}
                for cid in criteria:
                    last = prev.get(cid)
                    if reuse and last is not None and at.replay_equal(last.reads):
                        here[cid] = last
                        stats["reused"] += 1
                    else:
                        here[cid] = checks.outcome(cid, ctx)
                        stats["run"] += 1
                results[at.rev] = here
                prev = here
    return results, stats, (_content() if content is not None else {})


def run(
    repo: Repo,
    target: Target,
    rev_range: str | None = None,
    criteria: Iterable[str] | None = None,
    jobs: int | None = None,
    reuse: bool = True,
    cache_dir: str | os.PathLike | None = None,
    fresh: Iterable[str] = (),
    commits: list[Commit] | None = None,
) -> Timeline:
    """Run the repository criteria at every commit of ``rev_range`` (``reuse=False``: no reuse).

    ``cache_dir``: keep outcomes and per-file results there between runs. ``fresh``: commits
    (besides HEAD) never taken from that cache. ``commits``: the range, when already listed."""
    from buildgate.timeline import cache as cache_mod

    commits = commits or commits_in(repo, rev_range)
    known = checks.criteria()
    wanted = list(criteria) if criteria else known
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise InputError(f"not repository-layer criteria: {', '.join(unknown)} (choose from {', '.join(known)})")
    shas = [c.sha for c in commits]
    order = {s: i for i, s in enumerate(shas)}
    outcomes: dict[str, dict[str, Outcome]] = {}
    notes: list[str] = []
    stats = {"commits": len(commits), "run": 0, "reused": 0, "cached": 0, "jobs": 1}
    root = str(repo.root)
    store = None
    if cache_dir is not None:
        # HEAD and --closed-at decide the exit status: computed before the cache is even read
        must = [s for s in dict.fromkeys([shas[-1], *fresh]) if s in order]
        results, st, _ = _run_chunk(root, target, _runs(sorted(must, key=order.get), order), wanted, reuse)
        outcomes.update(results)
        stats["run"] += st["run"]
        store = cache_mod.Store.open(Path(cache_dir), repo, target, wanted, notes)
        cached = store.outcomes(repo, shas, wanted)
        stale = [s for s in must if s in cached and
                 any((cached[s][c].verdict, cached[s][c].message) != (outcomes[s][c].verdict, outcomes[s][c].message)
                     for c in wanted)]
        if stale:
            notes.append(f"ignoring the history cache {store.path}: it disagrees with a fresh run at "
                         f"{stale[0][:7]}")
            store.reset()
            cached = {}
        for sha, got in cached.items():
            if sha not in outcomes:
                outcomes[sha] = got
                stats["cached"] += 1
        _load_content(store.content)
    todo = [s for s in shas if s not in outcomes]
    if todo:
        runs = _runs(todo, order)
        jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
        if len(todo) < 24:
            jobs = 1  # a few commits: forking workers costs more than they save
        stats["jobs"] = jobs
        content = _content() if store is not None else None
        # twice as many chunks as workers: a worker that drew cheap commits takes another chunk
        chunks = _split(runs, jobs * 2 if jobs > 1 and len(todo) >= 16 * jobs else jobs)
        if jobs == 1:
            parts = [_run_chunk(root, target, [r for c in chunks for r in c], wanted, reuse, None)]
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                n = len(chunks)
                parts = list(pool.map(_run_chunk, [root] * n, [target] * n, chunks, [wanted] * n, [reuse] * n,
                                      [content] * n))
        for results, st, worker_content in parts:
            outcomes.update(results)
            stats["run"] += st["run"]
            stats["reused"] += st["reused"]
            _load_content(worker_content)
    if store is not None:
        store.save(outcomes, wanted, _content(), notes)
    return Timeline(commits, wanted, outcomes, stats, notes)


def _split(runs: list[list[str]], jobs: int) -> list[list[list[str]]]:
    """``jobs`` chunks of about equal size, each a list of runs (a run may be cut in two)."""
    total = sum(len(r) for r in runs)
    size = -(-total // jobs)
    chunks: list[list[list[str]]] = [[]]
    filled = 0
    for run_shas in runs:
        rest = run_shas
        while rest:
            room = size - filled
            if room == 0:
                chunks.append([])
                filled, room = 0, size
            chunks[-1].append(rest[:room])
            filled += len(rest[:room])
            rest = rest[room:]
    return [c for c in chunks if c]
