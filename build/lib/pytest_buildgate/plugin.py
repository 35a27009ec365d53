"""The buildgate pytest plugin: it only dispatches, to one module per concern.

Each module below owns its options and hooks; pytest registers them as plugins of their own.
"""
from __future__ import annotations

import pytest

from pytest_buildgate import hookspecs

pytest_plugins = [
    "pytest_buildgate.target",
    "pytest_buildgate.collection",
    "pytest_buildgate.verdicts",
    "pytest_buildgate.output",
    "pytest_buildgate.claims",
    "pytest_buildgate.bundle",
]


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)
