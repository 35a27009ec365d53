"""``buildgate`` command line: ``buildgate history [REV_RANGE]`` and ``buildgate init`` (the audit itself is
``pytest features/``)."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from buildgate import claims as claims_mod
from buildgate import target as target_mod
from buildgate import timeline
from buildgate.errors import BuildgateError, InputError
from buildgate.repo import Repo


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="buildgate", description="Audit a claimed build-and-deploy fix.")
    sub = p.add_subparsers(dest="command", required=True)
    h = sub.add_parser("history", help="run the repository criteria at every commit of a range")
    h.add_argument("rev_range", nargs="?", help="git revision range (default: all of HEAD's first-parent history)")
    h.add_argument("--repo", help="the git checkout (default: the target's repo.path, else .)")
    h.add_argument("--target", help="target file (names, paths, images)")
    h.add_argument("--criteria", help="comma-separated criterion ids (default: every repository criterion)")
    h.add_argument("--closed-at", help="commit, or date (YYYY-MM-DD: its last commit by the end of that day, UTC), "
                                      "the task was closed: compare it with HEAD")
    h.add_argument("--claims", help="resolution document: which of its claims held when closed and hold now")
    h.add_argument("--claims-map", default=str(claims_mod.DEFAULT_MAPPING), help="claim mapping file")
    h.add_argument("--json", help="write the timeline as JSON")
    h.add_argument("--svg", help="write the timeline chart as SVG")
    h.add_argument("--markdown", help="write a Markdown table of what changed since --closed-at (and the chart, "
                                      "with --svg)")
    h.add_argument("--cache", help="folder for a persistent cache of outcomes and per-file results, keyed by "
                                   "commit and blob ids: a re-run costs only the new commits")
    h.add_argument("--jobs", type=int, default=None, help="worker processes (default: CPU count)")
    i = sub.add_parser("init", help="write .buildgate/target.yml, a commented target file inferred from the repository")
    i.add_argument("--repo", default=".", help="the git checkout (default: .)")
    i.add_argument("--force", action="store_true", help="overwrite an existing .buildgate/target.yml")
    return p


def init(args: argparse.Namespace) -> int:
    """``buildgate init``: infer, render, check against the schema, write; print what was found."""
    from buildgate import init as init_mod

    inferred = init_mod.infer(args.repo)
    path = init_mod.write(args.repo, init_mod.render(inferred), force=args.force)
    for line in init_mod.summary(inferred, path):
        print(line)
    return 0


def _resolve_closed_at(repo: Repo, value: str, commits: list) -> timeline.ClosedAt:
    """The commit ``--closed-at`` names: a commit of the range, or for a date ``YYYY-MM-DD`` the
    newest first-parent commit of the range committed by the end of that day in UTC (whatever the
    time zone or the hour of the run)."""
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        sha = repo.try_rev_parse(value)
        if not sha:
            raise InputError(f"--closed-at: no commit named {value!r}") from None
        if sha not in {c.sha for c in commits}:
            raise InputError(f"--closed-at {value} ({sha[:7]}) is not in the range's first-parent history")
        return timeline.ClosedAt(sha, value, "commit")
    end = dt.datetime.combine(day, dt.time(23, 59, 59), dt.timezone.utc).timestamp()
    picked = next((c for c in reversed(commits) if c.timestamp <= end), None)
    if picked is None:
        raise InputError(f"--closed-at: no commit of the range on or before {value} 23:59:59 UTC")
    return timeline.ClosedAt(picked.sha, value, "date")


def _claims_at(tl: timeline.Timeline, sha: str, document: str, mapping: str) -> dict:
    """The claim audit as it would have come out at ``sha`` (repository criteria only)."""
    from buildgate.reports.verdicts import ScenarioVerdict, aggregate

    verdicts = [
        ScenarioVerdict(f"history::{cid}", cid, [cid], tl.outcomes[sha][cid].verdict, tl.outcomes[sha][cid].message)
        for cid in tl.criteria
    ]
    return claims_mod.audit(document, aggregate(verdicts, {}), mapping)


def history(args: argparse.Namespace) -> int:
    target = target_mod.load(args.target) if args.target else target_mod.Target(source="<defaults>")
    root = args.repo or (str(target.repo_path) if target.repo_path else ".")
    repo = Repo(Path(root))
    if not repo.is_git():
        raise InputError("not a git repository", str(root))
    if args.markdown and not args.closed_at:
        raise InputError("--markdown needs --closed-at (it shows what changed since then)")
    criteria = [c.strip() for c in args.criteria.split(",")] if args.criteria else None
    commits = timeline.commits_in(repo, args.rev_range)
    closed = _resolve_closed_at(repo, args.closed_at, commits) if args.closed_at else None
    tl = timeline.run(repo, target, args.rev_range, criteria, jobs=args.jobs, cache_dir=args.cache,
                      fresh=[closed.sha] if closed else (), commits=commits)
    for note in tl.notes:
        print(f"buildgate: warning: {note}", file=sys.stderr)
    for line in timeline.terminal_table(tl, closed.sha if closed else None):
        print(line)
    regressed = []
    if closed:
        head = tl.head
        regressed = tl.regressions(closed.sha)
        print(closed.describe(tl))
        print(f"closed at {closed.sha[:7]}; held then, not now: {', '.join(regressed) or 'none'}")
        if args.claims:
            then = {c["text"]: c["status"] for c in _claims_at(tl, closed.sha, args.claims, args.claims_map)["claims"]}
            now = _claims_at(tl, head, args.claims, args.claims_map)
            for c in now["claims"]:
                if then.get(c["text"]) != c["status"]:
                    print(f"claim line {c['line']}: {then.get(c['text'])} when closed, {c['status']} now: {c['text']}")
            print(now["summary"] + " (at HEAD, repository criteria only)")
    if args.json:
        Path(args.json).write_text(timeline.dumps(tl, closed))
    if args.svg:
        Path(args.svg).write_text(timeline.svg(tl, closed.sha if closed else None))
    if args.markdown:
        link = os.path.relpath(args.svg, Path(args.markdown).resolve().parent) if args.svg else None
        Path(args.markdown).write_text(timeline.markdown(tl, closed, link))
    return 1 if regressed else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return init(args) if args.command == "init" else history(args)
    except BuildgateError as exc:
        print(f"buildgate: {exc.kind}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
