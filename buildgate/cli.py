"""``buildgate`` command line: ``buildgate history [REV_RANGE]`` (the audit itself is ``pytest features/``)."""
from __future__ import annotations

import argparse
import datetime as dt
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
    h.add_argument("--closed-at", help="commit or date (YYYY-MM-DD) the task was closed: compare it with HEAD")
    h.add_argument("--claims", help="resolution document: which of its claims held when closed and hold now")
    h.add_argument("--claims-map", default=str(claims_mod.DEFAULT_MAPPING), help="claim mapping file")
    h.add_argument("--json", help="write the timeline as JSON")
    h.add_argument("--svg", help="write the timeline chart as SVG")
    h.add_argument("--jobs", type=int, default=None, help="worker processes (default: CPU count)")
    return p


def _resolve_closed_at(repo: Repo, value: str, rev_range: str | None) -> str:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        sha = repo.try_rev_parse(value)
        if not sha:
            raise InputError(f"--closed-at: no commit named {value!r}") from None
        return sha
    before = (day + dt.timedelta(days=1)).isoformat()
    end = rev_range.split("..")[-1] if rev_range and ".." in rev_range else (rev_range or "HEAD")
    sha = repo.git("rev-list", "-1", "--first-parent", f"--before={before}", end or "HEAD").strip()
    if not sha:
        raise InputError(f"--closed-at: no commit on or before {value}")
    return sha


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
    criteria = [c.strip() for c in args.criteria.split(",")] if args.criteria else None
    tl = timeline.run(repo, target, args.rev_range, criteria, jobs=args.jobs)
    closed = _resolve_closed_at(repo, args.closed_at, args.rev_range) if args.closed_at else None
    if closed and closed not in tl.outcomes:
        raise InputError(f"--closed-at {args.closed_at} ({closed[:7]}) is not in the range's first-parent history")
    for line in timeline.terminal_table(tl, closed):
        print(line)
    regressed = []
    if closed:
        head = tl.commits[-1].sha
        regressed = [c for c in tl.criteria if tl.verdict_at(closed, c) == "pass" and tl.verdict_at(head, c) != "pass"]
        print(f"closed at {closed[:7]}; held then, not now: {', '.join(regressed) or 'none'}")
        if args.claims:
            then = {c["text"]: c["status"] for c in _claims_at(tl, closed, args.claims, args.claims_map)["claims"]}
            now = _claims_at(tl, head, args.claims, args.claims_map)
            for c in now["claims"]:
                if then.get(c["text"]) != c["status"]:
                    print(f"claim line {c['line']}: {then.get(c['text'])} when closed, {c['status']} now: {c['text']}")
            print(now["summary"] + " (at HEAD, repository criteria only)")
    if args.json:
        Path(args.json).write_text(timeline.dumps(tl, closed))
    if args.svg:
        Path(args.svg).write_text(timeline.svg(tl))
    return 1 if regressed else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return history(args)
    except BuildgateError as exc:
        print(f"buildgate: {exc.kind}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
