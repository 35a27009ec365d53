"""The outcome of one check: ok or not, a one-line message, and the evidence behind it."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CheckResult:
    """What a check found.

    ``message`` is one line: on failure it names what was expected, what was found and where
    (``file:line``, digest, object). ``evidence`` lists the facts the verdict rests on, pass or
    fail, so a report can show why something passed too.
    """

    ok: bool
    message: str
    evidence: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        """Truthy only when ok, so a stray ``assert result`` can't pass a failed check."""
        return self.ok

    @classmethod
    def passed(cls, message: str, evidence: list[str] | None = None) -> "CheckResult":
        return cls(True, message, list(evidence or []))

    @classmethod
    def failed(
        cls, expected: str, found: str, where: str | None = None, evidence: list[str] | None = None
    ) -> "CheckResult":
        """A failure message in the house format: ``expected X; found Y (at WHERE)``."""
        msg = f"expected {expected}; found {found}"
        if where:
            msg += f" (at {where})"
        return cls(False, msg, list(evidence or []))

    @classmethod
    def combine(cls, results: list["CheckResult"], ok_message: str) -> "CheckResult":
        """All results must be ok; failures are joined, evidence is kept from all."""
        evidence = [e for r in results for e in r.evidence]
        bad = [r.message for r in results if not r.ok]
        if bad:
            return cls(False, "; ".join(bad), evidence)
        return cls(True, ok_message, evidence)


class CheckFailed(AssertionError):
    """Raised by a step when a check's result is not ok: a failed criterion, never an error."""
