"""The example CI gate hands GHCR_TOKEN to buildgate: on a pull request the target file (which
decides where the token goes) must come from the base branch, not from the PR's checkout."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "gate-example.yml"


def _steps() -> list[dict]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    return doc["jobs"]["gate"]["steps"]


def test_the_example_workflow_is_valid():
    exe = shutil.which("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema is not installed")
    proc = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_on_pull_requests_the_target_file_comes_from_the_base_branch():
    steps = _steps()
    audit = next(s for s in steps if "GHCR_TOKEN" in (s.get("env") or {}))
    run = " ".join(audit["run"].split())
    assert "--target \"$TARGET_FILE\"" in run and "--target ../target/" not in run, run
    choice = audit["env"]["TARGET_FILE"]
    assert choice == ("${{ github.event_name == 'pull_request' && '../trusted/.buildgate/target.yml' "
                      "|| '../target/.buildgate/target.yml' }}")
    trusted = next(s for s in steps if (s.get("with") or {}).get("path") == "trusted")
    assert trusted["if"] == "github.event_name == 'pull_request'"
    assert trusted["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert trusted["uses"].startswith("actions/checkout@")
    # no checkout leaves the job's token in a .git/config that the audited code could read
    assert all((s.get("with") or {}).get("persist-credentials") is False
               for s in steps if str(s.get("uses", "")).startswith("actions/checkout@"))
