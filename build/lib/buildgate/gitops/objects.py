"""GitOps objects as deployers: what repository, folder and revision each source deploys, and
the image overrides it applies.

One :class:`Deployer` per source: an Argo CD Application's ``spec.source`` or each of its
``spec.sources``; each Application an ApplicationSet generates (see :mod:`.appset`); a Flux
Kustomization or HelmRelease with its ``sourceRef`` followed to the GitRepository (or
OCIRepository) that gives its URL and revision. Every field read is type-checked: a wrong type
is an :class:`~buildgate.errors.InputError` at ``file:line`` (a live object's caller passes
:class:`~buildgate.errors.ProtocolError` and gets ``namespace/Kind/name`` instead).
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any, Callable

from buildgate.cluster.fields import describe as _describe
from buildgate.errors import BuildgateError, InputError
from buildgate.gitops.images import Override, helm_overrides, parse_set_image
from buildgate.gitops.values import Params, Unknown, has_marker_key
from buildgate.reference import split as split_image
from buildgate.yamlfile import parse_yaml

ARGO_GROUP = "argoproj.io"
FLUX_GROUPS = {
    "Kustomization": "kustomize.toolkit.fluxcd.io",
    "GitRepository": "source.toolkit.fluxcd.io",
    "OCIRepository": "source.toolkit.fluxcd.io",
    "Bucket": "source.toolkit.fluxcd.io",
    "HelmRelease": "helm.toolkit.fluxcd.io",
}
ARGO_KINDS = ("Application", "ApplicationSet")

Value = Any  # str | Unknown | None (or a container)


def describe(value: Any) -> str:
    """A value for a message: ``'k8s' (a string)``, ``a mapping``, ``a list``."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return _describe(value)


def clean_path(path: str) -> str:
    """A source path as a repository folder: ``./k8s/`` -> ``k8s``; the root is ``""``."""
    p = posixpath.normpath(path.strip()) if path.strip() else ""
    return "" if p in (".", "/") else p.strip("/")


class Fields:
    """Typed reads from one object, with the place of each field for messages."""

    def __init__(self, path: str, label: str, params: Params | None = None,
                 error: Callable[[str, str], BuildgateError] = InputError, offset: int = 0) -> None:
        self.path = path  # the file (or namespace/Kind/name of a live object)
        self.label = label  # "Application moltbook"
        self.params = params or Params()
        self.error = error
        self.offset = offset  # lines before line 1 of the parsed text (a block inside a file)

    def with_params(self, params: Params, offset: int | None = None) -> "Fields":
        return Fields(self.path, self.label, params, self.error, self.offset if offset is None else offset)

    def where(self, node: Any = None, key: Any = None) -> str:
        line = node.line_of(key) if key is not None and hasattr(node, "line_of") else getattr(node, "line", 0)
        return f"{self.path}:{line + self.offset}" if line else self.path

    def where_item(self, items: Any, index: int) -> str:
        if hasattr(items, "line_of"):
            return f"{self.path}:{items.line_of(index) + self.offset}"
        return self.where(items)

    def get(self, node: Any, key: Any, want: type, name: str) -> Value:
        """``node[key]`` checked to be ``want``; None when absent; :class:`Unknown` when a
        template computes it (a marker, a ``{{ }}`` parameter, an action writing into ``node``)."""
        if isinstance(node, Unknown):
            return node
        if not isinstance(node, dict):
            return None
        if key not in node or node[key] is None:
            marker = has_marker_key(node)
            if marker is not None:
                return Unknown(self.marker_expr(marker), self.where(node, marker))
            return None
        value = node[key]
        where = self.where(node, key)
        if isinstance(value, str):
            resolved = self.params.resolve(value, where)
            if want is str or isinstance(resolved, Unknown):
                return resolved
        if want is list and isinstance(value, dict) and has_marker_key(value):
            return Unknown(self.marker_expr(has_marker_key(value)), where)
        if not isinstance(value, want) or isinstance(value, bool) and want is not bool:
            names = {str: "a string", dict: "a mapping", list: "a list", bool: "a boolean"}
            raise self.error(f"{self.label}: {name}: expected {names.get(want, want.__name__)}; "
                             f"found {describe(value)}", where)
        return value

    def items(self, node: Any, key: str, name: str, unknowns: list[Unknown], want: type = object,
              hint: str = "") -> list[tuple[str, str, Any]]:
        """``(item name, file:line, item)`` for each item of a list field, each checked to be
        ``want``; the list, or an item, that a template writes goes to ``unknowns`` instead."""
        values = self.get(node, key, list, name)
        if isinstance(values, Unknown):
            unknowns.append(values)
            return []
        out = []
        for i, item in enumerate(values or []):
            where = self.where_item(values, i)
            marker = has_marker_key(item)
            if marker is not None:
                unknowns.append(Unknown(self.marker_expr(marker), where))
                continue
            if not isinstance(item, want):
                names = {str: "a string", dict: "a mapping"}
                raise self.error(f"{self.label}: {name}[{i}]: expected {names.get(want, want.__name__)}{hint}; "
                                 f"found {describe(item)}", where)
            out.append((f"{name}[{i}]", where, item))
        return out

    def marker_expr(self, marker: str) -> str:
        markers = self.params.markers
        return (markers.first(marker) if markers else None) or "{{ … }}"


@dataclass
class Deployer:
    """One source of one GitOps object: what it deploys and how."""

    label: str  # "Application moltbook", "Kustomization flux-system/apps"
    where: str  # file:line of the object
    field: str  # "spec.source", "spec.sources[1]", "spec" (Flux)
    url: Value  # the repository URL (str), Unknown, or None (not a git source)
    path: Value  # the folder (str, cleaned), or Unknown
    revision: Value  # Argo targetRevision / Flux ref value, or Unknown
    revision_kind: str = "argo"  # argo | branch | tag | commit | semver | name | none
    revision_where: str = ""
    opaque: str = ""  # an artifact (OCI, bucket) whose content can't be tied to a repository offline
    url_where: str = ""
    recurse: bool = False  # deploys the manifests of subfolders too (Argo CD directory.recurse, Flux)
    generates: bool = False  # Flux: a folder with no kustomization gets one including subfolders' own
    overrides: list[Override] = field(default_factory=list)
    unknowns: list[Unknown] = field(default_factory=list)  # settings a template may write
    generated: str = ""  # "generated by ApplicationSet x with …" for ApplicationSet expansions

    def revision_ok(self, default_branch: str) -> bool | None:
        """Whether the revision is the default branch (True/False; None when unknown)."""
        if self.opaque:
            return True  # an artifact's tag is its revision; there is no branch to compare
        if isinstance(self.revision, Unknown):
            return None
        rev = self.revision or ""
        if self.revision_kind == "argo":
            return rev in ("", "HEAD", default_branch, f"refs/heads/{default_branch}")
        if self.revision_kind == "branch":
            return rev == default_branch
        if self.revision_kind == "name":
            return rev == f"refs/heads/{default_branch}"
        return False

    def revision_text(self) -> str:
        rev = self.revision
        if isinstance(rev, Unknown):
            return rev.expr
        if self.revision_kind == "argo":
            return f"targetRevision {rev}" if rev else "targetRevision (none: HEAD)"
        if self.revision_kind == "branch" and self.revision_where == "":
            return f"branch {rev} (no spec.ref: Flux's default)"
        return f"{self.revision_kind} {rev}"


# -- Argo CD ---------------------------------------------------------------------------------------
def argo_source_deployer(f: Fields, src: Any, field_name: str, obj_where: str) -> Deployer | None:
    """The deployer for one Argo CD source mapping (None for a values-only ``ref`` source)."""
    if isinstance(src, Unknown):
        return Deployer(f.label, obj_where, field_name, src, src, src, unknowns=[src])
    url = f.get(src, "repoURL", str, f"{field_name}.repoURL")
    path = f.get(src, "path", str, f"{field_name}.path")
    rev = f.get(src, "targetRevision", str, f"{field_name}.targetRevision")
    chart = f.get(src, "chart", str, f"{field_name}.chart")
    ref = f.get(src, "ref", str, f"{field_name}.ref")
    if isinstance(ref, str) and ref and path is None:
        return None  # only provides $ref values files to the other sources
    dep = Deployer(f.label, obj_where, field_name, url if url is not None else "",
                   clean_path(path) if isinstance(path, str) else (path if path is not None else ""),
                   rev if rev is not None else "", "argo", f.where(src, "targetRevision"),
                   url_where=f.where(src, "repoURL"))
    if isinstance(chart, str) and chart:
        dep.url, dep.path = None, ""  # a chart from a Helm repository: not a git folder
    elif isinstance(url, str) and url.startswith("oci://"):
        dep.opaque = url
    dep.overrides, dep.unknowns = argo_source_overrides(f, src, field_name)
    directory = f.get(src, "directory", dict, f"{field_name}.directory")
    recurse = f.get(directory, "recurse", bool, f"{field_name}.directory.recurse")
    if isinstance(recurse, Unknown):
        dep.unknowns.append(recurse)
    dep.recurse = recurse is True
    return dep


def argo_source_overrides(f: Fields, src: Any, field_name: str) -> tuple[list[Override], list[Unknown]]:
    """The image overrides of one Argo CD source: ``kustomize.images``, ``kustomize.patches``,
    ``helm.parameters``/``values``/``valuesObject``."""
    overrides: list[Override] = []
    unknowns: list[Unknown] = []
    kust = f.get(src, "kustomize", dict, f"{field_name}.kustomize")
    if isinstance(kust, Unknown):
        unknowns.append(kust)
    elif kust is not None:
        overrides += kustomize_image_strings(f, kust, f"{field_name}.kustomize.images", unknowns)
        overrides += patch_overrides(f, kust, f"{field_name}.kustomize.patches", unknowns)
    helm = f.get(src, "helm", dict, f"{field_name}.helm")
    if isinstance(helm, Unknown):
        unknowns.append(helm)
    elif helm is not None:
        overrides += argo_helm_overrides(f, helm, f"{field_name}.helm", unknowns)
    return overrides, unknowns


def kustomize_image_strings(f: Fields, kust: Any, name: str, unknowns: list[Unknown]) -> list[Override]:
    """Argo CD ``kustomize.images``: ``kustomize edit set image`` arguments."""
    out = []
    for item_name, where, item in f.items(kust, "images", name, unknowns, str,
                                          " (name:tag, name=newname:tag or name@digest)"):
        old, new, tag, digest = parse_set_image(item)
        if not old:
            raise f.error(f"{f.label}: {item_name}: {item!r} names no image", where)
        parts = [f.params.resolve(p, where) if p else None for p in (old, new, tag, digest)]
        text = item if any(isinstance(p, Unknown) for p in parts) else f.params.resolve(item, where)
        out.append(Override(item_name, where, str(text), *parts))
    return out


def patch_overrides(f: Fields, node: Any, name: str, unknowns: list[Unknown]) -> list[Override]:
    """Patches that set a container ``image`` (strategic merge or JSON 6902, inline text or object)."""
    out = []
    for item, where, p in f.items(node, "patches", name, unknowns, dict):
        body = f.get(p, "patch", str, f"{item}.patch")
        if isinstance(body, Unknown):
            unknowns.append(body)
            continue
        if not body:
            continue
        try:
            docs = parse_yaml(body, where).documents
        except InputError as exc:
            raise f.error(f"{f.label}: {item}.patch: {exc.reason}", where) from None
        for doc in docs:
            for value, at in _image_values(doc):
                ref_name, tag, digest = split_image(value)
                out.append(Override(f"{item}.patch {at}", f.where(p, "patch"), f"image {value}", ref_name,
                                    tag=tag or None, digest=digest or None))
    return out


def _image_values(doc: Any, at: str = "") -> list[tuple[str, str]]:
    """``(image, where in the patch)`` for each ``image:`` a patch sets (and JSON 6902 ``…/image``)."""
    out: list[tuple[str, str]] = []
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            if isinstance(item, dict) and isinstance(item.get("path"), str) and item["path"].endswith("/image") \
                    and isinstance(item.get("value"), str) and item.get("op") in ("add", "replace"):
                out.append((item["value"], item["path"]))
            else:
                out += _image_values(item, f"{at}[{i}]")
    elif isinstance(doc, dict):
        for key, value in doc.items():
            if key == "image" and isinstance(value, str):
                out.append((value, f"{at}.image".lstrip(".")))
            elif isinstance(value, (dict, list)):
                out += _image_values(value, f"{at}.{key}".lstrip("."))
    return out


def argo_helm_overrides(f: Fields, helm: Any, name: str, unknowns: list[Unknown]) -> list[Override]:
    settings: list[tuple[list[str], Any, str]] = []
    for item, where, p in f.items(helm, "parameters", f"{name}.parameters", unknowns, dict, " (name, value)"):
        pname = f.get(p, "name", str, f"{item}.name")
        value = f.get(p, "value", str, f"{item}.value")
        if isinstance(pname, Unknown):
            unknowns.append(pname)
            continue
        if pname:
            settings.append((pname.split("."), value if value is not None else "", where))
    overrides = helm_overrides(settings, f"{name}.parameters", "helm parameter")
    values = f.get(helm, "values", str, f"{name}.values")
    if isinstance(values, Unknown):
        unknowns.append(values)
    elif values:
        where = f.where(helm, "values")
        try:
            doc = parse_yaml(values, f"{f.path}").data
        except InputError as exc:
            raise f.error(f"{f.label}: {name}.values: {exc.reason}", where) from None
        base = helm.line_of("values") if hasattr(helm, "line_of") else 0
        overrides += helm_overrides(flatten(doc, f, base), f"{name}.values", "helm values")
    obj = f.get(helm, "valuesObject", dict, f"{name}.valuesObject")
    if isinstance(obj, Unknown):
        unknowns.append(obj)
    elif obj:
        overrides += helm_overrides(flatten(obj, f), f"{name}.valuesObject", "helm valuesObject")
    return overrides


def flatten(node: Any, f: Fields, base: int = 0, path: list[str] | None = None) -> list[tuple[list[str], Any, str]]:
    """Leaves of a values tree: ``(key path, value, file:line)``; ``base`` shifts lines of a
    values block (its line 1 is the line after the ``values: |`` key)."""
    path = path or []
    out: list[tuple[list[str], Any, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            line = node.line_of(key) if hasattr(node, "line_of") else 0
            where = f"{f.path}:{line + base + f.offset}" if line else f.where(node)
            if isinstance(value, (dict, list)):
                out += flatten(value, f, base, path + [str(key)])
            else:
                v = f.params.resolve(value, where) if isinstance(value, str) else value
                out.append((path + [str(key)], v, where))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, (dict, list)):
                out += flatten(value, f, base, path)
            elif isinstance(value, str):
                line = node.line_of(i) if hasattr(node, "line_of") else 0
                where = f"{f.path}:{line + base + f.offset}" if line else f.where(node)
                out.append((path + [str(i)], f.params.resolve(value, where), where))
    return out


def application_deployers(f: Fields, spec: Any, obj_where: str, prefix: str = "spec") -> list[Deployer]:
    """One deployer per source of an Application spec (``spec.sources`` wins over ``spec.source``)."""
    if isinstance(spec, Unknown):
        return [Deployer(f.label, obj_where, prefix, spec, spec, spec, unknowns=[spec])]
    sources = f.get(spec, "sources", list, f"{prefix}.sources")
    out: list[Deployer] = []
    if isinstance(sources, Unknown) and not (isinstance(spec, dict) and isinstance(spec.get("source"), dict)):
        return [Deployer(f.label, obj_where, f"{prefix}.sources", sources, sources, sources, unknowns=[sources])]
    if isinstance(sources, list) and sources:
        for i, src in enumerate(sources):
            name = f"{prefix}.sources[{i}]"
            if isinstance(src, str):
                src = f.params.resolve(src, f.where_item(sources, i))
            if not isinstance(src, (dict, Unknown)):
                raise f.error(f"{f.label}: {name}: expected a mapping; found {describe(src)}", f.where_item(sources, i))
            dep = argo_source_deployer(f, src, name, obj_where)
            if dep is not None:
                out.append(dep)
        return out
    src = f.get(spec, "source", dict, f"{prefix}.source")
    if src is None:
        return out
    dep = argo_source_deployer(f, src, f"{prefix}.source", obj_where)
    return [dep] if dep is not None else []


def object_name(data: Any) -> str:
    meta = data.get("metadata") if isinstance(data, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    name = name if isinstance(name, str) else "?"
    return f"{ns}/{name}" if isinstance(ns, str) and ns else name


def namespace_of(data: Any) -> str | None:
    meta = data.get("metadata") if isinstance(data, dict) else None
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    return ns if isinstance(ns, str) and ns else None


def gitops_kind(data: Any) -> str | None:
    """``Application``, ``ApplicationSet`` or a Flux kind for a GitOps object, else None."""
    if not isinstance(data, dict):
        return None
    api, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api, str) or not isinstance(kind, str):
        return None
    group = api.split("/", 1)[0]
    if kind in ARGO_KINDS and group == ARGO_GROUP:
        return kind
    if FLUX_GROUPS.get(kind) == group:
        return kind
    return None
