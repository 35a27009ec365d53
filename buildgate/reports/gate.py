"""Gate semantics: waivers, and whether a run's verdicts let a release through.

- A waiver (target file: ``waivers: [{criterion, reason, expires}]``) turns a criterion that did
  not pass into ``waived`` with its reason. Nothing is waived without a reason and an expiry
  (the target schema refuses it). An expired waiver waives nothing: the criterion becomes
  ``fail`` with a message saying the waiver expired, whatever it would have been.
- The gate is open (exit status 0) only when every selected criterion is ``pass`` or
  ``waived``. ``error`` closes it unless ``allow_errors``; ``skipped`` closes it unless
  ``allow_skipped`` (a skipped criterion was not verified). Criteria no selected scenario
  decided (``not checked``) are outside the gate; the report lists them.
- An interrupted run (Ctrl-C) closes the gate whatever its verdicts say: what had not finished
  was not verified.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Iterable

from buildgate.reports.verdicts import summarize
from buildgate.target import Waiver
from buildgate.verdict import Verdict


@dataclass
class GateResult:
    open: bool
    blocking: dict[str, str] = field(default_factory=dict)   # criterion -> verdict that blocks
    not_checked: list[str] = field(default_factory=list)


def apply_waivers(report: dict[str, Any], waivers: Iterable[Waiver], today: _dt.date | None = None) -> None:
    """Rewrite verdicts in ``report`` for waived criteria (in place) and list the waivers used."""
    today = today or _dt.date.today()
    used = []
    for w in waivers:
        crit = report["criteria"].get(w.criterion)
        if crit is None:
            continue
        entry = {"criterion": w.criterion, "reason": w.reason, "expires": w.expires.isoformat() if w.expires else None}
        if crit["verdict"] == Verdict.NOT_CHECKED:
            entry["status"] = "unused (not checked in this run)"
        elif w.expired(today):
            entry["status"] = "expired"
            crit["original_verdict"] = crit["verdict"]
            crit["verdict"] = Verdict.FAIL
            crit["message"] = (
                f"expected a valid waiver or a passing check; found a waiver that expired on "
                f"{w.expires.isoformat()} (reason: {w.reason}); the check itself: {crit['original_verdict']}"
                + (f": {crit['message']}" if crit["original_verdict"] != Verdict.PASS else "")
            )
        elif crit["verdict"] == Verdict.PASS:
            entry["status"] = "unused (criterion passes)"
        else:
            entry["status"] = "applied"
            crit["original_verdict"] = crit["verdict"]
            crit["verdict"] = Verdict.WAIVED
            crit["waiver"] = {"reason": w.reason, "expires": entry["expires"]}
            crit["message"] = f"waived: {w.reason} (was {crit['original_verdict']}: {crit['message']})"
        used.append(entry)
    report["waivers"] = used
    report["summary"] = summarize(report["criteria"])


def waived_by_audited_repository(report: dict[str, Any]) -> list[str]:
    """The criteria waived by a target file found inside the repository under audit (its own
    ``.buildgate/target.yml``): the gate says so, since that file is the audited party's word."""
    if not report.get("target", {}).get("in_audited_repository"):
        return []
    return [w["criterion"] for w in report.get("waivers", []) if w.get("status") == "applied"]


def evaluate(report: dict[str, Any], allow_errors: bool = False, allow_skipped: bool = False,
             interrupted: bool = False) -> GateResult:
    """Decide the gate from a (waived) report and write it into ``report["gate"]``."""
    ok = {Verdict.PASS, Verdict.WAIVED}
    if allow_errors:
        ok.add(Verdict.ERROR)
    if allow_skipped:
        ok.add(Verdict.SKIPPED)
    blocking: dict[str, str] = {}
    not_checked = []
    for cid, c in report["criteria"].items():
        if c["verdict"] == Verdict.NOT_CHECKED:
            not_checked.append(cid)
        elif c["verdict"] not in ok:
            blocking[cid] = Verdict(c["verdict"]).value
    result = GateResult(open=not blocking and not interrupted, blocking=blocking, not_checked=not_checked)
    report["gate"] = {
        "open": result.open,
        "blocking": blocking,
        "not_checked": not_checked,
        "allow_errors": allow_errors,
        "allow_skipped": allow_skipped,
    }
    if interrupted:
        report["gate"]["interrupted"] = True
    own = waived_by_audited_repository(report)
    if own:
        report["gate"]["waived_by_audited_repository"] = own
    return result


def gate_state(report: dict[str, Any]) -> str | None:
    """The gate in words, as the terminal and the Markdown audit show it: ``open`` (naming waivers
    of the audited repository's own target file), ``closed by W2 (fail), …`` or ``closed: the run
    was interrupted …``; ``None`` before the gate is decided."""
    gate = report.get("gate")
    if gate is None:
        return None
    if gate.get("interrupted"):
        return "closed: the run was interrupted before every selected criterion was decided"
    if gate["open"]:
        own = gate.get("waived_by_audited_repository")
        return "open" + (f" (with waivers from the audited repository's own target file: {', '.join(own)})"
                         if own else "")
    return "closed by " + ", ".join(f"{k} ({v})" for k, v in gate["blocking"].items())
