"""ClusterReader: configuration, error mapping (403 names the permission), watch, no credentials."""
from __future__ import annotations

import time
from dataclasses import replace

import pytest

from buildgate.cluster.config import cluster_config
from buildgate.cluster.reader import (
    APPLICATIONS,
    DEPLOYMENTS,
    ClusterReader,
    selector_string,
)
from buildgate.errors import (
    CannotDecide,
    InputError,
    NotApplicable,
    Unauthorized,
    Unreachable,
)
from pytest_buildgate.fixtures.kubeapi import STANDIN_TOKEN
from pytest_buildgate.fixtures.kubeapi import objects as o
from tests.cluster.helpers import api_workload


def _world(**kw):
    return o.world_of(*o.healthy(api_workload()), o.application(revision="a" * 40), **kw)


def test_no_cluster_configured_is_not_applicable():
    with pytest.raises(NotApplicable, match="no cluster configured"):
        ClusterReader.from_config(cluster_config({}))


def test_missing_kubeconfig_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="kubeconfig file not found"):
        ClusterReader.from_config(cluster_config({"kubeconfig": "nope.yaml"}, tmp_path))


def test_bad_context_is_a_one_line_input_error(kubeapi):
    s = kubeapi(_world())
    with pytest.raises(InputError) as exc:
        ClusterReader.from_config(replace(s.config, context="no-such-context"))
    assert "\n" not in str(exc.value) and STANDIN_TOKEN not in str(exc.value)


def test_config_defaults_and_overrides(tmp_path):
    cfg = cluster_config({"kubeconfig": "kc", "wait": {"rollout": {"timeout": 7}}, "argocd": {"application": "x"}},
                         tmp_path)
    assert cfg.kubeconfig == tmp_path / "kc" and cfg.configured
    assert cfg.rollout.timeout == 7 and cfg.rollout.interval == 5 and cfg.sync.timeout == 300
    assert cfg.application == "x" and cfg.argocd_namespace == "argocd"


def test_reads_plain_dicts_and_namespace_from_context(kubeapi):
    r = kubeapi(_world()).reader()
    assert r.namespace == "moltbook"
    dep = r.get_deployment("moltbook", "moltbook-api")
    assert dep["spec"]["replicas"] == 2
    assert r.get_deployment("moltbook", "absent") is None
    assert len(r.list_pods("moltbook", selector_string(dep["spec"]["selector"]))) == 2
    assert r.argocd_served() is True
    assert r.get_application("argocd", "moltbook")["status"]["health"]["status"] == "Healthy"
    assert r.get_application("argocd", "absent") is None


def test_missing_argocd_crd(kubeapi):
    r = kubeapi(_world(argocd=False)).reader()
    assert r.argocd_served() is False


def test_forbidden_names_the_missing_permission_and_no_credential(kubeapi):
    r = kubeapi(_world().forbid("list", "pods").forbid("get", "applications")).reader()
    with pytest.raises(Unauthorized) as exc:
        r.list_pods("moltbook", "app.kubernetes.io/name=moltbook-api")
    msg = str(exc.value)
    assert "forbidden (403)" in msg and "list pods in namespace moltbook" in msg and "verb 'list'" in msg
    assert "docs/cluster-rbac.md" in msg and STANDIN_TOKEN not in msg and "\n" not in msg
    with pytest.raises(Unauthorized, match=r"get applications\.argoproj\.io in namespace argocd"):
        r.get_application("argocd", "moltbook")


def test_unreachable_cluster_is_one_line(kubeapi):
    s = kubeapi(_world())
    r = s.reader()
    s.server.stop()
    with pytest.raises(Unreachable) as exc:
        r.get_deployment("moltbook", "moltbook-api")
    assert "cannot reach the cluster API at http://127.0.0.1:" in str(exc.value)


def test_selector_string_covers_match_expressions():
    sel = {"matchLabels": {"b": "2", "a": "1"},
           "matchExpressions": [{"key": "t", "operator": "In", "values": ["x", "y"]},
                                {"key": "u", "operator": "NotIn", "values": ["z"]},
                                {"key": "e", "operator": "Exists"}, {"key": "d", "operator": "DoesNotExist"}]}
    assert selector_string(sel) == "a=1,b=2,t in (x,y),u notin (z),e,!d"
    with pytest.raises(CannotDecide):
        selector_string({"matchExpressions": [{"key": "k", "operator": "Gt"}]})


def test_wait_for_change_wakes_on_a_watch_event(kubeapi):
    world = _world()
    world.at(1.0).patch("Deployment", "moltbook", "moltbook-api", lambda d: d["status"].update(readyReplicas=1))
    s = kubeapi(world)
    r = s.reader()
    rv = r.get_deployment("moltbook", "moltbook-api")["metadata"]["resourceVersion"]
    world.restart_clock()
    start = time.monotonic()
    assert r.wait_for_change(DEPLOYMENTS, "moltbook", "moltbook-api", rv, 4.0) is True
    assert time.monotonic() - start < 2.5
    assert any("watch=true" in p for _m, p in s.server.requests)


def test_wait_for_change_without_changes_returns_at_the_timeout(kubeapi):
    r = kubeapi(_world()).reader()
    rv = r.get_application("argocd", "moltbook")["metadata"]["resourceVersion"]
    start = time.monotonic()
    assert r.wait_for_change(APPLICATIONS, "argocd", "moltbook", rv, 1.4) is False
    assert 1.3 <= time.monotonic() - start < 2.5


def test_forbidden_watch_falls_back_to_polling(kubeapi):
    s = kubeapi(_world().forbid("watch", "deployments"))
    r = s.reader()
    start = time.monotonic()
    assert r.wait_for_change(DEPLOYMENTS, "moltbook", "moltbook-api", "1", 1.2) is False
    assert 1.1 <= time.monotonic() - start < 2.5
    n = len(s.server.requests)
    r.wait_for_change(DEPLOYMENTS, "moltbook", "moltbook-api", "1", 1.0)
    assert len(s.server.requests) == n  # no second watch attempt: it sleeps


def test_in_cluster_outside_a_pod_is_a_one_line_input_error(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(InputError, match="cannot load the cluster configuration"):
        ClusterReader.from_config(cluster_config({"in_cluster": True}))


def test_target_schema_accepts_the_cluster_section_and_rejects_unknown_keys():
    from buildgate.errors import TargetError
    from buildgate.target import from_dict

    t = from_dict({"cluster": {"kubeconfig": "kc", "namespace": "moltbook", "request_timeout": 5,
                               "argocd": {"namespace": "argocd", "application": "moltbook"},
                               "wait": {"rollout": {"timeout": 0}, "sync": {"interval": 1, "degraded_grace": 2}}}})
    assert t.cluster["wait"]["rollout"]["timeout"] == 0
    with pytest.raises(TargetError, match="cluster.wait"):
        from_dict({"cluster": {"wait": {"deploy": {}}}})
    with pytest.raises(TargetError, match="cluster.namespace"):
        from_dict({"cluster": {"namespace": "Not_A_Namespace"}})


@pytest.mark.parametrize("text", ["{not yaml: [", "just a string", "apiVersion: v1\nkind: Config\nclusters: 3\n"])
def test_malformed_kubeconfig_is_a_one_line_input_error(tmp_path, text):
    (tmp_path / "kc").write_text(text)
    with pytest.raises(InputError) as exc:
        ClusterReader.from_config(cluster_config({"kubeconfig": "kc"}, tmp_path))
    assert "\n" not in str(exc.value)
