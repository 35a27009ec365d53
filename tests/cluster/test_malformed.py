"""Garbage from the cluster is an error naming the field, never a crash.

Every field K5, K6 and their evidence read from an API object is type-checked: a wrong type is
a ``ProtocolError`` ("malformed Deployment status: FIELD: expected T; found V") at
``namespace/Kind/name``; an absent or ``null`` field reads as the API's default."""
from __future__ import annotations

import copy
import json

import pytest

from buildgate.cluster import evidence, k5, k6
from buildgate.cluster import reader as reader_mod
from buildgate.cluster.expected import expected_deployments
from buildgate.errors import ProtocolError
from buildgate.repo import Repo
from pytest_buildgate.fixtures.kubeapi import objects as o
from pytest_buildgate.fixtures.sandbox_repo import make_sandbox_repo
from tests.cluster.helpers import (
    FAST,
    ONCE,
    api_workload,
    expected,
    front_workload,
    registry,
    tiny_repo,
)
from tests.helpers import run_pytest

API_REF = "moltbook/Deployment/moltbook-api"
APP_REF = "argocd/Application/moltbook"


def _set(obj: dict, path: str, value) -> dict:
    """A copy of ``obj`` with ``path`` (``a.b.0.c``) set to ``value`` (``...`` deletes it)."""
    obj = copy.deepcopy(obj)
    *head, last = path.split(".")
    cur = obj
    for k in head:
        cur = cur[int(k)] if isinstance(cur, list) else cur[k]
    if value is ...:
        del cur[last]
    elif isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value
    return obj


def _world_with(kind: str, path: str, value):
    """The healthy two-Deployment world, with one field of the api Deployment (or its first pod) broken."""
    objs = o.healthy(api_workload())
    i = next(n for n, x in enumerate(objs) if x["kind"] == kind)
    objs[i] = _set(objs[i], path, value)
    return o.world_of(*objs, *o.healthy(front_workload()))


# -- the reviewer's repro ---------------------------------------------------------------------------
def test_rollout_observation_of_garbage_is_a_protocol_error():
    with pytest.raises(ProtocolError) as exc:
        k5.rollout_observation({"metadata": {"generation": "x"}, "spec": {"replicas": "two"}}, [], API_REF)
    assert str(exc.value) == (f"{API_REF}: malformed Deployment status: spec.replicas: expected an integer; "
                              "found 'two' (a string)")
    with pytest.raises(ProtocolError, match=r"^\?/Deployment/\?: malformed Deployment status: metadata.generation"):
        k5.rollout_observation({"metadata": {"generation": "x"}}, [])


# -- Deployments and pods through the stand-in --------------------------------------------------------
@pytest.mark.parametrize("kind, path, value, message", [
    ("Deployment", "status.replicas", "2", "status.replicas: expected an integer; found '2' (a string)"),
    ("Deployment", "status", [], "status: expected an object; found a list"),
    ("Deployment", "metadata.generation", True, "metadata.generation: expected an integer; found True (a boolean)"),
    ("Deployment", "spec.replicas", 1.5, "spec.replicas: expected an integer; found 1.5 (a number)"),
    ("Deployment", "status.observedGeneration", {"n": 1}, "status.observedGeneration: expected an integer; found an object"),
    ("Deployment", "status.conditions", "Available", "status.conditions: expected a list; found 'Available' (a string)"),
    ("Deployment", "status.conditions.0", None, "status.conditions[0]: expected an object; found null"),
    ("Deployment", "spec.selector.matchLabels.app", 7, "spec.selector.matchLabels.app: expected a string; found 7"),
    ("Deployment", "spec.selector", "app=x", "spec.selector: expected an object; found 'app=x' (a string)"),
    ("Pod", "status.containerStatuses", {"api": {}}, "status.containerStatuses: expected a list; found an object"),
    ("Pod", "status.containerStatuses.0.restartCount", "many",
     "status.containerStatuses[0].restartCount: expected an integer; found 'many' (a string)"),
    ("Pod", "status.containerStatuses.0.state", "running",
     "status.containerStatuses[0].state: expected an object; found 'running' (a string)"),
])
def test_a_malformed_deployment_or_pod_is_an_error_not_a_crash(kubeapi, kind, path, value, message):
    r = kubeapi(_world_with(kind, path, value)).reader()
    with pytest.raises(ProtocolError) as exc:
        k5.k5_rollouts_complete(r, expected(), FAST)
    text = str(exc.value)
    assert message in text and text.count("\n") == 0
    assert ("malformed Deployment status: " if kind == "Deployment" else "malformed Pod status: ") in text
    assert exc.value.where == (API_REF if kind == "Deployment" else f"moltbook/Pod/{api_workload().pod_name(0)}")


@pytest.mark.parametrize("kind, path, value, message", [
    ("Deployment", "spec.template.spec.containers.0.image", ["x"],
     "spec.template.spec.containers[0].image: expected a string; found a list"),
    ("Deployment", "spec.template.spec.containers", {"api": "x"},
     "spec.template.spec.containers: expected a list; found an object"),
])
def test_malformed_containers_are_an_error(kubeapi, kind, path, value, message):
    r = kubeapi(_world_with(kind, path, value)).reader()
    with pytest.raises(ProtocolError) as exc:
        k5.k5_containers_use_images(r, expected())
    assert message in str(exc.value) and exc.value.where == API_REF


@pytest.mark.parametrize("path, value, message", [
    ("status.containerStatuses.0.imageID", 5, "status.containerStatuses[0].imageID: expected a string; found 5"),
    ("spec.containers.0.name", None, None),  # null reads as absent: the pod then runs no "api" container
    ("metadata.deletionTimestamp", 0, "metadata.deletionTimestamp: expected a string; found 0"),
])
def test_malformed_pods_in_the_digest_check(kubeapi, path, value, message):
    r = kubeapi(_world_with("Pod", path, value)).reader()
    if message is None:
        res = k5.k5_pods_run_registry_digests(r, expected(), registry().resolve_tag)
        assert res.ok, res.message  # the status still names the container and its digest
        return
    with pytest.raises(ProtocolError) as exc:
        k5.k5_pods_run_registry_digests(r, expected(), registry().resolve_tag)
    assert message in str(exc.value) and "malformed Pod status" in str(exc.value)


@pytest.mark.parametrize("path", ["status", "status.conditions", "spec.template.spec.containers", "metadata.generation"])
def test_missing_or_null_fields_read_as_defaults(kubeapi, path):
    """Absent is not malformed: the API omits empty fields, and null means the same."""
    for value in (None, ...):
        r = kubeapi(_world_with("Deployment", path, value)).reader()
        if path == "spec.template.spec.containers":
            res = k5.k5_containers_use_images(r, expected())
            assert not res.ok and "found no container api (containers: none)" in res.message
        else:
            res = k5.k5_rollouts_complete(r, expected(), ONCE)  # a verdict either way, no exception
            assert isinstance(res.ok, bool)


def test_null_lists_on_pods_are_empty(kubeapi):
    world = _world_with("Pod", "status.containerStatuses", None)
    r = kubeapi(world).reader()
    res = k5.k5_pods_run_registry_digests(r, expected(), registry().resolve_tag)
    assert not res.ok and "no imageID yet (not started)" in res.message


# -- Applications -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return tiny_repo(tmp_path_factory.mktemp("malformed") / "repo")


@pytest.mark.parametrize("path, value, message", [
    ("status.sync", "Synced", "status.sync: expected an object; found 'Synced' (a string)"),
    ("status.sync.revision", 123, "status.sync.revision: expected a string; found 123 (an integer)"),
    ("status.sync.status", ["Synced"], "status.sync.status: expected a string; found a list"),
    ("status.health", "Healthy", "status.health: expected an object; found 'Healthy' (a string)"),
    ("status.operationState.phase", 1, "status.operationState.phase: expected a string; found 1"),
    ("spec.source", "https://github.com/ardenone/moltbook-org", "spec.source: expected an object; found"),
    ("spec.source.repoURL", {"url": "x"}, "spec.source.repoURL: expected a string; found an object"),
    ("spec.source.path", 8, "spec.source.path: expected a string; found 8"),
    ("spec.sources", {"a": 1}, "spec.sources: expected a list; found an object"),
    ("status.sync.revisions", [1], "status.sync.revisions[0]: expected a string; found 1"),
])
def test_a_malformed_application_is_an_error(kubeapi, history, path, value, message):
    app = _set(o.application(revision=history.head), path, value)
    if path == "status.sync.revisions":
        app = _set(app, "status.sync.revision", ...)
    world = o.world_of(app)
    r = kubeapi(world).reader()
    with pytest.raises(ProtocolError) as exc:
        k6.k6_application_deployed(r, "argocd", "moltbook", Repo(history.path), "k8s/kustomization.yml", FAST,
                                github="ardenone/moltbook-org")
    assert message in str(exc.value), str(exc.value)
    assert "malformed Application status: " in str(exc.value) and exc.value.where == APP_REF


@pytest.mark.parametrize("path", ["status.health", "status.operationState", "status.conditions", "status.resources"])
def test_null_application_fields_read_as_defaults(kubeapi, history, path):
    app = _set(o.application(revision=history.head), path, None)
    r = kubeapi(o.world_of(app)).reader()
    res = k6.k6_application_deployed(r, "argocd", "moltbook", Repo(history.path), "k8s/kustomization.yml", FAST)
    assert isinstance(res.ok, bool)


# -- evidence and reader answers ----------------------------------------------------------------------
def test_evidence_of_malformed_objects_is_an_error(history):
    with pytest.raises(ProtocolError, match=r"malformed Event status: count: expected an integer; found 'x'"):
        evidence.event_lines([{"count": "x", "metadata": {"namespace": "moltbook", "name": "e1"}}])
    with pytest.raises(ProtocolError, match=r"status.resources: expected a list; found 'x'"):
        evidence.application_evidence(_set(o.application(revision="a" * 40), "status.resources", "x"))
    with pytest.raises(ProtocolError, match=r"status.resources\[0\].health: expected an object; found 'Healthy'"):
        evidence.application_evidence(_set(o.application(revision="a" * 40), "status.resources", [{"health": "Healthy"}]))
    dep = o.deployment(api_workload())
    with pytest.raises(ProtocolError, match=r"status.readyReplicas: expected an integer; found '2'"):
        evidence.rollout_line(_set(dep, "status.readyReplicas", "2"))
    with pytest.raises(ProtocolError, match=r"status.conditions\[0\].message: expected a string; found 3"):
        evidence.conditions(_set(dep, "status.conditions.0.message", 3), API_REF)
    pod = o.pod(api_workload(), 0)
    with pytest.raises(ProtocolError, match=r"status.containerStatuses\[0\].ready: expected a boolean; found 'yes'"):
        evidence.pod_line(_set(pod, "status.containerStatuses.0.ready", "yes"))
    with pytest.raises(ProtocolError, match=r"metadata.resourceVersion: expected a string; found 5"):
        k6.application_observation(_set(o.application(revision=history.head), "metadata.resourceVersion", 5),
                                   Repo(history.path), history.kust)  # the stand-in stamps its own resourceVersion
    # well-formed objects give the same lines as before
    assert evidence.rollout_line(dep).startswith(f"{API_REF}: generation ")
    assert evidence.pod_line(pod).startswith(f"pod moltbook/{api_workload().pod_name(0)}: phase Running")


def test_answers_of_the_wrong_shape_are_protocol_errors():
    with pytest.raises(ProtocolError, match=r"malformed PodList status: items: expected a list; found an object"):
        reader_mod._items({"items": {"a": 1}}, "PodList", "moltbook/pods")
    with pytest.raises(ProtocolError, match=r"malformed PodList status: items\[1\]: expected an object; found null"):
        reader_mod._items({"items": [{}, None]}, "PodList", "moltbook/pods")
    with pytest.raises(ProtocolError, match=r"malformed PodList status: \(the answer\): expected an object; found a list"):
        reader_mod._items([], "PodList", "moltbook/pods")
    with pytest.raises(ProtocolError, match=r"malformed Deployment status: \(the answer\): expected an object; found 'x'"):
        reader_mod._one("x", "Deployment", API_REF)
    assert reader_mod._items({"items": None}, "PodList", "moltbook/pods") == []


# -- end to end: an error verdict with the field, not "crash (a bug in buildgate)" ----------------------
def test_a_malformed_cluster_is_an_error_verdict_through_a_target_file(tmp_path_factory, kubeapi):
    sandbox = make_sandbox_repo(tmp_path_factory.mktemp("malformed-e2e") / "moltbook-org")
    built = ("ghcr.io/ardenone/moltbook-api", "ghcr.io/ardenone/moltbook-frontend")
    objs = []
    for d in expected_deployments(Repo(sandbox.path), "k8s/kustomization.yml", "moltbook", built):
        w = o.Workload(d.name, {c.name: (c.image, o.image_id(c.image, "sha256:" + "d" * 64)) for c in d.containers})
        objs += o.healthy(w)
    i = next(n for n, x in enumerate(objs) if x["kind"] == "Deployment")
    objs[i] = _set(objs[i], "spec.replicas", "two")
    bad_ref = f"moltbook/Deployment/{objs[i]['metadata']['name']}"
    app = _set(o.application(revision=sandbox.head), "status.sync.revision", 42)
    s = kubeapi(o.world_of(*objs, app))
    target = tmp_path_factory.mktemp("malformed-target") / "target.yml"
    target.write_text(json.dumps({"name": "malformed", "repo": {"path": str(sandbox.path)}, "cluster": {
        "kubeconfig": str(s.kubeconfig),
        "wait": {"rollout": {"timeout": 1, "interval": 0.3, "degraded_grace": 0.3},
                 "sync": {"timeout": 1, "interval": 0.3, "degraded_grace": 0.3}}}}))
    code, report, out = run_pytest("features/cluster", "-q", "-p", "no:xdist", "--target", str(target))
    assert code == 1, out
    k5_, k6_ = report["criteria"]["K5"], report["criteria"]["K6"]
    assert k5_["verdict"] == "error", out
    assert "crash" not in k5_["message"] and "bug in buildgate" not in json.dumps(report)
    assert f"{bad_ref}: malformed Deployment status: spec.replicas: expected an integer; found 'two'" in k5_["message"]
    assert k6_["verdict"] == "error"
    assert f"{APP_REF}: malformed Application status: status.sync.revision: expected a string; found 42" in k6_["message"]
