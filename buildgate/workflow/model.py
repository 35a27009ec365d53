"""A GitHub Actions workflow, parsed with line numbers, and what it does for a given event.

:func:`load_workflow` parses a workflow file into :class:`Workflow` (cached per file content).
The model is tolerant: anything malformed is recorded in :attr:`Workflow.problems` (W2 reports
them) instead of raising, so the other checks can still say something precise.

For an :class:`~buildgate.workflow.events.Event` (plus the paths a push or pull request
changes) the model decides:

- :meth:`Workflow.trigger` -- does the workflow run (event kind, branch/tag filters, path filters);
- :meth:`Workflow.job_runs` -- does a job run (the ``needs`` chain and its ``if:``);
- :meth:`Workflow.step_runs` -- does a step run (its ``if:``);
- :meth:`Workflow.builds` / :meth:`Workflow.pushes` -- the image builds (docker/build-push-action,
  ``docker buildx build``) and whether each one pushes. ``run:`` scripts are read with
  :func:`buildgate.shell.expanded_commands` (the same reading W10's tag writes get), their
  docker command lines with :mod:`.buildargs`.

Every decision that rests on an expression evaluates it (:mod:`.expressions`); one that can't be
decided raises :class:`CannotDecide` naming the expression and its ``file:line``.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from buildgate.errors import CannotDecide
from buildgate.repo import Repo
from buildgate.shell import ExpandedCommand, dequote, parse
from buildgate.workflow import expressions as ex
from buildgate.workflow.events import Event, matches_filters, path_filter_passes
from buildgate.workflow.refs import ImageRef
from buildgate.yamlfile import LineList, YamlDocument

BRANCH_EVENTS = ("push", "pull_request", "pull_request_target")
FILTER_KEYS = ("branches", "branches-ignore", "tags", "tags-ignore", "paths", "paths-ignore")
PERMISSION_SCOPES = (
    "actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token",
    "issues", "models", "packages", "pages", "pull-requests", "repository-projects",
    "security-events", "statuses",
)
SKIP_MARKERS = ("[skip ci]", "[ci skip]", "[no ci]", "[skip actions]", "[actions skip]")
MAX_MATRIX = 256


def _line(node: Any, key: Any = None) -> int:
    if key is not None and hasattr(node, "line_of"):
        return node.line_of(key)
    return getattr(node, "line", 0)


def action_name(uses: str | None) -> str:
    """``docker/build-push-action@v6`` -> ``docker/build-push-action`` (lower case)."""
    if not uses or not isinstance(uses, str):
        return ""
    return uses.split("@", 1)[0].strip().lower()


# ----------------------------------------------------------------------------- elements
@dataclass
class Trigger:
    """One event of ``on:`` with its filters (``None`` = filter absent)."""

    event: str
    line: int
    config: Mapping[str, Any]
    branches: list[str] | None = None
    branches_ignore: list[str] | None = None
    tags: list[str] | None = None
    tags_ignore: list[str] | None = None
    paths: list[str] | None = None
    paths_ignore: list[str] | None = None
    types: list[str] | None = None


@dataclass
class Permissions:
    """Token permissions as written (``None`` when the key is absent)."""

    scopes: dict[str, str] | None
    line: int
    raw: Any = None

    def level(self, scope: str) -> str | None:
        """``write``/``read``/``none``, or None when nothing is declared (repository default)."""
        if self.scopes is None:
            return None
        return self.scopes.get(scope, "none")


@dataclass
class Step:
    index: int
    job_id: str
    line: int
    raw: Mapping[str, Any]
    id: str | None = None
    name: str | None = None
    uses: str | None = None
    with_: Mapping[str, Any] = field(default_factory=dict)
    run: str | None = None
    env: Mapping[str, Any] = field(default_factory=dict)
    if_: Any = None
    path: str = ""

    @property
    def action(self) -> str:
        return action_name(self.uses)

    @property
    def label(self) -> str:
        return self.name or self.id or self.uses or f"step {self.index + 1}"

    def where(self, key: str | None = None) -> str:
        if key is not None and key in self.with_:
            return f"{self.path}:{_line(self.with_, key)}"
        if key is not None and key in self.raw:
            return f"{self.path}:{_line(self.raw, key)}"
        return f"{self.path}:{self.line}"


@dataclass
class Job:
    id: str
    line: int
    raw: Mapping[str, Any]
    needs: list[str] = field(default_factory=list)
    if_: Any = None
    env: Mapping[str, Any] = field(default_factory=dict)
    permissions: Permissions | None = None
    steps: list[Step] = field(default_factory=list)
    matrix: Any = None
    uses: str | None = None
    path: str = ""

    def where(self, key: str | None = None) -> str:
        return f"{self.path}:{_line(self.raw, key) if key else self.line}"


@dataclass
class Build:
    """One image build: a step (in one matrix combination) that builds, or tags, and maybe pushes.

    ``kind``: ``build-push-action``, ``build-push-action-v1`` (the classic builder), ``buildx``,
    ``docker-build``, ``bake`` (a bake target, from docker/bake-action or ``docker buildx bake``)
    or ``imagetools`` (``docker buildx imagetools create``: tags pushed from digests or copied
    from other images, no context). Values may be :class:`~buildgate.workflow.expressions.Unknown`;
    they are evaluated when the build is found and read only by the checks that need them.
    """

    job: Job
    step: Step
    matrix: dict[str, Any]
    kind: str
    context: Any  # str | Unknown | None (None: the action's Git context)
    refs: list[ImageRef]  # the image references it names (with tags when written literally)
    meta_step: Step | None  # the docker/metadata-action step the tags come from
    command: list[str] | None = None  # the shell words for run builds
    shell_conditional: bool = False
    pushed_by: list[ExpandedCommand] = field(default_factory=list)  # later `docker push` commands of its images
    wf: Any = None  # the Workflow the step is in (a called workflow for `jobs.<id>.uses`)
    caller: Any = None  # (calling Workflow, calling Job) for a build in a called workflow
    inputs: Any = None  # the called workflow's inputs, as the caller passes them
    line: int | None = None  # the command's line in a run: script
    by_digest: bool = False  # outputs push-by-digest=true: no tag pushed
    options: dict[str, list[str]] = field(default_factory=dict)  # bake/run options (cache-from, ...)
    sources: list[str] = field(default_factory=list)  # imagetools: the images it copies from
    via_steps: list[Step] = field(default_factory=list)  # the `uses: ./action` steps it runs inside
    meta_job: Job | None = None  # the job of ``meta_step`` when another job computes the tags

    @property
    def tags_job(self) -> Job:
        """The job whose metadata-action step computes the tags (this build's, unless handed over)."""
        return self.meta_job or self.job

    @property
    def images(self) -> list[str]:
        """The known image names (normalised), sorted."""
        return sorted({r.name for r in self.refs if isinstance(r.name, str) and r.name})

    @property
    def unknown_names(self) -> list[Any]:
        """The image names it writes that are not known offline."""
        return [r.name for r in self.refs if not isinstance(r.name, str)]

    @property
    def literal_tags(self) -> list[str] | None:
        """``image:tag`` for the known references with a known tag (None when metadata-action tags it)."""
        if self.meta_step is not None:
            return None
        return [f"{r.name}:{r.tag}" for r in self.refs if isinstance(r.name, str) and isinstance(r.tag, str)]

    @property
    def job_inputs(self) -> Any:
        """The ``inputs`` its job's ``if:`` sees (a composite action's inputs are the step's only)."""
        return None if self.via_steps else self.inputs

    @property
    def where(self) -> str:
        if self.line is not None and self.step.run is not None:
            base = self.step.where("run")
            path, _, ln = base.rpartition(":")
            block = "\n" in self.step.run.rstrip("\n")
            return f"{path}:{int(ln) + self.line}" if block and ln.isdigit() else base
        return self.step.where()

    def describe(self) -> str:
        shown = {k: (v.text("?") if isinstance(v, ex.Unknown) else v) for k, v in self.matrix.items()} \
            if isinstance(self.matrix, dict) else {}
        combo = f" [{', '.join(f'{k}={v}' for k, v in shown.items())}]" if shown else ""
        via = f" (called from job {self.caller[1].id} of {self.caller[0].path})" if self.caller else ""
        return f"job {self.job.id} step '{self.step.label}'{combo}{via}"

    def value(self, key: str, event: Event) -> Any:
        """A ``with:`` input of its step for ``event``: a value or an Unknown (None when absent)."""
        return self.wf.step_value(self.job, self.step, key, event, self.matrix, self.inputs)

    def same(self, other: "Build") -> bool:
        """The same step, matrix combination and command in another event's evaluation."""
        return (other.wf is self.wf and other.job.id == self.job.id and other.step.index == self.step.index
                and _combo_key(other.matrix) == _combo_key(self.matrix) and other.line == self.line
                and other.kind == self.kind and (self.caller is None) == (other.caller is None)
                and (self.caller is None or self.caller[1].id == other.caller[1].id))


def _combo_key(matrix: Any) -> Any:
    if not isinstance(matrix, dict):
        return id(matrix)
    return tuple(sorted((str(k), v.text("?") if isinstance(v, ex.Unknown) else repr(v)) for k, v in matrix.items()))


@dataclass
class Decision:
    ok: bool
    reason: str
    where: str | None = None


# ----------------------------------------------------------------------------- helpers
def _str_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return None


def has_skip_marker(message: str) -> str | None:
    low = message.lower()
    for m in SKIP_MARKERS:
        if m in low:
            return m
    return None


class UnknownMatrix(ex.PartialDict):
    """A matrix combination computed at run time (``fromJSON(needs.x.outputs.m)``): every key
    is an Unknown naming the matrix expression; the keys known from ``include:`` stay known."""


def _lazy(value: Any, context: dict, where: str) -> Any:
    """Matrix values may hold ``${{ }}`` (GitHub evaluates the whole strategy)."""
    if isinstance(value, str) and ex.is_template(value):
        return ex.value(value, context, where=where)
    if isinstance(value, list):
        return [_lazy(v, context, where) for v in value]
    if isinstance(value, Mapping):
        return {k: _lazy(v, context, where) for k, v in value.items()}
    return value


def _unknown_combo(origin: ex.Unknown, known: Mapping[str, Any] | None = None) -> dict[str, Any]:
    o = origin.origin
    combo = UnknownMatrix(dict(known or {}), name="matrix")
    combo.origin = f"the matrix is computed at run time by `${{{{ {o.expr or o.what} }}}}`" + (
        f" at {o.where}" if o.where else "")
    return combo


def expand_matrix(matrix: Any, where: str, context: dict) -> list[dict[str, Any]]:
    """The combinations of ``strategy.matrix`` (lists, include, exclude; ``${{ }}`` evaluated).

    A matrix, axis or ``include`` computed at run time gives one symbolic combination
    (:class:`UnknownMatrix`): every leg is evaluated once, with its values unknown."""
    if matrix is None:
        return [{}]
    if isinstance(matrix, str):
        value = ex.value(matrix, context, where=where)
        if isinstance(value, ex.Unknown):
            return [_unknown_combo(value)]
        if not isinstance(value, dict):
            raise CannotDecide(f"matrix {matrix!r} does not evaluate to a mapping", where)
        matrix = value
    if not isinstance(matrix, Mapping):
        raise CannotDecide(f"matrix of type {type(matrix).__name__} is not supported", where)
    axes: list[tuple[str, list[Any]]] = []
    unknown_axis: ex.Unknown | None = None
    for key, values in matrix.items():
        if key in ("include", "exclude"):
            continue
        values = _lazy(values, context, where)
        if isinstance(values, ex.Unknown):
            unknown_axis = unknown_axis or values
            continue
        if not isinstance(values, list):
            raise CannotDecide(f"matrix axis {key!r} is not a list", where)
        axes.append((str(key), list(values)))
    incl = _lazy(matrix.get("include") or [], context, where)
    if unknown_axis is not None or isinstance(incl, ex.Unknown):
        return [_unknown_combo(unknown_axis or incl)]
    combos = [dict(zip([k for k, _ in axes], vals)) for vals in itertools.product(*[v for _, v in axes])] if axes else []
    if len(combos) > MAX_MATRIX:
        raise CannotDecide(f"matrix has {len(combos)} combinations (over {MAX_MATRIX})", where)
    excl = _lazy(matrix.get("exclude") or [], context, where)
    if not isinstance(excl, list):
        raise CannotDecide("matrix exclude is not a list", where)
    for e in excl:
        if isinstance(e, Mapping):
            combos = [c for c in combos if not all(c.get(k) == v for k, v in e.items())]
    if not isinstance(incl, list):
        raise CannotDecide("matrix include is not a list", where)
    originals = [dict(c) for c in combos]
    for inc in incl:
        if not isinstance(inc, Mapping):
            continue
        placed = False
        for orig, combo in zip(originals, combos):
            if all(orig.get(k, v) == v for k, v in inc.items() if k in orig):
                combo.update({k: v for k, v in inc.items()})
                placed = True
        if not placed:
            combos.append(dict(inc))
            originals.append(dict(inc))
    return combos or [{}]


# ----------------------------------------------------------------------------- workflow
class Workflow:
    """A parsed workflow file."""

    def __init__(self, doc: YamlDocument, repository: str = "ardenone/moltbook-org", repo: Repo | None = None) -> None:
        self.doc = doc
        self.repo = repo
        self._builds_cache: dict[tuple, list[Build]] = {}
        self._called: dict[str, Any] = {}
        self.path = doc.path
        self.repository = repository
        self.problems: list[tuple[str, str]] = []  # (message, where)
        self.raw: Any = doc.data
        self.name: str | None = None
        self.triggers: dict[str, Trigger] = {}
        self.on_line = 0
        self.env: Mapping[str, Any] = {}
        self.permissions = Permissions(None, 0)
        self.jobs: dict[str, Job] = {}
        self._job_cache: dict[tuple, Any] = {}
        self._parse()

    def where(self, line: int | None = None) -> str:
        return f"{self.path}:{line}" if line else self.path

    def problem(self, msg: str, line: int | None = None) -> None:
        self.problems.append((msg, self.where(line)))

    # -- parsing -----------------------------------------------------------------------------
    def _parse(self) -> None:
        data = self.raw
        if len(self.doc.documents) > 1:
            self.problem(f"file holds {len(self.doc.documents)} YAML documents; a workflow is one")
        if not isinstance(data, Mapping):
            self.problem(f"expected a mapping at the top level, found {type(data).__name__}", 1)
            return
        self.name = data.get("name") if isinstance(data.get("name"), str) else None
        on_key: Any = None
        for k in ("on", True):
            if k in data:
                on_key = k
                break
        if on_key is None:
            self.problem("no `on:` key (the workflow never triggers)", 1)
        else:
            self.on_line = _line(data, on_key)
            self._parse_on(data[on_key])
        env = data.get("env")
        if isinstance(env, Mapping):
            self.env = env
        elif env is not None:
            self.problem("`env:` must be a mapping", _line(data, "env"))
        if "permissions" in data:
            self.permissions = self._parse_permissions(data["permissions"], _line(data, "permissions"))
        jobs = data.get("jobs")
        if not isinstance(jobs, Mapping) or not jobs:
            self.problem("no jobs (`jobs:` must be a non-empty mapping)", _line(data, "jobs") if "jobs" in data else 1)
            return
        for jid, jraw in jobs.items():
            line = _line(jobs, jid)
            if not isinstance(jid, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", str(jid)):
                self.problem(f"invalid job id {jid!r}", line)
            if not isinstance(jraw, Mapping):
                self.problem(f"job {jid!r} must be a mapping", line)
                continue
            self.jobs[str(jid)] = self._parse_job(str(jid), jraw, line)
        self._check_needs()

    def _parse_on(self, on: Any) -> None:
        if isinstance(on, str):
            self.triggers[on] = Trigger(on, self.on_line, {})
            return
        if isinstance(on, list):
            for i, ev in enumerate(on):
                if not isinstance(ev, str):
                    self.problem(f"`on:` list item {ev!r} is not an event name", _line(on, i) if isinstance(on, LineList) else self.on_line)
                    continue
                self.triggers[ev] = Trigger(ev, on.line_of(i) if isinstance(on, LineList) else self.on_line, {})
            return
        if not isinstance(on, Mapping):
            self.problem(f"`on:` must be a string, list or mapping, found {type(on).__name__}", self.on_line)
            return
        for ev, cfg in on.items():
            line = _line(on, ev)
            ev = str(ev)
            if cfg is None:
                cfg = {}
            if not isinstance(cfg, Mapping):
                if ev == "schedule" and isinstance(cfg, list):
                    self.triggers[ev] = Trigger(ev, line, {"schedule": cfg})
                    continue
                self.problem(f"trigger {ev!r} must be a mapping or empty", line)
                continue
            trig = Trigger(ev, line, cfg)
            for key in FILTER_KEYS:
                if key in cfg:
                    vals = _str_list(cfg[key])
                    if vals is None:
                        self.problem(f"{ev}.{key} must be a list of patterns", _line(cfg, key))
                    setattr(trig, key.replace("-", "_"), vals)
            for a, b in (("branches", "branches-ignore"), ("tags", "tags-ignore"), ("paths", "paths-ignore")):
                if a in cfg and b in cfg:
                    self.problem(f"{ev} uses both {a} and {b} (GitHub rejects this)", _line(cfg, b))
            if "types" in cfg:
                trig.types = _str_list(cfg["types"])
            self.triggers[ev] = trig

    def _parse_permissions(self, raw: Any, line: int) -> Permissions:
        if raw == "write-all":
            return Permissions({s: "write" for s in PERMISSION_SCOPES}, line, raw)
        if raw == "read-all":
            return Permissions({s: "read" for s in PERMISSION_SCOPES}, line, raw)
        if raw is None or (isinstance(raw, Mapping) and not raw):
            return Permissions({}, line, raw)
        if isinstance(raw, Mapping):
            scopes = {}
            for k, v in raw.items():
                if v not in ("read", "write", "none"):
                    self.problem(f"permission {k}: {v!r} must be read, write or none", _line(raw, k))
                    continue
                scopes[str(k)] = str(v)
            return Permissions(scopes, line, raw)
        self.problem(f"permissions {raw!r} must be read-all, write-all or a mapping", line)
        return Permissions({}, line, raw)

    def _parse_job(self, jid: str, raw: Mapping[str, Any], line: int) -> Job:
        job = Job(jid, line, raw, path=self.path)
        needs = raw.get("needs")
        if isinstance(needs, str):
            job.needs = [needs]
        elif isinstance(needs, list):
            job.needs = [str(n) for n in needs]
        elif needs is not None:
            self.problem(f"job {jid}: `needs` must be a job id or a list", _line(raw, "needs"))
        job.if_ = raw.get("if")
        env = raw.get("env")
        job.env = env if isinstance(env, Mapping) else {}
        if "permissions" in raw:
            job.permissions = self._parse_permissions(raw["permissions"], _line(raw, "permissions"))
        strategy = raw.get("strategy")
        if isinstance(strategy, Mapping):
            job.matrix = strategy.get("matrix")
        job.uses = raw.get("uses") if isinstance(raw.get("uses"), str) else None
        steps = raw.get("steps")
        if steps is None and job.uses is None:
            self.problem(f"job {jid} has neither steps nor uses", line)
        if steps is not None and not isinstance(steps, list):
            self.problem(f"job {jid}: `steps` must be a list", _line(raw, "steps"))
            steps = []
        ids: set[str] = set()
        for i, sraw in enumerate(steps or []):
            sline = steps.line_of(i) if isinstance(steps, LineList) else line
            if not isinstance(sraw, Mapping):
                self.problem(f"job {jid} step {i + 1} must be a mapping", sline)
                continue
            step = Step(i, jid, _line(sraw) or sline, sraw, path=self.path)
            step.id = str(sraw["id"]) if sraw.get("id") is not None else None
            step.name = str(sraw["name"]) if sraw.get("name") is not None else None
            step.uses = sraw.get("uses") if isinstance(sraw.get("uses"), str) else None
            step.run = sraw.get("run") if isinstance(sraw.get("run"), str) else None
            w = sraw.get("with")
            step.with_ = w if isinstance(w, Mapping) else {}
            e = sraw.get("env")
            step.env = e if isinstance(e, Mapping) else {}
            step.if_ = sraw.get("if")
            if (step.uses is None) == (step.run is None):
                self.problem(f"job {jid} step {i + 1} must have exactly one of uses/run", step.line)
            if step.id:
                if step.id in ids:
                    self.problem(f"job {jid}: duplicate step id {step.id!r}", step.line)
                ids.add(step.id)
            job.steps.append(step)
        return job

    def _check_needs(self) -> None:
        for job in self.jobs.values():
            for n in job.needs:
                if n not in self.jobs:
                    self.problem(f"job {job.id} needs unknown job {n!r}", _line(job.raw, "needs"))
        # cycles (depth-first search)
        state: dict[str, int] = {}

        def visit(jid: str, chain: list[str]) -> None:
            state[jid] = 1
            for n in self.jobs[jid].needs:
                if n not in self.jobs:
                    continue
                if state.get(n) == 1:
                    cyc = chain[chain.index(n):] + [n] if n in chain else [jid, n]
                    self.problem(f"jobs need each other in a cycle: {' -> '.join(cyc)}", _line(self.jobs[jid].raw, "needs"))
                elif state.get(n) is None:
                    visit(n, chain + [n])
            state[jid] = 2

        for jid in self.jobs:
            if jid not in state:
                visit(jid, [jid])

    # -- contexts ----------------------------------------------------------------------------
    def github(self, event: Event) -> ex.PartialDict:
        ctx = event.github_context()
        owner = self.repository.split("/", 1)[0]
        # The event is a probe buildgate chooses, so its payload is known: a run by a person of
        # the team (not a bot), a plain commit, a pull request from a branch of this repository.
        # Only what is secret or computed at run time stays unknown (the token, step outputs...).
        ctx.update(repository=self.repository, repository_owner=owner, workflow=self.name or self.path,
                   server_url="https://github.com", api_url="https://api.github.com",
                   token=ex.Unknown("github.token"), actor=owner, triggering_actor=owner,
                   run_id="1000001", run_number="42", run_attempt="1", job=ex.Unknown("github.job"))
        payload = ctx["event"]
        payload["repository"].update(full_name=self.repository, name=self.repository.split("/")[-1],
                                     owner={"login": owner}, fork=False, private=False)
        payload["sender"] = {"login": owner, "type": "User"}
        repo_info = {"full_name": self.repository, "fork": False, "name": self.repository.split("/")[-1]}
        if event.is_pr_event:
            pr = payload["pull_request"]
            pr["head"].update(repo=dict(repo_info), label=f"{owner}:{event.head_ref}")
            pr["base"].update(repo=dict(repo_info), sha=event.sha)
            pr.update(draft=False, merged=False, state="open", labels=[], title="Change the images",
                      user={"login": owner}, author_association="MEMBER")
            payload.setdefault("action", "synchronize")
        else:
            payload.setdefault("pull_request", None)
        if event.name == "push":
            payload["head_commit"].update(message="Change the images", author={"name": owner})
            payload.setdefault("created", False)
            payload.setdefault("deleted", False)
            payload.setdefault("forced", False)
        if event.name == "release":
            payload["release"] = {"tag_name": event.tag, "name": event.tag, "prerelease": False, "draft": False}
            payload["action"] = "published"
        if event.name == "create":
            payload.update(ref=event.ref_name, ref_type=event.ref_type)
        if event.name != "workflow_dispatch":
            payload.setdefault("inputs", None)
        if event.name == "workflow_call":  # seen alone, a called workflow's event is its caller's
            why = "the calling workflow's event"
            for key in ("event_name", "ref", "ref_name", "ref_type", "base_ref", "head_ref", "sha"):
                ctx[key] = ex.Unknown(f"github.{key} ({why})")
            ctx["event"] = ex.PartialDict({"repository": ctx["event"]["repository"]}, name="github.event", origin=why)
        return _partial(ctx, "github")

    def base_context(self, event: Event, inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``github`` and ``inputs`` for ``event`` (dispatch inputs get their declared defaults;
        a called workflow gets ``inputs`` from its caller, or unknowns when seen alone)."""
        if inputs is not None:
            return {"github": self.github(event), "inputs": dict(inputs)}
        out: dict[str, Any] = {}
        if event.name == "workflow_dispatch":
            spec = self.triggers.get("workflow_dispatch")
            decl = spec.config.get("inputs") if spec else None
            if isinstance(decl, Mapping):
                for k, v in decl.items():
                    typ = v.get("type") if isinstance(v, Mapping) else None
                    default = v.get("default") if isinstance(v, Mapping) else None
                    val = event.inputs.get(str(k), default)
                    if typ == "boolean" and isinstance(val, str):
                        val = val.lower() == "true"
                    elif typ == "number" and isinstance(val, str):
                        val = ex.to_num(val)
                    out[str(k)] = "" if val is None and typ in (None, "string", "choice", "environment") else val
            for k, v in event.inputs.items():
                out.setdefault(k, v)
        elif event.name == "workflow_call":
            spec = self.triggers.get("workflow_call")
            decl = spec.config.get("inputs") if spec else None
            line = spec.line if spec else self.on_line
            for k in decl if isinstance(decl, Mapping) else []:
                out[str(k)] = ex.Unknown(f"inputs.{k} (set by the calling workflow)", self.where(line))
            return {"github": self.github(event), "inputs": ex.PartialDict(out, name="inputs",
                                                                           origin="set by the calling workflow")}
        return {"github": self.github(event), "inputs": out}

    def env_context(self, event: Event, *layers: Mapping[str, Any], extra: dict | None = None,
                    inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``env`` built from layers (workflow, job, step), each value interpolated (an Unknown
        when it can't be known offline; it keeps its origin)."""
        ctx = dict(self.base_context(event, inputs))
        ctx.update(extra or {})
        env: dict[str, Any] = {}
        for layer in layers:
            line_of = getattr(layer, "line_of", None)
            for k, v in (layer or {}).items():
                where = self.where(line_of(k)) if line_of else self.path
                try:
                    val = ex.interpolate_value(v, {**ctx, "env": dict(env)}, where=where)
                except CannotDecide as exc:
                    val = ex.Unknown(f"env {k}: {exc.reason}", where)
                env[str(k)] = val if isinstance(val, ex.Unknown) else ex.to_str(val)
        return env

    def shell_env(self, event: Event, job: Job, step: Step, matrix: dict | None = None,
                  inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Environment a ``run:`` script sees: the runner's GITHUB_* variables plus env layers
        (values may be Unknown)."""
        out: dict[str, Any] = {
            "GITHUB_SHA": event.sha, "GITHUB_REF": event.ref, "GITHUB_REF_NAME": event.ref_name,
            "GITHUB_REF_TYPE": event.ref_type, "GITHUB_EVENT_NAME": event.name,
            "GITHUB_REPOSITORY": self.repository, "GITHUB_REPOSITORY_OWNER": self.repository.split("/")[0],
            "GITHUB_HEAD_REF": event.head_ref, "GITHUB_BASE_REF": event.base_ref,
        }
        if event.name == "workflow_call":
            gh = self.github(event)
            for var, key in (("GITHUB_SHA", "sha"), ("GITHUB_REF", "ref"), ("GITHUB_REF_NAME", "ref_name"),
                             ("GITHUB_EVENT_NAME", "event_name"), ("GITHUB_HEAD_REF", "head_ref"),
                             ("GITHUB_BASE_REF", "base_ref"), ("GITHUB_REF_TYPE", "ref_type")):
                out[var] = gh[key]
        env = self.env_context(event, self.env, job.env, step.env, extra={"matrix": matrix or {}}, inputs=inputs)
        out.update(env)
        return out

    def step_context(self, event: Event, job: Job, step: Step, matrix: dict | None = None,
                     include_step_env: bool = True, inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        ctx = self.base_context(event, inputs)
        ctx["matrix"] = matrix if isinstance(matrix, ex.PartialDict) else dict(matrix or {})
        layers = [self.env, job.env] + ([step.env] if include_step_env else [])
        ctx["env"] = _runtime_env(self.env_context(event, *layers, extra={"matrix": ctx["matrix"]}, inputs=inputs),
                                  job.steps[: step.index])
        ctx["needs"] = {n: {"result": "success", "outputs": ex.PartialDict(name=f"needs.{n}.outputs")} for n in job.needs}
        steps_ctx = ex.PartialDict(name="steps")
        for prev in job.steps[: step.index]:
            if prev.id:
                steps_ctx[prev.id] = {"outcome": "success", "conclusion": "success",
                                      "outputs": ex.PartialDict(name=f"steps.{prev.id}.outputs")}
        ctx["steps"] = steps_ctx
        ctx["job"] = ex.PartialDict({"status": "success"}, name="job")
        ctx["runner"] = ex.PartialDict({"os": "Linux", "arch": "X64"}, name="runner")
        ctx["strategy"] = ex.PartialDict(name="strategy")
        return ctx

    # -- decisions ---------------------------------------------------------------------------
    def trigger(self, event: Event, changed: Iterable[str] | None = None, message: str = "") -> Decision:
        """Does ``event`` (with ``changed`` paths and head commit ``message``) start this workflow?"""
        trig = self.triggers.get(event.name)
        if trig is None:
            listed = ", ".join(self.triggers) or "nothing"
            return Decision(False, f"`on:` has no {event.name} (triggers: {listed})", self.where(self.on_line))
        where = self.where(trig.line)
        if event.name in BRANCH_EVENTS and message and has_skip_marker(message):
            return Decision(False, f"commit message holds {has_skip_marker(message)}", where)
        if event.name == "push":
            has_b = trig.branches is not None or trig.branches_ignore is not None
            has_t = trig.tags is not None or trig.tags_ignore is not None
            if event.is_tag:
                if has_b and not has_t:
                    return Decision(False, "push filters name only branches, so tag pushes don't trigger", where)
                if not matches_filters(event.tag or "", trig.tags, trig.tags_ignore):
                    return Decision(False, f"tag {event.tag!r} is filtered out by tags {trig.tags or trig.tags_ignore}", where)
                return Decision(True, f"push of tag {event.tag} matches", where)
            if has_t and not has_b:
                return Decision(False, "push filters name only tags, so branch pushes don't trigger", where)
            if not matches_filters(event.branch or "", trig.branches, trig.branches_ignore):
                shown = trig.branches if trig.branches is not None else trig.branches_ignore
                kind = "branches" if trig.branches is not None else "branches-ignore"
                return Decision(False, f"branch {event.branch!r} is filtered out by {kind} {list(shown or [])}",
                                self.where(_line(trig.config, kind)))
        elif event.name in ("pull_request", "pull_request_target"):
            if not matches_filters(event.base_ref, trig.branches, trig.branches_ignore):
                shown = trig.branches if trig.branches is not None else trig.branches_ignore
                kind = "branches" if trig.branches is not None else "branches-ignore"
                return Decision(False, f"base branch {event.base_ref!r} is filtered out by {kind} {list(shown or [])}",
                                self.where(_line(trig.config, kind)))
            if trig.types is not None and not {"opened", "synchronize", "reopened"} & set(trig.types):
                return Decision(False, f"types {trig.types} exclude opened/synchronize", self.where(_line(trig.config, "types")))
        elif event.name == "release" and trig.types is not None and not {"published", "created", "released"} & set(trig.types):
            return Decision(False, f"types {trig.types} exclude published", self.where(_line(trig.config, "types")))
        if event.name in BRANCH_EVENTS and (trig.paths is not None or trig.paths_ignore is not None):
            if changed is None:
                raise CannotDecide(f"{event.name} has path filters; the changed paths are not known", where)
            changed = list(changed)
            if not path_filter_passes(trig.paths, trig.paths_ignore, changed):
                kind = "paths" if trig.paths is not None else "paths-ignore"
                return Decision(False, f"no changed path ({', '.join(changed) or 'none'}) passes {kind} "
                                       f"{list(trig.paths if trig.paths is not None else trig.paths_ignore or [])}",
                                self.where(_line(trig.config, kind)))
        return Decision(True, f"{event.describe()} triggers", where)

    def job_runs(self, job_id: str, event: Event, inputs: Mapping[str, Any] | None = None) -> Decision:
        """Does the job run for ``event`` (given the workflow runs)? Follows ``needs`` and ``if:``;
        CannotDecide names the expression it depends on."""
        key = (job_id, _event_key(event), id(inputs))
        if key in self._job_cache:
            cached = self._job_cache[key]
            if isinstance(cached, CannotDecide):
                raise cached
            return cached
        self._job_cache[key] = Decision(False, "cycle in needs")  # guards against cycles
        try:
            dec = self._job_runs(job_id, event, inputs)
        except CannotDecide as exc:
            self._job_cache[key] = exc
            raise
        self._job_cache[key] = dec
        return dec

    def _job_runs(self, job_id: str, event: Event, inputs: Mapping[str, Any] | None) -> Decision:
        job = self.jobs[job_id]
        results: dict[str, dict[str, Any]] = {}
        status = "success"
        undecided: CannotDecide | None = None
        for n in job.needs:
            if n not in self.jobs:
                raise CannotDecide(f"job {job_id} needs unknown job {n!r}", job.where("needs"))
            try:
                d = self.job_runs(n, event, inputs)
            except CannotDecide as exc:
                undecided = undecided or exc
                results[n] = {"result": ex.Unknown(f"needs.{n}.result ({exc.reason})", exc.where),
                              "outputs": ex.PartialDict(name=f"needs.{n}.outputs")}
                if status == "success":
                    status = "unknown"
                continue
            results[n] = {"result": "success" if d.ok else "skipped",
                          "outputs": ex.PartialDict(name=f"needs.{n}.outputs")}
            if not d.ok:
                status = "skipped"
        ctx = self.base_context(event, inputs)
        ctx["needs"] = results
        where = job.where("if") if "if" in job.raw else job.where()
        if job.if_ is None:
            if status == "skipped":
                skipped = [n for n, r in results.items() if r["result"] == "skipped"]
                return Decision(False, f"needs {', '.join(skipped)}, which did not run", job.where("needs"))
            if status == "unknown" and undecided is not None:
                raise undecided
            return Decision(True, "no if:", where)
        # a skipped need makes success() false; failure() stays false (nothing failed)
        ok = ex.condition(job.if_, ctx, where=where, status=status)
        if isinstance(ok, ex.Unknown):
            raise ex.undecided(ok, f"whether job {job_id} runs on {event.describe()}", where)
        return Decision(bool(ok), f"if: {job.if_} is {str(bool(ok)).lower()} for {event.describe()}", where)

    def step_runs(self, job: Job, step: Step, event: Event, matrix: dict | None = None,
                  inputs: Mapping[str, Any] | None = None) -> Decision:
        where = step.where("if") if "if" in step.raw else step.where()
        if step.if_ is None:
            return Decision(True, "no if:", where)
        ctx = self.step_context(event, job, step, matrix, include_step_env=False, inputs=inputs)
        ok = ex.condition(step.if_, ctx, where=where)
        if isinstance(ok, ex.Unknown):
            raise ex.undecided(ok, f"whether step '{step.label}' runs on {event.describe()}", where)
        return Decision(bool(ok), f"if: {step.if_} is {str(bool(ok)).lower()} for {event.describe()}", where)

    def step_value(self, job: Job, step: Step, key: str, event: Event, matrix: dict | None = None,
                   inputs: Mapping[str, Any] | None = None) -> Any:
        """A ``with:`` input of ``step`` for ``event``: its value, an Unknown, or None when absent."""
        if key not in step.with_:
            return None
        ctx = self.step_context(event, job, step, matrix, inputs=inputs)
        return ex.interpolate_value(step.with_[key], ctx, where=step.where(key))

    def matrices(self, job: Job, event: Event, inputs: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        raw = job.raw.get("strategy")
        where = job.where("strategy")
        if not isinstance(raw, Mapping):
            return [{}]
        ctx = self.base_context(event, inputs)
        ctx["needs"] = {n: {"result": "success", "outputs": ex.PartialDict(name=f"needs.{n}.outputs")} for n in job.needs}
        return expand_matrix(job.matrix, where, ctx)

    def effective_permissions(self, job: Job) -> Permissions:
        """Job permissions replace workflow permissions entirely."""
        return job.permissions if job.permissions is not None else self.permissions

    def build_permissions(self, build: "Build") -> Permissions:
        """The token permissions of the job a build runs in; in a called workflow, what it
        declares capped by the calling job's (it can only lower them), or the caller's."""
        own = build.wf.effective_permissions(build.job)
        if build.caller is None:
            return own
        caller_wf, caller_job = build.caller
        theirs = caller_wf.effective_permissions(caller_job)
        if own.scopes is None:
            return theirs
        if theirs.scopes is None:
            return own
        order = {"none": 0, "read": 1, "write": 2}
        capped = {s: min(own.level(s) or "none", theirs.level(s) or "none", key=lambda x: order.get(x, 0))
                  for s in PERMISSION_SCOPES}
        return Permissions(capped, own.line, own.raw)

    # -- builds ------------------------------------------------------------------------------
    def called(self, job: Job) -> "Workflow | None":
        """The workflow a ``jobs.<id>.uses: ./.github/workflows/x.yml`` job calls, read from this
        repository (None for a workflow of another repository, or when it can't be read)."""
        from buildgate.workflow.discover import called_workflow

        return called_workflow(self, job)

    def builds(self, event: Event) -> list[Build]:
        """Every image build in the workflow (and in the local workflows it calls), with names
        evaluated for ``event`` (unknown ones as Unknowns)."""
        from buildgate.workflow.discover import find_builds

        key = _event_key(event)
        if key not in self._builds_cache:
            self._builds_cache[key] = find_builds(self, event)
        return self._builds_cache[key]

    def build_pushes(self, build: Build, event: Event) -> Decision:
        """Does this build push for ``event``, assuming its job and step run?"""
        from buildgate.workflow.discover import build_pushes

        return build_pushes(build, event)

    def pushes(self, build: Build, event: Event, changed: Iterable[str] | None = None) -> Decision:
        """The whole chain for ``event``: workflow triggers, (calling job runs,) job runs, step
        runs, build pushes. CannotDecide names the expression a link depends on."""
        t = self.trigger(event, changed)
        if not t.ok:
            return Decision(False, f"workflow does not run: {t.reason}", t.where)
        if build.caller is not None:
            caller_wf, caller_job = build.caller
            c = caller_wf.job_runs(caller_job.id, event)
            if not c.ok:
                return Decision(False, f"job {caller_job.id} does not run: {c.reason}", c.where)
        j = build.wf.job_runs(build.job.id, event, build.job_inputs)
        if not j.ok:
            return Decision(False, f"job {build.job.id} does not run: {j.reason}", j.where)
        for outer in build.via_steps:  # a local composite action's step runs when the action does
            s = build.wf.step_runs(build.wf.jobs[build.job.id], outer, event, build.matrix)
            if not s.ok:
                return Decision(False, f"step '{outer.label}' does not run: {s.reason}", s.where)
        s = build.wf.step_runs(build.job, build.step, event, build.matrix, build.inputs)
        if not s.ok:
            return Decision(False, f"step '{build.step.label}' does not run: {s.reason}", s.where)
        return self.build_pushes(build, event)


_ENV_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:=|<<)")


def env_writes(script: str) -> set[str] | None:
    """The names a ``run:`` script writes to ``$GITHUB_ENV`` (read with the shell reader), or
    ``None`` when some write can't be read (``tee``, a redirected group, a computed name...):
    then any name may have changed. Recognised: ``echo``/``printf NAME=... >> "$GITHUB_ENV"`` and
    ``cat >> "$GITHUB_ENV" <<EOF`` with ``NAME=...``/``NAME<<DELIM`` lines."""
    names: set[str] = set()
    read = 0
    for cmd, _ in parse(script).simple_commands():
        redirect = [dequote(cmd.tokens[k + 1].text) for k, tok in enumerate(cmd.tokens)
                    if tok.op and tok.text in (">", ">>") and k + 1 < len(cmd.tokens)]
        if not any("GITHUB_ENV" in target for target in redirect):
            continue
        argv = [dequote(w) for w in cmd.argv]
        if argv[:1] in (["echo"], ["printf"]):
            words = [w for w in argv[1:] if not w.startswith("-")]
        elif argv[:1] == ["cat"] and cmd.heredocs:
            words = [ln for h in cmd.heredocs for ln in h.body.splitlines()]
        else:
            return None
        found = [m.group(1) for w in words for m in [_ENV_NAME.match(w.strip())] if m]
        if not found or any("$" in w.split("=", 1)[0] for w in words if "=" in w):
            return None
        names.update(found)
        read += 1
    return names if read == script.count("GITHUB_ENV") else None


def _runtime_env(env: dict[str, Any], earlier: list[Step]) -> dict[str, Any]:
    """``env`` as a later step sees it: what earlier ``run:`` steps write to ``$GITHUB_ENV`` is
    not known offline (those names become unknown, and every name does when a step writes there
    in a way not read here)."""
    writers = [s for s in earlier if s.run and "GITHUB_ENV" in s.run]
    if not writers:
        return env
    origin = f"written to $GITHUB_ENV by step '{writers[-1].label}' at {writers[-1].where('run')}"
    out = ex.PartialDict(env, name="env", origin=origin)
    for s in writers:
        written = env_writes(s.run or "")
        if written is None:
            return ex.PartialDict({}, name="env", origin=f"written to $GITHUB_ENV by step '{s.label}' at "
                                                          f"{s.where('run')} in a way buildgate doesn't read")
        for name in written:
            out.pop(name, None)
    return out


def _event_key(event: Event) -> tuple:
    return (event.name, event.ref, event.sha, event.base_ref, event.head_ref, tuple(sorted(event.inputs.items())))


def _partial(value: Any, name: str) -> Any:
    if isinstance(value, dict) and not isinstance(value, ex.PartialDict):
        return ex.PartialDict({k: _partial(v, f"{name}.{k}") for k, v in value.items()}, name=name)
    return value


_WF_CACHE: dict[tuple[int, str], Workflow] = {}


def load_workflow(repo: Repo, path: str, repository: str = "ardenone/moltbook-org") -> Workflow:
    """Parse ``path`` in ``repo`` (InputError for a missing/binary/invalid file); cached by content."""
    doc = repo.load_yaml(path)
    key = (id(doc), repository)
    wf = _WF_CACHE.get(key)
    if wf is None or wf.doc is not doc or wf.repo is not repo:
        wf = Workflow(doc, repository, repo)
        if len(_WF_CACHE) > 512:
            _WF_CACHE.clear()
        _WF_CACHE[key] = wf
    return wf
