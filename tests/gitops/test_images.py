"""Image names (Docker reference grammar) and the override forms of Argo CD, Flux and Helm."""
from __future__ import annotations

import pytest

from buildgate.gitops.images import (
    BuiltImages,
    Override,
    helm_overrides,
    is_image_key,
    parse_set_image,
)
from buildgate.gitops.values import Unknown


@pytest.mark.parametrize("text, parsed", [
    ("ghcr.io/o/api:latest", ("ghcr.io/o/api", None, "latest", None)),
    ("ghcr.io/o/api@sha256:" + "b" * 64, ("ghcr.io/o/api", None, None, "sha256:" + "b" * 64)),
    ("api=ghcr.io/o/api:v2", ("api", "ghcr.io/o/api", "v2", None)),
    ("api=ghcr.io/o/api@sha256:" + "c" * 64, ("api", "ghcr.io/o/api", None, "sha256:" + "c" * 64)),
    ("api=ghcr.io/o/api", ("api", "ghcr.io/o/api", None, None)),
    ("localhost:5000/api:1", ("localhost:5000/api", None, "1", None)),
    ("api", ("api", None, None, None)),
])
def test_kustomize_set_image_forms(text, parsed):
    assert parse_set_image(text) == parsed


@pytest.mark.parametrize("name, hit", [
    ("ghcr.io/ardenone/moltbook-api", True),
    ("ghcr.io/ardenone/moltbook-api:whatever", True),
    ("moltbook-api", True),  # the kustomization maps this name onto the built image
    ("docker.io/acme/web", True),
    ("acme/web", True),
    ("index.docker.io/acme/web", True),
    ("ghcr.io/ardenone/moltbook-apix", False),
    ("redis", False),
    (None, None),
    (Unknown("{{image}}", "f:1"), None),
])
def test_built_images_and_aliases(name, hit):
    built = BuiltImages(["ghcr.io/ardenone/moltbook-api", "acme/web"], aliases=["moltbook-api"])
    assert built.hits(name) is hit


def test_a_name_alone_changes_nothing():
    built = BuiltImages(["ghcr.io/o/api"])
    assert built.override_hits(Override("x", "f:1", "ghcr.io/o/api", "ghcr.io/o/api")) is False
    assert built.override_hits(Override("x", "f:1", "ghcr.io/o/api=ghcr.io/o/api", "ghcr.io/o/api",
                                        "ghcr.io/o/api")) is False
    # renaming the built image away from itself does change what runs
    assert built.override_hits(Override("x", "f:1", "ghcr.io/o/api=ghcr.io/o/other", "ghcr.io/o/api",
                                        "ghcr.io/o/other")) is True
    # renaming another image onto the built one with a tag forces that tag
    assert built.override_hits(Override("x", "f:1", "app=ghcr.io/o/api:v1", "app", "ghcr.io/o/api", "v1")) is True


@pytest.mark.parametrize("path, is_image", [
    ("image.tag", True), ("image.repository", True), ("api.image.tag", True), ("imageTag", True),
    ("apptag", True), ("images.api", True), ("global.image.registry", True), ("digest", True),
    ("image.pullPolicy", False), ("imagePullSecrets", False), ("replicaCount", False), ("service.port", False),
])
def test_helm_image_keys(path, is_image):
    assert is_image_key(path.split(".")) is is_image


def test_helm_settings_group_by_parent():
    settings = [
        (["api", "image", "repository"], "ghcr.io/ardenone/moltbook-api", "v.yml:3"),
        (["api", "image", "tag"], "latest", "v.yml:4"),
        (["api", "image", "pullPolicy"], "Always", "v.yml:5"),
        (["web", "image"], "nginx:1.27", "v.yml:7"),
        (["image", "tag"], "v9", "v.yml:9"),
        (["image", "registry"], "ghcr.io", "v.yml:10"),
        (["image", "repository"], "ardenone/moltbook-frontend", "v.yml:11"),
        (["worker", "image", "repository"], "ghcr.io/x/worker", "v.yml:13"),  # no tag: keeps its tag
    ]
    out = helm_overrides(settings, "spec.source.helm.values", "helm values")
    assert [(o.name, o.tag, o.where) for o in out] == [
        ("nginx", "1.27", "v.yml:7"),
        ("ghcr.io/ardenone/moltbook-api", "latest", "v.yml:4"),
        ("ghcr.io/ardenone/moltbook-frontend", "v9", "v.yml:9"),
    ]
    assert out[1].describe() == ("v.yml:4 spec.source.helm.values api.image helm values "
                                 "api.image.repository=ghcr.io/ardenone/moltbook-api, api.image.tag=latest "
                                 "(forces tag latest)")


def test_an_unnamed_helm_tag_is_unknown_as_to_which_image():
    out = helm_overrides([(["image", "tag"], "latest", "v.yml:2")], "helm.parameters", "helm parameter")
    assert len(out) == 1 and out[0].name is None
    assert BuiltImages(["ghcr.io/o/api"]).override_hits(out[0]) is None
