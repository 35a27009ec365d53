"""The one verdict type, and how a check's outcome becomes a verdict.

Every part of buildgate speaks of verdicts with :class:`Verdict`: the pytest side, the reports,
the gate, the claim audit and the history timeline. The ranking decides a criterion that several
scenarios (or parts) decide: it passes only if all of them pass, else the worst verdict wins,
``fail > error > skipped > pass``. ``waived`` (the gate's) and ``not checked`` (no selected
scenario decided the criterion) are never ranked: they are set after aggregation.

How an outcome maps (:func:`verdict_of`)::

    CheckResult(ok=True)            -> pass
    CheckResult(ok=False)           -> fail      (its message)
    NotApplicable                   -> skipped   (its reason)
    any other BuildgateError        -> error     ("<kind>: <reason>")
"""
from __future__ import annotations

from enum import Enum
from typing import Iterable

from buildgate.errors import BuildgateError, NotApplicable
from buildgate.result import CheckResult


class Verdict(str, Enum):
    """A criterion's or a scenario's verdict; its value is what reports and JSON show."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"
    WAIVED = "waived"
    NOT_CHECKED = "not checked"

    __str__ = str.__str__
    __format__ = str.__format__

    @property
    def rank(self) -> int:
        """Severity for aggregation (``worst``); waived/not checked rank like skipped."""
        return _RANK[self]


_RANK = {
    Verdict.PASS: 0, Verdict.SKIPPED: 1, Verdict.WAIVED: 1, Verdict.NOT_CHECKED: 1, Verdict.ERROR: 2, Verdict.FAIL: 3,
}
NOT_CHECKED_MESSAGE = "not checked in this run"


def worst(verdicts: Iterable[Verdict | str]) -> Verdict:
    """The verdict several scenarios or parts give together (none at all: not checked)."""
    vs = [Verdict(v) for v in verdicts]
    return max(vs, key=lambda v: v.rank) if vs else Verdict.NOT_CHECKED


def verdict_of(outcome: CheckResult | BaseException) -> tuple[Verdict, str]:
    """The verdict and one-line message of a check's result or of what it raised.

    Only buildgate's own exceptions are verdicts; anything else is a bug and is re-raised.
    """
    if isinstance(outcome, CheckResult):
        return (Verdict.PASS if outcome.ok else Verdict.FAIL), outcome.message
    if isinstance(outcome, NotApplicable):
        return Verdict.SKIPPED, str(outcome)
    if isinstance(outcome, BuildgateError):
        return Verdict.ERROR, f"{outcome.kind}: {outcome}"
    raise outcome
