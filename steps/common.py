"""What every step module shares: ``check`` turns a ``CheckResult`` into an assertion with evidence."""
from __future__ import annotations

from buildgate.result import CheckFailed, CheckResult
from fixtures.plugin import PROP_EVIDENCE, current_item


def record(evidence: list[str]) -> None:
    """Attach evidence to the running scenario (it reaches the report under its criteria)."""
    item = current_item()
    if item is not None and evidence:
        item.user_properties.append((PROP_EVIDENCE, list(evidence)))


def check(result: CheckResult) -> CheckResult:
    """Record the result's evidence, then fail the scenario with its message unless it is ok."""
    if not isinstance(result, CheckResult):
        raise TypeError(f"check() takes a CheckResult, got {type(result).__name__}")
    record(result.evidence)
    if not result.ok:
        raise CheckFailed(result.message)
    return result
