"""The mission, end to end: which ✅ of the seed resolution hold on a target shaped like the real one.

The target is the sandbox with the repository-level defects the real history is known to have
(FACTS.md): the workflow renamed while docs and scripts still name the old file, and the update
job writing a bare ``git rev-parse --short`` while metadata-action pushes ``main-<sha>`` (and
``-<sha>`` on pull requests, since ``{{branch}}`` is empty there).
"""
from __future__ import annotations

import pytest

from fixtures.sandbox_repo import TEMPLATE, make_sandbox_repo
from tests.helpers import ROOT, run_features

SEED = ROOT.parent / "shared" / "seed" / "resolution-mo-3t8p.md"
OLD = ".github/workflows/build-push.yml"
NEW = ".github/workflows/docker-build.yml"


def _real_shaped_workflow() -> str:
    wf = (TEMPLATE / OLD).read_text()
    wf = wf.replace("type=sha,prefix=,format=short", "type=sha,prefix={{branch}}-,format=short")
    wf = wf.replace('SHORT_SHA="${GITHUB_SHA::7}"', 'SHORT_SHA="$(git rev-parse --short HEAD)"')
    return wf.replace(f'      - "{OLD}"', f'      - "{NEW}"')


@pytest.mark.skipif(not SEED.exists(), reason=f"the seed resolution document is not beside the project ({SEED})")
def test_the_seed_claims_against_a_target_with_the_real_defects(tmp_path):
    target = make_sandbox_repo(tmp_path / "moltbook-org", files={OLD: None, NEW: _real_shaped_workflow()})
    code, report = run_features("-m", "repo", "--repo", str(target.path), "--claims", str(SEED))
    assert code == 1
    v = {cid: c["verdict"] for cid, c in report["criteria"].items() if c["scenarios"]}
    failing = {cid for cid, verdict in v.items() if verdict != "pass"}
    assert failing == {"W1", "W10", "W11", "D3", "S2"}, {c: report["criteria"][c]["message"] for c in failing}
    assert "docker-build.yml" in report["criteria"]["W1"]["message"]           # says which file does the job now
    assert "DOCKER_BUILD.md:" in report["criteria"]["D3"]["message"]          # the stale mention, with its line
    assert "main-" in report["criteria"]["W10"]["message"] or "main-" in " ".join(report["criteria"]["W10"]["evidence"])
    assert "starts with '-'" in report["criteria"]["W11"]["message"]

    claims = {c["line"]: c for c in report["claims"]["claims"]}
    contradicted = {line for line, c in claims.items() if c["status"] == "contradicted"}
    # W1: "Workflow exists at .github/workflows/build-push.yml"; W10: both "updates kustomization" claims;
    # W11: "Tags images with branch name, SHA, and latest"; D3: "DOCKER_BUILD.md - Comprehensive";
    # S2: the devpod trigger and status scripts; and so the two "RESOLVED"/"COMPLETE" summaries.
    assert contradicted == {9, 38, 39, 123, 126, 131, 138, 139, 157}
    assert claims[123]["reason"].startswith("W1 fails: expected the workflow at .github/workflows/build-push.yml")
    assert claims[35]["status"] == "verified"                                  # it does trigger on push to main
    assert claims[37]["status"] == "unverifiable"                              # GHCR: the registry wasn't checked
