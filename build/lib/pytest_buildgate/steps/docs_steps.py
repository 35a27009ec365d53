"""Steps for D1-D3 (build docs, README link, dangling paths and options) and S1-S2 (helper scripts)."""
from __future__ import annotations

from pytest_buildgate.steps.common import criterion_steps

criterion_steps({
    "the build docs cover the overlay error, GitHub Actions, devpod triggers, local builds and troubleshooting": "D1",
    "the README links the build docs": "D2",
    "every path the docs and scripts name exists": "D3.paths",
    "every helper-script option the docs show is one the script accepts": "D3.options",
    "the helper scripts exist, are executable, parse and pass shellcheck": "S1",
    "the devpod trigger and status scripts name an existing workflow": "S2",
})
