"""End to end: ``pytest features/devpod`` on the embedded sandbox, and on a target with no devpod."""
from __future__ import annotations

from pathlib import Path

import pytest

from pytest_buildgate.fixtures.devpod_sandbox import preconditions
from pytest_buildgate.fixtures.sandbox_repo import make_sandbox_repo
from buildgate.errors import NotApplicable
from tests.helpers import run_pytest, verdicts


def test_sandbox_devpod_passes_v1_to_v4() -> None:
    try:
        preconditions()
    except NotApplicable as exc:
        pytest.skip(str(exc))
    code, report, out = run_pytest("features/devpod", "-q", timeout=300)
    assert code == 0, out[-2000:]
    assert report is not None
    assert {k: v for k, v in verdicts(report).items() if k.startswith("V")} == {f"V{i}": "pass" for i in range(1, 5)}


def test_no_devpod_configured_skips_with_the_reason(tmp_path: Path) -> None:
    sr = make_sandbox_repo(tmp_path / "moltbook-org")
    _code, report, out = run_pytest("features/devpod", "-q", "--repo", str(sr.path), timeout=300)
    assert report is not None, out[-2000:]
    for cid in ("V1", "V2", "V3", "V4"):
        crit = report["criteria"][cid]
        assert crit["verdict"] == "skipped", crit
        assert crit["message"] == "no devpod configured (set devpod.host in the target file)"
