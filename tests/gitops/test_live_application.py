"""application_overrides: the same override reading on a live Application (a dict from the API), for K6."""
from __future__ import annotations

import copy

import pytest

from buildgate.errors import ProtocolError
from buildgate.gitops import application_overrides
from tests.gitops.helpers import API, FRONTEND, GITHUB, IMAGES

LIVE = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
    "metadata": {"name": "moltbook", "namespace": "argocd", "resourceVersion": "42"},
    "spec": {"project": "default",
             "source": {"repoURL": "https://github.com/ardenone/moltbook-org.git", "path": "k8s",
                        "targetRevision": "main",
                        "kustomize": {"images": [f"{API}:latest", f"{FRONTEND}:latest", "redis:7"]}},
             "destination": {"server": "https://kubernetes.default.svc", "namespace": "moltbook"}},
    "status": {"sync": {"status": "Synced", "revision": "a" * 40}},
}


def test_the_real_targets_live_overrides_are_listed_one_line_each():
    out = application_overrides(LIVE, IMAGES, GITHUB, "k8s")
    assert [o.describe() for o in out] == [
        "argocd/Application/moltbook spec.source.kustomize.images[0] ghcr.io/ardenone/moltbook-api:latest "
        "(forces tag latest)",
        "argocd/Application/moltbook spec.source.kustomize.images[1] ghcr.io/ardenone/moltbook-frontend:latest "
        "(forces tag latest)"]
    assert [o.tag for o in out] == ["latest", "latest"]


def test_no_override_no_list():
    app = copy.deepcopy(LIVE)
    del app["spec"]["source"]["kustomize"]
    assert application_overrides(app, IMAGES, GITHUB, "k8s") == []


def test_only_sources_deploying_the_folder_of_the_repository_count():
    app = copy.deepcopy(LIVE)
    src = app["spec"].pop("source")
    other = {"repoURL": "https://charts.example.com", "chart": "api", "targetRevision": "1.0.0",
             "helm": {"parameters": [{"name": "image.repository", "value": API}, {"name": "image.tag", "value": "x"}]}}
    app["spec"]["sources"] = [other, src]
    assert [o.source for o in application_overrides(app, IMAGES, GITHUB, "k8s")] == [
        "spec.sources[1].kustomize.images[0]", "spec.sources[1].kustomize.images[1]"]
    assert len(application_overrides(app, IMAGES)) == 3  # every source when no repository/folder is given
    assert application_overrides(app, IMAGES, "someone/else", "k8s") == []
    assert application_overrides(app, IMAGES, GITHUB, "deploy") == []


def test_aliases_from_the_kustomization_count_as_the_built_image():
    app = copy.deepcopy(LIVE)
    app["spec"]["source"]["kustomize"]["images"] = ["moltbook-api@sha256:" + "e" * 64]
    assert application_overrides(app, IMAGES, GITHUB, "k8s") == []
    out = application_overrides(app, IMAGES, GITHUB, "k8s", aliases=["moltbook-api"])
    assert [(o.name, o.digest) for o in out] == [("moltbook-api", "sha256:" + "e" * 64)]


@pytest.mark.parametrize("mutate, field", [
    (lambda a: a["spec"]["source"]["kustomize"].__setitem__("images", f"{API}:latest"),
     "spec.source.kustomize.images: expected a list"),
    (lambda a: a["spec"]["source"]["kustomize"]["images"].__setitem__(0, {"name": API}),
     r"spec.source.kustomize.images\[0\]: expected a string"),
    (lambda a: a["spec"].__setitem__("source", ["k8s"]), "spec.source: expected a mapping"),
    (lambda a: a.__setitem__("spec", "x"), "spec: expected a mapping"),
])
def test_a_wrong_type_in_the_live_object_is_a_protocol_error_naming_the_field(mutate, field):
    app = copy.deepcopy(LIVE)
    mutate(app)
    with pytest.raises(ProtocolError, match=f"^argocd/Application/moltbook: Application moltbook: {field}"):
        application_overrides(app, IMAGES, GITHUB, "k8s")


def test_aliases_come_from_the_kustomization(tmp_path):
    from buildgate.gitops import built_image_aliases
    from pytest_buildgate.fixtures.sandbox_repo import TEMPLATE
    from tests.gitops.helpers import KUST, make_repo

    kust = (TEMPLATE / KUST).read_text().replace("  - name: ghcr.io/ardenone/moltbook-api\n", "  - name: moltbook-api\n")
    repo = make_repo(tmp_path, {KUST: kust})
    assert built_image_aliases(repo, KUST, IMAGES) == ["moltbook-api", FRONTEND]
    assert built_image_aliases(repo, "nowhere/kustomization.yml", IMAGES) == []
