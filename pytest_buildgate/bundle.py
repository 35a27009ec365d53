"""The built-in criteria: their features, steps and fixtures, loaded in a buildgate run.

In a source checkout they are the top-level ``features/``, ``steps/`` and ``fixtures/``; an
install maps them into this package (``pytest_buildgate.features``, ``.steps``, ``.fixtures``;
see ``pyproject.toml``), so an audit needs no checkout (``buildgate audit``). The step and fixture
modules are loaded as plugins only in a buildgate run, so installing buildgate adds no fixture or
step to an unrelated pytest project.
"""
from __future__ import annotations

import pkgutil

import pytest

from pytest_buildgate.collection import is_buildgate_run


def plugin_modules() -> list[str]:
    """Every fixture module, then every ``*_steps`` module, by name (adding a file is enough)."""
    from pytest_buildgate import fixtures, steps

    found = sorted(f"{fixtures.__name__}.{m.name}" for m in pkgutil.iter_modules(fixtures.__path__) if not m.ispkg)
    found += sorted(f"{steps.__name__}.{m.name}" for m in pkgutil.iter_modules(steps.__path__)
                    if not m.ispkg and m.name.endswith("_steps"))
    return found


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if is_buildgate_run(config):
        for name in plugin_modules():
            config.pluginmanager.import_plugin(name)
