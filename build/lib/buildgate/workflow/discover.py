"""Where a workflow builds images, and whether each build pushes: the builds of
:meth:`Workflow.builds <buildgate.workflow.model.Workflow.builds>`.

Forms read, each into :class:`~buildgate.workflow.model.Build` values:

- ``docker/build-push-action`` v2+ (``context``, ``tags`` or a metadata-action step's tags,
  ``outputs`` with ``push-by-digest=true``), and v1 (``repository``, ``registry``, ``tags``,
  ``tag_with_ref``, ``tag_with_sha``, ``path``; v1 builds with the classic builder and pushes by
  default);
- ``docker/bake-action`` and ``docker buildx bake``: one build per bake target, read from the
  bake file (:mod:`.bake`);
- ``run:`` commands: ``docker|podman [buildx] build``, ``docker buildx bake``, ``docker push``
  (which makes an earlier build of the same image push), ``docker tag``, and
  ``docker buildx imagetools create`` (tags pushed from digests or copied from other images);
- jobs that call a workflow of this repository (``jobs.<id>.uses: ./.github/workflows/x.yml``):
  its builds, with the inputs the caller passes.

Only the commands that build, tag or push are read: an unknown value anywhere else in a script
(``echo "${{ steps.meta.outputs.tags }}"``, ``docker login -u ${{ secrets.USER }}``) touches
nothing. Unknown values stay :class:`~buildgate.workflow.expressions.Unknown` in the build
(``${{ }}`` pieces of a script become marker strings while the shell reader reads it, then
Unknowns again, :mod:`.refs`).
"""
from __future__ import annotations

import posixpath
import re
from typing import Any, Mapping

from buildgate.errors import BuildgateError, CannotDecide
from buildgate.shell import expanded_commands
from buildgate.workflow import expressions as ex
from buildgate.workflow.buildargs import csv_lines, docker_args, is_docker, output_pushes, parse_build_args
from buildgate.workflow.events import Event
from buildgate.workflow.refs import ImageRef, marker, split_ref, word_value

MAX_CALL_DEPTH = 4
_META_REF = re.compile(r"steps\.([A-Za-z0-9_-]+)\.outputs\.(tags|json|bake-file\w*)\b|steps\[\s*'([A-Za-z0-9_-]+)'\s*\]"
                       r"\.outputs")


def _model():
    from buildgate.workflow import model

    return model


# ----------------------------------------------------------------------------- lists
def split_items(value: Any, separators: str = "\n,") -> list[Any]:
    """A list input (newline- or comma-separated) of a value known in part, item by item."""
    if value is None:
        return []
    if isinstance(value, list):
        return [v for item in value for v in split_items(item, separators)]
    if isinstance(value, bool):
        value = "true" if value else "false"
    if not isinstance(value, ex.Unknown):
        text = ex.to_str(value)
        return [x.strip() for x in re.split("[" + re.escape(separators) + "]", text) if x.strip()]
    if not value.parts:
        return [value]
    items: list[list[Any]] = [[]]
    for part in value.parts:
        if isinstance(part, ex.Unknown):
            items[-1].append(part)
            continue
        chunks = re.split("[" + re.escape(separators) + "]", part)
        items[-1].append(chunks[0])
        for c in chunks[1:]:
            items.append([c])
    out = []
    for pieces in items:
        pieces = [p for p in pieces if not (isinstance(p, str) and not p.strip())]
        if not pieces:
            continue
        if isinstance(pieces[0], str):
            pieces[0] = pieces[0].lstrip()
        if isinstance(pieces[-1], str):
            pieces[-1] = pieces[-1].rstrip()
        out.append(ex.concat(pieces) if any(isinstance(p, ex.Unknown) for p in pieces) else "".join(pieces))
    return out


def meta_images(value: Any, where: str) -> list[ImageRef]:
    """docker/metadata-action ``images:`` (``name``, or ``name=…,enable=…`` lines) as references."""
    out = []
    for line in split_items(value, "\n"):
        text = line if isinstance(line, str) else line.text("\x00")
        if text.startswith("#"):
            continue
        if "name=" in text:
            fields = split_items(line, ",")
            attrs = {}
            for f in fields:
                ftext = f if isinstance(f, str) else f.text("\x00")
                k, _, _v = ftext.partition("=")
                attrs[k.strip()] = f
            name = attrs.get("name")
            enable = attrs.get("enable")
            if isinstance(enable, str) and enable.partition("=")[2].strip().lower() == "false":
                continue
            if name is not None:
                out.append(split_ref(_after_eq(name), where))
            continue
        for item in split_items(line, ","):
            out.append(split_ref(item, where))
    # metadata-action lower-cases image names (docker refuses upper case)
    return [ImageRef(r.name.lower() if isinstance(r.name, str) else r.name, None, r.where) for r in out]


def _after_eq(v: Any) -> Any:
    if isinstance(v, str):
        return v.partition("=")[2].strip()
    parts = list(v.parts)
    first = parts[0]
    parts[0] = first.partition("=")[2] if isinstance(first, str) else first
    parts = [p for p in parts if not (isinstance(p, str) and not p)]
    return ex.concat(parts) if len(parts) != 1 or isinstance(parts[0], ex.Unknown) else parts[0]


_NEEDS_REF = re.compile(r"needs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")


def meta_from_needs(wf: Any, job: Any, texts: list[Any]) -> tuple[Any, Any]:
    """(metadata-action step, its job) when ``texts`` read a needed job's output that is that
    step's tags or json (``needs.meta.outputs.tags``); (None, None) otherwise."""
    for text in texts:
        if not isinstance(text, str):
            continue
        for e in ex.expressions_in(text):
            for m in _NEEDS_REF.finditer(e):
                other = wf.jobs.get(m.group(1))
                outputs = other.raw.get("outputs") if other is not None and m.group(1) in job.needs else None
                value = outputs.get(m.group(2)) if isinstance(outputs, Mapping) else None
                if isinstance(value, str):
                    end = type("_End", (), {"index": len(other.steps)})()
                    step = meta_step_for(other, end, [value])
                    if step is not None:
                        return step, other
    return None, None


def meta_step_for(job: Any, step: Any, texts: list[Any]) -> Any:
    """The docker/metadata-action step before ``step`` whose outputs ``texts`` read (or, for a
    ``run:`` step, whose ``DOCKER_METADATA_OUTPUT_*`` variables it reads)."""
    ids: set[str] = set()
    env_read = False
    for text in texts:
        if not isinstance(text, str):
            continue
        for e in ex.expressions_in(text):
            for m in _META_REF.finditer(e):
                ids.add(m.group(1) or m.group(3))
        env_read = env_read or "DOCKER_METADATA_OUTPUT_" in text
    metas = [s for s in job.steps[: step.index] if s.action == "docker/metadata-action"]
    for s in reversed(metas):
        if s.id in ids:
            return s
    return metas[-1] if env_read and metas else None


# ----------------------------------------------------------------------------- called workflows
def called_workflow(wf: Any, job: Any) -> Any:
    """The local workflow a job calls (``uses: ./.github/workflows/x.yml``), or None."""
    uses = (job.uses or "").strip()
    if not uses.startswith("./") or wf.repo is None:
        return None
    if uses in wf._called:
        return wf._called[uses]
    path = posixpath.normpath(uses[2:].split("@", 1)[0])
    try:
        out = _model().load_workflow(wf.repo, path, wf.repository)
    except BuildgateError:
        out = None
    wf._called[uses] = out
    return out


def _caller_inputs(wf: Any, job: Any, event: Event, matrix: Any, callee: Any) -> dict[str, Any]:
    """The inputs a calling job passes (``with:``), over the callee's declared defaults."""
    ctx = wf.base_context(event)
    ctx["matrix"] = matrix if isinstance(matrix, ex.PartialDict) else dict(matrix or {})
    ctx["needs"] = {n: {"result": "success", "outputs": ex.PartialDict(name=f"needs.{n}.outputs")} for n in job.needs}
    ctx["env"] = wf.env_context(event, wf.env)
    out: dict[str, Any] = {}
    spec = callee.triggers.get("workflow_call")
    decl = spec.config.get("inputs") if spec is not None else None
    for k, v in (decl or {}).items() if isinstance(decl, Mapping) else []:
        if isinstance(v, Mapping) and "default" in v:
            out[str(k)] = ex.interpolate_value(v["default"], ctx, where=callee.where(spec.line))
    given = job.raw.get("with")
    if isinstance(given, Mapping):
        for k, v in given.items():
            where = f"{wf.path}:{given.line_of(k)}" if hasattr(given, "line_of") else job.where("with")
            out[str(k)] = ex.interpolate_value(v, ctx, where=where)
    return out


# ----------------------------------------------------------------------------- finding builds
def find_builds(wf: Any, event: Event, depth: int = 0) -> list[Any]:
    out: list[Any] = []
    for job in wf.jobs.values():
        for matrix in wf.matrices(job, event):
            if job.uses is not None:
                callee = called_workflow(wf, job)
                if callee is None or depth >= MAX_CALL_DEPTH:
                    continue
                inputs = _caller_inputs(wf, job, event, matrix, callee)
                for b in _jobs_builds(callee, event, inputs):
                    if b.caller is None:
                        b.caller = (wf, job)
                    out.append(b)
                continue
            out.extend(_job_builds(wf, job, matrix, event, None))
    return out


def _jobs_builds(callee: Any, event: Event, inputs: dict[str, Any]) -> list[Any]:
    out = []
    for job in callee.jobs.values():
        if job.uses is not None:
            continue  # a called workflow calling another: not followed further
        for matrix in callee.matrices(job, event, inputs):
            out.extend(_job_builds(callee, job, matrix, event, inputs))
    return out


def _job_builds(wf: Any, job: Any, matrix: Any, event: Event, inputs: Any) -> list[Any]:
    out: list[Any] = []
    for step in job.steps:
        action = step.action
        if action == "docker/build-push-action":
            out.append(_action_build(wf, job, step, matrix, event, inputs))
        elif action == "docker/bake-action":
            from buildgate.workflow.bake import bake_action_builds

            out.extend(bake_action_builds(wf, job, step, matrix, event, inputs))
        elif step.run and re.search(r"\b(docker|podman)\b", step.run):
            out.extend(_run_builds(wf, job, step, matrix, event, inputs, out))
        elif step.uses and step.uses.startswith("./") and inputs is None:
            out.extend(_composite_builds(wf, job, step, matrix, event))
    return out


def composite_action(wf: Any, step: Any) -> Any:
    """The ``runs.steps`` of a local composite action (``uses: ./path``) as a parsed job, or None."""
    from buildgate.yamlfile import YamlDocument

    key = "action:" + step.uses
    if key in wf._called:
        return wf._called[key]
    out = None
    folder = posixpath.normpath(step.uses[2:].split("@", 1)[0])
    for name in ("action.yml", "action.yaml"):
        rel = posixpath.join(folder, name)
        if wf.repo is None or not wf.repo.exists(rel):
            continue
        try:
            doc = wf.repo.load_yaml(rel)
        except BuildgateError:
            break
        runs = doc.data.get("runs") if isinstance(doc.data, Mapping) else None
        if not isinstance(runs, Mapping) or runs.get("using") != "composite" or not isinstance(runs.get("steps"), list):
            break
        shell = {"on": "push", "jobs": {"composite": {"runs-on": "x", "steps": runs["steps"]}}}
        action_wf = _model().Workflow(YamlDocument(rel, (shell,)), wf.repository, wf.repo)
        out = (action_wf.jobs.get("composite"), doc.data.get("inputs"), rel)
        break
    wf._called[key] = out
    return out


def _composite_builds(wf: Any, job: Any, step: Any, matrix: Any, event: Event) -> list[Any]:
    """The builds inside a local composite action the step runs, in the calling job: the job's
    steps before it, then the action's steps, with ``inputs`` from the step's ``with:``."""
    import dataclasses

    found = composite_action(wf, step)
    if found is None or found[0] is None:
        return []
    action_job, declared, _path = found
    ctx = wf.step_context(event, job, step, matrix)
    inputs: dict[str, Any] = {}
    for k, v in (declared or {}).items() if isinstance(declared, Mapping) else []:
        if isinstance(v, Mapping) and "default" in v:
            inputs[str(k)] = ex.interpolate_value(v["default"], ctx, where=step.where())
    for k, v in step.with_.items():
        inputs[str(k)] = ex.interpolate_value(v, ctx, where=step.where(k))
    before = [dataclasses.replace(s) for s in job.steps[: step.index]]
    inner = [dataclasses.replace(s, index=len(before) + i, job_id=job.id) for i, s in enumerate(action_job.steps)]
    merged = dataclasses.replace(job, steps=before + inner)
    out = []
    for b in _job_builds(wf, merged, matrix, event, inputs):
        b.via_steps = [step, *b.via_steps]
        out.append(b)
    return out


def _version(uses: str | None) -> str:
    return (uses or "").partition("@")[2].strip().lower()


def _action_build(wf: Any, job: Any, step: Any, matrix: Any, event: Event, inputs: Any) -> Any:
    M = _model()

    def val(key: str) -> Any:
        return wf.step_value(job, step, key, event, matrix, inputs)

    version = _version(step.uses)
    if re.match(r"v?1(\.|$)", version):
        return _v1_build(wf, job, step, matrix, event, inputs)
    ctx_val = val("context")
    tags_raw = step.with_.get("tags")
    meta = meta_step_for(job, step, [tags_raw]) if tags_raw is not None else None
    meta_job = job
    if meta is None and tags_raw is not None:
        meta, found_job = meta_from_needs(wf, job, [tags_raw])
        meta_job = found_job or job
    refs: list[ImageRef] = []
    if meta is not None:
        refs = meta_images(wf.step_value(meta_job, meta, "images", event, {} if meta_job is not job else matrix,
                                         inputs), meta.where("images"))
    elif tags_raw is not None:
        refs = [split_ref(t, step.where("tags")) for t in split_items(val("tags"))]
    by_digest = False
    outputs = val("outputs")
    for entry in split_items(outputs, "\n") if outputs is not None else []:
        text = entry if isinstance(entry, str) else entry.text("\x00")
        if "push-by-digest=true" in text.replace(" ", ""):
            by_digest = True
        for attr in split_items(entry, ","):
            atext = attr if isinstance(attr, str) else attr.text("\x00")
            if atext.strip().startswith("name="):
                for n in split_items(_after_eq(attr), ","):
                    ref = split_ref(n, step.where("outputs"))
                    if not any(r.name == ref.name for r in refs if isinstance(r.name, str)):
                        refs.append(ImageRef(ref.name, None, ref.where))
    return M.Build(job, step, matrix, "build-push-action", ctx_val, refs, meta, wf=wf, inputs=inputs,
                   by_digest=by_digest, meta_job=meta_job if meta_job is not job else None)


def _v1_build(wf: Any, job: Any, step: Any, matrix: Any, event: Event, inputs: Any) -> Any:
    """build-push-action v1: ``registry``/``repository`` name the image, ``tags`` are bare tags,
    ``tag_with_ref``/``tag_with_sha`` add the ref and ``sha-<7>`` tags; it pushes by default."""
    M = _model()

    def val(key: str) -> Any:
        return wf.step_value(job, step, key, event, matrix, inputs)

    registry, repository = val("registry"), val("repository")
    if repository is None:
        name: Any = ex.Unknown("repository: (build-push-action v1 without one)", step.where())
    elif registry is None or (isinstance(registry, str) and not registry.strip()):
        name = repository
    else:
        name = ex.concat([registry, "/", repository])
    base = split_ref(name, step.where("repository"))
    tags: list[Any] = list(split_items(val("tags"), ","))
    if ex.truth(val("tag_with_ref")) is True or str(val("tag_with_ref")).lower() == "true":
        if event.is_tag:
            tags.append(event.tag)
        elif event.is_pr_event:
            tags.append(f"pr-{event.pr_number}")
        elif event.branch in ("master", "main"):
            tags.append("latest")
        elif event.branch:
            tags.append(event.branch.replace("/", "-"))
    if ex.truth(val("tag_with_sha")) is True or str(val("tag_with_sha")).lower() == "true":
        tags.append(f"sha-{event.sha[:7]}")
    refs = [ImageRef(base.name, t, step.where("tags")) for t in tags] or [ImageRef(base.name, "latest", step.where())]
    ctx_val = val("path")
    return M.Build(job, step, matrix, "build-push-action-v1", ctx_val if ctx_val is not None else ".", refs, None,
                   wf=wf, inputs=inputs)


def script_view(wf: Any, job: Any, step: Any, matrix: Any, event: Event, inputs: Any) -> tuple[str, dict, dict]:
    """A ``run:`` script as the runner would see it, with a marker for each unknown piece:
    (script, shell environment with markers, marker number -> Unknown)."""
    unknowns: dict[int, ex.Unknown] = {}

    def mark(u: ex.Unknown) -> str:
        unknowns[len(unknowns)] = u
        return marker(len(unknowns) - 1)

    ctx = wf.step_context(event, job, step, matrix, inputs=inputs)
    value = ex.interpolate_value(step.run, ctx, where=step.where("run"))
    if isinstance(value, ex.Unknown):
        parts = value.parts or (value,)
        script = "".join(p if isinstance(p, str) else mark(p) for p in parts)
    else:
        script = ex.to_str(value)
    env = {}
    for k, v in wf.shell_env(event, job, step, matrix, inputs).items():
        if isinstance(v, ex.Unknown):
            env[k] = "".join(p if isinstance(p, str) else mark(p) for p in (v.parts or (v,)))
        else:
            env[k] = v
    return script, env, unknowns


def _guarded(cmd: Any) -> bool:
    """Whether a command runs only under shell logic that is not evaluated. ``build && push``
    is not: the verdicts are about a run whose commands succeed."""
    return cmd.conditional and not cmd.after_success


def _run_builds(wf: Any, job: Any, step: Any, matrix: Any, event: Event, inputs: Any, earlier: list[Any]) -> list[Any]:
    M = _model()
    script, env, unknowns = script_view(wf, job, step, matrix, event, inputs)
    cmds = expanded_commands(script, env)
    where = step.where("run")
    out: list[Any] = []
    meta = None

    def val(word: str) -> Any:
        return word_value(word, unknowns, where)

    for c in cmds:
        words = c.words
        if not is_docker(words):
            continue
        rest = [w for w in words[1:]]
        while rest and rest[0].startswith("-"):
            rest = rest[1:]
        if rest[:3] == ["buildx", "imagetools", "create"]:
            args = parse_build_args(rest[3:])
            if "--dry-run" in args:
                continue
            tags = args.get("-t", []) + args.get("--tag", [])
            meta = meta or meta_step_for(job, step, [step.run])
            meta_job = None
            if meta is None:
                meta, meta_job = meta_from_needs(wf, job, [step.run])
            refs = [split_ref(val(t), where) for t in tags]
            metas = []
            if meta is not None and (not refs or any(not r.known for r in refs)):
                metas = meta_images(wf.step_value(meta_job or job, meta, "images", event, matrix, inputs),
                                    meta.where("images"))
            b = M.Build(job, step, matrix, "imagetools", None, [r for r in refs if r.known] or metas or refs,
                        meta if metas else None, command=words, shell_conditional=_guarded(c), wf=wf,
                        inputs=inputs, line=c.line, sources=[w for w in args["_positional"]],
                        meta_job=meta_job if metas else None)
            out.append(b)
            continue
        if rest[:2] == ["buildx", "bake"]:
            from buildgate.workflow.bake import bake_command_builds

            out.extend(bake_command_builds(wf, job, step, matrix, event, inputs, rest[2:], c, unknowns))
            continue
        if rest[:1] == ["tag"] or rest[:2] == ["image", "tag"]:
            pos = [w for w in (rest[1:] if rest[0] == "tag" else rest[2:]) if not w.startswith("-")]
            if len(pos) == 2:
                src, dst = split_ref(val(pos[0]), where), split_ref(val(pos[1]), where)
                for b in [*earlier, *out]:
                    if any(isinstance(r.name, str) and r.name == src.name for r in b.refs):
                        b.refs.append(ImageRef(dst.name, dst.tag, where))
            continue
        parsed = docker_args(words)
        if parsed is None:
            continue
        verb, args = parsed
        if verb == "push":
            targets = [w for w in args if not w.startswith("-")]
            for t in targets:
                ref = split_ref(val(t), where)
                for b in [*earlier, *out]:
                    if b.kind in ("buildx", "docker-build") and any(
                            isinstance(r.name, str) and isinstance(ref.name, str) and r.name == ref.name
                            or (not isinstance(r.name, str) and not isinstance(ref.name, str) and
                                r.name.origin.what == ref.name.origin.what) for r in b.refs):
                        b.pushed_by.append(c)
            continue
        opts = parse_build_args(args)
        tags = opts.get("-t", []) + opts.get("--tag", [])
        pos = opts["_positional"]
        refs = [split_ref(val(t), where) for t in tags]
        for o in opts.get("--output", []) + opts.get("-o", []):
            for attr in o.split(","):
                if attr.strip().startswith("name="):
                    for n in attr.strip()[5:].split(","):
                        refs.append(split_ref(val(n), where))
        context = val(pos[-1]) if pos else None
        b = M.Build(job, step, matrix, "buildx" if verb == "buildx" else "docker-build", context, refs, None,
                    command=words, shell_conditional=_guarded(c), wf=wf, inputs=inputs, line=c.line,
                    options={k: v for k, v in opts.items() if k != "_positional"},
                    by_digest="push-by-digest=true" in " ".join(opts.get("--output", []) + opts.get("-o", [])))
        out.append(b)
    return out


# ----------------------------------------------------------------------------- pushing
def build_pushes(build: Any, event: Event) -> Any:
    """Does ``build`` push for ``event``, assuming its job and step run? CannotDecide names the
    input or shell logic it depends on."""
    Decision = _model().Decision
    step = build.step
    if build.kind == "imagetools":
        if build.shell_conditional:
            raise CannotDecide("cannot decide whether `docker buildx imagetools create` runs: it is guarded by shell "
                               "logic (if/case/&&), which is not evaluated", build.where)
        return Decision(True, "`docker buildx imagetools create` pushes the tags it creates", build.where)
    if build.kind in ("build-push-action", "build-push-action-v1"):
        outputs = build.value("outputs", event)
        if isinstance(outputs, ex.Unknown):
            raise ex.undecided(outputs, f"whether {build.describe()} pushes", step.where("outputs"))
        if outputs is not None and output_pushes(csv_lines(outputs)):
            return Decision(True, f"outputs {ex.to_str(outputs).strip()!r} push", step.where("outputs"))
        push = build.value("push", event)
        where = step.where("push") if "push" in step.with_ else step.where()
        if push is None:
            if build.kind == "build-push-action-v1":
                return Decision(True, "push: not set (build-push-action v1 pushes by default)", where)
            return Decision(False, "push: not set (defaults to false)", where)
        if isinstance(push, ex.Unknown):
            raise ex.undecided(push, f"whether {build.describe()} pushes on {event.describe()}", where)
        val = push if isinstance(push, bool) else ex.to_str(push).strip().lower() == "true"
        return Decision(bool(val), f"push: {step.with_.get('push')} is {str(bool(val)).lower()} for {event.describe()}",
                        where)
    if build.kind == "bake":
        from buildgate.workflow.bake import bake_pushes

        return bake_pushes(build, event)
    opts = build.options
    where = build.where
    outputs = opts.get("--output", []) + opts.get("-o", [])
    pushes = "--push" in opts or output_pushes(outputs)
    conditional = build.shell_conditional
    later = build.pushed_by
    if later:
        pushes = True
        conditional = conditional or any(_guarded(p) for p in later)
    words = build.command or []
    if pushes and conditional:
        raise CannotDecide("cannot decide whether this run: step pushes: the push is guarded by shell logic "
                           "(if/case/&&), which is not evaluated", where)
    return Decision(pushes, f"{' '.join(words[:3])} {'pushes' if pushes else 'does not push'}", where)
