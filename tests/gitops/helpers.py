"""Small git repositories holding the sandbox's kustomization plus GitOps manifests, and K7 on them."""
from __future__ import annotations

from pathlib import Path

from buildgate.gitops import k7_gitops_applies_tags
from buildgate.repo import Repo
from buildgate.result import CheckResult
from pytest_buildgate.fixtures.sandbox_repo import TEMPLATE
from tests.docs.helpers import git_repo

GITHUB = "ardenone/moltbook-org"
OURS = "https://github.com/ardenone/moltbook-org.git"
KUST = "k8s/kustomization.yml"
API = "ghcr.io/ardenone/moltbook-api"
FRONTEND = "ghcr.io/ardenone/moltbook-frontend"
IMAGES = [API, FRONTEND]

# The sandbox's kustomization and the manifests it renders (no GitOps object among them).
BASE = {rel: (TEMPLATE / rel).read_text() for rel in (
    KUST, "k8s/namespace.yml", "k8s/api/deployment.yml", "k8s/api/service.yml",
    "k8s/frontend/deployment.yml", "k8s/frontend/service.yml")}


def app(source: str, name: str = "moltbook", kind: str = "Application") -> str:
    """An Argo CD Application whose ``spec`` holds ``source`` (YAML indented for ``spec:``)."""
    return (f"apiVersion: argoproj.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: argocd\n"
            f"spec:\n  project: default\n{source}  destination:\n    server: https://kubernetes.default.svc\n"
            f"    namespace: moltbook\n")


def source(url: str = OURS, path: str | None = "k8s", rev: str | None = "main", extra: str = "") -> str:
    """``spec.source`` lines (``extra`` is indented for inside ``source:``)."""
    out = f"  source:\n    repoURL: {url}\n"
    if rev is not None:
        out += f"    targetRevision: {rev}\n"
    if path is not None:
        out += f"    path: {path}\n"
    return out + extra


def make_repo(tmp_path: Path, files: dict[str, str], base: bool = True) -> Repo:
    return git_repo(tmp_path / "repo", {**(BASE if base else {}), **files})


def k7(tmp_path: Path, files: dict[str, str], github: str | None = GITHUB, images: list[str] | None = None,
       default_branch: str = "main", kustomization: str = KUST, base: bool = True) -> CheckResult:
    repo = make_repo(tmp_path, files, base)
    return k7_gitops_applies_tags(repo, kustomization, default_branch, github, list(images or IMAGES))
