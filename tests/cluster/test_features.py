"""End to end: ``pytest features/cluster`` on the sandbox (passes) and on broken targets (fails).

The broken targets are real target files: the sandbox repository plus a ``cluster:`` section
whose kubeconfig points at a stand-in started by this test with a broken state, so the run goes
through the real-target path (kubeconfig, budgets from the target file).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from buildgate.cluster.expected import expected_deployments
from buildgate.repo import Repo
from pytest_buildgate.fixtures.kubeapi import STANDIN_TOKEN, WRITE_LOG
from pytest_buildgate.fixtures.kubeapi import objects as o
from pytest_buildgate.fixtures.sandbox_repo import make_sandbox_repo
from tests.helpers import run_pytest

BUILT = ("ghcr.io/ardenone/moltbook-api", "ghcr.io/ardenone/moltbook-frontend")
DIGEST = "sha256:" + "d" * 64


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    return make_sandbox_repo(tmp_path_factory.mktemp("k5k6") / "moltbook-org")


def _target(tmp_path: Path, sandbox, kubeconfig: Path | None) -> Path:
    cluster = {}
    if kubeconfig is not None:
        cluster = {"cluster": {"kubeconfig": str(kubeconfig), "wait": {
            "rollout": {"timeout": 1, "interval": 0.3, "degraded_grace": 0.3},
            "sync": {"timeout": 1, "interval": 0.3, "degraded_grace": 0.3}}}}
    path = tmp_path / "target.yml"
    path.write_text(json.dumps({"name": "broken-cluster", "repo": {"path": str(sandbox.path)}, **cluster}))
    return path


def _criteria(report: dict) -> dict[str, dict]:
    return {k: report["criteria"][k] for k in ("K5", "K6")}


def test_sandbox_passes_k5_and_k6():
    code, report, out = run_pytest("features/cluster", "-q", "-p", "no:xdist")
    assert code == 0, out
    got = _criteria(report)
    assert got["K5"]["verdict"] == "pass" and got["K6"]["verdict"] == "pass"
    assert any("imageID ghcr.io/ardenone/moltbook-api@sha256:" in e for e in got["K5"]["evidence"])
    assert "0 write attempt(s) recorded" in out


def test_broken_cluster_fails_k5_and_k6_through_a_target_file(tmp_path, sandbox, kubeapi):
    deployments = expected_deployments(Repo(sandbox.path), "k8s/kustomization.yml", "moltbook", BUILT)
    objs = []
    for d in deployments:
        containers = {c.name: c.image for c in d.containers}
        if d.name == "moltbook-api":  # the cluster still runs the previous tag
            containers = {k: v.rsplit(":", 1)[0] + ":0ld0000" for k, v in containers.items()}
        w = o.Workload(d.name, {c: (img, o.image_id(img, DIGEST)) for c, img in containers.items()})
        objs += o.healthy(w)
    app = o.application(revision=sandbox.head, sync="OutOfSync")
    s = kubeapi(o.world_of(*objs, app))
    code, report, out = run_pytest("features/cluster", "-q", "-p", "no:xdist",
                                   "--target", str(_target(tmp_path, sandbox, s.kubeconfig)))
    assert code == 1, out
    got = _criteria(report)
    assert got["K5"]["verdict"] == "fail", out
    assert got["K5"]["message"] == (
        f"expected ghcr.io/ardenone/moltbook-api:{sandbox.new_tag} (from k8s/api/deployment.yml:19); "
        "found ghcr.io/ardenone/moltbook-api:0ld0000 (at moltbook/Deployment/moltbook-api container api)")
    assert got["K6"]["verdict"] == "fail"
    assert "found sync OutOfSync" in got["K6"]["message"] and "(at argocd/Application/moltbook)" in got["K6"]["message"]
    assert s.server.writes == [] and not WRITE_LOG
    assert STANDIN_TOKEN not in json.dumps(report) and STANDIN_TOKEN not in out


def test_missing_crd_is_an_error_and_no_cluster_is_a_skip(tmp_path, sandbox, kubeapi):
    s = kubeapi(o.world_of(argocd=False))
    code, report, out = run_pytest("features/cluster", "-q", "-p", "no:xdist", "-k", "argo",
                                   "--target", str(_target(tmp_path, sandbox, s.kubeconfig)))
    k6 = report["criteria"]["K6"]
    assert k6["verdict"] == "error" and "Argo CD Application CRD is missing" in k6["message"], out
    assert "Traceback" not in out
    code, report, out = run_pytest("features/cluster", "-q", "-p", "no:xdist",
                                   "--target", str(_target(tmp_path, sandbox, None)))
    got = _criteria(report)
    assert got["K5"]["verdict"] == "skipped" and "no cluster configured" in got["K5"]["message"], out
    assert got["K6"]["verdict"] == "skipped"


def test_an_application_deploying_another_repository_fails_k6_through_the_feature(tmp_path, sandbox, kubeapi):
    deployments = expected_deployments(Repo(sandbox.path), "k8s/kustomization.yml", "moltbook", BUILT)
    objs = []
    for d in deployments:
        w = o.Workload(d.name, {c.name: (c.image, o.image_id(c.image, DIGEST)) for c in d.containers})
        objs += o.healthy(w)
    app = o.application(revision=sandbox.head, repo_url="https://github.com/someone-else/fork.git")
    s = kubeapi(o.world_of(*objs, app))
    code, report, out = run_pytest("features/cluster", "-q", "-p", "no:xdist", "-m", "K6",
                                   "--target", str(_target(tmp_path, sandbox, s.kubeconfig)))
    k6 = report["criteria"]["K6"]
    assert k6["verdict"] == "fail", out
    assert "ardenone/moltbook-org" in k6["message"] and "someone-else/fork" in k6["message"]
