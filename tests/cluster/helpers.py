"""Shared builders for the cluster layer's tests."""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from buildgate.cluster.config import WaitBudget
from buildgate.cluster.expected import ExpectedContainer, ExpectedDeployment
from pytest_buildgate.fixtures.kubeapi import objects as o

API = "ghcr.io/ardenone/moltbook-api"
FRONT = "ghcr.io/ardenone/moltbook-frontend"
TAG = "abc1234"
DIGEST_API = "sha256:" + "a" * 64
DIGEST_FRONT = "sha256:" + "f" * 64
CHILD_API = "sha256:" + "1" * 64
OLD_DIGEST = "sha256:" + "0" * 64

FAST = WaitBudget(timeout=1.0, interval=0.25, degraded_grace=0.3)
ONCE = WaitBudget(timeout=0, interval=0.1, degraded_grace=0)


@dataclass
class Resolved:
    digest: str
    child_digests: dict[str, str] = field(default_factory=dict)


class Registry:
    """A fake ``registry_client.resolve_tag`` with call counting."""

    def __init__(self, tags: dict[tuple[str, str], Resolved]) -> None:
        self.tags = tags
        self.calls: list[tuple[str, str]] = []

    def resolve_tag(self, image: str, tag: str) -> Resolved | None:
        self.calls.append((image, tag))
        return self.tags.get((image, tag))


def registry(api: str = DIGEST_API, front: str = DIGEST_FRONT, children: dict | None = None) -> Registry:
    return Registry({(API, TAG): Resolved(api, children if children is not None else {"linux/amd64": CHILD_API}),
                     (FRONT, TAG): Resolved(front)})


def api_workload(image: str = f"{API}:{TAG}", digest: str = DIGEST_API, **kw) -> o.Workload:
    return o.Workload("moltbook-api", {"api": (image, o.image_id(image, digest))}, **kw)


def front_workload(image: str = f"{FRONT}:{TAG}", digest: str = DIGEST_FRONT, **kw) -> o.Workload:
    return o.Workload("moltbook-frontend", {"frontend": (image, o.image_id(image, digest))}, **kw)


def expected(api_image: str = f"{API}:{TAG}", front_image: str = f"{FRONT}:{TAG}") -> list[ExpectedDeployment]:
    return [
        ExpectedDeployment("moltbook", "moltbook-api",
                           (ExpectedContainer("api", api_image, "k8s/api/deployment.yml:19", True),)),
        ExpectedDeployment("moltbook", "moltbook-frontend",
                           (ExpectedContainer("frontend", front_image, "k8s/frontend/deployment.yml:19", True),)),
    ]


def git(root: Path, *args: str, date: int = 1767225600) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull,
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_AUTHOR_DATE": f"@{date} +0000",
           "GIT_COMMITTER_DATE": f"@{date} +0000", "LC_ALL": "C"}
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, env=env,
                          check=True).stdout.strip()


@dataclass
class TinyRepo:
    path: Path
    before: str  # a commit older than the kustomization change
    kust: str  # the last commit touching k8s/kustomization.yml
    head: str  # a later commit (a descendant of kust)
    side: str  # a commit on another branch (not a descendant)


def commit(root: Path, message: str, date: int, files: dict[str, str] | None = None) -> str:
    """Write ``files`` (path -> text), commit everything, return the new commit id."""
    for rel, text in (files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "add", "-A")
    git(root, "commit", "-qm", message, date=date)
    return git(root, "rev-parse", "HEAD")


def tiny_repo(root: Path) -> TinyRepo:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    kust = "k8s/kustomization.yml"
    before = commit(root, "one", 1767225600, {kust: "images:\n  - name: x\n    newTag: old\n"})
    git(root, "branch", "side")
    kust_commit = commit(root, "update image tags", 1767229200, {kust: "images:\n  - name: x\n    newTag: abc1234\n"})
    head = commit(root, "later", 1767232800, {"README.md": "later\n"})
    git(root, "checkout", "-q", "side")
    side = commit(root, "side", 1767236400, {"side.txt": "side\n"})
    git(root, "checkout", "-q", "main")
    return TinyRepo(root, before, kust_commit, head, side)
