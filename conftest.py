"""Root conftest of the checkout.

buildgate's pytest plugin (``pytest_buildgate``) is loaded through its ``pytest11`` entry point,
and it loads every module of ``fixtures/`` and every ``steps/*_steps.py`` (installed as
``pytest_buildgate.fixtures`` / ``.steps``) as plugins in a buildgate run: adding a file there is
enough. Step decorators create fixtures in the module that defines them, so loading the step
modules as plugins makes their steps visible to every feature (FACTS.md).
"""
from __future__ import annotations

import pytest

# Inputs of the harness's own tests (demo features, broken files) are data, not tests.
collect_ignore_glob = ["tests/data/*"]


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run without buildgate's plugin from its entry point: loaded any later, it could
    not keep pytest from reading an audited repository named by ``--repo PATH``."""
    if not (config.pluginmanager.has_plugin("buildgate") or config.pluginmanager.has_plugin("pytest_buildgate.plugin")):
        raise pytest.UsageError(
            "buildgate: its pytest plugin is not loaded (pip install -e . registers it; "
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 needs -p pytest_buildgate.plugin)")
