"""What every step module shares: ``check`` turns a ``CheckResult`` into an assertion with evidence."""
from __future__ import annotations

from pytest_buildgate.verdicts import check, record

__all__ = ["check", "record"]
