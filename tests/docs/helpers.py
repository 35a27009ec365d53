"""Shared helpers for the D/S tests: small git repositories and all five checks at once."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from buildgate import scripts
from buildgate.docs import links, paths, topics
from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.target import Target

_ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull,
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def git_repo(root: Path, files: dict[str, str], executable: tuple[str, ...] = ()) -> Repo:
    """A one-commit git repository holding ``files``; paths in ``executable`` get mode 755."""
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=_ENV)
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        if rel in executable:
            p.chmod(0o755)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, env=_ENV)
    subprocess.run(["git", "-C", str(root), "commit", "-q", "-m", "init"], check=True, env=_ENV)
    return Repo(root)


def run_all(repo: Repo, target: Target) -> dict[str, CheckResult]:
    """D1, D2, D3, S1, S2 on one repository."""
    return {
        "D1": topics.d1_docs_cover_topics(repo, target.docs),
        "D2": links.d2_readme_links_docs(repo, target.readme, target.docs, target.github),
        "D3": paths.d3_named_paths_exist(repo, target.docs, target.readme, target.scripts.values(),
                                     target.workflows_dir, target.github),
        "S1": scripts.s1_helper_scripts(repo, target.scripts),
        "S2": scripts.s2_scripts_name_existing_workflow(repo, target.scripts, target.workflows_dir),
    }
