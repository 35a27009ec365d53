"""K6 against the stand-in and a tiny git history: synced, healthy, at a revision with the change."""
from __future__ import annotations

import time

import pytest

from buildgate.cluster import k6
from buildgate.cluster.config import WaitBudget
from buildgate.errors import CannotDecide, Unauthorized
from buildgate.repo import Repo
from pytest_buildgate.fixtures.kubeapi import objects as o
from tests.cluster.helpers import FAST, tiny_repo

KUST = "k8s/kustomization.yml"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return tiny_repo(tmp_path_factory.mktemp("k6") / "repo")


def _run(kubeapi, history, app=None, budget=FAST, world=None):
    world = world or o.world_of(*([app] if app else []))
    r = kubeapi(world).reader()
    world.restart_clock()
    return k6.k6_application_deployed(r, "argocd", "moltbook", Repo(history.path), KUST, budget)


def test_kustomization_commit_is_the_last_commit_touching_it(history):
    assert k6.kustomization_commit(Repo(history.path), KUST) == history.kust


@pytest.mark.parametrize("rev", ["head", "kust"])
def test_synced_healthy_at_the_change_or_a_descendant_passes(kubeapi, history, rev):
    res = _run(kubeapi, history, o.application(revision=getattr(history, rev)))
    assert res.ok, res.message
    assert any(history.kust in e for e in res.evidence)


def test_app_that_syncs_within_the_budget_passes_after_waiting(kubeapi, history):
    world = o.world_of(o.application(revision=history.before, sync="OutOfSync", health="Progressing",
                                     operation_phase="Running"))
    world.at(0.8).put(o.application(revision=history.head))
    start = time.monotonic()
    res = _run(kubeapi, history, world=world, budget=WaitBudget(timeout=5, interval=3, degraded_grace=1))
    assert res.ok, res.message
    assert time.monotonic() - start < 2.5  # woken by the watch


def test_out_of_sync_past_the_budget_fails(kubeapi, history):
    res = _run(kubeapi, history, o.application(revision=history.head, sync="OutOfSync"))
    assert not res.ok
    assert res.message.startswith(f"expected Application moltbook Synced and Healthy at a revision containing "
                                  f"{history.kust[:7]} (last commit touching {KUST}) on the audited revision's "
                                  f"history, with the audited images; found sync OutOfSync")
    assert "(at argocd/Application/moltbook)" in res.message and "attempts in" in res.message


def test_degraded_fails_after_the_grace_not_the_budget(kubeapi, history):
    start = time.monotonic()
    res = _run(kubeapi, history, o.application(revision=history.head, health="Degraded",
                                               health_message="Deployment moltbook-api exceeded its progress deadline"),
               budget=WaitBudget(timeout=30, interval=0.2, degraded_grace=0.5))
    assert not res.ok and time.monotonic() - start < 3
    assert "found Degraded after" in res.message
    assert any("exceeded its progress deadline" in e for e in res.evidence)


def test_failed_sync_operation_is_degraded(kubeapi, history):
    res = _run(kubeapi, history, o.application(revision=history.head, sync="OutOfSync", operation_phase="Failed"),
               budget=WaitBudget(timeout=30, interval=0.2, degraded_grace=0))
    assert not res.ok and "operation Failed" in res.message


@pytest.mark.parametrize("rev", ["before", "side"])
def test_revision_without_the_kustomization_change_fails(kubeapi, history, rev):
    revision = getattr(history, rev)
    res = _run(kubeapi, history, o.application(revision=revision))
    assert not res.ok
    assert f"{revision[:12]} (does not contain {history.kust[:7]})" in res.message


def test_missing_application_fails(kubeapi, history):
    res = _run(kubeapi, history)
    assert not res.ok and res.message.endswith("found no such Application (at argocd/Application/moltbook)")


def test_missing_argocd_crd_is_a_clear_error(kubeapi, history):
    with pytest.raises(CannotDecide, match="Argo CD Application CRD is missing"):
        _run(kubeapi, history, world=o.world_of(argocd=False))


def test_revision_unknown_to_the_repository_cannot_be_decided(kubeapi, history):
    with pytest.raises(CannotDecide, match="not in the local repository"):
        _run(kubeapi, history, o.application(revision="e" * 40), budget=WaitBudget(0, 1, 0))


def test_forbidden_application_names_the_permission(kubeapi, history):
    world = o.world_of(o.application(revision=history.head)).forbid("get", "applications", "argocd")
    with pytest.raises(Unauthorized, match=r"get applications\.argoproj\.io in namespace argocd"):
        _run(kubeapi, history, world=world)
