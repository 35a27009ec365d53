"""K5 against the stand-in: images, rollouts (waiting), digests; every failure mode of the issue."""
from __future__ import annotations

import re
import time

import pytest

from buildgate.cluster import k5
from buildgate.cluster.config import WaitBudget
from buildgate.errors import CannotDecide, Unauthorized
from pytest_buildgate.fixtures.kubeapi import STANDIN_TOKEN
from pytest_buildgate.fixtures.kubeapi import objects as o
from tests.cluster.helpers import (
    API,
    CHILD_API,
    DIGEST_API,
    DIGEST_FRONT,
    FAST,
    FRONT,
    OLD_DIGEST,
    TAG,
    api_workload,
    expected,
    front_workload,
    registry,
)


def _healthy(**kw):
    return o.world_of(*o.healthy(api_workload(**kw)), *o.healthy(front_workload()))


# -- passing ------------------------------------------------------------------------------------
def test_healthy_cluster_passes_all_three_checks(kubeapi):
    r = kubeapi(_healthy()).reader()
    res = k5.k5_containers_use_images(r, expected())
    assert res.ok, res.message
    res = k5.k5_rollouts_complete(r, expected(), FAST)
    assert res.ok, res.message
    reg = registry()
    res = k5.k5_pods_run_registry_digests(r, expected(), reg.resolve_tag)
    assert res.ok, res.message
    assert any(DIGEST_API in e for e in res.evidence) and sorted(set(reg.calls)) == [(API, TAG), (FRONT, TAG)]


def test_a_pod_running_the_platform_manifest_of_the_index_passes(kubeapi):
    r = kubeapi(o.world_of(*o.healthy(api_workload(digest=CHILD_API)), *o.healthy(front_workload()))).reader()
    res = k5.k5_pods_run_registry_digests(r, expected(), registry().resolve_tag)
    assert res.ok, res.message


def test_rollout_that_completes_within_the_budget_passes_after_waiting(kubeapi):
    w = api_workload(generation=2)
    world = o.world_of(*o.progressing(w), *o.healthy(front_workload()))
    world.at(0.8).put(*o.healthy(w))
    r = kubeapi(world).reader()
    world.restart_clock()
    start = time.monotonic()
    res = k5.k5_rollouts_complete(r, expected(), WaitBudget(timeout=4, interval=2, degraded_grace=1))
    assert res.ok, res.message
    assert time.monotonic() - start < 2.0  # woken by the watch, not by the 2s interval
    assert any(re.search(r"rollout complete after [2-4] attempts", e) for e in res.evidence)


# -- failing ------------------------------------------------------------------------------------
def test_image_mismatch_fails_naming_expected_found_and_where(kubeapi):
    r = kubeapi(o.world_of(*o.healthy(api_workload(image=f"{API}:0ld0000")), *o.healthy(front_workload()))).reader()
    res = k5.k5_containers_use_images(r, expected())
    assert not res.ok
    assert res.message == (f"expected {API}:{TAG} (from k8s/api/deployment.yml:19); found {API}:0ld0000 "
                           "(at moltbook/Deployment/moltbook-api container api)")


def test_missing_deployment_fails(kubeapi):
    r = kubeapi(o.world_of(*o.healthy(front_workload()))).reader()
    res = k5.k5_containers_use_images(r, expected())
    assert not res.ok and "found no such Deployment in the cluster (at moltbook/Deployment/moltbook-api)" in res.message


def test_digest_moved_under_the_same_tag_fails_naming_both_digests(kubeapi):
    r = kubeapi(_healthy(digest=OLD_DIGEST)).reader()
    res = k5.k5_pods_run_registry_digests(r, expected(), registry().resolve_tag)
    assert not res.ok
    assert f"expected {API}:{TAG} at {DIGEST_API} (registry); found {OLD_DIGEST}" in res.message
    assert "now points to" in res.message and "moltbook/Pod/moltbook-api-" in res.message


def test_tag_missing_from_the_registry_fails(kubeapi):
    r = kubeapi(_healthy()).reader()
    reg = registry()
    del reg.tags[(FRONT, TAG)]
    res = k5.k5_pods_run_registry_digests(r, expected(), reg.resolve_tag)
    assert not res.ok and f"expected tag {TAG} of {FRONT} in the registry; found no such tag" in res.message


def test_rollout_stuck_past_its_budget_fails_without_hanging(kubeapi):
    world = o.world_of(*o.progressing(api_workload(generation=2)), *o.healthy(front_workload()))
    r = kubeapi(world).reader()
    start = time.monotonic()
    res = k5.rollout_complete(r, "moltbook", "moltbook-api", FAST)
    took = time.monotonic() - start
    assert not res.ok and took < FAST.timeout + 1.0
    assert res.message.startswith("expected rollout of moltbook-api complete; found not complete after ")
    assert "0/2 updated, 0 available" in res.message and "(at moltbook/Deployment/moltbook-api)" in res.message
    assert any("condition Progressing=True ReplicaSetUpdated" in e for e in res.evidence)
    assert any("event Normal ScalingReplicaSet" in e for e in res.evidence)


def test_crash_looping_pods_fail_as_degraded_with_their_events_in_evidence(kubeapi):
    r = kubeapi(o.world_of(*o.crashlooping(api_workload()), *o.healthy(front_workload()))).reader()
    budget = WaitBudget(timeout=30, interval=0.2, degraded_grace=0.4)
    start = time.monotonic()
    res = k5.rollout_complete(r, "moltbook", "moltbook-api", budget)
    assert not res.ok and time.monotonic() - start < 3  # the grace, not the 30s budget
    assert "Degraded after" in res.message and "CrashLoopBackOff" in res.message
    text = "\n".join(res.evidence)
    assert "event Warning BackOff Pod/moltbook-api-" in text and "Back-off restarting failed container" in text
    assert "CrashLoopBackOff" in text
    assert "literal-secret-value" not in text and STANDIN_TOKEN not in text and "DATABASE_URL" not in text


def test_progress_deadline_exceeded_is_degraded(kubeapi):
    w = api_workload()
    dep = o.deployment(w, updated=1, available=1, conditions=[
        o.condition("Progressing", "False", "ProgressDeadlineExceeded", 'ReplicaSet "x" has timed out progressing.')])
    r = kubeapi(o.world_of(dep, *o.healthy(front_workload()))).reader()
    res = k5.rollout_complete(r, "moltbook", "moltbook-api", WaitBudget(30, 0.2, 0))
    assert not res.ok and "ProgressDeadlineExceeded" in res.message


def test_forbidden_pods_is_an_error_naming_the_permission(kubeapi):
    r = kubeapi(_healthy().forbid("list", "pods")).reader()
    with pytest.raises(Unauthorized, match="missing permission to list pods in namespace moltbook"):
        k5.k5_pods_run_registry_digests(r, expected(), registry().resolve_tag)


def test_image_id_without_registry_digest_cannot_be_decided(kubeapi):
    w = o.Workload("moltbook-api", {"api": (f"{API}:{TAG}", "sha256:" + "b" * 64)})
    r = kubeapi(o.world_of(*o.healthy(w), *o.healthy(front_workload()))).reader()
    with pytest.raises(CannotDecide, match="carries no registry digest"):
        k5.k5_pods_run_registry_digests(r, expected(), registry().resolve_tag)


def test_pods_without_image_ids_yet_fail(kubeapi):
    w = api_workload()
    objs = [o.deployment(w), o.replicaset(w)] + [o.pod(w, i, image_ids=False) for i in range(2)]
    r = kubeapi(o.world_of(*objs, *o.healthy(front_workload()))).reader()
    res = k5.k5_pods_run_registry_digests(r, expected(), registry().resolve_tag)
    assert not res.ok and "no imageID yet" in res.message


def test_image_id_forms():
    assert k5.image_id_digest(f"docker-pullable://{API}@{DIGEST_API}") == DIGEST_API
    assert k5.image_id_digest(f"{API}@{DIGEST_FRONT}") == DIGEST_FRONT
    assert k5.image_id_digest("sha256:" + "c" * 64) is None
    assert k5.image_id_digest("") is None


def test_the_rollout_budget_is_shared_by_all_deployments_of_the_step(kubeapi):
    world = o.world_of(*o.progressing(api_workload(generation=2)), *o.progressing(front_workload(generation=2)))
    r = kubeapi(world).reader()
    start = time.monotonic()
    res = k5.k5_rollouts_complete(r, expected(), FAST)
    assert not res.ok and time.monotonic() - start < FAST.timeout + 0.8
    assert "moltbook-api" in res.message and "moltbook-frontend" in res.message  # both still looked at
