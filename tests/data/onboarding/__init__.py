"""Two repositories whose shape differs from the sandbox, built as real git repositories for the
onboarding tests (``buildgate init``, an audit, annotations, a team's own criteria).

* ``release_tags``: one image on Docker Hub (``acme/widget``, no registry host in its name),
  built by a workflow that runs only on release tags (``v*.*.*``); no kustomization; the default
  branch is ``master`` and the origin remote has no ``HEAD`` (``git@github.com:acme/widget.git``).
* ``monorepo``: three images built by one matrix job on pushes to ``main``, pushed to GHCR, a
  kustomization in ``deploy/`` (plus an overlay without ``images:`` and a vendored one with other
  images), ``origin/HEAD`` naming ``main`` (``https://github.com/acme/platform.git``).

The files are the ones below this folder; :func:`make_repo` replays a short history on them with
fixed identities and dates (the sandbox's :class:`fixtures.sandbox_repo._History`), so commit ids
are the same on every machine. Nothing here reaches the network: the remote is only configured.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pytest_buildgate.fixtures.sandbox_repo import BOT, _History

DATA = Path(__file__).parent
KINDS = ("release_tags", "monorepo")


@dataclass(frozen=True)
class OnboardingRepo:
    kind: str
    path: Path
    head: str
    built: str  # the commit whose tag the kustomization holds (monorepo), else HEAD


def _copy(kind: str, dest: Path, parts: tuple[str, ...] | None = None) -> None:
    src_root = DATA / kind
    for src in sorted(src_root.rglob("*")):
        rel = src.relative_to(src_root)
        if src.is_dir() or (parts is not None and rel.parts[0] not in parts):
            continue
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out)
        if out.suffix == ".sh":
            os.chmod(out, 0o755)


def make_repo(kind: str, dest: Path) -> OnboardingRepo:
    """Build the ``kind`` repository in ``dest`` (created; it must not hold anything yet)."""
    if kind not in KINDS:
        raise ValueError(f"unknown onboarding repository {kind!r}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    h = _History(dest)
    if kind == "release_tags":
        h.git("init", "-q", "-b", "master")
        _copy(kind, dest, ("src", "Dockerfile", "README.md", "docs", "scripts"))
        h.commit("widget 1.0.0")
        _copy(kind, dest)
        head = h.commit("ci: publish the image to Docker Hub on release tags")
        h.git("tag", "v1.0.0", head)
        h.git("remote", "add", "origin", "git@github.com:acme/widget.git")
        return OnboardingRepo(kind, dest.resolve(), head, head)
    h.git("init", "-q", "-b", "main")
    _copy(kind, dest, ("services", "web", "deploy", "third_party", "README.md", "docs"))
    _set_new_tag(dest, "latest")
    h.commit("feat: api, worker and web with their manifests")
    _copy(kind, dest)
    _set_new_tag(dest, "latest")
    built = h.commit("ci: build the three images in one matrix job; helper scripts")
    _set_new_tag(dest, built[:7])
    head = h.commit(f"chore: deploy {built[:7]} [skip ci]", who=BOT)
    h.git("remote", "add", "origin", "https://github.com/acme/platform.git")
    h.git("update-ref", "refs/remotes/origin/main", head)
    h.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    return OnboardingRepo(kind, dest.resolve(), head, built)


def _set_new_tag(dest: Path, tag: str) -> None:
    path = dest / "deploy" / "kustomization.yaml"
    path.write_text((DATA / "monorepo" / "deploy" / "kustomization.yaml").read_text().replace("__NEW_TAG__", tag))
