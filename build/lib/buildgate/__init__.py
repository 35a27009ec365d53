"""buildgate: audits whether a claimed build-and-deploy fix is actually in place.

The library is plain Python (no pytest imports). The pytest side lives in ``fixtures/``
and ``steps/``; the BDD features that state the criteria live in ``features/``.
"""
from __future__ import annotations

from buildgate.errors import (
    BuildgateError,
    CannotDecide,
    InputError,
    NotApplicable,
    RemoteError,
    TargetError,
)
from buildgate.result import CheckResult

__all__ = [
    "BuildgateError",
    "CannotDecide",
    "CheckResult",
    "InputError",
    "NotApplicable",
    "RemoteError",
    "TargetError",
]
__version__ = "0.1.0"
