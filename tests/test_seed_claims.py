"""The mission, end to end: which statements of the seed resolution hold on targets shaped like the real one.

Two targets, each the sandbox plus the repository-level defects the real history is known to
have (FACTS.md), at two moments of that history:

- **exists**: the workflow is at the claimed ``.github/workflows/build-push.yml``; a second
  workflow pushes the same images; the update job writes a bare ``git rev-parse --short`` while
  metadata-action pushes ``main-<sha>`` (and ``-<sha>`` on pull requests: ``{{branch}}`` is empty
  there); the update job also runs on tag pushes; the docs show a script flag
  (``--platform``) the script rejects;
- **renamed**: the workflow renamed to ``docker-build.yml`` while the docs and scripts still name
  the old file (the duplicate gone, the other defects kept).

Every claim of the seed document has its expected verdict at both, with the reason. Runs are
``-m repo``: the registry, cluster and devpod criteria are not checked, so claims that need them
stay unverifiable. ``buildgate history --claims`` over a history holding both moments agrees
with both runs and says when each claim stopped holding.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from buildgate.criteria import CRITERIA
from pytest_buildgate.fixtures.sandbox_repo import TEMPLATE, _History, make_sandbox_repo
from tests.helpers import ROOT, run_features

SEED = ROOT.parent / "shared" / "seed" / "resolution-mo-3t8p.md"
OLD = ".github/workflows/build-push.yml"
NEW = ".github/workflows/docker-build.yml"
DUP = ".github/workflows/docker-publish.yml"

pytestmark = pytest.mark.skipif(not SEED.exists(), reason=f"the seed resolution document is not beside the project ({SEED})")


def _real_shaped_workflow(path: str = NEW) -> str:
    wf = (TEMPLATE / OLD).read_text()
    wf = wf.replace("type=sha,prefix=,format=short", "type=sha,prefix={{branch}}-,format=short")
    wf = wf.replace('SHORT_SHA="${GITHUB_SHA::7}"', 'SHORT_SHA="$(git rev-parse --short HEAD)"')
    wf = wf.replace("  push:\n    branches: [main]\n", "  push:\n    branches: [main]\n    tags: ['v*']\n", 1)
    wf = wf.replace("if: github.event_name == 'push' && github.ref == 'refs/heads/main'", "if: github.event_name == 'push'")
    return wf.replace(f'      - "{OLD}"', f'      - "{path}"')


def _duplicate_workflow() -> str:
    """A second workflow that pushes the same images (without the update job)."""
    wf = (TEMPLATE / OLD).read_text()
    wf = wf[: wf.index("  update-kustomization:")]
    return wf.replace("name: Build and push images", "name: Publish images").replace(f'      - "{OLD}"', f'      - "{DUP}"')


def _docs_with_a_rejected_flag() -> str:
    docs = (TEMPLATE / "DOCKER_BUILD.md").read_text()
    shown = "scripts/build-images.sh --tag my-test   # builds with another tag\n"
    return docs.replace(shown, shown + "scripts/build-images.sh --platform linux/arm64   # builds for ARM machines\n")


EXISTS = {OLD: _real_shaped_workflow(OLD), DUP: _duplicate_workflow(), "DOCKER_BUILD.md": _docs_with_a_rejected_flag()}
RENAMED = {OLD: None, DUP: None, NEW: _real_shaped_workflow(NEW), "DOCKER_BUILD.md": _docs_with_a_rejected_flag()}

V, C, U = "verified", "contradicted", "unverifiable"
# line: (at "exists": status, deciding check), (at "renamed": status, deciding check), why.
# A deciding check ending in ":" is matched as a prefix. None: decided in a test below (it waits
# for a criterion another branch adds).
EXPECTED: dict[int, tuple[tuple[str, str] | None, tuple[str, str] | None, str]] = {
    5: ((U, "V1"), (U, "V1"), "Title: the devpod layer (V1, V2) is not run with -m repo"),
    7: ((U, "V1"), (U, "V1"), "Problem: same, the overlay failure is a devpod fact"),
    9: ((C, "the other claims"), (C, "the other claims"), "Status RESOLVED: other claims are contradicted"),
    30: ((V, "file exists:"), (C, f"file exists: {OLD}"), "File: the workflow is there, then renamed"),
    35: ((V, "W3"), (V, "W3"), "it does trigger on push to main"),
    36: (None, (V, "W1b, W4"), "Builds both images: W1b and W4 hold after the rename (at 'exists': W12's test below)"),
    37: ((U, "G1"), (U, "G1"), "GHCR push: W5 passes, the registry (G1) is not checked"),
    38: ((C, "W11"), (C, "W11"), "tags: {{branch}} is empty on pull requests, so '-<sha>' is an invalid tag"),
    39: ((C, "W10"), (C, "W10"), "updates the kustomization: the bare rev-parse tag is never pushed"),
    40: ((V, "W4"), (V, "W4"), "Buildx builds both images"),
    41: ((V, "W7"), (V, "W7"), "type=gha cache"),
    42: ((U, "G4"), (U, "G4"), "SBOM/provenance: W8 passes, G4/G5 are registry facts"),
    45: ((U, "G1"), (U, "G1"), "image ref: a workflow pushes :latest on main, the registry is not checked"),
    46: ((U, "G1"), (U, "G1"), "image ref: same for the frontend"),
    50: ((V, "file exists: DOCKER_BUILD.md"), (V, "file exists: DOCKER_BUILD.md"), "File: DOCKER_BUILD.md exists"),
    53: ((V, "doc covers: overlay"), (V, "doc covers: overlay"), "D1 topic: the overlay error"),
    54: ((V, "doc covers: actions"), (V, "doc covers: actions"), "D1 topic: GitHub Actions"),
    55: ((V, "doc covers: devpod_trigger"), (V, "doc covers: devpod_trigger"), "D1 topic: trigger from the devpod"),
    56: ((V, "doc covers: local_build"), (V, "doc covers: local_build"), "D1 topic: local build"),
    57: ((V, "doc covers: troubleshooting"), (V, "doc covers: troubleshooting"), "D1 topic: troubleshooting"),
    61: ((V, "script sound:"), (V, "script sound:"), "the local build script is sound"),
    62: ((U, "V4"), (C, "script workflow: scripts/build-images-devpod.sh"),
         "devpod trigger: sound and names a workflow that exists, V4 not run; then it names the old file"),
    63: ((V, "script sound:"), (C, "script workflow: scripts/check-build-status.sh"), "status script names the old file"),
    71: ((V, "file exists: api/,"), (V, "file exists: api/,"), "api/ and moltbook-frontend/ exist"),
    72: ((V, "W3"), (V, "W3"), "a push to main triggers the build"),
    74: ((U, None), (U, None), "git add: no check (a git command, nothing of the repository to check)"),
    75: ((U, None), (U, None), "git commit: no check"),
    76: ((U, None), (U, None), "git push: no check (the step above it is W3's)"),
    79: (None, (V, "W1b, W4"), "Builds new Docker images: as line 36"),
    80: ((U, "G1"), (U, "G1"), "Pushes to GHCR: as line 37"),
    81: ((C, "W10"), (C, "W10"), "Updates k8s/kustomization.yml: as line 39"),
    82: ((U, "K6"), (U, "K6"), "Argo CD deploys: K7 passes (no override), the cluster (K6, K5) is not checked"),
    88: ((V, "workflow exists: build-push.yml,"), (C, "workflow exists: build-push.yml"),
         "gh workflow run build-push.yml: exists, dispatchable, gh accepts it; then no such workflow"),
    91: ((V, "options accepted: gh run watch"), (V, "options accepted: gh run watch"),
         "gh run watch: gh accepts it in a terminal (it asks which run)"),
    94: ((V, "script sound:"), (C, "script workflow: scripts/check-build-status.sh"),
         "./scripts/check-build-status.sh: exists, no options; then it names the old workflow"),
    101: (None, (V, "W1b"), "Option 1 implemented: as line 36"),
    102: ((V, "W7"), (V, "W7"), "Pros: build caching"),
    103: ((V, "W3, workflow dispatchable"), (V, "W3, workflow dispatchable"), "Cons: workflow_dispatch is there"),
    106: ((U, None), (U, None), "Pros of a local build: no check"),
    107: ((U, None), (U, None), "Cons of a local build: no check"),
    110: ((U, None), (U, None), "kaniko (not implemented): no check"),
    111: ((U, None), (U, None), "kaniko: no check"),
    114: ((U, None), (U, None), "BuildKit DaemonSet (not implemented): no check"),
    115: ((U, None), (U, None), "BuildKit DaemonSet: no check"),
    123: ((V, "W1, W2,"), (C, "W1"), "Workflow exists at build-push.yml; then renamed (W1 names docker-build.yml)"),
    124: ((V, "W3"), (V, "W3"), "push, pull requests, workflow_dispatch"),
    125: ((U, "G1"), (U, "G1"), "Uses GHCR: as line 37"),
    126: ((C, "W10"), (C, "W10"), "updates kustomization: as line 39"),
    127: (None, None, "retry logic: W9.retry (test below)"),
    131: ((C, "D3.options"), (C, "D3.paths"), "DOCKER_BUILD.md: shows --platform, which the script rejects; "
                                                "after the rename it also names build-push.yml"),
    132: ((V, "D2,"), (V, "D2,"), "README links DOCKER_BUILD.md"),
    133: ((U, "V3"), (U, "V3"), "warnings in the devpod: V3 is a devpod criterion"),
    137: ((V, "script sound:"), (V, "script sound:"), "as line 61"),
    138: ((U, "V4"), (C, "script workflow: scripts/build-images-devpod.sh"), "as line 62"),
    139: ((V, "script sound:"), (C, "script workflow: scripts/check-build-status.sh"), "as line 63"),
    147: (None, (V, "W1b, W4"), "automated image building: as line 36"),
    148: ((V, "D1"), (V, "D1"), "D1 holds"),
    149: ((U, "V4"), (C, "S2"), "helper scripts: S1, S2 hold, V4 not run; then S2 fails (old workflow name)"),
    151: ((C, "the other claims"), (C, "the other claims"), "No further action required: a summary"),
    157: ((C, "the other claims"), (C, "the other claims"), "Status COMPLETE: a summary"),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict]:
    out = {}
    for name, files in (("exists", EXISTS), ("renamed", RENAMED)):
        target = make_sandbox_repo(tmp_path_factory.mktemp(name) / "moltbook-org", files=files)
        code, report = run_features("-m", "repo", "--repo", str(target.path), "--claims", str(SEED))
        assert code == 1 and report is not None
        out[name] = report
    return out


def _by_line(report: dict) -> dict[int, dict]:
    return {c["line"]: c for c in report["claims"]["claims"]}


def _holds(expected: tuple[str, str | None], claim: dict) -> bool:
    status, check = expected
    if claim["status"] != status:
        return False
    if check is None:
        return claim["check"] is None and claim["reason"].startswith("unverifiable (no check)")
    return claim["check"] == check or (check.endswith((":", ",")) and str(claim["check"]).startswith(check))


def test_the_criteria_behind_the_claims(runs):
    v = {name: {cid for cid, c in r["criteria"].items() if c["scenarios"] and c["verdict"] != "pass"}
         for name, r in runs.items()}
    duplicates = {"W12"} if "W12" in CRITERIA else {"W1b"}   # two workflows push the same images
    assert v["exists"] == {"W9", "W10", "W11", "D3"} | duplicates, v["exists"]
    assert v["renamed"] == {"W1", "W9", "W10", "W11", "D3", "S2"}, v["renamed"]
    renamed = runs["renamed"]["criteria"]
    assert "docker-build.yml" in renamed["W1"]["message"]           # says which file does the job now
    assert "DOCKER_BUILD.md:" in renamed["D3"]["message"]           # the stale mention, with its line
    assert "starts with '-'" in renamed["W11"]["message"]
    assert "tag v1.2.3" in renamed["W9"]["message"]                  # the update job runs on tag pushes


@pytest.mark.parametrize("moment", ["exists", "renamed"])
def test_every_claim_of_the_seed_has_its_expected_verdict(runs, moment):
    claims = _by_line(runs[moment])
    assert sorted(claims) == sorted(EXPECTED), "a claim was added or lost"
    index = 0 if moment == "exists" else 1
    wrong = {line: (EXPECTED[line][index], claims[line]["status"], claims[line]["check"], claims[line]["reason"][:200],
                    EXPECTED[line][2])
             for line in EXPECTED if EXPECTED[line][index] is not None and not _holds(EXPECTED[line][index], claims[line])}
    assert not wrong, json.dumps(wrong, indent=1)
    counts = runs[moment]["claims"]["counts"]
    assert counts["no check"] == 9 and sum(counts[s] for s in ("verified", "contradicted", "unverifiable")) == 60


def test_contradictions_carry_their_evidence(runs):
    exists, renamed = _by_line(runs["exists"]), _by_line(runs["renamed"])
    assert renamed[123]["reason"].startswith("W1 fails: expected the workflow at .github/workflows/build-push.yml")
    assert "docker-build.yml" in renamed[88]["reason"]                                # what the folder holds now
    assert "--platform" in exists[131]["reason"] and "DOCKER_BUILD.md:" in exists[131]["reason"]
    assert any(w.startswith("DOCKER_BUILD.md:") for w in renamed[131]["where"])
    assert renamed[94]["where"] == ["scripts/check-build-status.sh:14"]
    assert any(w.startswith(".github/workflows/docker-build.yml:") for w in renamed[39]["where"])
    gh = {c["check"]: c for c in exists[88]["checks"]}
    assert gh["options accepted: gh workflow run build-push.yml"]["verdict"] == "pass"
    dispatch = EXISTS[OLD].splitlines().index("  workflow_dispatch:") + 1
    assert gh["workflow dispatchable: build-push.yml"]["where"] == [f"{OLD}:{dispatch}"]
    image = next(c for c in exists[45]["checks"] if c["check"].startswith("image pushed:"))
    assert image["verdict"] == "pass" and "G1 not checked" in exists[45]["reason"]


def test_duplicate_workflows_do_not_contradict_the_build_claims(runs):
    exists = _by_line(runs["exists"])
    for line in (36, 79, 101, 147):
        assert exists[line]["status"] == V, exists[line]
    assert runs["exists"]["criteria"]["W12"]["verdict"] == "fail"


def test_the_retry_claim_is_judged_by_w9_retry_not_by_w9(runs):
    for moment in ("exists", "renamed"):
        claim = _by_line(runs[moment])[127]
        assert claim["status"] == V and claim["check"] == "W9.retry", claim
        assert runs[moment]["criteria"]["W9"]["verdict"] == "fail"          # W9 fails, for another part


def test_history_says_when_each_claim_stopped_holding(tmp_path, runs):
    sandbox = make_sandbox_repo(tmp_path / "moltbook-org", files=EXISTS)
    h = _History(sandbox.path)
    h.clock += 10 * 3600
    for rel, content in RENAMED.items():
        if content is None:
            os.remove(sandbox.path / rel)
        else:
            (sandbox.path / rel).write_text(content)
    rename = h.commit("ci: rename the build workflow to docker-build.yml")
    out = tmp_path / "t.json"
    proc = subprocess.run(
        [sys.executable, "-m", "buildgate", "history", "--repo", str(sandbox.path), "--claims", str(SEED),
         "--closed-at", sandbox.head, "--json", str(out), "--jobs", "2"],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 1, proc.stderr          # W1, S2 held when closed, not now
    data = json.loads(out.read_text())
    claims = {c["line"]: c for c in data["claims"]["claims"]}
    now = _by_line(runs["renamed"])
    assert {line: c["status"] for line, c in claims.items()} == {line: c["status"] for line, c in now.items()}
    for line in (30, 63, 88, 94, 123, 139):
        last = claims[line]["changes"][-1]
        assert (last["sha"], last["from"], last["to"]) == (rename, V, C), (line, claims[line]["changes"])
    assert data["claims"]["stats"]["reused"] > 0            # checks whose reads did not change are not run again
    assert f"stopped holding at {rename[:7]} (ci: rename the build workflow to docker-build.yml)" in proc.stdout
    assert f"verified when closed at {sandbox.head[:7]}, contradicted now" in proc.stdout
