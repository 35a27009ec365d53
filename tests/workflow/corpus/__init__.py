"""A corpus of small workflows, one per real-world pattern, each with its expected verdicts.

Each ``*.yml`` file here is a workflow written for buildgate's tests (patterns studied on public
container-build workflows, none copied). Its header says what is expected::

    # pattern: one line saying what the workflow shows
    # images: docker.io/acme/api=./api ghcr.io/acme/web=./web
    # W1   pass   the file is at the claimed path
    # W5   error  the push depends on `secrets.PUBLISH`

one line per criterion W1, W1b, W2 ... W12: the verdict (``pass``, ``fail``, ``error``) and a
one-line reason. For an ``error``, the text in backticks must appear in the error message (the
unknown it names). Files a case needs besides the workflow (a bake file, a called workflow, a
second workflow) live in ``<name>.files/`` and are copied into the case's repository as they
are laid out there.

:func:`load_cases` reads them; ``tests/workflow/test_corpus.py`` runs the table and
``benchmarks/workflow_corpus.py`` measures error shares and disagreement.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from buildgate.errors import BuildgateError, NotApplicable
from buildgate.repo import Repo
from buildgate.target import Image, Target

HERE = Path(__file__).parent
CRITERIA = ("W1", "W1b", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9", "W10", "W11", "W12")
WORKFLOW = ".github/workflows/build-push.yml"
KUSTOMIZATION = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: []
"""
_LINE = re.compile(r"^#\s*(W\d+b?)\s+(pass|fail|error)\s+(.*)$")


@dataclass
class Case:
    name: str
    path: Path
    pattern: str
    images: list[tuple[str, str]]
    expect: dict[str, tuple[str, str]] = field(default_factory=dict)  # criterion -> (verdict, reason)

    def names(self, cid: str) -> list[str]:
        """The backticked pieces of an error's reason: what its message must name."""
        return re.findall(r"`([^`]+)`", self.expect[cid][1])


def load_cases() -> list[Case]:
    out = []
    for path in sorted(HERE.glob("*.yml")):
        pattern, images, expect = "", [], {}
        for line in path.read_text().splitlines():
            if not line.startswith("#"):
                break
            if line.startswith("# pattern:"):
                pattern = line.split(":", 1)[1].strip()
            elif line.startswith("# images:"):
                images = [tuple(x.split("=", 1)) for x in line.split(":", 1)[1].split()]
            else:
                m = _LINE.match(line)
                if m:
                    expect[m.group(1)] = (m.group(2), m.group(3).strip())
        out.append(Case(path.stem, path, pattern, images, expect))
    return out


def make_repo(case: Case, root: Path) -> tuple[Repo, Target]:
    """The case's repository: the workflow at the claimed path, a Dockerfile per context, a
    kustomization, and the files of ``<name>.files/``."""
    files: dict[str, str] = {WORKFLOW: case.path.read_text(), "k8s/kustomization.yml": KUSTOMIZATION}
    for _name, ctx in case.images:
        rel = ctx.strip("./").strip("/")
        files[f"{rel}/Dockerfile" if rel else "Dockerfile"] = "FROM scratch\n"
    extra = case.path.with_suffix(".files")
    if extra.is_dir():
        for f in extra.rglob("*"):
            if f.is_file():
                files[str(f.relative_to(extra))] = f.read_text()
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env, capture_output=True)
    target = Target(repo_path=root, github="acme/shop", images=tuple(Image(n, c) for n, c in case.images))
    return Repo(root), target


def verdicts(repo: Repo, target: Target) -> dict[str, tuple[str, str]]:
    """criterion -> (verdict, message) for W1–W12 on one repository (never raises)."""
    from buildgate.workflow import checks as wc

    fns = {"W1": wc.w1_workflow_exists, "W1b": wc.w1b_some_workflow_builds, "W2": wc.w2_valid_workflow,
           "W3": wc.w3_triggers, "W4": wc.w4_buildx, "W5": wc.w5_push_ghcr, "W6": wc.w6_tags,
           "W7": wc.w7_gha_cache, "W8": wc.w8_attestations, "W9": wc.w9_update_job,
           "W10": wc.w10_written_tag_is_pushed, "W11": wc.w11_valid_tags, "W12": wc.w12_one_owner_per_tag}
    out = {}
    for cid, fn in fns.items():
        try:
            res = fn(repo, target)
        except NotApplicable as exc:
            out[cid] = ("skipped", str(exc))
        except BuildgateError as exc:
            out[cid] = ("error", str(exc))
        else:
            out[cid] = ("pass" if res.ok else "fail", res.message)
    return out
