"""The Markdown audit: a summary table, then per criterion its evidence and the claims it backs.

Everything that can come from the audited repository or the claims document (messages, file
names, evidence, claim text) goes through :func:`inline`, so it can neither start a line of its
own (a false ``**Gate:** open``) nor carry HTML.
"""
from __future__ import annotations

import html
import re
from typing import Any

from buildgate.reports.annotations import blob_links
from buildgate.reports.gate import gate_state
from buildgate.verdict import Verdict

_ICON = {"pass": "✅", "fail": "❌", "error": "⚠️", "skipped": "⏭️", "waived": "🟡", "not checked": "·"}
_BREAKS = re.compile(r"[\s\u2028\u2029\x85]+")


def inline(text: Any, limit: int | None = None) -> str:
    """Untrusted text as one line of Markdown: whitespace collapsed, HTML and table pipes escaped."""
    out = _BREAKS.sub(" ", str(text)).strip()
    if limit is not None and len(out) > limit:
        out = out[: limit - 1] + "…"
    out = html.escape(out, quote=False)
    for ch in "\\|`[]!":  # no table cell, code span, link or image of its own
        out = out.replace(ch, "\\" + ch) if ch != "\\" else out.replace("\\", "\\\\")
    return out


def markdown(report: dict[str, Any], title: str = "buildgate audit", link_blobs: bool = False) -> str:
    """A Markdown audit report: a summary table, then per criterion its evidence and claims.

    ``link_blobs``: link each repository ``file:line`` of messages and evidence to the blob at the
    audited commit (``target.github`` and ``target.commit`` of the report), as the GitHub step
    summary does.
    """
    target = report.get("target", {})
    github, commit = target.get("github"), target.get("commit")

    def text(value: Any, limit: int | None = None) -> str:
        escaped = inline(value, limit)
        return blob_links(escaped, github, commit) if link_blobs and github and commit else escaped

    s = report["summary"]
    out = [f"# {inline(title)}: {inline(target.get('name', '?'))}", ""]
    state = gate_state(report)
    if state is not None:
        out += [f"**Gate:** {inline(state)}", ""]
    out += [
        f"{s.get('pass', 0)} pass, {s.get('fail', 0)} fail, {s.get('error', 0)} error, "
        f"{s.get('skipped', 0)} skipped, {s.get('waived', 0)} waived, {s.get('not_checked', 0)} not checked",
        "",
        "| criterion | verdict | what | message |",
        "|---|---|---|---|",
    ]
    claims_by_criterion: dict[str, list[str]] = {}
    for claim in report.get("claims", {}).get("claims", []):
        for cid in claim.get("criteria", []):
            claims_by_criterion.setdefault(cid, []).append(claim["text"])
    for cid, c in report["criteria"].items():
        verdict = Verdict(c["verdict"])
        msg = "" if verdict in (Verdict.PASS, Verdict.NOT_CHECKED) else text(c["message"], 300)
        out.append(f"| {inline(cid)} | {_ICON.get(verdict.value, '·')} {verdict.value} | {inline(c['title'])} | {msg} |")
    out.append("")
    for cid, c in report["criteria"].items():
        verdict = Verdict(c["verdict"])
        if verdict == Verdict.NOT_CHECKED:
            continue
        head = f"**{verdict.value}**" + ("" if verdict == Verdict.PASS else f": {text(c['message'])}")
        out += [f"## {inline(cid)}: {inline(c['title'])}", "", head, ""]
        if c["scenarios"]:
            out.append("Scenarios:")
            for sc in c["scenarios"]:
                line = f"- {_ICON.get(sc['verdict'], '·')} {inline(sc['name'])} ({inline(sc['nodeid'])})"
                if sc.get("step") and sc["verdict"] in (Verdict.FAIL, Verdict.ERROR):
                    line += f" at step {inline(sc['step'])}"
                out.append(line)
            out.append("")
        if c["evidence"]:
            out.append("Evidence:")
            out += [f"- {text(e)}" for e in c["evidence"][:50]]
            if len(c["evidence"]) > 50:
                out.append(f"- … and {len(c['evidence']) - 50} more")
            out.append("")
        if claims_by_criterion.get(cid):
            out.append("Claims it backs:")
            out += [f"- {inline(t)}" for t in claims_by_criterion[cid]]
            out.append("")
    claims = report.get("claims")
    if claims:
        out += claims_section(claims)
    return "\n".join(out)


_CLAIM_ICON = {"verified": "✅", "contradicted": "❌", "unverifiable": "❔"}


def claims_section(claims: dict[str, Any]) -> list[str]:
    """The claim audit: per claim its line, status, deciding check, reason and ``file:line``
    evidence. Every word of it can come from the document or the repository: all of it goes
    through :func:`inline`."""
    out = ["## Claims", "", inline(claims.get("summary", "")), ""]
    out += [f"- note: {inline(n, 300)}" for n in claims.get("notes", [])]
    out += ["", "| line | claim | status | decided by | why | evidence |", "|---|---|---|---|---|---|"]
    for cl in claims["claims"]:
        status = str(cl.get("status", ""))
        where = ", ".join(cl.get("where") or [])
        out.append(
            f"| {inline(cl.get('line', ''))} | {inline(cl.get('text', ''), 300)} "
            f"| {_CLAIM_ICON.get(status, '·')} {inline(status)} | {inline(cl.get('check') or '—', 200)} "
            f"| {inline(cl.get('reason', ''), 400)} | {inline(where, 200) or '—'} |")
    out.append("")
    return out
