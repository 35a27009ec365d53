"""``docker buildx bake``: the targets a bake file defines, as builds.

A bake file is HCL (``docker-bake.hcl``), JSON (``docker-bake.json``) or a Compose file. This
module reads what decides the criteria: each target's ``context``, ``tags``, ``cache-from``,
``cache-to``, ``attest``/``output`` and ``inherits``, ``variable`` defaults (overridden by the
step's environment, as bake does), ``group`` members, and ``--set``/``set:`` overrides.

The HCL reader is hand-written and small on purpose: no maintained HCL2 library is among the
project's dependencies, and bake files use a tiny part of HCL (blocks with a label, attributes
holding strings, lists, maps and booleans, ``${VAR}`` interpolation). Anything else (a function
call, a ``for`` expression) becomes an unknown value naming the file and line; a file that can't
be read at all leaves the target's values unknown, never a guess.
"""
from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from typing import Any

from buildgate.errors import BuildgateError
from buildgate.workflow import expressions as ex
from buildgate.workflow.events import Event
from buildgate.workflow.refs import split_ref

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml",
                 "docker-bake.json", "docker-bake.hcl", "docker-bake.override.json", "docker-bake.override.hcl")
LIST_KEYS = ("tags", "cache-from", "cache-to", "attest", "output", "platforms", "inherits", "targets")
MAX_BAKE = 256 * 1024

_TOKEN = re.compile(r'\s+|#[^\n]*|//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\])*"|[A-Za-z_][A-Za-z0-9_.-]*|-?\d+(?:\.\d+)?|[={}\[\],:()]|.',
                    re.S)


class _Hcl:
    """A bake file's blocks: ``{"target": {name: attrs}, "group": {...}, "variable": {...}}``."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.toks: list[tuple[str, int]] = []
        line = 1
        for m in _TOKEN.finditer(text):
            tok = m.group(0)
            if not tok.strip() or tok.startswith(("#", "//", "/*")):
                line += tok.count("\n")
                continue
            self.toks.append((tok, line))
            line += tok.count("\n")
        self.i = 0

    def peek(self) -> str:
        return self.toks[self.i][0] if self.i < len(self.toks) else ""

    def take(self) -> str:
        tok = self.peek()
        self.i += 1
        return tok

    def line(self) -> int:
        return self.toks[min(self.i, len(self.toks) - 1)][1] if self.toks else 1

    def body(self, end: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        while self.i < len(self.toks) and self.peek() != end:
            name = self.take()
            if name.startswith('"'):
                name = json.loads(name)
            if self.peek() in ("=", ":"):
                self.take()
                out[name] = self.value()
            elif self.peek() == "{" or self.peek().startswith('"'):
                label = json.loads(self.take()) if self.peek().startswith('"') else ""
                if self.take() != "{":
                    raise ValueError("expected {")
                out.setdefault(name, {})[label] = self.body("}")
                self.take()
            if self.peek() == ",":
                self.take()
        return out

    def value(self) -> Any:
        line = self.line()
        tok = self.take()
        if tok.startswith('"'):
            return json.loads(tok)
        if tok == "[":
            items = []
            while self.peek() not in ("]", ""):
                items.append(self.value())
                if self.peek() == ",":
                    self.take()
            self.take()
            return items
        if tok == "{":
            out = self.body("}")
            self.take()
            return out
        if tok in ("true", "false"):
            return tok == "true"
        if tok == "null":
            return None
        if re.fullmatch(r"-?\d+(?:\.\d+)?", tok):
            return tok
        if self.peek() == "(":  # a function call: skip it, its value is unknown
            depth = 0
            while self.i < len(self.toks):
                t = self.take()
                depth += t == "("
                depth -= t == ")"
                if depth == 0:
                    break
            return ex.Unknown(f"{tok}() in {self.path}", f"{self.path}:{line}")
        return ("var", tok, line)


def read_bake(text: str, path: str) -> dict[str, Any]:
    """A bake file's definitions, by its form (JSON, Compose YAML or HCL)."""
    stripped = text.lstrip()
    if path.endswith(".json") or stripped.startswith("{"):
        data = json.loads(text)
        return data if isinstance(data, dict) else {}
    if path.endswith((".yml", ".yaml")):
        from buildgate.yamlfile import parse_yaml

        data = parse_yaml(text.encode(), path).data
        out: dict[str, Any] = {"target": {}, "group": {"default": {"targets": []}}}
        for name, svc in (data.get("services") or {}).items() if isinstance(data, dict) else []:
            if not isinstance(svc, dict) or "build" not in svc:
                continue
            build = svc["build"] if isinstance(svc["build"], dict) else {"context": svc["build"]}
            tags = list(build.get("tags") or []) + ([svc["image"]] if svc.get("image") else [])
            out["target"][str(name)] = {"context": build.get("context", "."), "tags": tags,
                                        "cache-from": build.get("cache_from") or [], "cache-to": build.get("cache_to") or []}
            out["group"]["default"]["targets"].append(str(name))
        return out
    return _Hcl(text, path).body()


def _resolve(value: Any, variables: dict[str, Any], path: str) -> Any:
    """Variables and ``${VAR}`` interpolation put in (an Unknown where they can't be)."""
    if isinstance(value, tuple) and value[:1] == ("var",):
        name, line = value[1], value[2]
        return variables.get(name, ex.Unknown(f"bake variable {name}", f"{path}:{line}"))
    if isinstance(value, list):
        return [_resolve(v, variables, path) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, variables, path) for k, v in value.items()}
    if isinstance(value, str) and "${" in value:
        pieces: list[Any] = []
        pos = 0
        for m in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value):
            pieces.append(value[pos:m.start()])
            pieces.append(variables.get(m.group(1), ex.Unknown(f"bake variable {m.group(1)}", path)))
            pos = m.end()
        pieces.append(value[pos:])
        return ex.concat(pieces)
    return value


def _targets(defs: dict[str, Any], wanted: list[str]) -> list[str]:
    targets = defs.get("target") or {}
    groups = defs.get("group") or {}
    out: list[str] = []

    def add(name: str, depth: int = 0) -> None:
        if depth > 8:
            return
        if name in groups and isinstance(groups[name], dict):
            for t in groups[name].get("targets") or []:
                if isinstance(t, str):
                    add(t, depth + 1)
        elif name in targets and name not in out:
            out.append(name)

    for w in wanted or ["default"]:
        add(w)
    if not out and not wanted:
        out = [t for t in targets if t != "docker-metadata-action"]
    return out


def _target_attrs(defs: dict[str, Any], name: str, depth: int = 0) -> dict[str, Any]:
    t = (defs.get("target") or {}).get(name)
    if not isinstance(t, dict) or depth > 8:
        return {}
    merged: dict[str, Any] = {}
    for parent in t.get("inherits") or []:
        if isinstance(parent, str):
            merged.update(_target_attrs(defs, parent, depth + 1))
    merged.update(t)
    return merged


def _apply_set(attrs: dict[str, Any], target: str, sets: list[str]) -> None:
    for s in sets:
        key, _, value = s.partition("=")
        pattern, _, attr = key.partition(".")
        if not attr or not fnmatch.fnmatchcase(target, pattern):
            continue
        attr = attr.strip()
        if attr in LIST_KEYS:
            attrs[attr] = [value]
        else:
            attrs[attr] = value


def _read_files(wf: Any, files: list[str], workdir: str) -> tuple[dict[str, Any], list[str], str | None]:
    """The merged definitions of the bake files (later files override), the files read, and why
    a named file could not be read."""
    defs: dict[str, Any] = {}
    read: list[str] = []
    problem = None
    repo = wf.repo
    if repo is None:
        return defs, read, "the repository is not available"
    candidates = files or [f for f in DEFAULT_FILES if repo.exists(posixpath.join(workdir, f) if workdir else f)]
    for f in candidates:
        if f.startswith("cwd://") or "\u27e6" in f:
            continue  # metadata-action's bake file: written at run time
        rel = posixpath.normpath(posixpath.join(workdir, f) if workdir else f)
        try:
            text = repo.read_text(rel)
            if len(text) > MAX_BAKE:
                raise ValueError("bake file too large")
            part = read_bake(text, rel)
        except (BuildgateError, ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
            problem = f"{rel}: {exc}"
            continue
        read.append(rel)
        for kind, blocks in part.items():
            if isinstance(blocks, dict):
                for label, body in blocks.items():
                    if isinstance(body, dict):
                        defs.setdefault(kind, {}).setdefault(label, {}).update(body)
    return defs, read, problem


def _builds(wf: Any, job: Any, step: Any, matrix: Any, event: Event, inputs: Any, files: list[str],
            wanted: list[str], sets: list[str], push: Any, meta: Any, env: dict[str, Any], where: str,
            workdir: str = "", command: list[str] | None = None, conditional: bool = False, line: int | None = None) -> list[Any]:
    from buildgate.workflow.model import Build

    defs, read, problem = _read_files(wf, files, workdir)
    variables: dict[str, Any] = {}
    for name, body in (defs.get("variable") or {}).items():
        if isinstance(body, dict):
            variables[name] = env.get(name, _resolve(body.get("default", ""), variables, where))
    out = []
    names = _targets(defs, wanted)
    if not names:
        why = problem or (f"no target {', '.join(wanted) or 'default'} in {', '.join(read)}" if read else "no bake file found")
        u = ex.Unknown(f"the bake targets ({why})", where)
        out.append(Build(job, step, matrix, "bake", u, [split_ref(u, where)], meta, command=command,
                         shell_conditional=conditional, wf=wf, inputs=inputs, line=line,
                         options={"push": [push]}))
        return out
    for name in names:
        attrs = _resolve(_target_attrs(defs, name), variables, where)
        _apply_set(attrs, name, sets)
        tags = attrs.get("tags") or []
        refs = [split_ref(t, where) for t in (tags if isinstance(tags, list) else [tags])]
        target_meta = meta if "docker-metadata-action" in (_target_attrs(defs, name).get("inherits") or []) or (
            meta is not None and not refs) else None
        if target_meta is not None:
            from buildgate.workflow.discover import meta_images

            refs = meta_images(wf.step_value(job, target_meta, "images", event, matrix, inputs),
                               target_meta.where("images"))
        context = attrs.get("context", ".")
        if isinstance(context, str) and workdir:
            context = posixpath.normpath(posixpath.join(workdir, context))
        opts = {k: [x for x in (attrs.get(k) if isinstance(attrs.get(k), list) else [attrs.get(k)]) if x is not None]
                for k in ("cache-from", "cache-to", "attest", "output")}
        opts["push"] = [push]
        opts["target"] = [name]
        out.append(Build(job, step, matrix, "bake", context, refs, target_meta, command=command,
                         shell_conditional=conditional, wf=wf, inputs=inputs, line=line, options=opts))
    return out


def bake_action_builds(wf: Any, job: Any, step: Any, matrix: Any, event: Event, inputs: Any) -> list[Any]:
    """The builds of a ``docker/bake-action`` step."""
    from buildgate.workflow.discover import meta_step_for, split_items

    def val(key: str) -> Any:
        return wf.step_value(job, step, key, event, matrix, inputs)

    files = [f if isinstance(f, str) else "\u27e6" for f in split_items(val("files"))]
    wanted = [t for t in split_items(val("targets")) if isinstance(t, str)]
    sets = [s for s in split_items(val("set"), "\n") if isinstance(s, str)]
    meta = meta_step_for(job, step, [step.with_.get("files")])
    workdir = val("workdir") or ""
    env = {k: v for k, v in wf.env_context(event, wf.env, job.env, step.env, inputs=inputs).items()}
    return _builds(wf, job, step, matrix, event, inputs, files, wanted, sets, val("push"), meta, env,
                   step.where(), workdir if isinstance(workdir, str) else "")


def bake_command_builds(wf: Any, job: Any, step: Any, matrix: Any, event: Event, inputs: Any, args: list[str],
                        cmd: Any, unknowns: dict) -> list[Any]:
    """The builds of a ``docker buildx bake [OPTIONS] [TARGET...]`` command line."""
    files, sets, wanted = [], [], []
    push = False
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-f", "--file", "--set") and i + 1 < len(args):
            (files if a != "--set" else sets).append(args[i + 1])
            i += 2
            continue
        if a.startswith(("--file=", "--set=")):
            (files if a.startswith("--file=") else sets).append(a.split("=", 1)[1])
        elif a == "--push":
            push = True
        elif a.startswith("-"):
            pass
        else:
            wanted.append(a)
        i += 1
    env = {k: v for k, v in wf.shell_env(event, job, step, matrix, inputs).items()}
    where = step.where("run")
    wanted = [w for w in wanted if "\u27e6" not in w and "$" not in w]
    return _builds(wf, job, step, matrix, event, inputs, files, wanted, sets, push,
                   None, env, where, command=cmd.words, conditional=cmd.conditional and not cmd.after_success, line=cmd.line)


def bake_pushes(build: Any, event: Event) -> Any:
    from buildgate.workflow.buildargs import output_pushes
    from buildgate.workflow.model import Decision

    push = (build.options.get("push") or [None])[0]
    where = build.step.where("push") if "push" in build.step.with_ else build.where
    if isinstance(push, ex.Unknown):
        raise ex.undecided(push, f"whether {build.describe()} pushes on {event.describe()}", where)
    outputs = [o for o in build.options.get("output", []) if isinstance(o, str)]
    pushes = (push is True or str(push).strip().lower() == "true") or output_pushes(outputs)
    if pushes and build.shell_conditional:
        from buildgate.errors import CannotDecide

        raise CannotDecide("cannot decide whether `docker buildx bake` pushes: it is guarded by shell logic", where)
    return Decision(bool(pushes), f"bake target {', '.join(build.options.get('target', ['?']))} "
                                  f"{'pushes' if pushes else 'does not push'}", where)

