"""K7 on bad input: a one-line InputError naming file:line, never a pass; files it can't use."""
from __future__ import annotations

import subprocess

import pytest

from buildgate.errors import InputError
from buildgate.gitops import k7_gitops_applies_tags
from buildgate.gitops import scan as scan_module
from tests.docs.helpers import _ENV
from tests.gitops.helpers import API, GITHUB, IMAGES, KUST, app, k7, make_repo, source

FLUX_SOURCE = ("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: moltbook\n"
               "spec:\n  url: https://github.com/ardenone/moltbook-org\n  ref:\n    branch: main\n")


def flux_kust(spec: str) -> str:
    return ("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: moltbook\n"
            f"spec:\n  path: ./k8s\n{spec}")


REF = "  sourceRef:\n    kind: GitRepository\n    name: moltbook\n"


@pytest.mark.parametrize("files, message", [
    ({"deploy/app.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec:\n  source: [\n    path: k8s\n"},
     r"^deploy/app.yaml:6: invalid YAML: expected ',' or ']'"),
    ({"deploy/app.yaml": app(source(extra=f"    kustomize:\n      images: {API}:latest\n"))},
     r"^deploy/app.yaml:13: Application argocd/moltbook: spec.source.kustomize.images: expected a list; found "
     r"'ghcr.io/ardenone/moltbook-api:latest' \(a string\)$"),
    ({"deploy/app.yaml": app(source(extra=f"    kustomize:\n      images:\n        - name: {API}\n"))},
     r"^deploy/app.yaml:14: Application argocd/moltbook: spec.source.kustomize.images\[0\]: expected a string "
     r"\(name:tag, name=newname:tag or name@digest\); found a mapping$"),
    ({"deploy/app.yaml": app(source(extra="    kustomize:\n      images:\n        - ':latest'\n"))},
     r"^deploy/app.yaml:14: Application argocd/moltbook: spec.source.kustomize.images\[0\]: ':latest' names no image$"),
    ({"deploy/app.yaml": app("  source: k8s\n")},
     r"^deploy/app.yaml:8: Application argocd/moltbook: spec.source: expected a mapping; found 'k8s' \(a string\)$"),
    ({"deploy/app.yaml": app(source(rev="1.0"))},
     r"^deploy/app.yaml:10: Application argocd/moltbook: spec.source.targetRevision: expected a string; found 1.0 "
     r"\(a number\)$"),
    ({"deploy/app.yaml": app("  sources:\n    - k8s\n")},
     r"^deploy/app.yaml:9: Application argocd/moltbook: spec.sources\[0\]: expected a mapping; found 'k8s'"),
    ({"deploy/app.yaml": app(source(extra="    helm:\n      parameters:\n        - image.tag=latest\n"))},
     r"^deploy/app.yaml:14: Application argocd/moltbook: spec.source.helm.parameters\[0\]: expected a mapping "
     r"\(name, value\); found 'image.tag=latest' \(a string\)$"),
    ({"deploy/app.yaml": app(source(extra="    helm:\n      values: |\n        image: [tag\n"))},
     r"^deploy/app.yaml:13: Application argocd/moltbook: spec.source.helm.values: invalid YAML"),
    ({"deploy/app.yaml": app(source(extra="    helm:\n      valuesObject: image.tag=latest\n"))},
     r"^deploy/app.yaml:13: Application argocd/moltbook: spec.source.helm.valuesObject: expected a mapping"),
    ({"flux/source.yaml": FLUX_SOURCE, "flux/app.yaml": flux_kust(REF + f"  images:\n    - {API}:latest\n")},
     r"^flux/app.yaml:11: Kustomization moltbook: spec.images\[0\]: expected a mapping \(name, newName, newTag, "
     r"digest\); found 'ghcr.io/ardenone/moltbook-api:latest' \(a string\)$"),
    ({"flux/source.yaml": FLUX_SOURCE, "flux/app.yaml": flux_kust(REF + "  images:\n    - newTag: latest\n")},
     r"^flux/app.yaml:11: Kustomization moltbook: spec.images\[0\].name: missing$"),
    ({"flux/source.yaml": FLUX_SOURCE, "flux/app.yaml": flux_kust("  sourceRef:\n    kind: GitRepository\n")},
     r"^flux/app.yaml:8: Kustomization moltbook: spec.sourceRef.name: missing$"),
    ({"flux/source.yaml": FLUX_SOURCE.replace("    branch: main", "    branch: [main]")},
     r"^flux/source.yaml:8: GitRepository moltbook: spec.ref.branch: expected a string; found a list$"),
    ({"argocd/set.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: s\nspec:\n"
                         "  generators: {list: {elements: []}}\n  template: {}\n"},
     r"^argocd/set.yaml:6: ApplicationSet s: spec.generators: expected a list; found a mapping$"),
])
def test_bad_input_is_a_one_line_error_naming_file_and_line(tmp_path, files, message):
    with pytest.raises(InputError, match=message) as info:
        k7(tmp_path, files)
    assert "\n" not in str(info.value)


def test_bad_input_in_an_object_of_another_repository_is_still_an_error(tmp_path):
    other = app(source(url="https://github.com/someone/else", extra="    kustomize:\n      images: x:1\n"))
    with pytest.raises(InputError, match=r"^deploy/other.yaml:13: .*images: expected a list"):
        k7(tmp_path, {"deploy/other.yaml": other, "deploy/app.yaml": app(source())})


def test_yaml_that_is_no_gitops_object_may_be_anything(tmp_path):
    files = {"charts/web/templates/deployment.yaml": "{{- if .Values.enabled }}\nkind: Deployment\n{{- end }}\n",
             "notes/broken.yml": "a: [\n", "deploy/app.yaml": app(source())}
    res = k7(tmp_path, files)
    assert res.ok, res.message


def test_a_gitops_object_in_a_kubernetes_list_is_found(tmp_path):
    body = app(source(extra=f"    kustomize:\n      images:\n        - {API}:latest\n"))
    listed = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        ("  - " if i == 0 else "    ") + line + "\n" for i, line in enumerate(body.splitlines()))
    res = k7(tmp_path, {"deploy/all.yaml": listed})
    assert not res.ok and "(at deploy/all.yaml:17)" in res.message


def test_an_escaped_api_version_is_still_read(tmp_path):
    body = app(source(rev="release")).replace("argoproj.io/v1alpha1", '"argoproj\\x2eio/v1alpha1"')
    res = k7(tmp_path, {"deploy/app.yaml": body})
    assert not res.ok and "deploys targetRevision release" in res.message


def test_several_documents_in_one_file_keep_their_lines(tmp_path):
    first = app(source(url="https://github.com/someone/else"), name="other")
    second = app(source(rev="release"))
    res = k7(tmp_path, {"deploy/apps.yaml": f"---\n{first}---\n# the one that matters\n{second}"})
    assert not res.ok and res.message.endswith("(at deploy/apps.yaml:27)")


def test_files_over_the_scan_limit_are_named_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(scan_module, "SCAN_LIMIT", 2000)
    big = app(source(rev="release")) + "# padding\n" * 300
    res = k7(tmp_path, {"deploy/huge.yaml": big})
    assert res.ok
    assert any(e.startswith("not read: deploy/huge.yaml (file is ") and "over the 2000-byte limit" in e
               for e in res.evidence)


def test_each_file_is_parsed_once(tmp_path, monkeypatch):
    from buildgate import repo as repo_module

    calls: list[str] = []
    real = repo_module.parse_yaml
    monkeypatch.setattr(repo_module, "parse_yaml", lambda raw, path, *a: calls.append(path) or real(raw, path, *a))
    repo_module._parse_cached.cache_clear()
    files = {"deploy/a.yaml": app(source(), name="a"), "deploy/b.yaml": app(source(), name="b"),
             "k8s/extra.yml": "x: 1 # argoproj.io\n"}
    res = k7(tmp_path, files)
    assert res.ok, res.message
    assert sorted(calls) == ["deploy/a.yaml", "deploy/b.yaml", "k8s/extra.yml"]


def test_a_symlink_out_of_the_repository_is_not_followed(tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text(app(source(rev="release")))
    repo = make_repo(tmp_path, {"deploy/app.yaml": app(source())})
    (repo.root / "deploy/evil.yaml").symlink_to(outside)
    subprocess.run(["git", "-C", str(repo.root), "add", "-A"], check=True, env=_ENV)
    subprocess.run(["git", "-C", str(repo.root), "commit", "-q", "-m", "link"], check=True, env=_ENV)
    res = k7_gitops_applies_tags(repo, KUST, "main", GITHUB, IMAGES)
    assert res.ok, res.message
    assert any(e.startswith("not read: deploy/evil.yaml (path leaves the repository") for e in res.evidence)
