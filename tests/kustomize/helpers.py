"""Helpers for the K1-K3 tests: small git histories, the sandbox with edits, PATH without kubectl."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from buildgate.repo import Repo
from pytest_buildgate.fixtures.sandbox_repo import BOT, HUMAN, TEMPLATE, SandboxRepo, make_sandbox_repo

KUST = "k8s/kustomization.yml"


class History:
    """A git repository whose commits have chosen authors and a clock ticking one hour per commit."""

    def __init__(self, root: Path, init: bool = True) -> None:
        self.root = Path(root)
        self.clock = 1767225600
        if init:
            self.root.mkdir(parents=True, exist_ok=True)
            self.git("init", "-q", "-b", "main")
        else:
            self.clock = int(self.git("log", "-1", "--format=%ct"))

    def git(self, *args: str, who: tuple[str, str] = HUMAN, input_text: str | None = None) -> str:
        env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull, "LC_ALL": "C",
               "GIT_AUTHOR_NAME": who[0], "GIT_AUTHOR_EMAIL": who[1],
               "GIT_COMMITTER_NAME": who[0], "GIT_COMMITTER_EMAIL": who[1],
               "GIT_AUTHOR_DATE": f"@{self.clock} +0000", "GIT_COMMITTER_DATE": f"@{self.clock} +0000"}
        proc = subprocess.run(["git", "-C", str(self.root), *args], capture_output=True, text=True, env=env,
                              input=input_text, check=True)
        return proc.stdout.strip()

    def write(self, files: dict[str, str | None]) -> None:
        for rel, text in files.items():
            p = self.root / rel
            if text is None:
                p.unlink()
                continue
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)

    def commit(self, message: str, files: dict[str, str | None] | None = None, who: tuple[str, str] = HUMAN) -> str:
        self.clock += 3600
        self.write(files or {})
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, who=who)
        return self.git("rev-parse", "HEAD")

    @property
    def repo(self) -> Repo:
        return Repo(self.root)


def template(rel: str) -> str:
    return (TEMPLATE / rel).read_text()


def kustomization(tag: str = "latest", api_name: str = "ghcr.io/ardenone/moltbook-api",
                  api_new_name: str | None = "ghcr.io/ardenone/moltbook-api", extra: str = "") -> str:
    """The sandbox's kustomization with a chosen tag and api entry."""
    api = f"  - name: {api_name}\n" + (f"    newName: {api_new_name}\n" if api_new_name else "") + f"    newTag: {tag}\n"
    return (template(KUST).split("images:")[0] + "images:\n" + api
            + f"  - name: ghcr.io/ardenone/moltbook-frontend\n    newName: ghcr.io/ardenone/moltbook-frontend\n"
              f"    newTag: {tag}\n" + extra)


def sandbox(tmp_path: Path, files: dict[str, str | None] | None = None, **kw) -> SandboxRepo:
    return make_sandbox_repo(tmp_path / "repo", files=files, **kw)


def sandbox_kust(sb: SandboxRepo) -> str:
    return (sb.path / KUST).read_text()


def mutate(sb: SandboxRepo, files: dict[str, str | None], who: tuple[str, str] = HUMAN,
           message: str = "test: mutation [skip ci]") -> str:
    """One more commit on the sandbox (after it is built, so the edit can use its real tag)."""
    return History(sb.path, init=False).commit(message, files, who=who)


def path_without_kubectl(tmp_path: Path) -> str:
    """A PATH holding only git (and a shell), so kubectl is not found."""
    bindir = tmp_path / "bin-no-kubectl"
    bindir.mkdir(exist_ok=True)
    for tool in ("git", "sh", "bash"):
        exe = shutil.which(tool)
        if exe and not (bindir / tool).exists():
            (bindir / tool).symlink_to(exe)
    return str(bindir)


__all__ = ["BOT", "HUMAN", "History", "KUST", "kustomization", "mutate", "path_without_kubectl", "sandbox",
           "sandbox_kust", "template"]
