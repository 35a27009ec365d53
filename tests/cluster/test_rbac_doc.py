"""docs/cluster-rbac.md grants enough: K5 and K6 pass on a stand-in enforcing exactly its Roles,
and every rule is needed (dropping one makes some check an error naming the permission)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from buildgate.cluster import k5, k6
from buildgate.errors import Unauthorized
from buildgate.repo import Repo
from pytest_buildgate.fixtures.kubeapi import objects as o
from tests.cluster.helpers import (
    FAST,
    api_workload,
    expected,
    front_workload,
    registry,
    tiny_repo,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "cluster-rbac.md"


def _roles() -> list[dict]:
    docs = []
    for block in re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S):
        docs += [d for d in yaml.safe_load_all(block) if d]
    return [d for d in docs if d.get("kind") == "Role"]


def _rules() -> list[dict]:
    return [r for role in _roles() for r in role["rules"]]


def _run_all(kubeapi, rules, repo) -> None:
    world = o.world_of(*o.healthy(api_workload()), *o.healthy(front_workload()),
                       o.application(revision=repo.head)).grant_only(rules)
    r = kubeapi(world).reader()
    for res in (k5.k5_containers_use_images(r, expected()), k5.k5_rollouts_complete(r, expected(), FAST),
                k5.k5_pods_run_registry_digests(r, expected(), registry().resolve_tag),
                k6.k6_application_deployed(r, "argocd", "moltbook", Repo(repo.path), "k8s/kustomization.yml", FAST)):
        assert res.ok, res.message


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return tiny_repo(tmp_path_factory.mktemp("rbac") / "repo")


def test_the_documented_roles_are_read_only():
    verbs = {v for r in _rules() for v in r["verbs"]}
    assert verbs <= {"get", "list", "watch"}
    assert {role["metadata"]["namespace"] for role in _roles()} == {"moltbook", "argocd"}


def test_the_documented_roles_are_enough(kubeapi, history):
    _run_all(kubeapi, _rules(), history)


@pytest.mark.parametrize("needed", [("apps", "deployments", "get"), ("", "pods", "list"),
                                    ("argoproj.io", "applications", "get")])
def test_each_needed_permission_is_named_when_missing(kubeapi, history, needed):
    group, resource, verb = needed
    rules = []
    for r in _rules():
        if group in r["apiGroups"] and resource in r["resources"]:
            rules.append({"apiGroups": [group], "resources": [resource], "verbs": [v for v in r["verbs"] if v != verb]})
            others = [x for x in r["resources"] if x != resource]
            if others:
                rules.append({**r, "resources": others})
        else:
            rules.append(r)
    with pytest.raises(Unauthorized, match=f"missing permission to {verb} {resource}"):
        _run_all(kubeapi, rules, history)
