"""``buildgate history`` and ``buildgate init`` (``buildgate audit`` runs pytest: it is the pytest
side's, :mod:`pytest_buildgate.cli`, since this library never imports pytest)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
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
    h.add_argument("--claims", help="resolution document: when each of its claims started or stopped holding "
                                    "(with --closed-at: which held when closed and hold now)")
    h.add_argument("--claims-map", default=str(claims_mod.DEFAULT_MAPPING), help="claim mapping file")
    h.add_argument("--json", help="write the timeline as JSON")
    h.add_argument("--svg", help="write the timeline chart as SVG")
    h.add_argument("--markdown", help="write a Markdown table of what changed since --closed-at (and the chart, "
                                      "with --svg)")
    h.add_argument("--cache", help="folder for a persistent cache of outcomes and per-file results, keyed by "
                                   "commit and blob ids: a re-run costs only the new commits")
    h.add_argument("--jobs", type=int, default=None, help="worker processes (default: CPU count)")
    sub.add_parser("audit", help="audit a target with the built-in criteria (pytest; the `buildgate` command runs it)",
                   add_help=False)
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


def _claims_over(tl: timeline.Timeline, repo: Repo, target: target_mod.Target, claims: list[claims_mod.Claim],
                 closed: str | None) -> dict:
    """The claims judged at every commit of the timeline (repository checks only:
    a criterion the timeline didn't run is not checked)."""
    from buildgate.claims.history import follow
    from buildgate.verdict import Verdict

    def decided_at(sha: str, cid: str) -> claims_mod.Finding:
        outcome = tl.outcomes[sha].get(cid)
        if outcome is None:
            return claims_mod.Finding(Verdict.NOT_CHECKED, "not checked by buildgate history")
        return claims_mod.Finding(Verdict(outcome.verdict), outcome.message)

    keep = [closed] if closed else []
    return follow(claims, tl.commits, repo, target, decided_at, keep)


def _print_claims(over: dict, head: str, closed: str | None) -> None:
    from buildgate.claims.history import describe
    from buildgate.claims.render import claim_line, clip, one_line

    print("claims (repository checks only; the other layers are not checked here):")
    then = {c["text"]: c["status"] for c in over["at"][closed]["claims"]} if closed else {}
    for c in over["claims"]:
        print(f"  {clip(claim_line(c), 220)}")
        print(f"      {clip(one_line(describe(c['changes'])), 220)}")
        if closed and then.get(c["text"]) != c["status"]:
            print(f"      {then.get(c['text'])} when closed at {closed[:7]}, {c['status']} now")
    print(over["summary"] + f" (at {head[:7]}, repository checks only)")


def history(args: argparse.Namespace) -> int:
    target = target_mod.load(args.target) if args.target else target_mod.Target(source="<defaults>")
    root = args.repo or (str(target.repo_path) if target.repo_path else ".")
    repo = Repo(Path(root)).require_git()
    if args.markdown and not args.closed_at:
        raise InputError("--markdown needs --closed-at (it shows what changed since then)")
    criteria = [c.strip() for c in args.criteria.split(",")] if args.criteria else None
    claims = claims_mod.claims_of(args.claims, args.claims_map) if args.claims else []  # refused before any work
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
        regressed = tl.regressions(closed.sha)
        print(closed.describe(tl))
        print(f"closed at {closed.sha[:7]}; held then, not now: {', '.join(regressed) or 'none'}")
    over = None
    if args.claims:
        over = _claims_over(tl, repo, target, claims, closed.sha if closed else None)
        _print_claims(over, tl.head, closed.sha if closed else None)
    if args.json:
        text = timeline.dumps(tl, closed)
        if over is not None:
            data = json.loads(text)
            data["claims"] = {k: v for k, v in over.items() if k != "at"}
            text = json.dumps(data, indent=2) + "\n"
        Path(args.json).write_text(text)
    if args.svg:
        Path(args.svg).write_text(timeline.svg(tl, closed.sha if closed else None))
    if args.markdown:
        link = os.path.relpath(args.svg, Path(args.markdown).resolve().parent) if args.svg else None
        Path(args.markdown).write_text(timeline.markdown(tl, closed, link))
    return 1 if regressed else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["audit"]:  # the library never imports pytest: the `buildgate` command runs audits
        print("buildgate: audit runs pytest: use the `buildgate` command, or python -m pytest_buildgate audit",
              file=sys.stderr)
        return 2
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
