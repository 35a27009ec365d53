"""ApplicationSets: the Applications a template generates, resolved offline where possible.

Generators whose parameters can be computed from the repository alone are expanded:

* ``list``: its literal ``elements`` (``elementsYaml`` is unknown);
* ``git`` with ``directories`` over *this* repository: the folders of its tree matching the
  globs (``*`` within one folder, ``**`` across), minus ``exclude: true`` globs, giving
  ``path``, ``path.basename``, ``path.basenameNormalized``, ``path[N]`` (``.path.path``,
  ``.path.basename``, ``.path.segments`` … with ``goTemplate``);
* ``matrix``: the product of its two children.

Every other generator (clusters, SCM provider, pull requests, git files, plugins, merge) gives
one parameter set with no keys, so each expression that reads it is an :class:`Unknown`. The
folders come from the revision buildgate reads, not from the generator's ``revision``.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from buildgate.gitops.objects import Deployer, Fields, application_deployers, describe
from buildgate.gitops.values import Markers, Params, Unknown, parse_helm_template
from buildgate.repo_url import repo_key

MAX_PARAM_SETS = 256


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A folder glob as Argo CD matches it: ``*`` and ``?`` stay in one folder, ``**`` crosses."""
    out = []
    i = 0
    p = pattern.strip().strip("/")
    while i < len(p):
        c = p[i]
        if p.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = p.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = p[i + 1:end].replace("\\", "\\\\")
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def _dir_params(path: str, go: bool) -> dict[str, Any]:
    segments = path.split("/")
    base = segments[-1]
    normalized = re.sub(r"[^a-z0-9-]+", "-", base.lower())
    if go:
        return {"path": {"path": path, "basename": base, "basenameNormalized": normalized, "segments": segments}}
    out: dict[str, Any] = {"path": path, "path.basename": base, "path.basenameNormalized": normalized}
    for i, s in enumerate(segments):
        out[f"path[{i}]"] = s
    return out


def _flatten_element(element: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in element.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten_element(v, key + "."))
        else:
            out[key] = v
    return out


class Generators:
    """Parameter sets of an ApplicationSet's generators (``[{}]`` stands for unknown ones)."""

    def __init__(self, f: Fields, folders: Callable[[], list[str]], our_key: str | None, go: bool) -> None:
        self.f = f
        self.folders = folders
        self.our_key = our_key
        self.go = go
        self.notes: list[str] = []

    def of(self, gens: Any, name: str) -> list[dict[str, Any]]:
        if isinstance(gens, Unknown) or gens is None:
            return [{}]
        out: list[dict[str, Any]] = []
        for i, g in enumerate(gens):
            item = f"{name}[{i}]"
            if not isinstance(g, dict):
                raise self.f.error(f"{self.f.label}: {item}: expected a mapping; found {describe(g)}",
                                   self.f.where_item(gens, i))
            out += self.one(g, item, self.f.where_item(gens, i))
            if len(out) > MAX_PARAM_SETS:
                self.notes.append(f"{item}: more than {MAX_PARAM_SETS} parameter sets; read as unknown")
                return [{}]
        return out

    def one(self, g: dict, name: str, where: str) -> list[dict[str, Any]]:
        f = self.f
        if "list" in g:
            lst = f.get(g, "list", dict, f"{name}.list")
            elements = f.get(lst, "elements", list, f"{name}.list.elements")
            if isinstance(elements, Unknown) or elements is None:
                self.notes.append(f"{name}: list elements unknown offline")
                return [{}]
            sets = []
            for i, e in enumerate(elements):
                if not isinstance(e, dict):
                    raise f.error(f"{f.label}: {name}.list.elements[{i}]: expected a mapping; found {describe(e)}",
                                  f.where_item(elements, i))
                sets.append(dict(e) if self.go else _flatten_element(e))
            self.notes.append(f"{name}: list of {len(sets)} element(s)")
            return sets
        if "git" in g:
            git = f.get(g, "git", dict, f"{name}.git")
            url = f.get(git, "repoURL", str, f"{name}.git.repoURL")
            dirs = f.get(git, "directories", list, f"{name}.git.directories")
            if not dirs or isinstance(dirs, Unknown):
                self.notes.append(f"{name}: git files generator: parameters unknown offline")
                return [{}]
            if not isinstance(url, str) or self.our_key is None or repo_key(url) != self.our_key:
                self.notes.append(f"{name}: git directories of another repository: parameters unknown offline")
                return [{}]
            include, exclude = [], []
            for i, d in enumerate(dirs):
                if not isinstance(d, dict):
                    raise f.error(f"{f.label}: {name}.git.directories[{i}]: expected a mapping (path, exclude); "
                                  f"found {describe(d)}", f.where_item(dirs, i))
                pattern = f.get(d, "path", str, f"{name}.git.directories[{i}].path")
                excl = f.get(d, "exclude", bool, f"{name}.git.directories[{i}].exclude")
                if not isinstance(pattern, str) or isinstance(excl, Unknown):
                    return [{}]
                (exclude if excl else include).append(glob_regex(pattern))
            found = [d for d in self.folders()
                     if any(rx.match(d) for rx in include) and not any(rx.match(d) for rx in exclude)]
            self.notes.append(f"{name}: git directories of this repository: {', '.join(found) or 'none'}")
            return [_dir_params(d, self.go) for d in found]
        if "matrix" in g:
            matrix = f.get(g, "matrix", dict, f"{name}.matrix")
            children = f.get(matrix, "generators", list, f"{name}.matrix.generators")
            if not isinstance(children, list) or not children:
                return [{}]
            product: list[dict[str, Any]] = [{}]
            for i, child in enumerate(children):
                if not isinstance(child, dict):
                    raise f.error(f"{f.label}: {name}.matrix.generators[{i}]: expected a mapping; found "
                                  f"{describe(child)}", f.where_item(children, i))
                sets = self.one(child, f"{name}.matrix.generators[{i}]", where)
                product = [_merge(a, b) for a in product for b in sets]
                if len(product) > MAX_PARAM_SETS:
                    return [{}]
            return product
        kinds = ", ".join(str(k) for k in g if k not in ("selector", "values", "template")) or "empty"
        self.notes.append(f"{name}: {kinds} generator: parameters unknown offline")
        return [{}]


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


def _describe(params: dict[str, Any]) -> str:
    if not params:
        return "unknown parameters"
    flat = _flatten_element(params)
    keys = [k for k in flat if k in ("path", "path.path")] or list(flat)[:2]
    return ", ".join(f"{k}={flat[k]}" for k in keys if not isinstance(flat[k], (list, dict)))


def appset_deployers(f: Fields, data: Any, obj_where: str, folders: Callable[[], list[str]],
                     our_key: str | None) -> tuple[list[Deployer], list[str]]:
    """The deployers of every Application an ApplicationSet generates, and notes on its generators."""
    spec = f.get(data, "spec", dict, "spec")
    go = f.get(spec, "goTemplate", bool, "spec.goTemplate") is True
    template = f.get(spec, "template", dict, "spec.template")
    patch_text = f.get(spec, "templatePatch", str, "spec.templatePatch")
    gens = Generators(f, folders, our_key, go)
    sets = gens.of(f.get(spec, "generators", list, "spec.generators"), "spec.generators")
    patch_tree, patch_fields = None, None
    if isinstance(patch_text, str) and patch_text.strip():
        patch_tree, markers = parse_template_patch(patch_text, f.where(spec, "templatePatch"))
        offset = spec.line_of("templatePatch") if hasattr(spec, "line_of") else 0
        patch_fields = f.with_params(Params(None, True, True, markers), offset)
    elif isinstance(patch_text, Unknown):
        patch_tree = patch_text
    out: list[Deployer] = []
    for params in sets:
        fp = f.with_params(Params(params, go, templated=True, markers=f.params.markers))
        tspec = fp.get(template, "spec", dict, "spec.template.spec")
        deps = application_deployers(fp, tspec, obj_where, "spec.template.spec") if tspec is not None else []
        if patch_tree is not None:
            extra = _patch_settings(patch_fields, patch_tree) if patch_fields else ([], [patch_tree])
            for d in deps:
                d.overrides += extra[0]
                d.unknowns += extra[1]
        for d in deps:
            d.generated = _describe(params)
        out += deps
    return out, gens.notes


def _patch_settings(f: Fields, tree: Any) -> tuple[list, list[Unknown]]:
    """Overrides and unknowns a ``templatePatch`` adds to the generated sources."""
    spec = f.get(tree, "spec", dict, "spec.templatePatch spec")
    overrides: list = []
    unknowns: list[Unknown] = []
    if isinstance(spec, Unknown):
        return [], [spec]
    for d in application_deployers(f, spec, f.where(tree), "spec.templatePatch.spec") if spec else []:
        overrides += d.overrides
        unknowns += d.unknowns
        for value in (d.url, d.path, d.revision):
            if isinstance(value, Unknown):
                unknowns.append(value)
    return overrides, unknowns


def parse_template_patch(text: str, where: str) -> tuple[Any, Markers]:
    """An ApplicationSet ``templatePatch`` (a Go template of YAML) as a tree with markers."""
    doc, markers = parse_helm_template(text, where)
    return doc.data, markers
