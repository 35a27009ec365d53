"""Hook specifications buildgate adds to pytest (registered by ``pytest_buildgate.plugin``)."""
from __future__ import annotations

from typing import Any


def pytest_buildgate_report(config: Any, report: dict[str, Any]) -> None:
    """Called once on the controller with the finished verdict report, before it is written.

    Implementations may add keys (claims, waivers, history) but must not change verdicts.
    """
