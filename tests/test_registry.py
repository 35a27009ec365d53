"""The criteria registry's combination of parts: a part that fails is never hidden by one that
could not decide (fail > error > skipped > pass), in the registry and in a scenario's steps."""
from __future__ import annotations

import pytest

from buildgate import criteria
from buildgate.context import Context
from buildgate.criteria import Criterion
from buildgate.errors import CannotDecide, NotApplicable
from buildgate.result import CheckResult, CheckFailed
from buildgate.target import Target


def _skip(c):
    raise NotApplicable("no devpod")


def _undecided(c):
    raise CannotDecide("depends on `${{ secrets.X }}`", "w.yml:3")


def _fails(c):
    return CheckResult.failed("a retry", "none", "w.yml:9")


def _holds(c):
    return CheckResult.passed("fine")


@pytest.mark.parametrize(("parts", "verdict"), [
    ((_skip, _fails), "fail"),
    ((_undecided, _fails, _holds), "fail"),
    ((_skip, _undecided, _holds), "error"),
    ((_holds, _skip), "skipped"),
    ((_holds, _holds), "pass"),
])
def test_the_worst_part_decides_the_criterion(parts, verdict):
    crit = Criterion("X9", "repo", "t", {str(i): fn for i, fn in enumerate(parts)})
    try:
        result = crit.check(Context(Target(), lambda: None))
        got = "pass" if result.ok else "fail"
    except CannotDecide:
        got = "error"
    except NotApplicable:
        got = "skipped"
    assert got == verdict


def test_a_step_whose_part_cannot_decide_still_fails_when_another_part_fails(monkeypatch):
    from pytest_buildgate.steps.common import _runs

    crit = Criterion("X9", "repo", "t", {"first": _undecided, "second": _fails})
    monkeypatch.setitem(criteria.CRITERIA, "X9", crit)
    with pytest.raises(CheckFailed, match=r"expected a retry; found none \(at w.yml:9\)"):
        _runs("X9.first")(Context(Target(), lambda: None))
    crit.parts["second"] = _holds
    with pytest.raises(CannotDecide):
        _runs("X9.first")(Context(Target(), lambda: None))
