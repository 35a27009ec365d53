"""Workflows that can't be used are failures or errors through the features, never passes."""
from __future__ import annotations

import pytest

from pytest_buildgate.fixtures.sandbox_repo import TEMPLATE, make_sandbox_repo
from tests.helpers import run_features

WORKFLOW = ".github/workflows/build-push.yml"
GOOD = (TEMPLATE / WORKFLOW).read_text()


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ("name: x\non: [push\n", "invalid YAML"),
        ("name: x\n\x00\x01binary\n", "binary file"),
        (GOOD.replace("jobs:", "jobs:\n  bad: [", 1), "invalid YAML"),
    ],
)
def test_a_workflow_that_does_not_parse_fails_w2_and_w1b(tmp_path, content, found):
    bad = make_sandbox_repo(tmp_path / "r", files={WORKFLOW: content})
    code, report = run_features("-m", "W1 or W1b or W2", "--repo", str(bad.path), "--allow-errors")
    v = {cid: report["criteria"][cid] for cid in ("W1", "W1b", "W2")}
    assert v["W1"]["verdict"] == "pass"
    assert v["W2"]["verdict"] == "fail" and found in v["W2"]["message"] and WORKFLOW in v["W2"]["message"]
    assert v["W1b"]["verdict"] == "fail"
    assert code == 1  # --allow-errors can't open the gate on a broken workflow


def test_images_the_workflow_does_not_build_make_w9_and_w11_errors_not_passes(tmp_path):
    renamed = GOOD.replace("ghcr.io/ardenone/moltbook-api", "ghcr.io/ardenone/other-api").replace(
        "type=sha,prefix=,format=short", "type=sha,prefix={{branch}}-,format=short")
    bad = make_sandbox_repo(tmp_path / "r", files={WORKFLOW: renamed})
    _, report = run_features("-m", "W4 or W9 or W11", "--repo", str(bad.path))
    assert report["criteria"]["W4"]["verdict"] == "fail"
    assert report["criteria"]["W9"]["verdict"] == "error" and "no build of ghcr.io/ardenone/moltbook-api" in report["criteria"]["W9"]["message"]
    # the frontend's tags are still computed: '-abc1234' on a pull request is a failure, not an error
    assert report["criteria"]["W11"]["verdict"] == "fail" and "starts with '-'" in report["criteria"]["W11"]["message"]


def test_w11_with_no_build_of_an_image_and_valid_tags_otherwise_is_an_error(tmp_path):
    renamed = GOOD.replace("ghcr.io/ardenone/moltbook-api", "ghcr.io/ardenone/other-api")
    bad = make_sandbox_repo(tmp_path / "r", files={WORKFLOW: renamed})
    _, report = run_features("-m", "W11", "--repo", str(bad.path))
    assert report["criteria"]["W11"]["verdict"] == "error"
    assert "no build of ghcr.io/ardenone/moltbook-api" in report["criteria"]["W11"]["message"]


def test_a_symlink_out_of_the_repository_is_never_read_and_never_passes(tmp_path):
    import os
    import subprocess

    sb = make_sandbox_repo(tmp_path / "r")
    wf = sb.path / WORKFLOW
    wf.unlink()
    os.symlink("/etc/passwd", wf)
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"}
    subprocess.run(["git", "-C", str(sb.path), "commit", "-qam", "symlink"], check=True, env=env)
    _, report = run_features("-m", "W1 or W1b or W2 or W3", "--repo", str(sb.path))
    for cid in ("W1", "W2", "W3"):
        assert report["criteria"][cid]["verdict"] == "error"
        assert "path leaves the repository" in report["criteria"][cid]["message"]
    assert report["criteria"]["W1b"]["verdict"] == "fail"
    assert "root:" not in str(report)  # /etc/passwd was never read into the report


def test_a_huge_workflow_is_an_error_with_its_size_not_a_hang(tmp_path):
    sb = make_sandbox_repo(tmp_path / "r", files={WORKFLOW: "name: x\n" + "# pad\n" * 600_000})
    _, report = run_features("-m", "W2 or W3", "--repo", str(sb.path))
    for cid in ("W2", "W3"):
        assert report["criteria"][cid]["verdict"] == "error"
        assert "bytes, over the" in report["criteria"][cid]["message"]
