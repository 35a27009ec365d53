"""Broken sandbox targets: each mutant fails its criterion with a useful message, and every
W-criterion it does not break keeps passing. The good sandbox passes all of them."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from buildgate.repo import Repo
from buildgate.workflow import builds
from buildgate.workflow import checks as wc
from pytest_buildgate.fixtures.sandbox_repo import TEMPLATE, make_sandbox_repo
from tests.helpers import run_features, verdicts

WF = ".github/workflows/build-push.yml"
GOOD = (TEMPLATE / WF).read_text()

CHECKS: dict[str, Callable] = {
    "W1": wc.w1_workflow_exists, "W1b": wc.w1b_some_workflow_builds, "W2": wc.w2_valid_workflow,
    "W3": wc.w3_triggers, "W4": wc.w4_buildx, "W5": wc.w5_push_ghcr, "W6": wc.w6_tags,
    "W7": wc.w7_gha_cache, "W8": wc.w8_attestations, "W9": wc.w9_update_job,
    "W10": wc.w10_written_tag_is_pushed, "W11": wc.w11_valid_tags, "W12": wc.w12_one_owner_per_tag,
}


def sub(*pairs: tuple[str, str], count: int = -1) -> str:
    text = GOOD
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, count)
    return text


SHA_RULE = "type=sha,prefix=,format=short"
WRITE = 'SHORT_SHA="${GITHUB_SHA::7}"'

# name -> (files, {criterion: substring of its failure message})
MUTANTS: dict[str, tuple[dict[str, str | None], dict[str, str]]] = {
    "W3-no-pull-request": (
        {WF: sub(("  pull_request:\n    branches: [main]\n", "  pull_request_disabled_:\n    branches: [main]\n"))},
        {"W3": "a pull request changing api/x to run the workflow; found `on:` has no pull_request",
         "W2": "pull_request_disabled_"},
    ),
    "W3-master-filter": (
        {WF: sub(("  push:\n    branches: [main]", "  push:\n    branches: [master]"))},
        # a workflow that never runs on main never updates the kustomization; it still builds and
        # pushes both images (on pushes to master: W1b is the capability, which event is W3's)
        {"W3": "branch 'main' is filtered out by branches ['master'] (at .github/workflows/build-push.yml:8)",
         "W9": "the workflow to run on push to main"},
    ),
    "W3-paths-miss-frontend": (
        {WF: sub(('      - "moltbook-frontend/**"\n', ""))},
        {"W3": "changing moltbook-frontend/x to run the workflow; found no changed path"},
    ),
    "W5-push-on-pr": (
        {WF: sub(("push: ${{ github.event_name != 'pull_request' }}", "push: true"))},
        {"W5": "no push of ghcr.io/ardenone/moltbook-api on pull_request; found it pushes"},
    ),
    "W5-no-packages-write": (
        {WF: sub(("      contents: read\n      packages: write\n", "      contents: read\n"))},
        {"W5": "packages: write for job build-api; found packages: none from job build-api"},
    ),
    "W6-no-sha-tag": (
        # the update job writes the branch tag so that W10 stays consistent
        {WF: sub((f"            {SHA_RULE}\n", ""), (WRITE, 'SHORT_SHA="main"'))},
        {"W6": "a commit SHA tag"},
    ),
    "W6-latest-everywhere": (
        {WF: sub(("type=raw,value=latest,enable={{is_default_branch}}", "type=raw,value=latest"))},
        {"W6": "no 'latest' for ghcr.io/ardenone/moltbook-api on workflow_dispatch on feature/"},
    ),
    "W10-bare-short-sha-vs-main-prefix": (
        {WF: sub((SHA_RULE, "type=sha,prefix=main-,format=short"),
                 (WRITE, "SHORT_SHA=$(git rev-parse --short HEAD)"))},
        {"W10": "build pushes (main, latest, main-"},
    ),
    "W11-branch-prefix-on-pr": (
        {WF: sub((SHA_RULE, "type=sha,prefix={{branch}}-"), (WRITE, 'SHORT_SHA="main-${GITHUB_SHA::7}"'))},
        {"W11": "on pull_request #7 feature/login-form -> main; found '-"},
    ),
    "W1-renamed": (
        {WF: None, ".github/workflows/images.yml": GOOD},
        {"W1": "found no such file; the images are built by .github/workflows/images.yml now"},
    ),
}


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory):
    return make_sandbox_repo(tmp_path_factory.mktemp("good") / "repo")


def results(repo: Repo, target) -> dict[str, tuple[bool, str]]:
    out = {}
    for cid, fn in CHECKS.items():
        res = fn(repo, target)
        assert "\n" not in res.message
        out[cid] = (res.ok, res.message)
    return out


def test_good_sandbox_passes_every_w_criterion(good) -> None:
    got = results(Repo(good.path), good.target)
    assert {cid: msg for cid, (ok, msg) in got.items() if not ok} == {}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_fails_only_its_criteria(name: str, tmp_path: Path) -> None:
    files, expected = MUTANTS[name]
    sandbox = make_sandbox_repo(tmp_path / "repo", files=files)
    got = results(Repo(sandbox.path), sandbox.target)
    failing = {cid for cid, (ok, _) in got.items() if not ok}
    assert failing == set(expected), {cid: got[cid][1] for cid in failing ^ set(expected)}
    for cid, needle in expected.items():
        msg = got[cid][1]
        assert msg.startswith("expected "), msg
        assert needle in msg, msg
        assert "(at " in msg, msg


def test_w12_reports_conflicting_workflows_and_w1b_does_not(tmp_path: Path) -> None:
    sandbox = make_sandbox_repo(tmp_path / "repo", files={".github/workflows/copy.yml": GOOD})
    repo = Repo(sandbox.path)
    assert wc.w1b_some_workflow_builds(repo, sandbox.target).ok  # the capability is there, twice
    res = wc.w12_one_owner_per_tag(repo, sandbox.target)
    assert not res.ok
    assert ("expected one workflow job pushing ghcr.io/ardenone/moltbook-api:latest on push to main; found "
            ".github/workflows/build-push.yml job build-api and .github/workflows/copy.yml job build-api all push it"
            in res.message), res.message
    assert wc.w12_one_owner_per_tag(Repo(make_sandbox_repo(tmp_path / "good").path), sandbox.target).ok


def test_built_commit_and_expected_tags(good) -> None:
    repo = Repo(good.path)
    assert builds.built_commit(repo, WF, "main") == good.built_commit  # skips the bot's [skip ci] commits
    tags = builds.expected_tags(repo, good.target, WF, good.built_commit, "main")
    assert {k: sorted(v) for k, v in tags.items()} == {k: sorted(v) for k, v in good.tags.items()}
    assert builds.find_build_workflows(repo, good.target) == [WF]


def test_end_to_end_good_and_mutant(tmp_path: Path) -> None:
    code, report = run_features("-m", "repo", "-k", "workflow")
    assert report is not None
    v = verdicts(report)
    assert {cid: v.get(cid) for cid in CHECKS} == {cid: "pass" for cid in CHECKS}, report
    files, _ = MUTANTS["W10-bare-short-sha-vs-main-prefix"]
    sandbox = make_sandbox_repo(tmp_path / "repo", files=files)
    code, report = run_features("-m", "repo", "-k", "workflow", "--repo", str(sandbox.path))
    assert code != 0 and report is not None
    v = verdicts(report)
    assert v["W10"] == "fail" and all(v[c] == "pass" for c in CHECKS if c != "W10"), v
    assert "never pushed" in report["criteria"]["W10"]["message"] or "main-" in report["criteria"]["W10"]["message"]
