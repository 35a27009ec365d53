"""K7 on templates: ApplicationSet generators resolved offline where they can be, unknown values
decided when the verdict does not depend on them, Helm app-of-apps charts, no repository identity."""
from __future__ import annotations

import pytest

from buildgate.errors import CannotDecide
from tests.gitops.helpers import API, OURS, app, k7, source


def appset(generators: str, source_lines: str, go: bool = False, extra_spec: str = "") -> str:
    """An ApplicationSet: ``generators`` and ``source_lines`` are indented for their parents."""
    return ("apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: moltbook\n"
            "  namespace: argocd\nspec:\n" + ("  goTemplate: true\n" if go else "") + f"  generators:\n{generators}"
            "  template:\n    metadata:\n      name: 'moltbook-env'\n    spec:\n      project: default\n"
            f"      source:\n{source_lines}      destination:\n        server: '{{{{server}}}}'\n"
            f"        namespace: moltbook\n{extra_spec}")


def tsource(url: str = OURS, path: str = "k8s", rev: str = "HEAD", extra: str = "") -> str:
    return f"        repoURL: {url}\n        targetRevision: '{rev}'\n        path: '{path}'\n{extra}"


LIST = ("    - list:\n        elements:\n"
        "          - env: prod\n            dir: k8s\n            rev: main\n"
        "          - env: preview\n            dir: k8s\n            rev: preview\n")
CLUSTERS = "    - clusters:\n        selector:\n          matchLabels:\n            env: prod\n"


def test_a_list_generator_is_expanded_and_each_application_judged(tmp_path):
    res = k7(tmp_path, {"argocd/set.yaml": appset(LIST, tsource(path="{{dir}}", rev="{{rev}}"))})
    assert not res.ok
    assert res.message.endswith("found ApplicationSet argocd/moltbook spec.template.spec.source deploys targetRevision "
                                "preview, not the default branch main (at argocd/set.yaml:23)")
    assert any("[generated with env=prod, dir=k8s]" in e and e.endswith("-> deploys the kustomization")
               for e in res.evidence)
    assert "argocd/set.yaml:1 ApplicationSet argocd/moltbook: spec.generators[0]: list of 2 element(s)" in res.evidence


def test_an_applicationset_template_with_an_override_fails(tmp_path):
    images = f"        kustomize:\n          images:\n            - {API}:latest\n"
    res = k7(tmp_path, {"argocd/set.yaml": appset(LIST.split("          - env: preview")[0], tsource(extra=images))})
    assert not res.ok
    assert res.message.endswith("found ApplicationSet argocd/moltbook spec.template.spec.source.kustomize.images[0] sets "
                                "ghcr.io/ardenone/moltbook-api:latest (forces tag latest) (at argocd/set.yaml:24)")


def test_git_directories_of_this_repository_are_expanded(tmp_path):
    dirs = f"    - git:\n        repoURL: {OURS}\n        revision: HEAD\n        directories:\n          - path: 'k8s'\n"
    res = k7(tmp_path, {"argocd/set.yaml": appset(dirs, tsource(path="{{path}}"))})
    assert res.ok, res.message
    assert "spec.generators[0]: git directories of this repository: k8s" in res.evidence[-1]
    # deploying each subfolder of k8s deploys the raw manifests: their images bypass the kustomization
    dirs = dirs.replace("'k8s'", "'k8s/*'") + "          - path: k8s/frontend\n            exclude: true\n"
    res = k7(tmp_path / "2", {"argocd/set.yaml": appset(dirs, tsource(path="{{path}}"))})
    assert not res.ok
    assert "spec.template.spec.source deploys path k8s/api, whose manifests use the built images, not the " \
           "kustomization's folder k8s" in res.message
    assert "k8s/frontend" not in res.message


def test_go_template_field_paths_resolve_and_functions_are_unknown(tmp_path):
    dirs = f"    - git:\n        repoURL: {OURS}\n        revision: HEAD\n        directories:\n          - path: k8s\n"
    res = k7(tmp_path, {"argocd/set.yaml": appset(dirs, tsource(path="{{.path.path}}"), go=True)})
    assert res.ok, res.message
    with pytest.raises(CannotDecide, match=r"argocd/set.yaml:22: .* would fail K7 if it deploys k8s of "
                                           r"ardenone/moltbook-org; that depends on \{\{ index .path.segments 0 \}\}"):
        k7(tmp_path / "2", {"argocd/set.yaml": appset(dirs, tsource(path="{{ index .path.segments 0 }}", rev="dev"),
                                                      go=True)})


def test_an_override_of_a_built_image_fails_whatever_the_parameters_are(tmp_path):
    images = "        kustomize:\n          images:\n            - ghcr.io/ardenone/moltbook-api:{{metadata.labels.tag}}\n"
    res = k7(tmp_path, {"argocd/set.yaml": appset(CLUSTERS, tsource(path="{{metadata.labels.dir}}", extra=images))})
    assert not res.ok
    assert ("sets ghcr.io/ardenone/moltbook-api:{{metadata.labels.tag}} (forces tag {{metadata.labels.tag}}) "
            "(at argocd/set.yaml:23)") in res.message


def test_unknown_values_the_verdict_does_not_read_are_decided(tmp_path):
    """The clusters generator only feeds the destination; the source is literal."""
    res = k7(tmp_path, {"argocd/set.yaml": appset(CLUSTERS, tsource())})
    assert res.ok, res.message
    assert "spec.generators[0]: clusters generator: parameters unknown offline" in res.evidence[-1]


def test_a_path_from_unknown_parameters_cannot_be_decided(tmp_path):
    with pytest.raises(CannotDecide, match=r"^argocd/set.yaml:20: ApplicationSet argocd/moltbook "
                       r"spec.template.spec.source would fail K7 if it deploys k8s of ardenone/moltbook-org; that "
                       r"depends on \{\{metadata.labels.dir\}\}, unknown offline$"):
        k7(tmp_path, {"argocd/set.yaml": appset(CLUSTERS, tsource(path="{{metadata.labels.dir}}", rev="release"))})


def test_a_repository_from_unknown_parameters_decides_only_what_it_can(tmp_path):
    scm = "    - scmProvider:\n        github:\n          organization: ardenone\n"
    res = k7(tmp_path, {"argocd/set.yaml": appset(scm, tsource(url="'{{url}}'"))})
    assert res.ok, res.message
    assert "may deploy k8s of ardenone/moltbook-org (unknown values) and would apply its tags either way" in res.message
    images = f"        kustomize:\n          images:\n            - {API}:latest\n"
    with pytest.raises(CannotDecide, match=r"argocd/set.yaml:17: .* would fail K7 if it deploys k8s of "
                                           r"ardenone/moltbook-org; that depends on \{\{url\}\}"):
        k7(tmp_path / "2", {"argocd/set.yaml": appset(scm, tsource(url="'{{url}}'", extra=images))})
    with pytest.raises(CannotDecide, match=r"depends on \{\{image\}\}"):
        k7(tmp_path / "3", {"argocd/set.yaml": appset(LIST, tsource(extra=(
            "        kustomize:\n          images:\n            - '{{image}}:latest'\n")))})


def test_a_matrix_resolves_the_known_half(tmp_path):
    matrix = (f"    - matrix:\n        generators:\n          - git:\n              repoURL: {OURS}\n"
              "              revision: HEAD\n              directories:\n                - path: k8s\n"
              "          - clusters: {}\n")
    with pytest.raises(CannotDecide, match=r"^argocd/set.yaml:23: ApplicationSet argocd/moltbook "
                                           r"spec.template.spec.source deploys k8s; whether it applies its tags "
                                           r"depends on \{\{metadata.labels.rev\}\}, unknown offline$"):
        k7(tmp_path, {"argocd/set.yaml": appset(matrix, tsource(path="{{path}}", rev="{{metadata.labels.rev}}"))})
    res = k7(tmp_path / "2", {"argocd/set.yaml": appset(matrix, tsource(path="{{path}}"))})
    assert res.ok and res.message.startswith("ApplicationSet argocd/moltbook (argocd/set.yaml:1) deploys k8s")


def test_a_template_patch_adding_an_override_fails(tmp_path):
    patch = ("  templatePatch: |\n    spec:\n      source:\n    {{- if .autoSync }}\n        directory: {}\n"
             "    {{- end }}\n        kustomize:\n          images:\n"
             f"            - {API}@sha256:{'1' * 64}\n")
    res = k7(tmp_path, {"argocd/set.yaml": appset(LIST.split("          - env: preview")[0], tsource(), go=True,
                                                  extra_spec=patch)})
    assert not res.ok
    assert "spec.templatePatch.spec.source.kustomize.images[0] sets ghcr.io/ardenone/moltbook-api@sha256:" in res.message
    assert res.message.endswith("(at argocd/set.yaml:34)")


CHART = "apiVersion: v2\nname: apps\nversion: 0.1.0\n"


def helm_app(source_lines: str) -> str:
    return ("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: moltbook\n"
            "  namespace: argocd\nspec:\n  project: {{ .Values.project | default \"default\" }}\n"
            f"  source:\n{source_lines}  destination:\n    server: {{{{ .Values.spec.destination.server }}}}\n"
            "    namespace: moltbook\n")


def test_a_helm_app_of_apps_template_is_read_with_its_actions_unknown(tmp_path):
    files = {"apps/Chart.yaml": CHART, "apps/values.yaml": "repoURL: x\n",
             "apps/templates/moltbook.yaml": helm_app(
                 f"    repoURL: {OURS}\n    path: k8s\n    targetRevision: {{{{ .Values.revision }}}}\n")}
    with pytest.raises(CannotDecide, match=r"apps/templates/moltbook.yaml:11: Application argocd/moltbook spec.source "
                                           r"deploys k8s; whether it applies its tags depends on "
                                           r"\{\{ .Values.revision \}\}, unknown offline"):
        k7(tmp_path, files)
    files["apps/templates/moltbook.yaml"] = helm_app(
        "    repoURL: {{ .Values.repoURL }}\n    path: k8s\n    targetRevision: main\n"
        "    kustomize:\n      images:\n      {{- range .Values.pins }}\n        - {{ . }}\n      {{- end }}\n"
        f"        - {API}:latest\n")
    # an override of a built image would fail, but whose repository does the chart deploy?
    with pytest.raises(CannotDecide, match=r"^apps/templates/moltbook.yaml:9: Application argocd/moltbook spec.source "
                                           r"would fail K7 if it deploys k8s of ardenone/moltbook-org; that depends "
                                           r"on \{\{ .Values.repoURL \}\}, unknown offline$"):
        k7(tmp_path / "2", files)


def test_a_helm_template_writing_yaml_into_a_source_is_unknown(tmp_path):
    files = {"apps/Chart.yaml": CHART, "apps/templates/moltbook.yaml": helm_app(
        f"    repoURL: {OURS}\n    path: k8s\n    targetRevision: main\n    {{{{- with .Values.kustomize }}}}\n"
        "    kustomize:\n      {{- toYaml . | nindent 6 }}\n    {{- end }}\n")}
    with pytest.raises(CannotDecide, match=r"apps/templates/moltbook.yaml:14: .*depends on "
                                           r"\{\{- toYaml . \| nindent 6 \}\}"):
        k7(tmp_path, files)


def test_a_helm_template_that_is_not_yaml_even_so_cannot_be_decided(tmp_path):
    files = {"apps/Chart.yaml": CHART, "apps/templates/moltbook.yaml": (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n{{- /*\n  a comment\n*/}}\nspec: [\n")}
    with pytest.raises(CannotDecide, match=r"^apps/templates/moltbook.yaml:\d+: Helm template of a GitOps object "
                                           r"can't be read without rendering it"):
        k7(tmp_path, files)


def test_without_the_repository_identity_only_what_holds_for_any_repository_is_decided(tmp_path):
    res = k7(tmp_path, {"deploy/app.yaml": app(source())}, github=None)
    assert res.ok, res.message
    assert res.message.startswith("Application argocd/moltbook (deploy/app.yaml:1) may deploy k8s of this repository")
    with pytest.raises(CannotDecide, match=r"deploy/app.yaml:1: .* would fail K7 if it deploys k8s of this "
                                           r"repository; that depends on the repository identity \(no github given\)"):
        k7(tmp_path / "2", {"deploy/app.yaml": app(source(rev="release"))}, github=None)


def test_a_helm_action_beside_a_literal_source_does_not_hide_it(tmp_path):
    template = helm_app(f"    repoURL: {OURS}\n    path: k8s\n    targetRevision: release\n").replace(
        "spec:\n", "spec:\n  {{- toYaml .Values.extraSpec | nindent 2 }}\n", 1)
    res = k7(tmp_path, {"apps/Chart.yaml": CHART, "apps/templates/moltbook.yaml": template})
    assert not res.ok
    assert res.message.endswith("deploys targetRevision release, not the default branch main "
                                "(at apps/templates/moltbook.yaml:12)")
