"""Judging claims: each claim's checks, the one that decides it, and its evidence.

:func:`judge` takes ``run_part(key)``, which decides one key (``W9``, ``W9.retry``, ``file exists:
DOCKER_BUILD.md``): it returns the check's :class:`~buildgate.result.CheckResult`, or raises a
buildgate error as a check does (``error``; ``NotApplicable`` is ``skipped``). A caller that already
holds a verdict (the run's report, a timeline's outcome) returns a :class:`Finding` instead.
:class:`Runner` is the ``run_part`` of an audit: claim checks and repository-layer parts run with a
:class:`~buildgate.context.Context` of the audited repository; whole criteria, and parts that
can't run there, take the verdict the run decided (``decided(cid)``).

A claim is **verified** when all its checks pass, **contradicted** when one fails (the first
failing check decides it: its message is the reason, its evidence the evidence), and
**unverifiable** when nothing maps to it ("no check") or some check was skipped, errored, waived
or not checked. A *summary* claim ("Status: RESOLVED") is verified when every other claim is,
contradicted when any is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from buildgate.claims.checks import MAX_GH_CALLS, is_claim_check, run_claim_check, uses_gh
from buildgate.claims.document import Claim
from buildgate.criteria import CRITERIA
from buildgate.criteria import run as run_criterion
from buildgate.errors import BuildgateError
from buildgate.result import CheckResult
from buildgate.verdict import NOT_CHECKED_MESSAGE, Verdict, verdict_of

MAX_EVIDENCE = 20
STATUSES = ("verified", "contradicted", "unverifiable")


@dataclass
class Finding:
    """What decided one key: a verdict, its one-line message and evidence, and how it was decided."""

    verdict: Verdict
    message: str
    evidence: list[str] = field(default_factory=list)
    note: str = ""

    @classmethod
    def of(cls, outcome: CheckResult | Finding | BaseException) -> Finding:
        if isinstance(outcome, Finding):
            return outcome
        verdict, message = verdict_of(outcome)
        evidence = list(outcome.evidence) if isinstance(outcome, CheckResult) else []
        return cls(verdict, message, evidence)

    @classmethod
    def from_report(cls, criterion: dict[str, Any] | None) -> Finding:
        """A criterion's entry of the verdict report (``None``: not in the report)."""
        if criterion is None:
            return cls(Verdict.NOT_CHECKED, NOT_CHECKED_MESSAGE)
        return cls(Verdict(criterion["verdict"]), criterion.get("message", ""), list(criterion.get("evidence", [])))


RunPart = Callable[[str], "CheckResult | Finding"]


class Runner:
    """``run_part`` for one audited revision.

    ``decided(cid)`` is the run's verdict of a whole criterion. A part is run through the registry
    when it is a repository-layer part and the run checked its criterion (a run narrowed with
    ``-m`` or ``--criteria`` stays narrowed). A part of another layer, or one this buildgate's
    registry doesn't hold, is judged by its criterion, and says so: the criterion's pass is the
    part's pass, but its failure may be another part's, so then the part can't be decided. ``reuse`` (``buildgate history``) keeps outcomes whose repository reads are unchanged.
    """

    def __init__(self, ctx: Any, decided: Callable[[str], Finding], reuse: "Reuse | None" = None) -> None:
        self.ctx = ctx
        self.decided = decided
        self.reuse = reuse
        self.gh_calls = 0

    def __call__(self, key: str) -> CheckResult | Finding:
        if is_claim_check(key):
            if uses_gh(key):
                self.gh_calls += 1
                if self.gh_calls > MAX_GH_CALLS:
                    return Finding(Verdict.ERROR, f"not validated: buildgate runs gh for at most {MAX_GH_CALLS} "
                                                  "distinct commands per document")
            return self._run(key, lambda: run_claim_check(key, self.ctx))
        cid, dot, part = key.partition(".")
        if not dot:
            return self.decided(cid)
        crit = CRITERIA[cid]
        whole = self.decided(cid)
        if part not in crit.parts:
            return _fallback(key, whole, f"{cid} has no part {part!r} in this buildgate")
        if crit.layer != "repo":
            return _fallback(key, whole, f"a {crit.layer}-layer part is not re-run for a claim")
        if whole.verdict == Verdict.NOT_CHECKED:
            return Finding(Verdict.NOT_CHECKED, f"{cid} was not checked in this run")
        return self._run(key, lambda: run_criterion(key, self.ctx))

    def _run(self, key: str, check: Callable[[], CheckResult]) -> CheckResult | Finding:
        if self.reuse is not None:
            return self.reuse.run(key, self.ctx.repo, check)
        return _attempt(check)


def _attempt(check: Callable[[], CheckResult]) -> CheckResult | Finding:
    try:
        return check()
    except BuildgateError as exc:
        return Finding.of(exc)


def _fallback(key: str, whole: Finding, why: str) -> Finding:
    """A part judged by its whole criterion: a criterion passes only when all its parts pass, so
    its pass is the part's; its failure may be another part's, so it decides nothing here."""
    cid = key.partition(".")[0]
    if whole.verdict == Verdict.FAIL:
        return Finding(Verdict.ERROR, f"cannot decide: {cid} fails ({whole.message[:300]}), but whether {key} holds "
                                      f"can't be told ({why})", list(whole.evidence), f"{why}: judged by {cid}")
    return Finding(whole.verdict, whole.message, list(whole.evidence), f"{why}: judged by {cid} as a whole")


class Reuse:
    """Outcomes of one key at the previous revision, kept while what they read is unchanged."""

    def __init__(self) -> None:
        self.last: dict[str, tuple[frozenset, CheckResult | Finding]] = {}
        self.stats = {"run": 0, "reused": 0}

    def run(self, key: str, repo: Any, check: Callable[[], CheckResult]) -> CheckResult | Finding:
        prev = self.last.get(key)
        if prev is not None and repo.replay_equal(prev[0]):
            self.stats["reused"] += 1
            return prev[1]
        with repo.recording() as reads:
            outcome = _attempt(check)
        self.last[key] = (frozenset(reads), outcome)
        self.stats["run"] += 1
        return outcome


# -- judging -------------------------------------------------------------------------------------
def _where(finding: Finding) -> list[str]:
    """The ``file:line`` locations a finding names (its ``(at …)`` first)."""
    out: list[str] = []
    for text in [finding.message, *finding.evidence[:MAX_EVIDENCE]]:
        for word in str(text).split():
            word = word.strip("(),;:'`\"")
            path, sep, line = word.rpartition(":")
            if sep and line.isdigit() and path and any(c.isalpha() for c in path) and ("/" in path or "." in path) \
                    and "//" not in path and len(word) < 300:
                out.append(word)
    return list(dict.fromkeys(out))[:10]


def _check_entry(key: str, f: Finding) -> dict[str, Any]:
    entry = {"check": key, "verdict": f.verdict.value, "message": f.message, "where": _where(f),
             "evidence": f.evidence[:MAX_EVIDENCE]}
    if f.note:
        entry["note"] = f.note
    return entry


def _criteria_of(keys: list[str]) -> list[str]:
    return list(dict.fromkeys(k.partition(".")[0] for k in keys if not is_claim_check(k)))


def judge(claims: list[Claim], run_part: RunPart) -> dict[str, Any]:
    """Decide each claim with ``run_part``; return the ``claims`` section of the report."""
    memo: dict[str, Finding] = {}

    def decide(key: str) -> Finding:
        if key not in memo:
            try:
                memo[key] = Finding.of(run_part(key))
            except BuildgateError as exc:
                memo[key] = Finding.of(exc)
        return memo[key]

    out: list[dict[str, Any]] = []
    for claim in claims:
        entry: dict[str, Any] = {
            "text": claim.text, "line": claim.line, "section": claim.section, "kind": claim.kind,
            "summary": claim.summary, "criteria": _criteria_of(claim.checks), "status": "unverifiable",
            "reason": "", "check": None, "where": [], "evidence": [], "checks": [],
        }
        out.append(entry)
        if claim.summary:
            continue
        if not claim.checks:
            entry["reason"] = "unverifiable (no check): nothing maps to this claim"
            continue
        findings = [(k, decide(k)) for k in claim.checks]
        entry["checks"] = [_check_entry(k, f) for k, f in findings]
        failed = [(k, f) for k, f in findings if f.verdict == Verdict.FAIL]
        open_ = [(k, f) for k, f in findings if f.verdict not in (Verdict.PASS, Verdict.FAIL)]
        if failed:
            key, f = failed[0]
            entry.update(status="contradicted", check=key, where=_where(f), evidence=f.evidence[:MAX_EVIDENCE],
                         reason="; ".join(f"{k} fails: {x.message}" for k, x in failed))
        elif not open_:
            entry.update(status="verified", check=", ".join(claim.checks),
                         where=[w for _k, f in findings for w in _where(f)][:10],
                         evidence=[e for _k, f in findings for e in f.evidence][:MAX_EVIDENCE],
                         reason="all of " + ", ".join(claim.checks) + " pass")
        else:
            key, f = open_[0]
            held = [k for k, x in findings if x.verdict == Verdict.PASS]
            entry.update(check=key, where=_where(f), evidence=f.evidence[:MAX_EVIDENCE],
                         reason="nothing disproves it" + (f" ({', '.join(held)} pass)" if held else "") + ", but " + ", ".join(
                             f"{k} {x.verdict.value}" + (f" ({x.message})" if x.verdict == Verdict.ERROR else "")
                             for k, x in open_))
    others = [e for e in out if not e["summary"]]
    bad = [e for e in others if e["status"] == "contradicted"]
    unsure = [e for e in others if e["status"] == "unverifiable"]
    for entry in out:
        if not entry["summary"]:
            continue
        if bad:
            entry.update(status="contradicted", check="the other claims",
                         reason=f"{len(bad)} claim(s) contradicted: " + "; ".join(f"line {e['line']}: {e['text']}" for e in bad))
        elif unsure or not others:
            entry.update(status="unverifiable", check="the other claims", reason=f"{len(unsure)} claim(s) unverifiable")
        else:
            entry.update(status="verified", check="the other claims", reason="every other claim is verified")
    counts = {s: sum(1 for e in out if e["status"] == s) for s in STATUSES}
    no_check = sum(1 for e in out if not e["summary"] and not e["checks"])
    summary = (f"claims: {counts['verified']} verified, {counts['contradicted']} contradicted, "
               f"{counts['unverifiable']} unverifiable ({no_check} with no check) (of {len(out)})")
    return {"summary": summary, "counts": {**counts, "no check": no_check}, "claims": out}
