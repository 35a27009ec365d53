"""The one Docker reference normaliser (distribution's reference grammar)."""
from __future__ import annotations

import pytest

from buildgate import reference
from buildgate.reference import InvalidReference


@pytest.mark.parametrize("name, full", [
    ("nginx", "docker.io/library/nginx"),
    ("nginx:1.27", "docker.io/library/nginx"),
    ("library/nginx", "docker.io/library/nginx"),
    ("docker.io/nginx", "docker.io/library/nginx"),
    ("index.docker.io/library/nginx@sha256:" + "a" * 64, "docker.io/library/nginx"),
    ("acme/api", "docker.io/acme/api"),
    ("acme/api:1.0", "docker.io/acme/api"),
    ("ghcr.io/ardenone/moltbook-api:latest", "ghcr.io/ardenone/moltbook-api"),
    ("GHCR.IO/ardenone/moltbook-api", "ghcr.io/ardenone/moltbook-api"),
    ("localhost/app", "localhost/app"),
    ("localhost:5000/team/app:dev", "localhost:5000/team/app"),
    ("registry:5000/app", "registry:5000/app"),
    ("quay.io/org/app", "quay.io/org/app"),
])
def test_docker_reference_grammar(name, full):
    assert reference.normalize_name(name) == full


def test_parts_familiar_and_join():
    ref = reference.parse("user/app:1.0@sha256:" + "b" * 64)
    assert (ref.registry, ref.path, ref.tag, ref.digest[:7]) == ("docker.io", "user/app", "1.0", "sha256:")
    assert reference.parse("nginx").familiar == "nginx" and reference.parse("ghcr.io/o/a").familiar == "ghcr.io/o/a"
    assert str(reference.parse("nginx:1")) == "docker.io/library/nginx:1"
    assert reference.split("localhost:5000/a:t") == ("localhost:5000/a", "t", "")
    assert reference.join("a", "t", "") == "a:t"
    assert reference.same_name("user/app:1", "docker.io/user/app") and not reference.same_name("app", "user/app")
    assert reference.registry_of("app") == "docker.io" and reference.registry_of("quay.io/o/a:1") == "quay.io"


@pytest.mark.parametrize("bad, why", [
    ("ghcr.io/Org/App", "upper case"), ("ghcr.io//app", "path component"), ("app:-x", "tag"),
    ("app@sha256:xyz", "digest"), ("", "no repository path"), ("ghcr.io/a b", "path component"),
])
def test_strict_refuses_what_the_grammar_refuses(bad, why):
    with pytest.raises(InvalidReference) as err:
        reference.parse(bad, strict=True)
    assert why in str(err.value)
    assert reference.problem(bad)
    assert reference.problem("ghcr.io/o/app:v1.2") is None
