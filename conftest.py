"""Root conftest: every module in ``fixtures/`` and every ``steps/*_steps.py`` is a plugin.

Adding a fixture or step module is enough; nothing needs registering here. Step decorators
create fixtures in the module that defines them, so loading the step modules as plugins makes
their steps visible to every feature (FACTS.md). buildgate's own pytest plugin
(``pytest_buildgate``) is loaded through its ``pytest11`` entry point, not from here.
"""
from __future__ import annotations

from pathlib import Path

import pytest

_ROOT = Path(__file__).parent


def _modules(package: str, pattern: str) -> list[str]:
    return sorted(f"{package}.{p.stem}" for p in (_ROOT / package).glob(pattern) if p.stem != "__init__")


pytest_plugins = _modules("fixtures", "*.py") + _modules("steps", "*_steps.py")

# Inputs of the harness's own tests (demo features, broken files) are data, not tests.
collect_ignore_glob = ["tests/data/*"]


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run without buildgate's plugin from its entry point: loaded any later, it could
    not keep pytest from reading an audited repository named by ``--repo PATH``."""
    if not config.pluginmanager.has_plugin("buildgate"):
        raise pytest.UsageError(
            "buildgate: its pytest plugin is not loaded (pip install -e . registers it; "
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 needs -p pytest_buildgate.plugin)")
