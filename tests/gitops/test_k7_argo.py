"""K7 on Argo CD Applications: overrides, revisions and paths that fail; what passes."""
from __future__ import annotations

import pytest

from buildgate.gitops import k7_gitops_applies_tags
from pytest_buildgate.fixtures.sandbox_repo import TEMPLATE, make_sandbox_repo
from tests.gitops.helpers import API, KUST, OURS, app, k7, source

DIGEST = "sha256:" + "4f" * 32
LOCAL_API = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: moltbook-api
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/ardenone/moltbook-api:latest
"""


def test_the_sandbox_application_passes(tmp_path):
    sb = make_sandbox_repo(tmp_path / "sb")
    t = sb.target
    res = k7_gitops_applies_tags(t.repo(), t.kustomization, t.default_branch, t.github, [i.name for i in t.images])
    assert res.ok, res.message
    assert res.message == ("Application argocd/moltbook (k8s/argocd-application.yml:1) deploys k8s of "
                           "ardenone/moltbook-org from the default branch main with no override of a built image")
    assert ("k8s/argocd-application.yml:1 Application argocd/moltbook spec.source: "
            "https://github.com/ardenone/moltbook-org.git path k8s at targetRevision main -> deploys the "
            "kustomization") in res.evidence


def test_the_real_targets_override_fails_naming_both_lines(tmp_path):
    """The shape found on the real target: both images pinned to latest in the Application."""
    sandbox_app = (TEMPLATE / "k8s/argocd-application.yml").read_text()
    broken = sandbox_app.replace("    path: k8s\n", "    path: k8s\n    kustomize:\n      images:\n"
                                 "        - ghcr.io/ardenone/moltbook-api:latest\n"
                                 "        - ghcr.io/ardenone/moltbook-frontend:latest\n")
    res = k7(tmp_path, {"k8s/argocd-application.yml": broken})
    assert not res.ok
    assert res.message == (
        "expected every GitOps object deploying k8s of ardenone/moltbook-org to apply its tags: no override of a "
        "built image, the default branch main, path k8s; found "
        "Application argocd/moltbook spec.source.kustomize.images[0] sets ghcr.io/ardenone/moltbook-api:latest "
        "(forces tag latest) (at k8s/argocd-application.yml:14); "
        "Application argocd/moltbook spec.source.kustomize.images[1] sets ghcr.io/ardenone/moltbook-frontend:latest "
        "(forces tag latest) (at k8s/argocd-application.yml:15)")


def _images(*entries: str) -> str:
    return "    kustomize:\n      images:\n" + "".join(f"        - {e}\n" for e in entries)


@pytest.mark.parametrize("entry, forces", [
    ("ghcr.io/ardenone/moltbook-api:latest", "tag latest"),
    ("ghcr.io/ardenone/moltbook-api:0123abc", "tag 0123abc"),
    (f"ghcr.io/ardenone/moltbook-api@{DIGEST}", f"digest {DIGEST}"),
    ("ghcr.io/ardenone/moltbook-api=ghcr.io/ardenone/moltbook-api:v2", "name ghcr.io/ardenone/moltbook-api, tag v2"),
    (f"ghcr.io/ardenone/moltbook-api=ghcr.io/ardenone/moltbook-api@{DIGEST}",
     f"name ghcr.io/ardenone/moltbook-api, digest {DIGEST}"),
    ("ghcr.io/ardenone/moltbook-api=ghcr.io/someone/api", "name ghcr.io/someone/api"),
    ("GHCR.io/ardenone/moltbook-api:latest", "tag latest"),
])
def test_every_kustomize_images_form_that_touches_a_built_image_fails(tmp_path, entry, forces):
    res = k7(tmp_path, {"deploy/app.yaml": app(source(extra=_images(entry)))})
    assert not res.ok
    assert f"spec.source.kustomize.images[0] sets {entry} (forces {forces}) (at deploy/app.yaml:14)" in res.message


@pytest.mark.parametrize("entry", ["redis:7.2", "ghcr.io/ardenone/moltbook-apiserver:1", "ghcr.io/ardenone/moltbook-api",
                                   "ghcr.io/ardenone/moltbook-api=ghcr.io/ardenone/moltbook-api"])
def test_overrides_of_images_that_are_not_built_or_that_change_nothing_pass(tmp_path, entry):
    res = k7(tmp_path, {"deploy/app.yaml": app(source(extra=_images(entry)))})
    assert res.ok, res.message
    assert res.message.startswith("Application argocd/moltbook (deploy/app.yaml:1) deploys k8s")


def test_a_name_the_kustomization_maps_onto_a_built_image_counts_as_that_image(tmp_path):
    kust = (TEMPLATE / KUST).read_text().replace("  - name: ghcr.io/ardenone/moltbook-api\n", "  - name: moltbook-api\n")
    res = k7(tmp_path, {KUST: kust, "deploy/app.yaml": app(source(extra=_images("moltbook-api:latest")))})
    assert not res.ok
    assert "sets moltbook-api:latest (forces tag latest)" in res.message


def test_docker_hub_names_compare_by_the_reference_grammar(tmp_path):
    files = {"deploy/app.yaml": app(source(extra=_images("index.docker.io/acme/api:stable")))}
    res = k7(tmp_path, files, images=["acme/api"])
    assert not res.ok and "sets index.docker.io/acme/api:stable (forces tag stable)" in res.message


@pytest.mark.parametrize("rev, shown", [
    ("release", "targetRevision release"),
    ("v1.4.0", "targetRevision v1.4.0"),
    ("3f1c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e", "targetRevision 3f1c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"),
    ("refs/heads/develop", "targetRevision refs/heads/develop"),
    ("master", "targetRevision master"),
])
def test_another_revision_fails(tmp_path, rev, shown):
    res = k7(tmp_path, {"deploy/app.yaml": app(source(rev=rev))})
    assert not res.ok
    assert res.message.endswith(f"found Application argocd/moltbook spec.source deploys {shown}, not the default "
                                f"branch main (at deploy/app.yaml:10)")


@pytest.mark.parametrize("rev", [None, "HEAD", "main", "refs/heads/main", "''"])
def test_the_default_branch_in_every_spelling_passes(tmp_path, rev):
    res = k7(tmp_path, {"deploy/app.yaml": app(source(rev=rev))})
    assert res.ok, res.message


def test_the_default_branch_is_the_targets(tmp_path):
    res = k7(tmp_path, {"deploy/app.yaml": app(source(rev="trunk"))}, default_branch="trunk")
    assert res.ok, res.message
    res = k7(tmp_path / "2", {"deploy/app.yaml": app(source(rev="main"))}, default_branch="trunk")
    assert not res.ok and "deploys targetRevision main, not the default branch trunk" in res.message


@pytest.mark.parametrize("url", [
    "git@github.com:ardenone/moltbook-org.git", "https://github.com/Ardenone/Moltbook-Org",
    "ssh://git@github.com/ardenone/moltbook-org", "https://github.com/ardenone/moltbook-org/",
])
@pytest.mark.parametrize("path", ["k8s", "./k8s", "k8s/", "./k8s/"])
def test_equivalent_urls_and_paths_deploy_the_folder(tmp_path, url, path):
    res = k7(tmp_path, {"deploy/app.yaml": app(source(url=url, path=path, extra=_images(f"{API}:latest")))})
    assert not res.ok and "sets ghcr.io/ardenone/moltbook-api:latest" in res.message


def test_another_path_holding_the_built_images_fails(tmp_path):
    files = {"k8s-old/deployment.yml": LOCAL_API, "deploy/app.yaml": app(source(path="k8s-old"))}
    res = k7(tmp_path, files)
    assert not res.ok
    assert res.message.endswith("found Application argocd/moltbook spec.source deploys path k8s-old, whose manifests "
                                "use the built images, not the kustomization's folder k8s (at deploy/app.yaml:1)")


def test_an_overlay_rendering_the_built_images_fails_for_its_path(tmp_path):
    overlay = ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../..\n"
               "namePrefix: prod-\n")
    files = {"k8s/overlays/prod/kustomization.yaml": overlay, "deploy/app.yaml": app(source(path="k8s/overlays/prod"))}
    res = k7(tmp_path, files)
    assert not res.ok and "deploys path k8s/overlays/prod, whose manifests use the built images" in res.message


def test_a_path_that_does_not_exist_on_the_default_branch_fails(tmp_path):
    res = k7(tmp_path, {"deploy/app.yaml": app(source(path="k8s/overlays/prod"))})
    assert not res.ok
    assert "deploys path k8s/overlays/prod, which does not exist, not the kustomization's folder k8s" in res.message


def test_a_missing_path_on_another_branch_is_not_ours_to_judge(tmp_path):
    res = k7(tmp_path, {"deploy/app.yaml": app(source(path="preview", rev="gh-pages"))})
    assert res.ok, res.message
    assert res.message.startswith("no GitOps object in the repository deploys k8s of ardenone/moltbook-org")


def test_no_gitops_object_passes_and_says_so(tmp_path):
    res = k7(tmp_path, {"README.md": "# app\n", "ci/config.yml": "steps: []\n"})
    assert res.ok
    assert res.message == ("no GitOps object in the repository deploys k8s of ardenone/moltbook-org "
                           "(0 found; the live object is K6's)")


def test_an_application_of_another_repository_is_ignored_even_with_overrides(tmp_path):
    other = app(source(url="https://github.com/ardenone/moltbook-org-fork.git", extra=_images(f"{API}:latest")))
    res = k7(tmp_path, {"deploy/fork.yaml": other})
    assert res.ok, res.message
    assert "(1 found; the live object is K6's)" in res.message
    assert any(e.endswith("-> another repository (ignored)") for e in res.evidence)


def test_app_of_apps_root_is_ignored_and_its_children_are_judged(tmp_path):
    root = app(source(path="argocd/apps", rev="HEAD"), name="root")
    child_ok = app(source(rev="HEAD"), name="moltbook")
    child_other = app(source(url="https://github.com/bitnami/charts.git", path="bitnami/redis", rev="main",
                             extra="    helm:\n      parameters:\n        - name: image.tag\n          value: '7.2'\n"),
                      name="redis")
    files = {"argocd/root.yaml": root, "argocd/apps/moltbook.yaml": child_ok, "argocd/apps/redis.yaml": child_other}
    res = k7(tmp_path, files)
    assert res.ok, res.message
    assert res.message.startswith("Application argocd/moltbook (argocd/apps/moltbook.yaml:1) deploys k8s")
    assert any("Application argocd/root spec.source" in e and "-> deploys argocd/apps of this repository, not the "
               "kustomization (other; ignored)" in e for e in res.evidence)
    # the same tree with an override in the child fails at the child
    bad_child = app(source(rev="HEAD", extra=_images(f"{API}:latest")), name="moltbook")
    res = k7(tmp_path / "2", {**files, "argocd/apps/moltbook.yaml": bad_child})
    assert not res.ok and "(at argocd/apps/moltbook.yaml:14)" in res.message


def test_multi_source_judges_the_source_that_deploys_the_folder(tmp_path):
    sources = ("  sources:\n"
               "    - repoURL: https://charts.example.com\n      chart: redis\n      targetRevision: 18.1.0\n"
               "      helm:\n        parameters:\n          - name: image.tag\n            value: latest\n"
               "    - repoURL: git@github.com:ardenone/moltbook-org.git\n      ref: values\n"
               f"    - repoURL: {OURS}\n      path: k8s\n      targetRevision: main\n"
               "      kustomize:\n        images:\n          - ghcr.io/ardenone/moltbook-frontend:pinned\n")
    res = k7(tmp_path, {"deploy/app.yaml": app(sources)})
    assert not res.ok
    assert res.message.endswith("found Application argocd/moltbook spec.sources[2].kustomize.images[0] sets "
                                "ghcr.io/ardenone/moltbook-frontend:pinned (forces tag pinned) (at deploy/app.yaml:23)")


def test_helm_parameters_naming_a_built_image_fail(tmp_path):
    helm = ("    helm:\n      parameters:\n        - name: replicaCount\n          value: '2'\n"
            f"        - name: api.image.repository\n          value: {API}\n"
            "        - name: api.image.tag\n          value: latest\n")
    res = k7(tmp_path, {"deploy/app.yaml": app(source(extra=helm))})
    assert not res.ok
    assert ("spec.source.helm.parameters api.image sets helm parameter api.image.repository=ghcr.io/ardenone/"
            "moltbook-api, api.image.tag=latest (forces tag latest) (at deploy/app.yaml:18)") in res.message


def test_helm_values_block_and_values_object_fail_at_their_lines(tmp_path):
    values = ("    helm:\n      values: |\n        replicaCount: 2\n        frontend:\n          image:\n"
              f"            repository: {API.replace('api', 'frontend')}\n            tag: main-0123abc\n")
    res = k7(tmp_path, {"deploy/app.yaml": app(source(extra=values))})
    assert not res.ok
    assert "helm values frontend.image.repository=ghcr.io/ardenone/moltbook-frontend, frontend.image.tag=main-0123abc" \
        in res.message and "(forces tag main-0123abc) (at deploy/app.yaml:18)" in res.message
    obj = f"    helm:\n      valuesObject:\n        image: {API}@{DIGEST}\n"
    res = k7(tmp_path / "2", {"deploy/app.yaml": app(source(extra=obj))})
    assert not res.ok
    assert f"helm valuesObject image={API}@{DIGEST} (forces digest {DIGEST}) (at deploy/app.yaml:14)" in res.message


def test_a_kustomize_patch_setting_a_built_image_fails(tmp_path):
    patch = ("    kustomize:\n      patches:\n        - target:\n            kind: Deployment\n"
             "          patch: |-\n            - op: replace\n              path: /spec/template/spec/containers/0/image\n"
             f"              value: {API}:hotfix\n")
    res = k7(tmp_path, {"deploy/app.yaml": app(source(extra=patch))})
    assert not res.ok
    assert f"spec.source.kustomize.patches[0].patch /spec/template/spec/containers/0/image sets image {API}:hotfix " \
           "(forces tag hotfix)" in res.message


def test_every_problem_is_listed(tmp_path):
    res = k7(tmp_path, {"deploy/app.yaml": app(source(rev="release", extra=_images(f"{API}:latest")))})
    assert not res.ok
    assert res.message.count("(at deploy/app.yaml:") == 2
    assert "deploys targetRevision release, not the default branch main" in res.message
    assert [e for e in res.evidence if e.startswith("problem: ")] == [
        "problem: Application argocd/moltbook spec.source.kustomize.images[0] sets ghcr.io/ardenone/moltbook-api:latest "
        "(forces tag latest) at deploy/app.yaml:14",
        "problem: Application argocd/moltbook spec.source deploys targetRevision release, not the default branch main "
        "at deploy/app.yaml:10"]


def test_credentials_in_a_repository_url_never_reach_the_verdict(tmp_path):
    token = "ghp_" + "Z" * 36
    url = f"https://x-access-token:{token}@github.com/ardenone/moltbook-org.git"
    res = k7(tmp_path, {"deploy/app.yaml": app(source(url=url, rev="release"))})
    assert not res.ok
    assert token not in res.message and all(token not in e for e in res.evidence)
    assert any("https://github.com/ardenone/moltbook-org.git path k8s" in e for e in res.evidence)


@pytest.mark.parametrize("path, ok", [(None, True), (".", True), ("./", True), ("''", True), ("k8s", False)])
def test_a_kustomization_at_the_root_wants_the_root(tmp_path, path, ok):
    kust = (TEMPLATE / KUST).read_text().replace("  - ", "  - k8s/", 5)
    res = k7(tmp_path, {"kustomization.yml": kust, "deploy/app.yaml": app(source(path=path))},
             kustomization="kustomization.yml")
    assert res.ok is ok, res.message
    if not ok:  # k8s holds the raw manifests: deploying them bypasses the kustomization's images
        assert "deploys path k8s, whose manifests use the built images, not the kustomization's folder (root)" \
            in res.message


def test_a_recursive_directory_application_above_the_folder_bypasses_the_kustomization(tmp_path):
    """Argo CD applies every manifest below the path as it is: the kustomization's images never apply."""
    recurse = "    directory:\n      recurse: true\n"
    res = k7(tmp_path, {"deploy/app.yaml": app(source(path=".", extra=recurse))})
    assert not res.ok
    assert "deploys path (root), whose manifests use the built images, not the kustomization's folder k8s" in res.message
    res = k7(tmp_path / "2", {"deploy/app.yaml": app(source(path="."))})  # not recursive: the root holds no manifest
    assert res.ok and res.message.startswith("no GitOps object in the repository deploys k8s")
