"""A realistic target repository for the history benchmarks, generated (nothing is downloaded).

It starts from the sandbox repository (``fixtures/sandbox/repo/``) and replays a history shaped
like the real one's (see ``../shared/FACTS.md``, "The real target, in outline"):

- about 750 first-parent commits over seven weeks, with a few merged side branches;
- a Markdown status note added or edited in most human commits, growing to about 150 files of
  5-20 KB at the top level and in ``docs/`` (prose, commands, paths, some of them dangling);
- occasional workflow, kustomization, README and build-doc changes;
- the bot's ``chore: update image tags to <sha> [skip ci]`` commit after each human commit
  that changes an image's sources, once the update job exists;
- the real history's defects at fixed points: the build docs naming
  ``./scripts/setup-docker-buildx.sh`` (which never exists) and a devpod-script option the
  script rejects, the workflow renamed while the scripts still name the old file, and the
  build docs deleted for a while.

The history is written with ``git fast-import`` (marks resolved to commit ids on the way, so
the bot's tags name real commits); dates, identities and the random choices are fixed, so the
commit ids are the same on every machine.

    python3 benchmarks/realistic_repo.py DEST [--commits 750]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "fixtures" / "sandbox" / "repo"
HUMANS = (("Dana Developer", "dana@example.invalid"), ("Lee Platform", "lee@example.invalid"),
          ("Sam Agent", "sam-agent@example.invalid"))
BOT = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")
BASE_TIME = 1767225600  # 2026-01-01T00:00:00Z
KUSTOMIZATION = "k8s/kustomization.yml"
OLD_WF, NEW_WF = ".github/workflows/build-push.yml", ".github/workflows/build-images.yml"
_NEW_TAG = re.compile(r"(newTag:\s*)\S+")

_WORDS = ("build devpod overlay kernel image registry workflow runner cache layer push tag deploy cluster "
          "namespace rollout argo sync manifest kustomization docker buildx podman buildah mount nested "
          "storage driver fallback vfs token scope permission package attestation provenance sbom "
          "frontend api service pod container health check retry timeout log status verified pending "
          "blocked fixed reproduced investigated confirmed observed expected found because therefore "
          "after before when while the a an of to in on for with from by is was are were has had not "
          "this that it we they our their which every each some more less than then").split()
_COMMANDS = (
    "kubectl get pods -n moltbook", "kubectl -n argocd get application moltbook",
    "gh run list --workflow=build-push.yml --limit 5", "docker buildx ls",
    "./scripts/build-images.sh --push", "scripts/check-build-status.sh 3", "podman info --format json",
    "findmnt -n -o FSTYPE /", "cat k8s/kustomization.yml", "git log --oneline -5 -- k8s/",
    "./scripts/fix-devpod-storage.sh", "bash scripts/debug-overlay.sh --verbose",
)
_EXISTING = ("k8s/api/deployment.yml", "k8s/frontend/deployment.yml", "api/Dockerfile",
             "moltbook-frontend/Dockerfile", "k8s/argocd-application.yml", "DOCKER_BUILD.md")
_DANGLING = ("scripts/fix-devpod-storage.sh", "docs/DEVPOD_RUNBOOK.md", "k8s/overlays/prod/kustomization.yml",
             "scripts/debug-overlay.sh", ".github/workflows/docker-build.yml", "BUILD_NOTES_OLD.md",
             "api/Dockerfile.devpod", "tmp/build.log")


@dataclass
class RealisticRepo:
    """The generated repository and the commits where its defects start."""

    path: Path
    head: str
    commits: int                         # first-parent commits
    events: dict[str, str] = field(default_factory=dict)  # what happened -> commit id
    notes: int = 0                       # status notes at HEAD


class _Writer:
    """Feeds ``git fast-import`` and keeps the repository's files as a dict."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        subprocess.run(["git", "init", "-q", "-b", "main", str(dest)], check=True)
        self.proc = subprocess.Popen(
            ["git", "-C", str(dest), "fast-import", "--quiet", "--date-format=raw"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.files: dict[str, tuple[str, bytes]] = {}
        self.changed: dict[str, tuple[str, bytes] | None] = {}
        self.mark = 0
        self.clock = BASE_TIME
        self.tip_mark: int | None = None

    def put(self, path: str, text: str | bytes, mode: str = "100644") -> None:
        data = text.encode() if isinstance(text, str) else text
        if self.files.get(path) != (mode, data):
            self.files[path] = (mode, data)
            self.changed[path] = (mode, data)

    def delete(self, path: str) -> None:
        if path in self.files:
            del self.files[path]
            self.changed[path] = None

    def text(self, path: str) -> str:
        return self.files[path][1].decode()

    def edit(self, path: str, old: str, new: str) -> None:
        self.put(path, self.text(path).replace(old, new), self.files[path][0])

    def commit(self, message: str, who: tuple[str, str], branch: str = "main", parent: int | None = None,
               merge: int | None = None, tick: int = 0) -> int:
        self.clock += tick or 3600
        self.mark += 1
        out = [f"commit refs/heads/{branch}\nmark :{self.mark}\n",
               f"author {who[0]} <{who[1]}> {self.clock} +0000\n",
               f"committer {who[0]} <{who[1]}> {self.clock} +0000\n"]
        msg = message.encode()
        out.append(f"data {len(msg)}\n")
        chunks = ["".join(out).encode(), msg, b"\n"]
        if parent is not None:
            chunks.append(f"from :{parent}\n".encode())
        if merge is not None:
            chunks.append(f"merge :{merge}\n".encode())
        for path, entry in sorted(self.changed.items()):
            if entry is None:
                chunks.append(f"D {path}\n".encode())
            else:
                mode, data = entry
                chunks += [f"M {mode} inline {path}\ndata {len(data)}\n".encode(), data, b"\n"]
        self.changed = {}
        self.proc.stdin.write(b"".join(chunks))
        return self.mark

    def sha(self, mark: int) -> str:
        """The commit id of a mark (fast-import answers ``get-mark`` on its stdout)."""
        self.proc.stdin.write(f"get-mark :{mark}\n".encode())
        self.proc.stdin.flush()
        return self.proc.stdout.readline().decode().strip()

    def close(self) -> None:
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise RuntimeError("git fast-import failed")
        self.proc.stdout.close()


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(3, 7)):
        s = _sentence(rng, rng.randint(8, 18))
        roll = rng.random()
        if roll < 0.15:
            s = s[:-1] + f" (see `{rng.choice(_EXISTING)}`)."
        elif roll < 0.25:
            s = s[:-1] + f", as described in {rng.choice(_DANGLING)}."
        parts.append(s)
    return " ".join(parts)


def _section(rng: random.Random, title: str, notes: list[str]) -> str:
    out = [f"## {title}", "", _paragraph(rng), ""]
    roll = rng.random()
    if roll < 0.4:
        cmds = rng.sample(_COMMANDS, rng.randint(1, 3))
        out += ["```bash", *cmds, "```", ""]
    elif roll < 0.6:
        out += [f"- {_sentence(rng, rng.randint(5, 10))}" for _ in range(rng.randint(2, 5))] + [""]
    elif roll < 0.7 and notes:
        other = rng.choice(notes)
        out += [f"Earlier findings: [{other}]({other if '/' not in other else '../' + other}).", ""]
    out += [_paragraph(rng), ""]
    return "\n".join(out)


def _note(rng: random.Random, name: str, notes: list[str], size: int) -> str:
    bead = f"mo-{rng.randint(1000, 9999):04x}"[:7]
    out = [f"# {name.rsplit('/', 1)[-1][:-3].replace('_', ' ').title()} ({bead})", "",
           f"**Status:** {rng.choice(['in progress', 'blocked', 'complete ✅', 'needs review'])}", ""]
    n = 0
    while len("\n".join(out)) < size:
        n += 1
        out.append(_section(rng, f"Finding {n}: {_sentence(rng, 4)[:-1]}", notes))
    return "\n".join(out)


def _wf_text(name: str) -> str:
    base = (TEMPLATE / OLD_WF).read_text()
    return base.replace("build-push.yml", name.rsplit("/", 1)[-1])


_DEVPOD_WITH_OPTIONS = """#!/usr/bin/env bash
# Start the image build on GitHub Actions from the devpod, where images can't be built
# (see DOCKER_BUILD.md). Usage: scripts/build-images-devpod.sh [--ref REF]
set -euo pipefail

workflow="{workflow}"
ref="main"

while [ $# -gt 0 ]; do
  case "$1" in
    --ref) ref="$2"; shift ;;
    -h | --help) echo "usage: $0 [--ref REF]"; exit 0 ;;
    *) echo "usage: $0 [--ref REF]" >&2; exit 2 ;;
  esac
  shift
done

if ! command -v gh >/dev/null 2>&1; then
  echo "error: the GitHub CLI (gh) is needed to start the build; see DOCKER_BUILD.md" >&2
  exit 1
fi

echo "starting ${{workflow}} on ${{ref}}"
gh workflow run "$workflow" --ref "$ref"
echo "started; follow it with scripts/check-build-status.sh"
"""


def build(dest: Path, commits: int = 750, seed: int = 11) -> RealisticRepo:
    """Generate the repository in ``dest`` (must not exist or be empty) with ``commits``
    first-parent commits."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    w = _Writer(dest)
    events: dict[str, str] = {}
    at = {k: max(2, int(commits * f)) for k, f in {
        "fix": 0.08, "buildx_doc": 0.30, "rejected_option": 0.45, "wf_renamed": 0.55, "scripts_follow": 0.60,
        "docs_deleted": 0.70, "docs_restored": 0.74}.items()}
    notes: list[str] = []
    workflow = None
    n = 0  # first-parent commits so far
    tip = None

    def template(rel: str) -> str:
        return (TEMPLATE / rel).read_text()

    def human(message: str) -> int:
        nonlocal n, tip
        n += 1
        tip = w.commit(message, rng.choice(HUMANS), parent=tip, tick=rng.randint(600, 9000))
        return tip

    def set_tag(tag: str) -> None:
        w.put(KUSTOMIZATION, _NEW_TAG.sub(lambda m: m.group(1) + tag, w.text(KUSTOMIZATION)))

    def touch_note() -> None:
        if len(notes) < 150 and (not notes or rng.random() < 0.3 or len(notes) < n * 150 // commits):
            folder = "docs/" if rng.random() < 0.2 else ""
            stem = rng.choice(["BUILD_STATUS", "DEVPOD_NOTES", "MO_3T8P_SUMMARY", "DEPLOY_CHECK", "OVERLAY_INVESTIGATION",
                               "ARGO_SYNC_REPORT", "REGISTRY_AUDIT", "SESSION_LOG"])
            name = f"{folder}{stem}_{len(notes) + 1:03d}.md"
            notes.append(name)
            w.put(name, _note(rng, name, notes[:-1], rng.randint(5000, 12000)))
        else:
            name = rng.choice(notes[-40:])
            old = w.text(name)
            if len(old) < 19000:
                w.put(name, old + "\n" + _section(rng, f"Update: {_sentence(rng, 4)[:-1]}", notes))
            else:  # rewrite the status line of a full note
                w.put(name, old.replace("**Status:** ", f"**Status:** {rng.choice(['re-checked', 'stale'])}; ", 1))

    # -- the start: services and manifests, no workflow, docs or scripts yet ----------------
    for src in sorted(TEMPLATE.rglob("*")):
        rel = src.relative_to(TEMPLATE).as_posix()
        if src.is_file() and not rel.startswith((".github", "DOCKER_BUILD.md", "scripts")):
            w.put(rel, src.read_bytes(), "100755" if rel.endswith(".sh") else "100644")
    w.put("README.md", "# Moltbook\n\nThe Moltbook API and frontend.\n")
    w.put(KUSTOMIZATION, template(KUSTOMIZATION).replace("__NEW_TAG__", "latest"))
    human("feat: moltbook api and frontend with Kubernetes manifests")
    api_version = 0
    merged = False

    while n < commits:
        i = n
        msg = None
        builds_image = False
        due = next((k for k, v in at.items() if v <= i and k not in events), None)
        if due == "fix":
            workflow = OLD_WF
            w.put(OLD_WF, _wf_text(OLD_WF))
            w.put("DOCKER_BUILD.md", template("DOCKER_BUILD.md"))
            w.put("README.md", template("README.md"))
            for s in ("build-images.sh", "build-images-devpod.sh", "check-build-status.sh"):
                w.put(f"scripts/{s}", template(f"scripts/{s}"), "100755")
            msg, builds_image = "ci: build images on GitHub Actions; the devpod can't (nested overlayfs)", True
        elif due == "buildx_doc":
            w.edit("DOCKER_BUILD.md", "## Build on a local machine\n",
                   "## Build on a local machine\n\nFirst set up a Buildx builder with "
                   "`./scripts/setup-docker-buildx.sh` (once per machine).\n")
            msg = "docs: set up buildx before local builds"
        elif due == "rejected_option":
            w.put("scripts/build-images-devpod.sh", _DEVPOD_WITH_OPTIONS.format(workflow=workflow.rsplit("/", 1)[-1]),
                  "100755")
            w.edit("DOCKER_BUILD.md", "scripts/check-build-status.sh           # lists the latest runs of the workflow\n",
                   "scripts/check-build-status.sh           # lists the latest runs of the workflow\n"
                   "scripts/build-images-devpod.sh --watch  # starts the build and follows it\n")
            msg = "feat(scripts): devpod trigger takes --ref; docs: follow the build"
        elif due == "wf_renamed":
            w.delete(workflow)
            workflow = NEW_WF
            w.put(NEW_WF, _wf_text(NEW_WF))
            msg, builds_image = "ci: rename the build workflow to build-images.yml", True
        elif due == "scripts_follow":
            for s in ("scripts/build-images-devpod.sh", "scripts/check-build-status.sh"):
                w.put(s, w.text(s).replace("build-push.yml", "build-images.yml"), "100755")
            msg = "fix(scripts): name the renamed workflow"
        elif due == "docs_deleted":
            saved_docs = w.text("DOCKER_BUILD.md")
            w.delete("DOCKER_BUILD.md")
            msg = "docs: move the build docs into the status notes"
        elif due == "docs_restored":
            w.put("DOCKER_BUILD.md", saved_docs)
            msg = "docs: restore DOCKER_BUILD.md"
        else:
            roll = rng.random()
            if not merged and i >= commits * 0.2:
                roll = 0.5  # at least one merged side branch, even in a short history
            if roll < 0.30:
                api_version += 1
                w.put("api/app/version.txt", f"moltbook-api 1.{api_version}.0\n")
                msg, builds_image = f"feat(api): release 1.{api_version}.0", True
            elif roll < 0.38:
                w.put("moltbook-frontend/site/index.html",
                      template("moltbook-frontend/site/index.html") + f"<!-- build {i} -->\n")
                msg, builds_image = f"feat(frontend): page update {i}", True
            elif roll < 0.41 and workflow:
                w.put(workflow, w.text(workflow).replace("# then writes", f"# (rev {i}) then writes", 1)
                      if "(rev " not in w.text(workflow) else re.sub(r"\(rev \d+\)", f"(rev {i})", w.text(workflow)))
                msg, builds_image = "ci: workflow comments", True
            elif roll < 0.44:
                k = w.text(KUSTOMIZATION)
                label = f"commonLabels:\n  app.kubernetes.io/part-of: moltbook-{i}\n"
                k = re.sub(r"commonLabels:\n  [^\n]*\n", "", k)
                w.put(KUSTOMIZATION, k.replace("resources:\n", label + "resources:\n", 1))
                msg = "k8s: label the manifests"
            elif roll < 0.47 and "DOCKER_BUILD.md" in w.files:
                doc = w.text("DOCKER_BUILD.md")
                w.put("DOCKER_BUILD.md", re.sub(r"\n*<!-- reviewed \d+ -->\n?$", "", doc) + f"\n<!-- reviewed {i} -->\n")
                msg = "docs: review the build docs"
            elif roll < 0.49:
                readme = w.text("README.md")
                w.put("README.md", re.sub(r"\n*Last checked: \d+\.\n?$", "", readme) + f"\n\nLast checked: {i}.\n")
                msg = "docs: README touch-up"
            elif roll < 0.52 and n < commits - 1:  # a side branch of two commits, merged
                merged = True
                side, side_changes = None, {}
                for k in range(2):
                    touch_note()
                    side_changes.update(w.changed)
                    side = w.commit(f"wip: side work {i}.{k}", rng.choice(HUMANS), branch=f"side-{i}",
                                    parent=side or tip, tick=rng.randint(300, 3000))
                w.changed = side_changes  # the merge's tree: main's plus what the side changed
                n += 1
                tip = w.commit(f"Merge branch 'side-{i}'", rng.choice(HUMANS), parent=tip, merge=side, tick=600)
                continue
            if msg is None:
                msg = "docs: status update"
        if rng.random() < 0.85 or msg == "docs: status update":
            touch_note()
        human(msg)
        if due:
            events[due] = w.sha(tip)
        if builds_image and workflow and n < commits:
            short = w.sha(tip)[:7]
            set_tag(short)
            n += 1
            tip = w.commit(f"chore: update image tags to {short} [skip ci]", BOT, parent=tip, tick=240)
    w.close()
    subprocess.run(["git", "-C", str(dest), "reset", "-q", "--hard", "main"], check=True)
    head = subprocess.run(["git", "-C", str(dest), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    return RealisticRepo(dest.resolve(), head, n, events, len(notes))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dest")
    p.add_argument("--commits", type=int, default=750)
    args = p.parse_args()
    r = build(Path(args.dest), args.commits)
    print(f"{r.path}: {r.commits} first-parent commits, {r.notes} status notes, HEAD {r.head[:12]}")
    for k, v in r.events.items():
        print(f"  {k}: {v[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


def add_commit(path: Path, n: int) -> str:
    """One more ordinary commit on top of HEAD (an API release and a status note), as a new day's
    work would add; returns its id."""
    path = Path(path)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull, "LC_ALL": "C"}
    last = int(subprocess.run(["git", "-C", str(path), "log", "-1", "--format=%ct"], capture_output=True, text=True,
                              check=True, env=env).stdout)
    who = HUMANS[n % len(HUMANS)]
    env.update(GIT_AUTHOR_NAME=who[0], GIT_AUTHOR_EMAIL=who[1], GIT_COMMITTER_NAME=who[0], GIT_COMMITTER_EMAIL=who[1],
               GIT_AUTHOR_DATE=f"@{last + 3600} +0000", GIT_COMMITTER_DATE=f"@{last + 3600} +0000")
    (path / "api" / "app" / "version.txt").write_text(f"moltbook-api 9.{n}.0\n")
    note = path / f"FOLLOW_UP_{n:03d}.md"
    note.write_text(f"# Follow-up {n}\n\nChecked the build again; see `k8s/kustomization.yml`.\n")
    for args in (["add", "-A"], ["commit", "-q", "--no-verify", "-m", f"feat(api): release 9.{n}.0"]):
        subprocess.run(["git", "-C", str(path), *args], check=True, env=env, capture_output=True)
    return subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                          env=env).stdout.strip()
