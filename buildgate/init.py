"""``buildgate init``: a commented target file inferred from a repository.

:func:`infer` reads the repository (through :class:`~buildgate.repo.Repo` only: nothing of it is
run, and git never reaches a remote) and finds what a target file names:

- the default branch: ``refs/remotes/origin/HEAD``, else the checked-out branch, else ``main``;
- the GitHub ``ORG/REPO`` of the ``origin`` remote (its URL is never echoed: it may hold a token);
- the workflows that push images, with each image's name and build context, from the workflow
  model (:mod:`buildgate.workflow`) evaluated for every event the workflow runs on; what the
  model can't evaluate offline (a secret in an image name, a matrix computed by another job) is
  listed as not inferred, with the expression and its ``file:line``;
- the kustomization (``kustomization.yaml``/``.yml``/``Kustomization``) whose ``images:`` name
  the most built images, and its entries;
- the build docs (a Markdown file about building images) and the README;
- the helper scripts (``scripts/*.sh`` that run docker/podman/buildx or ``gh workflow run``):
  one local build script, one trigger script, one status script.

:func:`render` writes it as YAML where every inferred value carries a comment saying where it
came from (``file:line``) and everything not inferred is a commented placeholder; :func:`write`
puts it at ``.buildgate/target.yml`` (never over an existing file unless forced, never through
a symlink out of the repository). The text is checked against the target schema before it is
written.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from buildgate import target as target_mod
from buildgate.errors import BuildgateError, CannotDecide, InputError
from buildgate.reference import normalize_name, parse
from buildgate.kustomize import KUSTOMIZATION_FILES, Kustomization
from buildgate.repo import Repo
from buildgate.repo_url import repo_key
from buildgate.workflow import events as E
from buildgate.workflow.buildargs import docker_args
from buildgate.workflow.builds import head_sha, normalize_context, workflow_files
from buildgate.workflow.model import Build, Workflow, load_workflow
from buildgate.yamlfile import parse_yaml

TARGET_DIR = ".buildgate"
TARGET_FILE = ".buildgate/target.yml"
# Stands for github.repository while the origin remote is unknown: a value that contains it was
# computed from a repository name nobody knows, so it is reported, never written.
_UNKNOWN_REPOSITORY = "unknown-owner/unknown-repository"
_IMAGE_NAME = re.compile(r"^[a-z0-9.:-]+(/[a-z0-9._-]+)+\Z")  # the target schema's image name
_SAFE_PATH = re.compile(r"^[A-Za-z0-9._/@+-]+\Z")
_BRANCH = re.compile(r"^[A-Za-z0-9._/+-]{1,200}\Z")
_DOC_NAME = re.compile(r"docker|build|image|container", re.I)
_DOC_TEXT = re.compile(r"\b(docker|podman|buildx|buildah|build-push-action|container images?|images?)\b", re.I)
_MENTION = re.compile(r"\b(docker|podman|buildx|buildah)\b|\bgh\s+workflow\s+run\b")
MAX_COMMENT = 160
MAX_UNKNOWN = 400


@dataclass(frozen=True)
class Found:
    """An inferred value and where it came from (``file:line``, or how it was read)."""

    value: str
    source: str


@dataclass
class ImageFound:
    """An image a workflow builds, with its context and the events it is pushed on."""

    name: str
    context: str
    workflow: str
    name_where: str
    context_where: str
    matrix: str = ""
    pushed_on: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class Inference:
    """Everything :func:`infer` found, and what it could not infer (one line each)."""

    root: Path
    default_branch: Found
    github: Found | None = None
    name: Found | None = None
    workflow: Found | None = None
    images: list[ImageFound] = field(default_factory=list)
    other_images: list[ImageFound] = field(default_factory=list)  # pushed by other workflows
    kustomization: Found | None = None
    kustomization_entries: list[str] = field(default_factory=list)
    other_kustomizations: list[str] = field(default_factory=list)
    docs: Found | None = None
    readme: Found | None = None
    scripts: dict[str, Found] = field(default_factory=dict)
    other_scripts: list[Found] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


# -- the repository's names -----------------------------------------------------------------------
def default_branch(repo: Repo) -> Found:
    """origin/HEAD, else the checked-out branch, else ``main`` (said to be assumed)."""
    ref = repo.git("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD", check=False).strip()
    prefix = "refs/remotes/origin/"
    if ref.startswith(prefix) and _BRANCH.match(ref[len(prefix):]):
        return Found(ref[len(prefix):], "refs/remotes/origin/HEAD (the origin remote's default branch)")
    current = repo.git("symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()
    if _BRANCH.match(current):
        return Found(current, "the checked-out branch (the repository has no refs/remotes/origin/HEAD)")
    return Found("main", "")


def github_of(repo: Repo) -> tuple[Found | None, str | None]:
    """``ORG/REPO`` of the origin remote on github.com, or why there is none. The URL itself is
    never shown: a remote URL may carry a token."""
    url = repo.git("config", "--get", "remote.origin.url", check=False).strip()
    if not url:
        return None, "repo.github: the repository has no origin remote"
    key = repo_key(url)
    host, _, path = key.partition("/")
    parts = path.split("/")
    if host != "github.com" or len(parts) != 2 or not all(re.fullmatch(r"[A-Za-z0-9_.-]+", p) for p in parts):
        where = f"on {host}" if host and re.fullmatch(r"[A-Za-z0-9.:-]+", host) else "not a GitHub URL"
        return None, f"repo.github: the origin remote is {where}, not a github.com repository"
    return Found(path, "the origin remote (remote.origin.url in .git/config)"), None


# -- workflows and images -------------------------------------------------------------------------
def _name_where(b: Build) -> str:
    if b.meta_step is not None:
        return b.meta_step.where("images")
    return b.step.where("tags") if b.kind == "build-push-action" else b.step.where("run")


def _context_where(b: Build) -> str:
    return b.step.where("context") if b.kind == "build-push-action" else b.step.where("run")


def _target_context(context: str) -> str:
    return "." if context == "." else "./" + context


def _image_name(raw: str) -> tuple[str | None, str]:
    """The name to write (as the workflow writes it, so the W checks find it), and a note; None
    when it can't be a target image name."""
    if _UNKNOWN_REPOSITORY in raw:
        return None, f"{raw}: computed from github.repository, and the origin remote names no GitHub repository"
    name = parse(raw.strip()).familiar  # as people write it: the model's names are normalised
    if _IMAGE_NAME.match(name):
        full = normalize_name(name)
        return name, (f"{full} in full" if full != name else "")
    full = normalize_name(name)
    if _IMAGE_NAME.match(full):
        return full, f"written {name} in the workflow"
    return None, f"{name!r} is not an image name buildgate can check"


def workflow_images(repo: Repo, path: str, github: str, branch: str, sha: str,
                    unknown: list[str]) -> dict[str, ImageFound]:
    """The images ``path`` builds and pushes on at least one event it runs on (by name)."""
    try:
        wf = load_workflow(repo, path, github)
    except BuildgateError as exc:
        unknown.append(f"{path}: not read ({exc})")
        return {}
    found: dict[str, ImageFound] = {}
    on = {name: dict(t.config) for name, t in wf.triggers.items()}
    try:
        events = E.representative_events(on, sha, branch)
    except BuildgateError as exc:
        unknown.append(f"{path}: its triggers could not be read ({exc})")
        return {}
    undecided: dict[str, list[str]] = {}  # what could not be decided -> the events it hid
    for event in events:
        try:
            builds = wf.builds(event)
        except BuildgateError as exc:
            what = "unknown offline" if isinstance(exc, CannotDecide) else "unreadable"
            undecided.setdefault(f"{exc.where or path}: the images it builds are {what}: {exc.reason}", []).append(
                event.describe())
            continue
        for b in builds:
            _add_build(wf, b, event, found, undecided)
    unknown += [f"{what} (on {', '.join(evs)})" for what, evs in undecided.items()]
    return found


def _add_build(wf: Workflow, b: Build, event: E.Event, found: dict[str, ImageFound],
               undecided: dict[str, list[str]]) -> None:
    for unknown in b.unknown_names:  # an image name written from a secret or a step's output
        undecided.setdefault(f"{b.where}: the images it builds are unknown offline: "
                             f"{unknown.describe() if hasattr(unknown, 'describe') else unknown}", []
                             ).append(event.describe())
    if b.context is not None and not isinstance(b.context, str):
        if b.images:
            undecided.setdefault(f"{_context_where(b)}: the context of {', '.join(b.images)} is unknown offline: "
                                 f"{b.context.describe()}", []).append(event.describe())
        return
    context = normalize_context(b.context)
    changed = ["Dockerfile" if context == "." else posixpath.join(context, "Dockerfile")]
    combo = ", ".join(f"{k}={v}" for k, v in b.matrix.items()) if b.matrix else ""
    for raw in b.images:
        try:
            decision = wf.pushes(b, event, changed)
        except CannotDecide as exc:
            undecided.setdefault(f"{exc.where or b.where}: whether {raw} is pushed is unknown offline: {exc.reason}",
                                 []).append(event.describe())
            continue
        if not decision.ok:
            continue
        name, note = _image_name(raw)
        if name is None:
            undecided.setdefault(f"{_name_where(b)}: images: {note}", []).append(event.describe())
            continue
        if "://" in context or context.startswith(("git@", "/", "../")) or not _SAFE_PATH.match(context):
            undecided.setdefault(f"{_context_where(b)}: the context of {name} is {context!r}, not a folder of the "
                                 "repository", []).append(event.describe())
            continue
        key = normalize_name(name)
        img = found.get(key)
        if img is None:
            img = found[key] = ImageFound(name, _target_context(context), wf.path, _name_where(b), _context_where(b),
                                          f"matrix {combo}" if combo else "", note=note)
        elif _target_context(context) != img.context and "also built from" not in img.note:
            img.note = (img.note + "; " if img.note else "") + f"also built from ./{context} ({_context_where(b)})"
        if event.describe() not in img.pushed_on:
            img.pushed_on.append(event.describe())


def pick_workflow(per_workflow: dict[str, dict[str, ImageFound]], branch: str) -> str | None:
    """The workflow pushing the most images (then: on a push to the default branch; then by path)."""
    candidates = [p for p, imgs in per_workflow.items() if imgs]
    if not candidates:
        return None

    def rank(path: str) -> tuple:
        imgs = per_workflow[path].values()
        on_branch = any(f"push to {branch}" in i.pushed_on for i in imgs)
        return (-len(per_workflow[path]), not on_branch, path)

    return sorted(candidates, key=rank)[0]


# -- the kustomization -----------------------------------------------------------------------------
def kustomizations(repo: Repo) -> list[str]:
    return [p for p in repo.tracked_files() if posixpath.basename(p) in KUSTOMIZATION_FILES]


def pick_kustomization(repo: Repo, images: list[ImageFound], inf: Inference) -> None:
    """The kustomization whose ``images:`` name the most built images (none naming any: not picked)."""
    built = {normalize_name(i.name) for i in images}
    scored = []
    for path in kustomizations(repo):
        try:
            k = Kustomization.load(repo, path)
        except BuildgateError as exc:
            inf.unknown.append(f"{path}: not read ({exc})")
            continue
        hits = [e for e in k.images if any(n and normalize_name(n) in built for n in (e.name, e.new_name))]
        scored.append((len(hits), path, k, hits))
    scored.sort(key=lambda s: (-s[0], s[1].count("/"), s[1]))
    for n, path, k, _hits in scored:
        shown = ", ".join(sorted({str(e.effective_name) for e in k.images if e.effective_name})) or "none"
        inf.other_kustomizations.append(f"{path} (images: {shown})")
    if not scored or scored[0][0] == 0:
        if not images:
            inf.unknown.append("repo.kustomization: no image was inferred to look for in a kustomization")
        elif scored:
            inf.unknown.append("repo.kustomization: no kustomization's images: names a built image "
                               f"(found {', '.join(s[1] for s in scored)})")
        else:
            inf.unknown.append("repo.kustomization: the repository has no kustomization file")
        return
    n, path, k, hits = scored[0]
    inf.other_kustomizations.pop(0)
    line = k.data.line_of("images") if "images" in k.data else 1
    inf.kustomization = Found(path, f"{path}:{line}: its images: name {n} of the {len(built)} built image(s)")
    for e in k.images:
        tag = f"newTag {e.new_tag}" if e.new_tag else (f"digest {e.digest}" if e.digest else "no newTag")
        name = e.name if not e.new_name or e.new_name == e.name else f"{e.name} -> {e.new_name}"
        inf.kustomization_entries.append(f"{e.where}: {name} ({tag})")


# -- docs and scripts -------------------------------------------------------------------------------
def pick_docs(repo: Repo, inf: Inference) -> None:
    """The Markdown file most about building images (its name, then its headings and text), among
    the files at the root and one folder down, and deeper ones named after building."""
    from buildgate.docs.topics import sections

    files = repo.tracked_files()
    readmes = sorted(p for p in files if "/" not in p and p.lower().startswith("readme") and p.lower().endswith(".md"))
    if readmes:
        inf.readme = Found(readmes[0], "the repository's README")
    else:
        inf.unknown.append("repo.readme: no README.md at the repository root")
    best: tuple[int, str, str] | None = None
    for path in files:
        if not path.lower().endswith((".md", ".markdown")) or path in readmes:
            continue
        if path.count("/") > 1 and not _DOC_NAME.search(posixpath.basename(path)):
            continue  # read deep files only when their name is about building: a large tree stays cheap
        try:
            text = repo.read_text(path)
        except BuildgateError:
            continue
        score = 3 * len(_DOC_NAME.findall(posixpath.basename(path)))
        source = f"{path}:1"
        for sec in sections(text):
            if sec.level and _DOC_NAME.search(sec.heading):
                score += 2
                if source == f"{path}:1":
                    source = f"{path}:{sec.line}: {sec.heading.strip()[:60]}"
        score += min(5, len(_DOC_TEXT.findall(text)))
        if score >= 5 and (best is None or score > best[0]):
            best = (score, path, source)
    if best is None:
        inf.unknown.append("repo.docs: no Markdown file about building images (named or headed build/docker/image)")
    else:
        inf.docs = Found(best[1], best[2])


ROLES = (
    ("local_build", "builds images on this machine"),
    ("devpod_trigger", "asks GitHub Actions for a build (gh workflow run)"),
    ("build_status", "shows the builds' status (gh run list/view/watch)"),
)
_ROLE_NAMES = {"local_build": ("local", "build"), "devpod_trigger": ("devpod", "trigger"), "build_status": ("status",)}


@dataclass
class ScriptFacts:
    path: str
    builds: int | None = None     # line of a docker/podman build (or buildx)
    trigger: int | None = None    # line of `gh workflow run`
    status: int | None = None     # line of `gh run list|view|watch`
    mention: int | None = None    # line that mentions docker/podman/buildx


def script_facts(repo: Repo, path: str) -> ScriptFacts | None:
    """What a script runs, read with the one shell reader; None when it mentions no build tool."""
    from buildgate.scripts import read_script
    from buildgate.shell import command_words

    facts = ScriptFacts(path)
    try:
        text = repo.read_text(path)
        script = read_script(repo, path)
    except BuildgateError:
        return None
    for words in script.commands:
        cmd = [w.text for w in command_words(words)]
        if not cmd:
            continue
        line = words[0].line
        tool = posixpath.basename(cmd[0])
        parsed = docker_args(cmd)
        buildah = tool == "buildah" and cmd[1:2] in (["bud"], ["build"])
        if (parsed is not None and parsed[0] in ("build", "buildx")) or buildah:
            facts.builds = facts.builds or line
        elif tool == "gh" and cmd[1:3] == ["workflow", "run"]:
            facts.trigger = facts.trigger or line
        elif tool == "gh" and len(cmd) > 2 and cmd[1] == "run" and cmd[2] in ("list", "view", "watch"):
            facts.status = facts.status or line
    for n, line_text in enumerate(text.splitlines(), 1):
        if _MENTION.search(line_text.split("#", 1)[0]):
            facts.mention = n
            break
    if facts.builds is None and facts.trigger is None and facts.status is None and facts.mention is None:
        return None
    return facts


def pick_scripts(repo: Repo, inf: Inference) -> None:
    paths = [p for p in repo.tracked_files() if p.startswith("scripts/") and p.count("/") == 1 and p.endswith(".sh")]
    facts = [f for f in (script_facts(repo, p) for p in paths) if f is not None]
    taken: set[str] = set()

    def fits(f: ScriptFacts, role: str) -> int | None:
        if role == "local_build":
            return f.builds if f.trigger is None else None
        if role == "devpod_trigger":
            return f.trigger
        return f.status if f.trigger is None else None

    for role, _what in ROLES:
        able = [(f, fits(f, role)) for f in facts if f.path not in taken and fits(f, role)]
        able.sort(key=lambda x: (-sum(w in posixpath.basename(x[0].path) for w in _ROLE_NAMES[role]), x[0].path))
        if not able:
            continue
        f, line = able[0]
        what = {"local_build": "runs a container build", "devpod_trigger": "runs gh workflow run",
                "build_status": "runs gh run list/view/watch"}[role]
        inf.scripts[role] = Found(f.path, f"{f.path}:{line} {what}")
        taken.add(f.path)
    for f in facts:
        if f.path not in taken:
            inf.other_scripts.append(Found(f.path, f"{f.path}:{f.mention or f.builds or f.trigger or f.status} "
                                                   "mentions a build tool"))


# -- the whole inference ---------------------------------------------------------------------------
def infer(root: str | os.PathLike) -> Inference:
    """Read the repository at ``root`` and infer a target (nothing of it is run)."""
    repo = Repo(root)
    if not repo.is_git():
        raise InputError("not a git checkout (buildgate reads the repository through git)", str(root))
    inf = Inference(repo.root, default_branch(repo))
    if not inf.default_branch.source:
        inf.unknown.append("repo.default_branch: no origin/HEAD and HEAD is detached; assumed main")
    inf.github, why = github_of(repo)
    if why:
        inf.unknown.append(why)
    github = inf.github.value if inf.github else _UNKNOWN_REPOSITORY
    name = inf.github.value.split("/")[1] if inf.github else repo.root.name
    inf.name = Found(name, "the GitHub repository's name" if inf.github else "the repository folder's name")
    branch, sha = inf.default_branch.value, head_sha(repo)
    probe = target_mod.Target(default_branch=branch, github=github)
    per_workflow = {p: workflow_images(repo, p, github, branch, sha, inf.unknown) for p in workflow_files(repo, probe.workflows_dir)}
    chosen = pick_workflow(per_workflow, branch)
    if chosen is None:
        inf.unknown.append(f"repo.workflow and images: no workflow under {probe.workflows_dir} pushes an image")
    else:
        inf.images = list(per_workflow[chosen].values())
        inf.workflow = Found(chosen, f"pushes {len(inf.images)} image(s) ({inf.images[0].name_where})")
        for path, imgs in per_workflow.items():
            if path != chosen:
                inf.other_images += list(imgs.values())
    pick_kustomization(repo, inf.images, inf)
    pick_docs(repo, inf)
    pick_scripts(repo, inf)
    for role, what in ROLES:
        if role not in inf.scripts:
            inf.unknown.append(f"repo.scripts.{role}: no script under scripts/ {what}")
    return inf


# -- the file -----------------------------------------------------------------------------------------
def _q(value: str) -> str:
    """A YAML scalar (JSON strings are YAML double-quoted scalars): a value can't break the file."""
    return json.dumps(value, ensure_ascii=True)


def _c(text: str, limit: int = MAX_COMMENT) -> str:
    """One comment line's text: no control character, bounded."""
    clean = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", str(text)).split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _line(key_value: str, comment: str, width: int = 44) -> str:
    return f"{key_value:<{width}} # {_c(comment)}" if comment else key_value


def render(inf: Inference) -> str:
    """The target file's text: every value with where it came from, the rest as placeholders."""
    out = [
        "# buildgate target file, written by `buildgate init` from what the repository holds.",
        "# Each value says where it came from; commented lines are what could not be inferred:",
        "# fill them in, or leave them to buildgate's defaults (the real target's names).",
        "# Check it:  python3 -m pytest features/ -m repo --repo <this repository>",
        "# (it finds this file on its own; the reference of every key is buildgate's README).",
        _line(f"name: {_q(inf.name.value)}", inf.name.source) if inf.name else "# name: ...",
        "repo:",
        _line("  path: \"..\"", "this file lives in <repository>/.buildgate/; --repo overrides it"),
    ]
    if inf.github:
        out.append(_line(f"  github: {_q(inf.github.value)}", inf.github.source))
    else:
        out.append("  # github: OWNER/REPO                        # not inferred: no origin remote on github.com")
    if inf.default_branch.source:
        out.append(_line(f"  default_branch: {_q(inf.default_branch.value)}", inf.default_branch.source))
    else:
        out.append(_line(f"  default_branch: {_q(inf.default_branch.value)}", "assumed: no origin/HEAD, HEAD detached"))
    if inf.workflow:
        out.append(_line(f"  workflow: {_q(inf.workflow.value)}", inf.workflow.source))
    else:
        out.append("  # workflow: .github/workflows/<build>.yml   # not inferred: no workflow pushes an image")
    out.append(_line("  workflows_dir: \".github/workflows\"", "where GitHub reads workflows"))
    if inf.kustomization:
        out.append(_line(f"  kustomization: {_q(inf.kustomization.value)}", inf.kustomization.source))
        out += [f"  #   {_c(e)}" for e in inf.kustomization_entries]
    else:
        out.append("  # kustomization: <folder>/kustomization.yaml  # not inferred (default: k8s/kustomization.yml)")
    for k in inf.other_kustomizations:
        out.append(f"  #   also a kustomization: {_c(k)}")
    if inf.docs:
        out.append(_line(f"  docs: {_q(inf.docs.value)}", inf.docs.source))
    else:
        out.append("  # docs: docs/<building images>.md              # not inferred (default: DOCKER_BUILD.md)")
    if inf.readme:
        out.append(_line(f"  readme: {_q(inf.readme.value)}", inf.readme.source))
    else:
        out.append("  # readme: README.md                          # not inferred: no README at the root")
    out.append("  scripts:" if inf.scripts else "  # scripts:                                   # none inferred")
    defaults = target_mod.DEFAULT_SCRIPTS
    for role, what in ROLES:
        found = inf.scripts.get(role)
        if found:
            out.append(_line(f"    {role}: {_q(found.value)}", found.source))
        else:
            out.append(_line(f"    # {role}: scripts/<script>.sh", f"not inferred: no script {what} "
                                                                  f"(default: {defaults[role]})"))
    for s in inf.other_scripts:
        out.append(f"    #   also: {_c(s.source)}")
    if inf.images:
        out.append("images:")
        for img in inf.images:
            pushed = ", ".join(img.pushed_on)
            note = f"; {img.note}" if img.note else ""
            out.append(f"  # {_c(f'{img.name}: pushed on {pushed} by {img.workflow}{note}')}")
            suffix = f" ({img.matrix})" if img.matrix else ""
            out.append(_line(f"  - name: {_q(img.name)}", img.name_where + suffix))
            out.append(_line(f"    context: {_q(img.context)}", img.context_where + suffix))
    else:
        out += ["# images:                                    # not inferred: no workflow pushes an image",
                "#   - {name: ghcr.io/OWNER/IMAGE, context: ./path}"]
    for img in inf.other_images:
        on = ", ".join(img.pushed_on)
        out.append(f"#   also pushed: {_c(f'{img.name} from {img.context} by {img.name_where} on {on}')}")
    out += [
        "# Layers beyond the repository (see README.md: Registry, Cluster, Devpod). Uncomment to use;",
        "# name this file with --target when it sets one (a target found inside the audited",
        "# repository may not send credentials or reach hosts on its own).",
        "# registry: {}                                 # anonymous pulls; token_env: NAME for private images",
        "# cluster: {kubeconfig: ~/.kube/readonly.yaml, context: prod}",
        "# devpod: {host: \"kubectl://POD?namespace=NS&container=C\"}",
        "# Criteria of your own, decided by your own scenarios (README: Criteria of your own):",
        "# criteria:",
        "#   X1: {title: \"Release tags publish versioned images\", layer: repo}",
        "# waivers:",
        "#   - {criterion: K3, reason: \"no bot updates yet, TICKET-1\", expires: 2026-12-31}",
    ]
    if inf.unknown:
        out.append("# Not inferred:")
        out += [f"#   - {_c(u, MAX_UNKNOWN)}" for u in dict.fromkeys(inf.unknown)]
    return "\n".join(out) + "\n"


def check_text(text: str, where: str, base_dir: Path) -> target_mod.Target:
    """The rendered file loads and passes the schema (else a bug here: an InputError)."""
    doc = parse_yaml(text, where)
    return target_mod.from_dict(doc.data, where, base_dir)


def write(root: str | os.PathLike, text: str, force: bool = False) -> Path:
    """Write ``.buildgate/target.yml`` in the repository at ``root``; an existing file only with
    ``force``. The folder may not lead out of the repository; the file is replaced, never
    written through (a symlink in its place is replaced, not followed)."""
    repo = Repo(root)
    folder = repo.resolve(TARGET_DIR)  # a symlink out of the repository is an InputError
    out = folder / "target.yml"
    if (out.exists() or out.is_symlink()) and not force:
        raise InputError("already exists; run with --force to overwrite it", f"{repo.root / TARGET_FILE}")
    if folder.exists() and not folder.is_dir():
        raise InputError("is not a folder", str(repo.root / TARGET_DIR))
    folder.mkdir(exist_ok=True)
    check_text(text, str(out), folder)
    fd, tmp = tempfile.mkstemp(prefix=".target.", suffix=".yml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return repo.root / TARGET_FILE


def summary(inf: Inference, path: Path) -> list[str]:
    """What ``buildgate init`` prints: what it wrote, and what it could not infer."""
    lines = [f"wrote {path}"]
    lines.append(f"  default branch: {inf.default_branch.value}; github: {inf.github.value if inf.github else '?'}")
    lines.append(f"  workflow: {inf.workflow.value if inf.workflow else '?'}; images: "
                 + (", ".join(f"{i.name} ({i.context})" for i in inf.images) or "?"))
    lines.append(f"  kustomization: {inf.kustomization.value if inf.kustomization else '?'}; "
                 f"docs: {inf.docs.value if inf.docs else '?'}; scripts: "
                 + (", ".join(f"{k}={v.value}" for k, v in inf.scripts.items()) or "?"))
    if inf.unknown:
        lines.append(f"  not inferred ({len(dict.fromkeys(inf.unknown))}): see the end of the file")
    lines.append(f"next: python3 -m pytest features/ -m repo --repo {inf.root}")
    return lines
