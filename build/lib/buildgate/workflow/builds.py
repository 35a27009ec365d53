"""What the build workflow builds: the API other layers use.

- :func:`subject_workflow`: the claimed workflow, or the one that does the job instead;
- :func:`find_build_workflows`: the workflows that build and push every target image (W1b, V4);
- :func:`map_images`: which build step builds each target image;
- :func:`build_tags` / :func:`image_tags` / :func:`expected_tags`: the tags a build pushes for a commit (W6, W10, G2);
- :func:`built_commit`: the newest commit whose push to a branch runs the build (registry layer);
- :func:`triggering_events`: one event per kind that runs the workflow (W11);
- :func:`pushed_tags`: the image:tag pairs a workflow pushes for an event (W12).

Image names compare by the Docker reference grammar (:mod:`buildgate.reference`). A build whose
image name is not known offline (a secret, a matrix computed at run time) is taken as the build
of a target image when its context is that image's and the known pieces of its name fit it:
:class:`ImageBuild` then names the unknown (``assumed``), so W4, which judges the name, can say
that it depends on it while the others judge what the build does.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

from buildgate.errors import BuildgateError, CannotDecide, InputError
from buildgate.repo import Repo
from buildgate.target import Image, Target
from buildgate.workflow import events as E
from buildgate import reference
from buildgate.workflow import expressions as ex
from buildgate.workflow.refs import name_could_be
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


def workflow_files(repo: Repo, workflows_dir: str) -> list[str]:
    """The workflow files under ``workflows_dir`` (``.yml``/``.yaml``)."""
    return [p for p in repo.list_files(workflows_dir) if p.endswith((".yml", ".yaml"))]


def workflow_names(repo: Repo, workflows_dir: str) -> tuple[dict[str, str | None], list[str]]:
    """``{path: its name: key}`` for the workflow files (``None`` when unnamed or unreadable), and
    a note for each file that could not be read."""
    names: dict[str, str | None] = {}
    notes: list[str] = []
    for p in workflow_files(repo, workflows_dir):
        names[p] = None
        try:
            data = repo.load_yaml(p).data
        except InputError as exc:
            notes.append(f"{p}: name unknown ({exc.reason})")
            continue
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            names[p] = data["name"]
    return names, notes


def gh_workflow(value: str, names: dict[str, str | None], paths: bool = False) -> str | None:
    """The workflow file ``gh`` means by ``value`` (``gh workflow run VALUE``, ``--workflow VALUE``).

    gh sends a value ending in ``.yml``/``.yaml`` to the API as the workflow's file name
    (``actions/workflows/{file}``, documented as "the workflow file name, e.g. main.yaml"), so it
    must be a file's base name; any other value is a workflow's ``name:`` (case-insensitive). A
    numeric id can't be mapped to a file offline: :class:`CannotDecide`. With ``paths``, a value
    holding ``/`` names the file at that repository path (S2 and claims ask whether the file
    exists; whether GitHub takes a path is V4's question, and V4 is strict).
    """
    if value.isdigit():
        raise CannotDecide(f"workflow id {value}: ids can't be mapped to files offline")
    if "/" in value:
        path = posixpath.normpath(value)
        return path if paths and path in names else None
    if value.lower().endswith((".yml", ".yaml")):
        return next((p for p in names if posixpath.basename(p) == value), None)
    return next((p for p, n in names.items() if n is not None and n.lower() == value.lower()), None)


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
    assumed: Any = None  # the Unknown (name or context) the match rests on
    via: Build | None = None  # the `imagetools create` that copies the build to this image's name

    @property
    def pusher(self) -> Build | None:
        """The build whose push puts this image in its registry (the copy, for a copied image)."""
        return self.via or self.build


def _context_fits(b: Build, img: Image) -> Any:
    """True, False, or the Unknown the answer depends on."""
    if isinstance(b.context, ex.Unknown):
        return b.context
    return normalize_context(b.context) == normalize_context(img.context)


def _unknown_name(b: Build, img: Image) -> Any:
    """The unknown name of ``b`` that could be ``img`` (None when none could)."""
    return next((n for n in b.unknown_names if name_could_be(n, img.name)), None)


def builds_of(wf: Workflow, img: Image, event: E.Event) -> list[Build]:
    """Every build (any kind, any context) whose known name is ``img``, or whose unknown name could be."""
    return [b for b in wf.builds(event)
            if any(reference.same_name(n, img.name) for n in b.images) or _unknown_name(b, img) is not None]


MODELLED_ACTIONS = ("docker/build-push-action", "docker/bake-action", "docker/metadata-action", "docker/login-action",
                    "docker/setup-buildx-action", "docker/setup-qemu-action", "actions/checkout")


def _other_builder(wf: Workflow, img: Image) -> CannotDecide | None:
    """A step of an action buildgate does not read whose inputs name the image: it may build it."""
    path = reference.parse(img.name).path
    short = path[len("library/"):] if path.startswith("library/") else path
    for job in wf.jobs.values():
        for step in job.steps:
            if not step.uses or step.action in MODELLED_ACTIONS or step.uses.startswith("./"):
                continue
            texts = [str(v) for v in step.with_.values() if isinstance(v, (str, int, float))]
            if any(short in text for text in texts):
                return CannotDecide(f"cannot decide how {img.name} is built: step '{step.label}' uses {step.uses}, an "
                                    "action buildgate does not read, and its inputs name the image", step.where("uses"))
    return None


def _copied(wf: Workflow, img: Image, builds: list[Build], event: E.Event) -> ImageBuild | None:
    """``docker buildx imagetools create -t IMG:tag SOURCE``: IMG is a copy of the build of SOURCE."""
    from buildgate.workflow.refs import split_ref, word_value

    for other in wf.builds(event):
        if other.kind != "imagetools" or not any(reference.same_name(n, img.name) for n in other.images):
            continue
        for src in other.sources:
            ref = split_ref(word_value(src, {}, other.where), other.where)
            if not isinstance(ref.name, str):
                continue
            source = [b for b in builds if any(reference.same_name(n, ref.name) for n in b.images)]
            if source:
                return ImageBuild(img, source[0], via=other)
    return None


def map_images(wf: Workflow, target: Target, event: E.Event) -> list[ImageBuild]:
    """For each target image, the build step that builds it (name and context both match)."""
    builds = [b for b in wf.builds(event) if b.kind != "imagetools"]
    out = []
    for img in target.images:
        named = [b for b in builds if any(reference.same_name(n, img.name) for n in b.images)]
        good = [b for b in named if _context_fits(b, img) is True]
        if good:
            out.append(ImageBuild(img, good[0]))
            continue
        maybe = [(b, _context_fits(b, img)) for b in named]
        maybe = [(b, u) for b, u in maybe if isinstance(u, ex.Unknown)]
        if maybe:
            out.append(ImageBuild(img, maybe[0][0], assumed=maybe[0][1]))
            continue
        unnamed = [(b, _unknown_name(b, img)) for b in builds if not named or b not in named]
        unnamed = [(b, u) for b, u in unnamed if u is not None and _context_fits(b, img) is not False]
        if unnamed and not named:
            b, u = unnamed[0]
            fits = _context_fits(b, img)
            out.append(ImageBuild(img, b, assumed=u if fits is True else fits))
            continue
        if named:
            b = named[0]
            shown = b.context if isinstance(b.context, str) else "the Git context (repository root)" \
                if b.context is None else b.context.text("…")
            out.append(ImageBuild(img, None, f"{img.name} built from {shown}",
                                  b.step.where("context") if "context" in b.step.with_ else b.where))
            continue
        copy = _copied(wf, img, builds, event)
        if copy is not None:
            out.append(copy)
            continue
        ctx_only = [b for b in builds if _context_fits(b, img) is True]
        if ctx_only:
            b = ctx_only[0]
            names = b.images or [r.text() for r in b.refs]
            out.append(ImageBuild(img, None, f"{img.context} built as {', '.join(names) or 'no image name'}", b.where))
            continue
        seen = "; ".join(f"{', '.join(b.images or [r.text() for r in b.refs]) or '?'} from "
                         f"{b.context if isinstance(b.context, str) or b.context is None else b.context.text('…')}"
                         for b in builds) or "no build step"
        other = _other_builder(wf, img)
        if other is not None:
            raise other
        opaque = [j for j in wf.jobs.values() if j.uses and wf.called(j) is None]
        if opaque:
            j = opaque[0]
            raise CannotDecide(f"no build of {img.name} in {wf.path}; job {j.id} calls {j.uses}, which is not in this "
                               "repository, so what it builds is not known offline", j.where("uses"))
        out.append(ImageBuild(img, None, seen, wf.where()))
    return out


def builds_and_pushes_both(repo: Repo, target: Target, path: str) -> tuple[bool, str]:
    """Whether the workflow at ``path`` builds and pushes every target image on some event that
    triggers it (a push to the default branch, a tag push, a release, a manual run...).
    CannotDecide when that depends on an unknown value (it is named)."""
    wf = load_workflow(repo, path, target.github)
    sha = head_sha(repo)
    changed = changed_paths(target)
    events = [ev for ev in triggering_events(wf, target, sha) if not ev.is_pr_event and ev.name != "workflow_call"]
    if not events:
        return False, f"no event but pull requests or calls triggers it ({', '.join(wf.triggers) or 'no triggers'})"
    reasons = []
    for img in target.images:
        pushed_on, why, undecided = [], [], None
        for ev in events:
            ib = next(x for x in map_images(wf, target, ev) if x.image is img)
            if ib.build is None:
                why.append(f"{ib.problem}")
                continue
            try:
                d = wf.pushes(ib.pusher, ev, changed)
            except CannotDecide as exc:
                undecided = undecided or exc
                continue
            (pushed_on if d.ok else why).append(ev.describe() if d.ok else f"not pushed on {ev.describe()}: {d.reason}")
        if not pushed_on:
            if undecided is not None:
                raise undecided
            reasons.append(f"{img.name}: {why[0] if why else 'no build'}")
            continue
        assumed = next((x.assumed for x in map_images(wf, target, events[0]) if x.image is img and x.assumed), None)
        if assumed is not None and not reasons:
            raise CannotDecide(f"cannot decide whether {path} builds {img.name}: its build's name or context is "
                               f"{ex.Unknown.describe(assumed) if isinstance(assumed, ex.Unknown) else assumed}", path)
    return (not reasons, "; ".join(reasons) or "builds and pushes " + ", ".join(i.name for i in target.images))


def find_build_workflows(repo: Repo, target: Target) -> list[str]:
    """Repository-relative paths of the workflows that build and push every target image."""
    found = []
    for path in workflow_files(repo, target.workflows_dir):
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
    for img, b, tags, problem in image_tags(wf, target, ev):
        if b is None:
            raise CannotDecide(problem or f"no build of {img.name}", wf.where())
        out[img.name] = [t for t, _ in tags]
    return out


def _meta_tags(wf: Workflow, b: Build, meta: Any, event: E.Event) -> list[tuple[str, str]]:
    owner = b.wf or wf
    if event.name == "workflow_call" and b.inputs is None:
        raise CannotDecide(f"cannot decide the tags of {b.describe()}: docker/metadata-action reads the calling "
                           "workflow's event (`github.ref`, `github.event_name`), which is not known from this file "
                           "alone", meta.where("tags") if "tags" in meta.with_ else meta.where())
    job = b.tags_job
    ctx = owner.step_context(event, job, meta, b.matrix if job is b.job else {}, inputs=b.inputs)
    env = {k: v for k, v in ctx["env"].items() if isinstance(v, str)}
    tags_raw = meta.with_.get("tags")
    tline = int(meta.where("tags").rsplit(":", 1)[1]) if "tags" in meta.with_ else meta.line
    block = isinstance(tags_raw, str) and "\n" in tags_raw
    extra = {"matrix": ctx["matrix"], "steps": ctx["steps"], "needs": ctx["needs"]}
    if b.inputs is not None or event.name == "workflow_call":
        extra["inputs"] = ctx["inputs"]
        extra["github"] = ctx["github"]
    try:
        computed = compute_tags(meta.with_, event, env, context=extra)
    except CannotDecide as exc:
        raise type(exc)(exc.reason, exc.where or meta.where("tags")) from None
    return [(c.tag, f"{owner.path}:{tline + 1 + c.line_offset if block and c.line_offset is not None else tline}")
            for c in computed]


def build_tags(wf: Workflow, b: Build, event: E.Event, image: str | None = None,
               unknown_ok: bool = False) -> dict[str, list[tuple[Any, str]]]:
    """Image name -> [(tag, where)] a build tags for ``event`` (whether or not it pushes). With
    ``image``, only that image's tags (a reference whose name is unknown but could be it counts).
    A tag that is not known offline raises CannotDecide naming it, or with ``unknown_ok`` is
    listed as that Unknown (for a check that can decide by what is known)."""
    out: dict[str, list[tuple[str, str]]] = {}
    if b.meta_step is not None:
        tags = _meta_tags(wf, b, b.meta_step, event)
        for r in b.refs:
            if isinstance(r.name, str):
                if image is None or reference.same_name(r.name, image):
                    out[r.name] = list(tags)
            elif image is not None and name_could_be(r.name, image):
                out[reference.normalize_name(image)] = list(tags)
        return out
    where = b.step.where("tags") if b.kind == "build-push-action" and "tags" in b.step.with_ else b.where
    for r in b.refs:
        if isinstance(r.name, str):
            if image is not None and not reference.same_name(r.name, image):
                continue
            key = r.name
        elif image is not None and name_could_be(r.name, image):
            key = reference.normalize_name(image)
        else:
            continue
        if isinstance(r.tag, ex.Unknown) and not unknown_ok:
            raise ex.undecided(r.tag, f"the tag {b.describe()} gives {r.text()}", where)
        if b.by_digest:
            continue
        out.setdefault(key, []).append((r.tag if r.tag else "latest", where))
    return out


def tagging_builds(wf: Workflow, img: Image, b: Build, event: E.Event) -> list[Build]:
    """The builds that put tags on ``img``: the build itself, unless it pushes by digest, and the
    ``imagetools create`` commands that name the image."""
    names_it = any(reference.same_name(n, img.name) for n in b.images) or any(
        name_could_be(n, img.name) for n in b.unknown_names)
    out = [] if b.by_digest or not names_it else [b]
    for other in wf.builds(event):
        if other.kind == "imagetools" and (any(reference.same_name(n, img.name) for n in other.images)
                                           or any(name_could_be(n, img.name) for n in other.unknown_names)):
            out.append(other)
    return out or [b]


def image_tags(wf: Workflow, target: Target, event: E.Event, unknown_ok: bool = False) -> list[
        tuple[Image, Build | None, list[tuple[Any, str]], str | None]]:
    """Per target image: its build, the tags put on it for ``event`` (see :func:`build_tags`), or
    why there is no build."""
    out = []
    for ib in map_images(wf, target, event):
        if ib.build is None:
            out.append((ib.image, None, [], f"no build of {ib.image.name}: {ib.problem}"))
            continue
        mine: list[tuple[str, str]] = []
        for tb in tagging_builds(wf, ib.image, ib.build, event):
            for tags in build_tags(wf, tb, event, ib.image.name, unknown_ok).values():
                mine.extend(t for t in tags if isinstance(t[0], ex.Unknown) or t[0] not in [m[0] for m in mine])
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


def pushed_tags(wf: Workflow, target: Target, event: E.Event, changed: list[str] | None = None) -> tuple[
        dict[tuple[str, str], list[str]], list[CannotDecide]]:
    """``{(image, tag): [owner, ...]}`` for the target images this workflow pushes on ``event``
    (an owner is ``file job``, plus the matrix leg), and the undecided links it met (an unknown
    tag, a push that depends on an unknown)."""
    out: dict[tuple[str, str], list[str]] = {}
    undecided: list[CannotDecide] = []
    try:
        if not wf.trigger(event, changed).ok:
            return out, undecided
    except CannotDecide as exc:
        return out, [exc]
    for img in target.images:
        for b in builds_of(wf, img, event):
            try:
                if not wf.pushes(b, event, changed).ok:
                    continue
                tag_builds = [b] if b.kind == "imagetools" or not b.by_digest else []
                for tb in tag_builds:
                    for tags in build_tags(wf, tb, event, img.name).values():
                        owner = f"{tb.wf.path if tb.wf else wf.path} job {tb.job.id}"
                        combo = tb.describe().partition("[")[2].partition("]")[0]
                        owner += f" [{combo}]" if combo else ""
                        for tag, _w in tags:
                            key = (reference.normalize_name(img.name), tag)
                            if owner not in out.setdefault(key, []):
                                out[key].append(owner)
            except CannotDecide as exc:
                undecided.append(exc)
    return out, undecided
