"""K7 on Flux: Kustomizations and HelmReleases followed to their GitRepository / OCIRepository."""
from __future__ import annotations

import pytest

from buildgate.errors import CannotDecide
from tests.gitops.helpers import API, FRONTEND, k7

DIGEST = "sha256:" + "9a" * 32


def gitrepo(name: str = "moltbook", url: str = "ssh://git@github.com/ardenone/moltbook-org", ref: str | None =
            "    branch: main\n", ns: str | None = "flux-system") -> str:
    out = (f"apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: {name}\n"
           + (f"  namespace: {ns}\n" if ns else "") + f"spec:\n  interval: 5m\n  url: {url}\n")
    return out + (f"  ref:\n{ref}" if ref else "")


def fluxkust(path: str | None = "./k8s", source: str = "moltbook", extra: str = "", kind: str = "GitRepository",
             ns: str | None = "flux-system") -> str:
    out = ("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: moltbook\n"
           + (f"  namespace: {ns}\n" if ns else "") + "spec:\n  interval: 10m\n  prune: true\n"
           f"  sourceRef:\n    kind: {kind}\n    name: {source}\n")
    if path is not None:
        out += f"  path: {path}\n"
    return out + extra


def test_a_flux_kustomization_of_the_folder_on_main_passes(tmp_path):
    res = k7(tmp_path, {"clusters/prod/apps.yaml": gitrepo() + "---\n" + fluxkust()})
    assert res.ok, res.message
    assert res.message.startswith("Kustomization flux-system/moltbook (clusters/prod/apps.yaml:")
    assert any("Kustomization flux-system/moltbook spec via GitRepository flux-system/moltbook at "
               "clusters/prod/apps.yaml:1: ssh://github.com/ardenone/moltbook-org path k8s at branch main"
               in e for e in res.evidence)


@pytest.mark.parametrize("images, forces, line", [
    (f"  images:\n    - name: {API}\n      newTag: latest\n", "tag latest", 14),
    (f"  images:\n    - name: {FRONTEND}\n      digest: {DIGEST}\n", f"digest {DIGEST}", 14),
    (f"  images:\n    - name: moltbook\n      newName: {API}\n      newTag: '1.0'\n", "name " + API + ", tag 1.0", 14),
    (f"  images:\n    - name: redis\n      newTag: '7'\n    - name: {API}\n      newName: {API}\n"
     "      newTag: pinned\n", "name " + API + ", tag pinned", 16),
])
def test_flux_spec_images_overriding_a_built_image_fail(tmp_path, images, forces, line):
    files = {"clusters/prod/source.yaml": gitrepo(), "clusters/prod/app.yaml": fluxkust(extra=images)}
    res = k7(tmp_path, files)
    assert not res.ok
    assert f"(forces {forces}) (at clusters/prod/app.yaml:{line})" in res.message
    assert "Kustomization flux-system/moltbook spec.images[" in res.message


@pytest.mark.parametrize("ref, shown", [
    (None, "branch master (no spec.ref: Flux's default)"),
    ("    branch: develop\n", "branch develop"),
    ("    tag: v1.2.0\n", "tag v1.2.0"),
    ("    semver: '>=1.0.0'\n", "semver >=1.0.0"),
    ("    branch: main\n    commit: 3f1c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e\n",
     "commit 3f1c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"),
    ("    name: refs/tags/v2\n", "name refs/tags/v2"),
])
def test_a_git_repository_not_tracking_the_default_branch_fails(tmp_path, ref, shown):
    res = k7(tmp_path, {"flux/source.yaml": gitrepo(ref=ref), "flux/app.yaml": fluxkust()})
    assert not res.ok
    assert f"Kustomization flux-system/moltbook spec via GitRepository flux-system/moltbook at flux/source.yaml:1 " \
           f"deploys {shown}, not the default branch main" in res.message


def test_refs_heads_main_is_the_default_branch(tmp_path):
    res = k7(tmp_path, {"flux/source.yaml": gitrepo(ref="    name: refs/heads/main\n"), "flux/app.yaml": fluxkust()})
    assert res.ok, res.message


def test_a_root_kustomization_with_no_kustomization_file_deploys_the_folder_through_flux(tmp_path):
    """Flux generates a kustomization for ./ that includes k8s/ with its own kustomization."""
    res = k7(tmp_path, {"flux/source.yaml": gitrepo(), "flux/app.yaml": fluxkust(path="./")})
    assert res.ok, res.message
    assert res.message.startswith("Kustomization flux-system/moltbook")
    res = k7(tmp_path / "2", {"flux/source.yaml": gitrepo(), "flux/app.yaml": fluxkust(path=None, extra=(
        f"  images:\n    - name: {API}\n      newTag: latest\n"))})
    assert not res.ok and "sets name ghcr.io/ardenone/moltbook-api, newTag latest (forces tag latest)" in res.message


def test_a_flux_kustomization_of_another_repository_is_ignored(tmp_path):
    files = {"flux/source.yaml": gitrepo(url="https://github.com/stefanprodan/podinfo", ref="    tag: 6.5.0\n"),
             "flux/app.yaml": fluxkust(path="./kustomize", extra=f"  images:\n    - name: {API}\n      newTag: x\n")}
    res = k7(tmp_path, files)
    assert res.ok, res.message
    assert "(2 found; the live object is K6's)" in res.message


def test_a_source_in_another_namespace_is_another_source(tmp_path):
    files = {"flux/a.yaml": gitrepo(ns="team-a", url="https://github.com/someone/else"),
             "flux/b.yaml": gitrepo(ns="flux-system"),
             "flux/app.yaml": fluxkust(extra="  images:\n    - name: ghcr.io/ardenone/moltbook-api\n      newTag: x\n")}
    res = k7(tmp_path, files)
    assert not res.ok and "(forces tag x) (at flux/app.yaml:14)" in res.message
    assert any("spec via GitRepository flux-system/moltbook at flux/b.yaml:1: ssh://" in e for e in res.evidence)


def test_a_source_not_in_the_repository_is_unknown(tmp_path):
    with pytest.raises(CannotDecide, match=r"flux/app.yaml:1: Kustomization flux-system/moltbook spec may change its "
                       r"tags if it deploys k8s of ardenone/moltbook-org; that depends on sourceRef GitRepository "
                       r"flux-system/elsewhere \(is not in the repository\)"):
        k7(tmp_path, {"flux/app.yaml": fluxkust(source="elsewhere")})
    # ... unless it fails whatever the source is: it is not ours to judge then, but an override of a
    # built image on an object whose source is unknown is still undecided (another repository may be meant)
    with pytest.raises(CannotDecide, match="would fail K7 if it deploys k8s"):
        k7(tmp_path / "2", {"flux/app.yaml": fluxkust(source="elsewhere", extra=(
            f"  images:\n    - name: {API}\n      newTag: latest\n"))})


def test_an_oci_artifact_is_ignored_unless_it_overrides_a_built_image(tmp_path):
    oci = ("apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\nmetadata:\n  name: manifests\n"
           "  namespace: flux-system\nspec:\n  interval: 5m\n  url: oci://ghcr.io/ardenone/manifests\n"
           "  ref:\n    tag: latest\n")
    res = k7(tmp_path, {"flux/oci.yaml": oci, "flux/app.yaml": fluxkust(source="manifests", kind="OCIRepository")})
    assert res.ok, res.message
    with pytest.raises(CannotDecide, match=r"^flux/app.yaml:1: Kustomization flux-system/moltbook spec via "
                       r"OCIRepository flux-system/manifests at flux/oci.yaml:1 would fail K7 if it deploys k8s of "
                       r"ardenone/moltbook-org; that depends on whether the artifact OCIRepository "
                       r"oci://ghcr.io/ardenone/manifests holds it, unknown offline$"):
        k7(tmp_path / "2", {"flux/oci.yaml": oci, "flux/app.yaml": fluxkust(
            source="manifests", kind="OCIRepository", extra=f"  images:\n    - name: {API}\n      newTag: latest\n")})


def helmrelease(extra: str, chart: str = "./k8s/chart", source: str = "moltbook") -> str:
    return ("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: moltbook\n"
            f"  namespace: flux-system\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: {chart}\n"
            f"      sourceRef:\n        kind: GitRepository\n        name: {source}\n{extra}")


def test_a_helm_release_values_setting_a_built_image_fail(tmp_path):
    values = f"  values:\n    api:\n      image:\n        repository: {API}\n        tag: stable\n"
    res = k7(tmp_path, {"flux/source.yaml": gitrepo(), "flux/hr.yaml": helmrelease(values, chart="./k8s")})
    assert not res.ok
    assert ("HelmRelease flux-system/moltbook spec.values api.image sets values api.image.repository="
            f"{API}, api.image.tag=stable (forces tag stable) (at flux/hr.yaml:18)") in res.message


def test_a_helm_release_post_renderer_overriding_a_built_image_fails(tmp_path):
    post = (f"  postRenderers:\n    - kustomize:\n        images:\n          - name: {FRONTEND}\n"
            "            newTag: canary\n")
    res = k7(tmp_path, {"flux/source.yaml": gitrepo(), "flux/hr.yaml": helmrelease(post, chart="k8s")})
    assert not res.ok
    assert "spec.postRenderers[0].kustomize.images[0] sets name ghcr.io/ardenone/moltbook-frontend, newTag canary" \
        in res.message


def test_a_helm_release_with_values_from_the_cluster_is_unknown(tmp_path):
    vfrom = "  valuesFrom:\n    - kind: ConfigMap\n      name: moltbook-values\n"
    with pytest.raises(CannotDecide, match=r"flux/hr.yaml:14: .*depends on spec.valuesFrom"):
        k7(tmp_path, {"flux/source.yaml": gitrepo(), "flux/hr.yaml": helmrelease(vfrom, chart="./k8s")})


def test_a_helm_release_of_a_chart_repository_is_ignored(tmp_path):
    hr = helmrelease(f"  values:\n    image:\n      repository: {API}\n      tag: x\n", chart="podinfo",
                     source="podinfo").replace("kind: GitRepository", "kind: HelmRepository")
    res = k7(tmp_path, {"flux/hr.yaml": hr})
    assert res.ok, res.message
