"""End to end: the docs-and-scripts feature against the sandbox and a broken copy of it."""
from __future__ import annotations

from pytest_buildgate.fixtures.sandbox_repo import TEMPLATE, make_sandbox_repo
from tests.helpers import run_pytest, verdicts

FEATURE = "features/repo/docs_and_scripts.feature"


def test_feature_passes_on_the_sandbox_and_fails_a_renamed_workflow(tmp_path):
    code, report, out = run_pytest(FEATURE, "-q")
    assert code == 0, out
    assert verdicts(report) == {"D1": "pass", "D2": "pass", "D3": "pass", "S1": "pass", "S2": "pass"}

    trigger = (TEMPLATE / "scripts" / "build-images-devpod.sh").read_text()
    broken = make_sandbox_repo(tmp_path / "repo", files={
        "scripts/build-images-devpod.sh": trigger.replace("build-push.yml", "docker-build.yml"),
        "README.md": "# Moltbook\n\nSee DOCKER_BUILD.md.\n",
    })
    code, report, out = run_pytest(FEATURE, "-q", "--repo", str(broken.path))
    assert code == 1, out
    assert verdicts(report) == {"D1": "pass", "D2": "fail", "D3": "fail", "S1": "pass", "S2": "fail"}
    s2 = report["criteria"]["S2"]["message"]
    assert "found docker-build.yml, but .github/workflows/ holds: build-push.yml" in s2
    assert "Traceback" not in out
