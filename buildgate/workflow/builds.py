"""What the build workflow builds: the API other layers use.

- :func:`subject_workflow`: the claimed workflow, or the one that does the job instead;
- :func:`find_build_workflows`: the workflows that build and push every target image (W1b, V4);
- :func:`map_images`: which build step builds each target image;
- :func:`build_tags` / :func:`image_tags` / :func:`expected_tags`: the tags a build pushes for a commit (W6, W10, G2);
- :func:`built_commit`: the newest commit whose push to a branch runs the build (registry layer);
- :func:`triggering_events`: one event per kind that runs the workflow (W11).
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from buildgate.errors import BuildgateError, CannotDecide, InputError
from buildgate.repo import Repo
from buildgate.target import Image, Target
from buildgate.workflow import events as E
from buildgate.workflow.buildargs import parse_images_input, strip_tag
from buildgate.workflow.metadata import compute_tags
from buildgate.workflow.model import Build, Workflow, has_skip_marker, load_workflow

PLACEHOLDER_SHA = "0123456789abcdef0123456789abcdef01234567"


def normalize_context(context: str | None) -> str:
    """``./api/`` -> ``api``; None (the action's Git context) -> ``.``."""
    if context is None:
        return "."
    c = context.strip()
    if "://" in c or c.startswith("git@"):
        return c
    c = posixpath.normpath(c.replace("\\", "/")) if c else "."
    return c


def head_sha(repo: Repo) -> str:
    try:
        sha = repo.head()
        return sha if re.fullmatch(r"[0-9a-f]{40}", sha) else PLACEHOLDER_SHA
    except BuildgateError:
        return PLACEHOLDER_SHA


def changed_paths(target: Target) -> list[str]:
    return [posixpath.join(i.context_path, "Dockerfile") if i.context_path != "." else "Dockerfile" for i in target.images]


def workflow_files(repo: Repo, target: Target) -> list[str]:
    return [p for p in repo.list_files(target.workflows_dir) if p.endswith((".yml", ".yaml"))]


def present(repo: Repo, path: str) -> bool:
    """Whether ``path`` is a readable file; a symlink out of the repository, a folder or an
    oversized file raises :class:`InputError` instead of counting as missing."""
    try:
        repo.read_bytes(path)
    except InputError as exc:
        if exc.reason.startswith("file not found"):
            return False
        raise
    return True


def subject_workflow(repo: Repo, target: Target) -> Workflow:
    """The claimed workflow; when it is missing, the one workflow that does the job instead."""
    if present(repo, target.workflow):
        return load_workflow(repo, target.workflow, target.github)
    found = find_build_workflows(repo, target)
    if len(found) == 1:
        return load_workflow(repo, found[0], target.github)
    if not found:
        raise InputError(f"no workflow at {target.workflow}, and none under {target.workflows_dir} builds and pushes "
                         f"{', '.join(i.name for i in target.images)}", target.workflow)
    raise CannotDecide(f"no workflow at {target.workflow}, and several build the images: {', '.join(found)}",
                       target.workflows_dir)


@dataclass
class ImageBuild:
    image: Image
    build: Build | None
    problem: str | None = None  # why no build matched
    where: str | None = None


def map_images(wf: Workflow, target: Target, event: E.Event) -> list[ImageBuild]:
    """For each target image, the build step that builds it (name and context both match)."""
    builds = wf.builds(event)
    out = []
    for img in target.images:
        named = [b for b in builds if any(n.lower() == img.name.lower() for n in b.images)]
        good = [b for b in named if normalize_context(b.context) == normalize_context(img.context)]
        if good:
            out.append(ImageBuild(img, good[0]))
        elif named:
            b = named[0]
            shown = b.context if b.context is not None else "the Git context (repository root)"
            out.append(ImageBuild(img, None, f"{img.name} built from {shown}", b.step.where("context")))
        else:
            ctx_only = [b for b in builds if normalize_context(b.context) == normalize_context(img.context)]
            if ctx_only:
                b = ctx_only[0]
                out.append(ImageBuild(img, None, f"{img.context} built as {', '.join(b.images) or 'no image name'}",
                                      b.step.where()))
            else:
                seen = "; ".join(f"{', '.join(b.images) or '?'} from {b.context}" for b in builds) or "no build step"
                out.append(ImageBuild(img, None, seen, wf.where()))
    return out


def builds_and_pushes_both(repo: Repo, target: Target, path: str) -> tuple[bool, str]:
    """Whether the workflow at ``path`` builds and pushes every target image on push to main."""
    wf = load_workflow(repo, path, target.github)
    ev = E.push_to(target.default_branch, head_sha(repo), target.default_branch)
    changed = changed_paths(target)
    reasons = []
    for ib in map_images(wf, target, ev):
        if ib.build is None:
            reasons.append(f"{ib.image.name}: {ib.problem}")
            continue
        d = wf.pushes(ib.build, ev, changed)
        if not d.ok:
            reasons.append(f"{ib.image.name} not pushed on push to {target.default_branch}: {d.reason}")
    return (not reasons, "; ".join(reasons) or "builds and pushes " + ", ".join(i.name for i in target.images))


def find_build_workflows(repo: Repo, target: Target) -> list[str]:
    """Repository-relative paths of the workflows that build and push every target image."""
    found = []
    for path in workflow_files(repo, target):
        try:
            ok, _why = builds_and_pushes_both(repo, target, path)
        except BuildgateError:
            continue
        if ok:
            found.append(path)
    return found


def _commits_with_paths(repo: Repo, branch: str, limit: int = 500) -> list[tuple[str, str, list[str]]]:
    """(sha, full message, changed paths vs first parent), newest first, along first parents."""
    rev = branch if repo.try_rev_parse(branch) else (f"origin/{branch}" if repo.try_rev_parse(f"origin/{branch}") else None)
    if rev is None:
        raise InputError(f"branch {branch!r} not found", str(repo.root))
    out = repo.git("-c", "core.quotepath=off", "log", "--first-parent", f"-n{limit}", "-m", "--name-only",
                   "--format=%x1e%H%x1f%B%x1f", rev, "--")
    commits = []
    for rec in out.split("\x1e"):
        if not rec.strip():
            continue
        sha, message, names = rec.split("\x1f", 2)
        paths = [p for p in names.splitlines() if p.strip()]
        commits.append((sha.strip(), message, paths))
    return commits


def built_commit(repo: Repo, workflow: str | Workflow, branch: str, repository: str = "ardenone/moltbook-org") -> str:
    """The newest commit on ``branch`` whose push runs the workflow (as the workflow stood at that
    commit): skip-ci markers and path filters are honoured. Raises CannotDecide if none."""
    path = workflow.path if isinstance(workflow, Workflow) else workflow
    for sha, message, paths in _commits_with_paths(repo, branch):
        at = repo.at(sha)
        if not at.exists(path):
            continue
        wf = load_workflow(at, path, repository)
        ev = E.push_to(branch, sha, branch)
        if has_skip_marker(message):
            continue
        if wf.trigger(ev, paths, message).ok:
            return sha
    raise CannotDecide(f"no commit on {branch} runs {path} (all skipped by [skip ci] or filters)", path)


def expected_tags(repo: Repo, target: Target, workflow_path: str, sha: str, branch: str) -> dict[str, list[str]]:
    """Image name -> the concrete tags pushed for a push of ``sha`` to ``branch``."""
    wf = load_workflow(repo, workflow_path, target.github)
    ev = E.push_to(branch, sha, target.default_branch)
    out: dict[str, list[str]] = {}
    for ib in map_images(wf, target, ev):
        if ib.build is None:
            raise CannotDecide(f"no build of {ib.image.name}: {ib.problem}", ib.where)
        for img, tags in build_tags(wf, ib.build, ev).items():
            if img.lower() == ib.image.name.lower():
                out[ib.image.name] = [t for t, _ in tags]
    return out


def build_tags(wf: Workflow, b: Build, event: E.Event) -> dict[str, list[tuple[str, str]]]:
    """Image name -> [(tag, where)] a build tags for ``event`` (whether or not it pushes)."""
    out: dict[str, list[tuple[str, str]]] = {}
    if b.meta_step is not None:
        meta = b.meta_step
        ctx = wf.step_context(event, b.job, meta, b.matrix)
        env = {k: v for k, v in ctx["env"].items() if isinstance(v, str)}
        images = wf.step_input(b.job, meta, "images", event, b.matrix)
        names = [n for n, en in parse_images_input(images) if str(en).strip().lower() != "false"]
        tags_raw = meta.with_.get("tags")
        tline = int(meta.where("tags").rsplit(":", 1)[1]) if "tags" in meta.with_ else meta.line
        block = isinstance(tags_raw, str) and "\n" in tags_raw
        try:
            computed = compute_tags(meta.with_, event, env,
                                    context={"matrix": ctx["matrix"], "steps": ctx["steps"], "needs": ctx["needs"]})
        except CannotDecide as exc:
            raise type(exc)(exc.reason, exc.where or meta.where("tags")) from None
        for n in names:
            out[n] = [(c.tag, f"{wf.path}:{tline + 1 + c.line_offset if block and c.line_offset is not None else tline}")
                      for c in computed]
        return out
    same = same_build(wf, b, event) or b
    for ref in same.literal_tags or []:
        name = strip_tag(ref)
        tag = ref[len(name) + 1:] if len(ref) > len(name) else "latest"
        out.setdefault(name, []).append((tag, same.step.where("tags") if same.kind == "build-push-action" else same.step.where("run")))
    return out


def same_build(wf: Workflow, b: Build, event: E.Event) -> Build | None:
    for other in wf.builds(event):
        if other.job.id == b.job.id and other.step.index == b.step.index and other.matrix == b.matrix \
                and (b.command is None or other.images == b.images):
            return other
    return None


def image_tags(wf: Workflow, target: Target, event: E.Event) -> list[tuple[Image, Build | None, list[tuple[str, str]], str | None]]:
    out = []
    for ib in map_images(wf, target, event):
        if ib.build is None:
            out.append((ib.image, None, [], f"no build of {ib.image.name}: {ib.problem}"))
            continue
        tags = build_tags(wf, ib.build, event)
        mine = next((v for k, v in tags.items() if k.lower() == ib.image.name.lower()), [])
        out.append((ib.image, ib.build, mine, None))
    return out


def triggering_events(wf: Workflow, target: Target, sha: str) -> list[E.Event]:
    """One event per kind that runs the workflow (push main/branch/tag, PRs, dispatch, schedule)."""
    on = {name: dict(t.config) for name, t in wf.triggers.items()}
    changed = changed_paths(target)
    out = []
    for ev in E.representative_events(on, sha, target.default_branch):
        try:
            if wf.trigger(ev, changed).ok:
                out.append(ev)
        except CannotDecide:
            out.append(ev)
    return out
