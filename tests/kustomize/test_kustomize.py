"""K1: the kustomization reader, both renderers, and the image-override check."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from buildgate.errors import CannotDecide, InputError
from buildgate.kustomize import (
    ImageOverride,
    Kustomization,
    k1_overrides_apply,
    deployments_images,
    image_matches,
    render,
)
from buildgate.reference import split as split_image
from buildgate.repo import Repo
from tests.kustomize.helpers import KUST, History, mutate, path_without_kubectl, sandbox, sandbox_kust

IMAGES = ["ghcr.io/ardenone/moltbook-api", "ghcr.io/ardenone/moltbook-frontend"]
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


def k1(repo: Repo, kubectl: bool = True):
    return k1_overrides_apply(Kustomization.load(repo, KUST), render(repo, KUST, kubectl=kubectl), IMAGES)


# -- image references, as kustomize reads them -----------------------------------------------------
@pytest.mark.parametrize("ref, parts", [
    ("nginx", ("nginx", "", "")),
    ("nginx:1.25", ("nginx", "1.25", "")),
    ("localhost:5000/a/b", ("localhost:5000/a/b", "", "")),
    ("localhost:5000/a/b:t", ("localhost:5000/a/b", "t", "")),
    ("ghcr.io/o/i:t@sha256:ab", ("ghcr.io/o/i", "t", "sha256:ab")),
    ("ghcr.io/o/i@sha256:ab", ("ghcr.io/o/i", "", "sha256:ab")),
])
def test_split_image(ref, parts):
    assert split_image(ref) == parts


@pytest.mark.parametrize("ref, name, matched", [
    ("ghcr.io/o/api:latest", "ghcr.io/o/api", True),
    ("ghcr.io/o/api", "ghcr.io/o/api", True),
    ("ghcr.io/o/api@sha256:ab", "ghcr.io/o/api", True),
    ("api:latest", "ghcr.io/o/api", False),           # the real trap: short name in the deployment
    ("ghcr.io/o/api:latest", "api", False),           # and the other way round
    ("ghcr.io/o/api-old:1", "ghcr.io/o/api", False),
    ("ghcrXio/o/api:1", "ghcr.io/o/api", True),       # kustomize uses the name as a regex, unescaped
])
def test_image_matches_like_kustomize(ref, name, matched):
    assert image_matches(ref, name) is matched


def test_override_apply_replaces_tag_and_digest_like_kustomize():
    tag_only = ImageOverride("foo", "reg/foo", "t1", None, "k.yml", 1)
    assert tag_only.apply("foo:old@sha256:aa") == "reg/foo:t1"
    assert ImageOverride("foo", None, None, "sha256:bb", "k.yml", 1).apply("foo:old") == "foo@sha256:bb"
    assert ImageOverride("foo", None, "t", "sha256:bb", "k.yml", 1).apply("foo") == "foo:t@sha256:bb"
    assert tag_only.apply("bar:1") is None


# -- the sandbox: both renderers ----------------------------------------------------------------------
def test_sandbox_passes_with_the_builtin_reader_when_kubectl_is_hidden(tmp_path, monkeypatch):
    sb = sandbox(tmp_path)
    monkeypatch.setenv("PATH", path_without_kubectl(tmp_path))
    rendered = render(sb.target.repo(), KUST)
    assert rendered.renderer == "builtin"
    assert rendered.evidence == "rendered with the built-in reader (kubectl not found)"
    result = k1_overrides_apply(Kustomization.load(sb.target.repo(), KUST), rendered, IMAGES)
    assert result.ok, result.message
    assert "built-in reader" in result.message
    assert any(f"runs ghcr.io/ardenone/moltbook-api:{sb.new_tag} (source k8s/api/deployment.yml:19)" in e
               for e in result.evidence)


@needs_kubectl
def test_sandbox_both_renderers_give_the_same_images(tmp_path):
    sb = sandbox(tmp_path)
    repo = sb.target.repo()
    by_kubectl = render(repo, KUST)
    by_reader = render(repo, KUST, kubectl=False)
    assert by_kubectl.renderer == "kubectl" and by_kubectl.evidence.startswith("rendered with kubectl kustomize v")
    assert by_reader.renderer == "builtin"
    images = deployments_images(by_kubectl)
    assert images == deployments_images(by_reader) == {
        ("moltbook", "moltbook-api", "api"): f"ghcr.io/ardenone/moltbook-api:{sb.new_tag}",
        ("moltbook", "moltbook-frontend", "frontend"): f"ghcr.io/ardenone/moltbook-frontend:{sb.new_tag}",
    }
    assert sorted(o.ref for o in by_kubectl.objects) == sorted(o.ref for o in by_reader.objects)
    # kubectl's objects borrow the source lines the reader found
    api = next(o for o in by_kubectl.objects if o.name == "moltbook-api" and o.kind == "Deployment")
    assert api.source == "k8s/api/deployment.yml:1" and api.containers[0].source == "k8s/api/deployment.yml:19"
    assert k1(repo).ok


def test_git_revision_is_read_with_the_builtin_reader(tmp_path):
    sb = sandbox(tmp_path)
    repo = sb.target.repo().at(sb.head)
    rendered = render(repo, KUST)
    assert rendered.renderer == "builtin" and "kubectl reads only the work tree" in rendered.evidence
    assert deployments_images(rendered)[("moltbook", "moltbook-api", "api")].endswith(":" + sb.new_tag)


# A richer tree: nested bases, a component, a List, namespace and name prefixes.
RICH = {
    "k/kustomization.yml": "resources:\n- base\ncomponents: [comp]\nnamespace: prod\nnamePrefix: top-\n"
                           "images:\n- name: comp/foo\n  newTag: toptag\n",
    "k/base/kustomization.yaml": "resources: [d.yml]\nimages:\n- name: foo\n  newTag: basetag\nnamePrefix: b-\n",
    "k/base/d.yml": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n"
                    "  metadata: {name: x}\n  spec:\n    template:\n      spec:\n        initContainers:\n"
                    "        - {name: i, image: 'foo@sha256:bb'}\n        containers:\n        - name: c\n"
                    "          image: foo\n        - {name: d, image: 'other:1'}\n"
                    "- apiVersion: v1\n  kind: Namespace\n  metadata: {name: ns1}\n"
                    "- apiVersion: rbac.authorization.k8s.io/v1\n  kind: ClusterRole\n  metadata: {name: cr}\n",
    "k/comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                 "resources: [w.yml]\nimages:\n- name: foo\n  newName: comp/foo\n",
    "k/comp/w.yml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: elsewhere}\n"
                    "spec:\n  deep:\n    containers:\n    - {name: z, image: 'foo:9'}\n",
}


@needs_kubectl
def test_builtin_reader_matches_kubectl_on_a_rich_tree(tmp_path):
    h = History(tmp_path / "r")
    h.commit("rich", RICH)
    by_kubectl = render(h.repo, "k/kustomization.yml")
    by_reader = render(h.repo, "k", kubectl=False)
    assert by_kubectl.renderer == "kubectl"

    def shape(rendered):
        return sorted((o.ref, tuple(sorted((c.name, c.image, c.init) for c in o.containers))) for o in rendered.objects)

    assert shape(by_kubectl) == shape(by_reader)
    assert deployments_images(by_reader)[("prod", "top-b-x", "c")] == "comp/foo:toptag"


# -- K1 mutants (each also keeps K2 and K3 as they were) --------------------------------------------
def _edit(sb, rel: str, old: str, new: str) -> str:
    text = (sb.path / rel).read_text()
    assert old in text, (rel, old)
    return text.replace(old, new, 1)


API_ENTRY = ("  - name: ghcr.io/ardenone/moltbook-api\n    newName: ghcr.io/ardenone/moltbook-api\n")


@pytest.mark.parametrize("kubectl", [True, False])
def test_missing_images_entry_fails(tmp_path, kubectl):
    sb = sandbox(tmp_path)
    text = sandbox_kust(sb)
    mutate(sb, {KUST: text[:text.index("  - name: ghcr.io/ardenone/moltbook-frontend")]})
    result = k1(sb.target.repo(), kubectl)
    assert not result.ok
    assert result.message == ("expected an images: entry for ghcr.io/ardenone/moltbook-frontend; found none "
                              "(ghcr.io/ardenone/moltbook-api) (at k8s/kustomization.yml:10)")


@pytest.mark.parametrize("kubectl", [True, False])
def test_new_name_mismatch_fails(tmp_path, kubectl):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: _edit(sb, KUST, "newName: ghcr.io/ardenone/moltbook-api", "newName: docker.io/ardenone/moltbook-api")})
    result = k1(sb.target.repo(), kubectl)
    assert not result.ok
    assert result.message.startswith("expected an images: entry with newName ghcr.io/ardenone/moltbook-api; "
                                     "found name ghcr.io/ardenone/moltbook-api, newName docker.io/ardenone/moltbook-api")
    assert result.message.endswith("(at k8s/kustomization.yml:11)")


@pytest.mark.parametrize("kubectl", [True, False])
def test_deployment_image_the_transformer_does_not_match_fails(tmp_path, kubectl):
    """The real trap: the deployment says ``moltbook-api:latest``; the entry's name never matches it."""
    sb = sandbox(tmp_path)
    dep = "k8s/api/deployment.yml"
    mutate(sb, {dep: _edit(sb, dep, "image: ghcr.io/ardenone/moltbook-api:latest", "image: moltbook-api:latest")})
    result = k1(sb.target.repo(), kubectl)
    assert not result.ok
    msg = result.message
    assert msg.startswith(f"expected a rendered container running ghcr.io/ardenone/moltbook-api:{sb.new_tag}; "
                          "found images entry name 'ghcr.io/ardenone/moltbook-api' matches no container image")
    assert "moltbook-api:latest in moltbook/Deployment/moltbook-api (k8s/api/deployment.yml:19)" in msg
    assert msg.endswith("(at k8s/kustomization.yml:11)")
    assert "\n" not in msg


@pytest.mark.parametrize("kubectl", [True, False])
def test_entry_name_that_misses_the_deployment_image_fails(tmp_path, kubectl):
    """newName/newTag are right, but ``name`` doesn't match the deployment, so it keeps ``:latest``."""
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: _edit(sb, KUST, "- name: ghcr.io/ardenone/moltbook-api", "- name: moltbook-api")})
    result = k1(sb.target.repo(), kubectl)
    assert not result.ok
    assert result.message == (
        f"expected ghcr.io/ardenone/moltbook-api:{sb.new_tag} for ghcr.io/ardenone/moltbook-api; found "
        "ghcr.io/ardenone/moltbook-api:latest (images entry name 'moltbook-api' at k8s/kustomization.yml:11 does "
        "not match it, so the override never applies) (at moltbook/Deployment/moltbook-api container api, "
        "k8s/api/deployment.yml:19)")


def test_missing_new_tag_fails(tmp_path):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: _edit(sb, KUST, API_ENTRY + f"    newTag: {sb.new_tag}\n", API_ENTRY)})
    result = k1(sb.target.repo())
    assert not result.ok
    assert result.message.startswith("expected a newTag in the images: entry for ghcr.io/ardenone/moltbook-api")
    assert result.message.endswith("(at k8s/kustomization.yml:11)")


def test_not_a_kustomization_fails_before_rendering(tmp_path):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: _edit(sb, KUST, "kind: Kustomization", "kind: Deployment")})
    repo = sb.target.repo()

    def never() -> None:
        raise AssertionError("rendered a file that is not a Kustomization")

    result = k1_overrides_apply(Kustomization.load(repo, KUST), never, IMAGES)
    assert not result.ok
    assert result.message == ("expected a Kustomization (apiVersion kustomize.config.k8s.io/v1beta1, kind "
                              "Kustomization); found kind 'Deployment' (at k8s/kustomization.yml:2)")
    with pytest.raises(InputError, match="expected Kustomization; found kind 'Deployment'"):
        render(repo, KUST, kubectl=False)


def test_kind_may_be_absent(tmp_path):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: _edit(sb, KUST, "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n", "")})
    assert k1(sb.target.repo(), False).ok


def test_entry_without_new_name_is_enough_when_name_is_the_image(tmp_path):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: _edit(sb, KUST, "    newName: ghcr.io/ardenone/moltbook-api\n", "")})
    result = k1(sb.target.repo())
    assert result.ok, result.message
    assert any("has no newName; its name already is the image" in e for e in result.evidence)


# -- hostile and broken input -----------------------------------------------------------------------
def _with_resources(sb, *entries: str) -> str:
    text = sandbox_kust(sb)
    return text.replace("resources:\n", "resources:\n" + "".join(f"  - {e}\n" for e in entries), 1)


@pytest.mark.parametrize("entry, reason", [
    ("../../etc", "resource '../../etc' leaves the repository"),
    ("/etc/passwd", "resource '/etc/passwd' is an absolute path"),
    ("evil.yml", "resource 'evil.yml': path leaves the repository"),
])
@pytest.mark.parametrize("kubectl", [True, False])
def test_hostile_resource_paths_are_input_errors_at_file_line(tmp_path, entry, reason, kubectl):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: _with_resources(sb, entry)})
    (sb.path / "k8s" / "evil.yml").symlink_to("/etc/hostname")
    with pytest.raises(InputError) as exc:
        render(sb.target.repo(), KUST, kubectl=kubectl)
    assert str(exc.value).startswith(f"k8s/kustomization.yml:5: {reason}")


def test_hostile_generator_file_never_reaches_kubectl(tmp_path):
    sb = sandbox(tmp_path)
    marker = tmp_path / "kubectl-ran"
    fake = tmp_path / "kubectl"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    fake.chmod(0o755)
    mutate(sb, {KUST: sandbox_kust(sb) + "configMapGenerator:\n  - name: c\n    files:\n      - ../../../etc/shadow\n"})
    with pytest.raises(InputError, match=r"^k8s/kustomization.yml:20: configMapGenerator files '../../../etc/shadow' leaves"):
        render(sb.target.repo(), KUST, kubectl=str(fake))
    assert not marker.exists()


def test_resource_cycle_is_an_input_error(tmp_path):
    h = History(tmp_path / "r")
    h.commit("cycle", {"a/kustomization.yaml": "resources: [../b]\n", "b/kustomization.yaml": "resources:\n- ../a\n"})
    with pytest.raises(InputError, match=r"^b/kustomization.yaml:2: resource cycle: a -> b -> a"):
        render(h.repo, "a", kubectl=False)


@pytest.mark.parametrize("text, message", [
    ("images: [\n", r"^k8s/kustomization.yml:2: invalid YAML"),
    ("", r"^k8s/kustomization.yml:1: expected a kustomization mapping; found an empty file"),
    ("- a\n", r"^k8s/kustomization.yml:1: expected a kustomization mapping; found LineList"),
    ("images: ghcr.io/x\n", r"^k8s/kustomization.yml:1: images: expected a list"),
    ("images:\n  - ghcr.io/x\n", r"^k8s/kustomization.yml:2: images entry: expected a mapping"),
    ("resources:\n  - missing.yml\n", r"^k8s/kustomization.yml:2: resource 'missing.yml' not found"),
])
def test_broken_kustomization_is_a_one_line_input_error(tmp_path, text, message):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: text})
    with pytest.raises(InputError, match=message) as exc:
        render(sb.target.repo(), KUST, kubectl=False)
    assert "\n" not in str(exc.value)


def test_binary_kustomization_is_an_input_error(tmp_path):
    sb = sandbox(tmp_path)
    (sb.path / KUST).write_bytes(b"\x00\x01binary")
    with pytest.raises(InputError, match="binary file"):
        Kustomization.load(sb.target.repo(), KUST)


def test_numeric_looking_tags_keep_their_text(tmp_path):
    h = History(tmp_path / "r")
    h.commit("numeric", {KUST: "images:\n- name: a\n  newTag: 0123456\n- name: b\n  newTag: 1234567\n"
                               "- name: c\n  newTag: '0777'\n"})
    k = Kustomization.load(h.repo, KUST)
    assert [e.new_tag for e in k.images] == ["0123456", "1234567", "0777"]
    assert k.images[1].where_of("newTag") == f"{KUST}:5"


# -- renderer choice and kubectl failures -----------------------------------------------------------
@needs_kubectl
def test_remote_resources_are_not_fetched(tmp_path):
    sb = sandbox(tmp_path)
    url = "https://github.com/example/base//deploy?ref=v1"
    mutate(sb, {KUST: _with_resources(sb, url)})
    rendered = render(sb.target.repo(), KUST)
    assert rendered.renderer == "builtin"
    assert rendered.evidence == f"rendered with the built-in reader (remote resources are not fetched: {url})"
    assert rendered.notes == [f"remote resource {url} (k8s/kustomization.yml:5) not followed"]
    assert k1_overrides_apply(Kustomization.load(sb.target.repo(), KUST), rendered, IMAGES).ok


def test_image_only_in_a_remote_resource_cannot_be_decided(tmp_path):
    sb = sandbox(tmp_path)
    text = _with_resources(sb, "github.com/example/deploy?ref=v1").replace("  - api/deployment.yml\n", "")
    mutate(sb, {KUST: text})
    repo = sb.target.repo()
    with pytest.raises(CannotDecide, match="no rendered container runs ghcr.io/ardenone/moltbook-api, and remote"):
        k1_overrides_apply(Kustomization.load(repo, KUST), render(repo, KUST), IMAGES)


def _fake_kubectl(tmp_path: Path, stderr: str, code: int = 1) -> str:
    fake = tmp_path / "fake-kubectl"
    fake.write_text(f"#!/bin/sh\ncat >&2 <<'EOF'\n{stderr}\nEOF\nexit {code}\n")
    fake.chmod(0o755)
    return str(fake)


def test_kubectl_failing_on_the_network_falls_back_to_the_reader(tmp_path):
    sb = sandbox(tmp_path)
    fake = _fake_kubectl(tmp_path, 'E1 run.go:72] "command failed" err="dial tcp: lookup github.com: no such host"')
    rendered = render(sb.target.repo(), KUST, kubectl=fake)
    assert rendered.renderer == "builtin"
    assert rendered.evidence == ("rendered with the built-in reader (kubectl kustomize could not run: "
                                 "dial tcp: lookup github.com: no such host)")
    assert k1_overrides_apply(Kustomization.load(sb.target.repo(), KUST), rendered, IMAGES).ok


@needs_kubectl
def test_kubectl_failing_on_the_kustomization_is_an_input_error(tmp_path):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: _with_resources(sb, "api/deployment.yml")})  # listed twice: kustomize refuses it
    with pytest.raises(InputError, match=r"^k8s/kustomization.yml: kubectl kustomize failed: .*already registered id"):
        render(sb.target.repo(), KUST)


PATCH = ("patches:\n  - target: {kind: Deployment, name: moltbook-api}\n    patch: |\n"
         "      - op: replace\n        path: /spec/template/spec/containers/0/image\n"
         "        value: docker.io/other/api:patched\n")


def test_patch_naming_an_image_cannot_be_decided_by_the_reader(tmp_path):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: sandbox_kust(sb) + PATCH})
    with pytest.raises(CannotDecide, match=r"^k8s/kustomization.yml:17: patches may change images, and only kubectl"):
        render(sb.target.repo(), KUST, kubectl=False)


@needs_kubectl
def test_patch_naming_an_image_is_applied_by_kubectl(tmp_path):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: sandbox_kust(sb) + PATCH})
    result = k1(sb.target.repo())
    assert not result.ok  # the patch renames the image, so the images transformer no longer applies
    assert result.message.startswith("expected a rendered container running ghcr.io/ardenone/moltbook-api:")
    assert "docker.io/other/api:patched in moltbook/Deployment/moltbook-api" in result.message


def test_patch_without_images_is_noted_and_skipped(tmp_path):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: sandbox_kust(sb) + "patches:\n  - path: replicas.yml\n",
                "k8s/replicas.yml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: moltbook-api}\n"
                                    "spec: {replicas: 3}\n"})
    rendered = render(sb.target.repo(), KUST, kubectl=False)
    assert rendered.notes == ["patches at k8s/kustomization.yml:17 not applied by the built-in reader (it names no image)"]


def test_deployments_images_leaves_unset_namespaces_empty(tmp_path):
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: sandbox_kust(sb).replace("namespace: moltbook\n", "")})
    images = deployments_images(render(sb.target.repo(), KUST, kubectl=False))
    assert ("", "moltbook-api", "api") in images


@pytest.mark.parametrize("kubectl", [True, False])
def test_kustomization_that_does_not_render_fails_k1(tmp_path, kubectl):
    """A missing resource breaks the repository's deployment: K1 fails (no error) at file:line."""
    sb = sandbox(tmp_path)
    mutate(sb, {KUST: sandbox_kust(sb).replace("resources:\n", "resources:\n  - gone.yml\n", 1)})
    repo = sb.target.repo()
    result = k1_overrides_apply(Kustomization.load(repo, KUST), lambda: render(repo, KUST, kubectl=kubectl), IMAGES)
    assert not result.ok
    assert result.message.startswith("expected k8s/kustomization.yml to render (kustomize build); found ")
    assert "(at k8s/kustomization.yml" in result.message and "gone.yml" in result.message


def test_names_compare_by_the_reference_grammar(tmp_path):
    """``docker.io/acme/api`` and ``acme/api`` are one image for the kustomization's entries."""
    k = Kustomization("k.yml", None, [ImageOverride("acme/api", None, "abc1234", None, "k.yml", 3)])  # type: ignore[arg-type]
    assert k.entries_for("docker.io/acme/api") and k.entries_for("index.docker.io/acme/api")
    assert not k.entries_for("ghcr.io/acme/api")
