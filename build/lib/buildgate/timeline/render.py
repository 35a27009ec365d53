"""The timeline as text: the terminal table, JSON, and the Markdown table of what changed."""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass

from buildgate.repo import Commit
from buildgate.timeline.engine import Timeline

_SYMBOL = {"pass": "✅ pass", "fail": "❌ fail", "error": "⚠️ error"}


@dataclass(frozen=True)
class ClosedAt:
    """The commit ``--closed-at`` picked, and how (a commit named, or a day's last commit)."""

    sha: str
    asked: str
    how: str  # "commit" or "date"

    def describe(self, tl: Timeline) -> str:
        c = next(c for c in tl.commits if c.sha == self.sha)
        base = f"closed at {self.sha[:7]} ({day(c.timestamp)} {clock(c.timestamp)} UTC, {c.subject!r})"
        if self.how == "date":
            base += f": the last commit on or before {self.asked} 23:59:59 UTC"
        return base


def day(ts: int) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%d")


def clock(ts: int) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%H:%M")


def terminal_table(tl: Timeline, closed_at: str | None = None) -> list[str]:
    """One line per criterion: where it started and stopped holding, and its state now."""
    lines = [f"{'crit':<5} {'now':<6} {'since':<9} changes (commit: verdict)"]
    for cid, changes in tl.transitions().items():
        now = tl.verdict_at(tl.head, cid)
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
    cached = f", {st['cached']} commits from the cache" if st.get("cached") else ""
    lines.append(f"{st['commits']} commits, {st['run']} checks run, {st['reused']} reused from unchanged inputs{cached}")
    return lines


def dumps(tl: Timeline, closed: ClosedAt | None = None) -> str:
    data = tl.to_dict()
    if closed:
        data["closed_at"] = {
            "sha": closed.sha,
            "asked": closed.asked,
            "picked_by": closed.how,
            "held_then_not_now": tl.regressions(closed.sha),
            "verdicts_then": {c: tl.verdict_at(closed.sha, c) for c in tl.criteria},
            "verdicts_now": {c: tl.verdict_at(tl.head, c) for c in tl.criteria},
        }
    return json.dumps(data, indent=2) + "\n"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (no HTML, no pipes, one line)."""
    text = " ".join(text.split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("`", "'")


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1].rstrip() + "…"


def _commit(c: Commit) -> str:
    return f"`{c.sha[:7]}` {day(c.timestamp)} {_clip(_cell(c.subject), 60)}"


def markdown(tl: Timeline, closed: ClosedAt, svg_link: str | None = None, max_changes: int = 3) -> str:
    """A compact Markdown table of what changed between ``--closed-at`` and HEAD: each criterion
    whose verdict differs, regressions first, with the commits where it changed in between."""
    by_sha = {c.sha: c for c in tl.commits}
    index = {c.sha: i for i, c in enumerate(tl.commits)}
    start = index[closed.sha]
    head = by_sha[tl.head]
    regressed = tl.regressions(closed.sha)
    trans = tl.transitions()
    changed = [c for c in tl.criteria if tl.verdict_at(closed.sha, c) != tl.verdict_at(tl.head, c)]
    changed.sort(key=lambda c: (c not in regressed, tl.criteria.index(c)))
    out = ["## What changed since the task was closed", ""]
    out.append(f"Closed at {_commit(by_sha[closed.sha])}"
               + (f" (the last commit on or before {closed.asked}, end of day UTC)" if closed.how == "date" else "")
               + f"; HEAD is {_commit(head)}; {len(tl.commits) - 1 - start} commits in between.")
    out.append("")
    if svg_link:
        out += [f"![history timeline]({svg_link})", ""]
    if not changed:
        out += [f"No criterion changed: all {len(tl.criteria)} have the verdict they had when the task was closed.", ""]
        return "\n".join(out)
    out += ["| criterion | when closed | now | changed at |", "|---|---|---|---|"]
    for cid in changed:
        flips = [ch for ch in trans[cid] if index[ch["sha"]] > start]
        shown = "<br>".join(f"{_commit(by_sha[ch['sha']])} → {ch['to']}" for ch in flips[-max_changes:])
        if len(flips) > max_changes:
            shown = f"{len(flips) - max_changes} earlier changes; " + shown
        now_msg = tl.outcomes[tl.head][cid].message
        out.append(f"| **{cid}** | {_SYMBOL[tl.verdict_at(closed.sha, cid)]} | {_SYMBOL[tl.verdict_at(tl.head, cid)]}: "
                   f"{_clip(_cell(now_msg), 200)} | {shown} |")
    same = [c for c in tl.criteria if c not in changed]
    back = [f"{c} ({n} changes)" for c in same
            if (n := sum(1 for ch in trans[c] if index[ch["sha"]] > start))]
    out += ["", f"Same verdict as when closed ({len(same)}): {', '.join(same) or 'none'}."]
    if back:
        out.append(f"Changed in between and back again: {', '.join(back)}.")
    out.append("")
    if regressed:
        out += [f"**Held when closed, not now: {', '.join(regressed)}.**", ""]
    return "\n".join(out)
