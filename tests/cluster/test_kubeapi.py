"""The stand-in API server: discovery, get/list/watch semantics, 403, refused writes, kubectl."""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import httpx
import pytest

from pytest_buildgate.fixtures.kubeapi import WRITE_LOG, KubeApiServer
from pytest_buildgate.fixtures.kubeapi import objects as o
from pytest_buildgate.fixtures.kubeapi.store import World
from tests.cluster.helpers import api_workload


def _world(**kw) -> World:
    return o.world_of(*o.healthy(api_workload()), o.application(revision="a" * 40), **kw)


def test_discovery_lists_groups_and_resources(kubeapi):
    url = kubeapi(_world()).server.url
    assert httpx.get(f"{url}/version").json()["major"] == "1"
    assert httpx.get(f"{url}/api").json()["versions"] == ["v1"]
    groups = [g["name"] for g in httpx.get(f"{url}/apis").json()["groups"]]
    assert groups == ["apps", "argoproj.io"]
    core = {r["name"] for r in httpx.get(f"{url}/api/v1").json()["resources"]}
    assert {"pods", "events", "namespaces"} <= core
    apps = {r["name"] for r in httpx.get(f"{url}/apis/apps/v1").json()["resources"]}
    assert apps == {"deployments", "replicasets"}
    argo = httpx.get(f"{url}/apis/argoproj.io/v1alpha1").json()["resources"]
    assert [r["name"] for r in argo] == ["applications"]


def test_crd_missing_variant_404s_the_argoproj_group(kubeapi):
    url = kubeapi(_world(argocd=False)).server.url
    assert [g["name"] for g in httpx.get(f"{url}/apis").json()["groups"]] == ["apps"]
    assert httpx.get(f"{url}/apis/argoproj.io/v1alpha1").status_code == 404
    r = httpx.get(f"{url}/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/moltbook")
    assert r.status_code == 404 and r.json()["reason"] == "NotFound"


def test_get_list_selectors_and_resource_versions(kubeapi):
    url = kubeapi(_world()).server.url
    dep = httpx.get(f"{url}/apis/apps/v1/namespaces/moltbook/deployments/moltbook-api").json()
    assert dep["kind"] == "Deployment" and int(dep["metadata"]["resourceVersion"]) > 100
    missing = httpx.get(f"{url}/apis/apps/v1/namespaces/moltbook/deployments/nope")
    assert missing.status_code == 404 and 'deployments.apps "nope" not found' in missing.json()["message"]
    pods = httpx.get(f"{url}/api/v1/namespaces/moltbook/pods",
                     params={"labelSelector": "app.kubernetes.io/name=moltbook-api"}).json()
    assert pods["kind"] == "PodList" and len(pods["items"]) == 2
    assert int(pods["metadata"]["resourceVersion"]) >= int(dep["metadata"]["resourceVersion"])
    none = httpx.get(f"{url}/api/v1/namespaces/moltbook/pods", params={"labelSelector": "app.kubernetes.io/name in (x,y)"})
    assert none.json()["items"] == []
    ev = httpx.get(f"{url}/api/v1/namespaces/moltbook/events",
                   params={"fieldSelector": "involvedObject.kind=Deployment,involvedObject.name=moltbook-api"}).json()
    assert [e["reason"] for e in ev["items"]] == ["ScalingReplicaSet"]
    assert httpx.get(f"{url}/api/v1/namespaces/moltbook/pods", params={"labelSelector": "a=(b"}).status_code == 400


def _stream(url: str, params: dict) -> tuple[list[dict], float]:
    start = time.monotonic()
    events = []
    with httpx.stream("GET", url, params=params, timeout=10) as r:
        assert r.headers.get("transfer-encoding") == "chunked"
        for line in r.iter_lines():
            if line:
                events.append(json.loads(line))
    return events, time.monotonic() - start


def test_watch_streams_changes_after_a_resource_version_and_honours_timeout(kubeapi):
    world = _world()
    world.at(0.4).patch("Deployment", "moltbook", "moltbook-api", lambda d: d["status"].update(readyReplicas=1))
    url = kubeapi(world).server.url + "/apis/apps/v1/namespaces/moltbook/deployments"
    rv = httpx.get(url).json()["metadata"]["resourceVersion"]
    events, took = _stream(url, {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "1"})
    assert [e["type"] for e in events] == ["MODIFIED"]
    assert events[0]["object"]["status"]["readyReplicas"] == 1
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) > int(rv)
    assert 0.9 <= took < 3
    # without a resourceVersion: synthetic ADDED for the current state first
    events, _ = _stream(url, {"watch": "1", "timeoutSeconds": "1", "fieldSelector": "metadata.name=moltbook-api"})
    assert [e["type"] for e in events] == ["ADDED"]


def test_forbidden_resource_answers_403_with_the_permission(kubeapi):
    world = _world().forbid("list", "pods", "moltbook")
    url = kubeapi(world).server.url
    r = httpx.get(f"{url}/api/v1/namespaces/moltbook/pods")
    assert r.status_code == 403
    assert 'cannot list resource "pods" in API group "" in the namespace "moltbook"' in r.json()["message"]
    assert httpx.get(f"{url}/api/v1/namespaces/moltbook/pods/{api_workload().pod_name(0)}").status_code == 200


def test_every_write_is_refused_with_405_and_recorded():
    before = len(WRITE_LOG)
    with KubeApiServer(_world(), count_writes=False) as api:
        path = "/apis/apps/v1/namespaces/moltbook/deployments/moltbook-api"
        codes = [httpx.request(m, api.url + path, content=b"{}").status_code for m in ("POST", "PUT", "PATCH", "DELETE")]
        assert codes == [405] * 4
        assert [m for m, _p in api.writes] == ["POST", "PUT", "PATCH", "DELETE"]
        assert api.world.get("deployments", "moltbook", "moltbook-api") is not None
    assert len(WRITE_LOG) == before  # this server's deliberate writes don't count against the suite


def test_server_stops_cleanly_with_a_watch_open():
    api = KubeApiServer(_world()).start()
    name = f"kubeapi-standin-{api.port}"
    url = api.url + "/apis/apps/v1/namespaces/moltbook/deployments"
    t = threading.Thread(target=lambda: _stream_quiet(url), daemon=True)
    t.start()
    time.sleep(0.3)
    api.stop()
    t.join(timeout=3)
    assert not t.is_alive()
    assert not [th for th in threading.enumerate() if th.name == name and th.is_alive()]


def _stream_quiet(url: str) -> None:
    try:
        _stream(url, {"watch": "true", "timeoutSeconds": "30"})
    except httpx.HTTPError:
        pass


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_get_works_against_the_standin(kubeapi):
    s = kubeapi(_world())

    def kubectl(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["kubectl", "--kubeconfig", str(s.kubeconfig), *args], capture_output=True,
                              text=True, timeout=30)

    out = kubectl("get", "deployments", "-n", "moltbook")
    assert out.returncode == 0, out.stderr
    assert "moltbook-api" in out.stdout and "2/2" in out.stdout
    out = kubectl("get", "applications", "-n", "argocd")
    assert out.returncode == 0 and "Synced" in out.stdout and "Healthy" in out.stdout
    out = kubectl("get", "pods", "-n", "moltbook", "-o", "jsonpath={.items[*].status.containerStatuses[*].imageID}")
    assert out.returncode == 0 and out.stdout.count("@sha256:") == 2
    assert s.server.writes == []
