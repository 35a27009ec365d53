"""Gate semantics and waivers, on reports built from scenario verdicts."""
from __future__ import annotations

import datetime as dt

from buildgate.reports import gate
from buildgate.reports.verdicts import ScenarioVerdict, aggregate
from buildgate.target import Waiver

TODAY = dt.date(2026, 11, 28)


def _report(**verdicts: str) -> dict:
    scenarios = [ScenarioVerdict(f"f::{cid}", cid, [cid], v, f"{cid} said {v}") for cid, v in verdicts.items()]
    return aggregate(scenarios, {"name": "t"})


def test_gate_open_only_when_every_checked_criterion_passes():
    assert gate.evaluate(_report(W1="pass", W2="pass")).open
    closed = gate.evaluate(_report(W1="pass", W2="fail"))
    assert not closed.open and closed.blocking == {"W2": "fail"}


def test_not_checked_criteria_are_outside_the_gate_and_listed():
    report = _report(W1="pass")
    result = gate.evaluate(report)
    assert result.open
    assert "K5" in result.not_checked and "W1" not in result.not_checked
    assert report["gate"]["not_checked"] == result.not_checked


def test_errors_and_skips_close_the_gate_unless_allowed():
    assert not gate.evaluate(_report(W1="error")).open
    assert gate.evaluate(_report(W1="error"), allow_errors=True).open
    assert not gate.evaluate(_report(V1="skipped")).open
    assert gate.evaluate(_report(V1="skipped"), allow_skipped=True).open
    assert not gate.evaluate(_report(W1="fail"), allow_errors=True, allow_skipped=True).open


def test_valid_waiver_turns_a_failure_into_waived_with_its_reason():
    report = _report(K6="fail", W1="pass")
    gate.apply_waivers(report, [Waiver("K6", "Argo CD migration", dt.date(2026, 12, 31))], TODAY)
    k6 = report["criteria"]["K6"]
    assert k6["verdict"] == "waived" and k6["original_verdict"] == "fail"
    assert "Argo CD migration" in k6["message"] and "K6 said fail" in k6["message"]
    assert report["summary"]["waived"] == 1
    assert gate.evaluate(report).open


def test_expired_waiver_is_a_failure_that_says_so():
    report = _report(K6="fail")
    gate.apply_waivers(report, [Waiver("K6", "Argo CD migration", dt.date(2026, 11, 1))], TODAY)
    k6 = report["criteria"]["K6"]
    assert k6["verdict"] == "fail"
    assert "expired on 2026-11-01" in k6["message"] and "Argo CD migration" in k6["message"]
    assert report["waivers"][0]["status"] == "expired"
    assert not gate.evaluate(report).open


def test_expired_waiver_fails_even_a_passing_criterion():
    report = _report(K6="pass")
    gate.apply_waivers(report, [Waiver("K6", "old", dt.date(2026, 1, 1))], TODAY)
    assert report["criteria"]["K6"]["verdict"] == "fail"


def test_waiver_of_a_passing_or_unchecked_criterion_is_reported_unused():
    report = _report(W1="pass")
    gate.apply_waivers(report, [Waiver("W1", "x", None), Waiver("K5", "y", None)], TODAY)
    assert [w["status"] for w in report["waivers"]] == ["unused (criterion passes)", "unused (not checked in this run)"]
    assert report["criteria"]["W1"]["verdict"] == "pass"


def test_a_waiver_without_reason_or_expiry_is_refused_by_the_target_schema():
    import pytest

    from buildgate import target
    from buildgate.errors import TargetError

    for bad in (
        {"criterion": "K6", "expires": "2027-01-01"},
        {"criterion": "K6", "reason": "   ", "expires": "2027-01-01"},
        {"criterion": "Z9", "reason": "x", "expires": "2027-01-01"},
        {"criterion": "K6", "reason": "no end date"},  # a waiver without expiry would last forever
        {"criterion": "K6", "reason": "x", "expires": "soon"},
    ):
        with pytest.raises(TargetError):
            target.from_dict({"waivers": [bad]}, "t.yml")


def test_waivers_of_a_target_found_in_the_audited_repository_are_named_at_the_gate():
    from buildgate.reports.terminal import gate_line as terminal_gate_line

    report = _report(W1="pass", W2="fail")
    report["target"] = {"name": "t", "in_audited_repository": True}
    gate.apply_waivers(report, [Waiver("W2", "flaky, INFRA-9", dt.date(2999, 1, 1))], TODAY)
    assert gate.evaluate(report).open
    assert report["gate"]["waived_by_audited_repository"] == ["W2"]
    assert "waivers from the audited repository's own target file: W2" in gate.gate_state(report)
    assert terminal_gate_line(report).startswith("gate: open (with waivers from the audited repository")
