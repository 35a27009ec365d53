"""Find the GitOps objects of a repository and turn them into deployers.

Every tracked ``*.yml``/``*.yaml`` file is read once through :class:`~buildgate.repo.Repo`
(files over :data:`SCAN_LIMIT` bytes are skipped and named in the evidence). A file is parsed
only when its text can hold a GitOps object: it names ``argoproj.io`` or ``fluxcd.io``, or has
a backslash (a YAML escape could spell them). A file that names them and is not YAML is an
:class:`~buildgate.errors.InputError` at ``file:line``, except Helm chart templates
(``templates/`` beside a ``Chart.yaml``), which are read with their actions as unknowns and are
a :class:`~buildgate.errors.CannotDecide` when even that fails.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any, Callable

from buildgate.errors import CannotDecide, InputError
from buildgate.gitops.appset import appset_deployers
from buildgate.gitops.objects import (
    Deployer,
    Fields,
    FluxSource,
    application_deployers,
    clean_path,
    flux_images,
    flux_source,
    gitops_kind,
    namespace_of,
    object_name,
    parse_fluxish_values,
    patch_overrides,
    source_ref,
)
from buildgate.gitops.values import Markers, Params, Unknown, parse_helm_template
from buildgate.repo import Repo
from buildgate.yamlfile import MAX_YAML_BYTES, parse_yaml

SCAN_LIMIT = 4 * 1024 * 1024
_HINTS = (b"argoproj.io", b"fluxcd.io")


@dataclass
class Found:
    """One GitOps object as found: ``file:line``, kind and name."""

    where: str
    kind: str
    name: str


@dataclass
class Scan:
    """What a repository holds: GitOps objects, their deployers, Flux sources, skipped files."""

    objects: list[Found] = field(default_factory=list)
    deployers: list[Deployer] = field(default_factory=list)
    sources: list[FluxSource] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unreadable: list[CannotDecide] = field(default_factory=list)
    pending: list[tuple[Fields, Any, str, str]] = field(default_factory=list)  # Flux objects to resolve


def _is_helm_template(repo: Repo, rel: str) -> bool:
    parts = rel.split("/")
    for i in range(len(parts) - 1, 0, -1):
        if parts[i] == "templates":
            chart_dir = "/".join(parts[:i])
            return repo.exists(posixpath.join(chart_dir, "Chart.yaml") if chart_dir else "Chart.yaml")
    return False


def _documents(repo: Repo, rel: str, raw: bytes, scan: Scan) -> tuple[list[Any], Markers | None]:
    named = any(h in raw for h in _HINTS)
    if _is_helm_template(repo, rel):
        if not named:
            return [], None
        try:
            doc, markers = parse_helm_template(raw.decode("utf-8", "replace"), rel)
        except InputError as exc:
            scan.unreadable.append(CannotDecide(
                f"Helm template of a GitOps object can't be read without rendering it ({exc.reason})",
                exc.where))
            return [], None
        return list(doc.documents), markers
    try:
        doc = repo.load_yaml(rel) if len(raw) <= MAX_YAML_BYTES else parse_yaml(raw, rel, SCAN_LIMIT)
    except InputError:
        if named:
            raise
        return [], None  # not YAML, and nothing in it could be a GitOps object
    return list(doc.documents), None


def _items(doc: Any) -> list[Any]:
    """A document, or the items of a ``List``."""
    if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        return list(doc["items"])
    return [doc]


def scan_repository(repo: Repo, our_key: str | None) -> Scan:
    """Every GitOps object of ``repo`` (see the module doc), Argo CD ones as deployers already;
    Flux Kustomizations and HelmReleases are resolved once all sources are known."""
    scan = Scan()
    folders_cache: list[str] = []

    def folders() -> list[str]:
        if not folders_cache:
            seen = set()
            for p in repo.tracked_files():
                d = posixpath.dirname(p)
                while d and d not in seen:
                    seen.add(d)
                    d = posixpath.dirname(d)
            folders_cache.extend(sorted(seen))
        return folders_cache

    for rel in repo.tracked_files():
        if not rel.endswith((".yml", ".yaml")):
            continue
        try:
            raw = repo.read_bytes(rel, limit=SCAN_LIMIT)
        except InputError as exc:
            scan.skipped.append(f"{rel} ({exc.reason})")
            continue
        if not any(h in raw for h in _HINTS) and b"\\" not in raw:
            continue
        docs, markers = _documents(repo, rel, raw, scan)
        for doc in docs:
            for data in _items(doc):
                kind = gitops_kind(data)
                if kind is None:
                    continue
                where = f"{rel}:{getattr(data, 'line', 0) or 1}"
                label = f"{kind} {object_name(data)}"
                scan.objects.append(Found(where, kind, object_name(data)))
                f = Fields(rel, label, Params(markers=markers))
                if kind == "Application":
                    scan.deployers += application_deployers(f, f.get(data, "spec", dict, "spec"), where)
                elif kind == "ApplicationSet":
                    deps, notes = appset_deployers(f, data, where, folders, our_key)
                    scan.deployers += deps
                    scan.notes += [f"{where} {label}: {n}" for n in notes]
                elif kind in ("GitRepository", "OCIRepository", "Bucket"):
                    scan.sources.append(flux_source(f, data, kind))
                else:
                    scan.pending.append((f, data, kind, where))
    for f, data, kind, where in scan.pending:
        scan.deployers.append(flux_deployer(f, data, kind, where, scan.sources))
    return scan


def _find_source(ref: tuple[str, str, str | None], sources: list[FluxSource]) -> list[FluxSource]:
    kind, name, ns = ref
    return [s for s in sources if s.kind == kind and s.name == name
            and (ns is None or s.namespace is None or s.namespace == ns)]


def flux_deployer(f: Fields, data: Any, kind: str, where: str, sources: list[FluxSource]) -> Deployer:
    """A Flux Kustomization or HelmRelease with its source followed to a GitRepository/OCIRepository."""
    spec = f.get(data, "spec", dict, "spec")
    ns = namespace_of(data)
    overrides: list = []
    unknowns: list[Unknown] = []
    if kind == "Kustomization":
        ref = source_ref(f, spec, "spec.sourceRef", ns)
        path = f.get(spec, "path", str, "spec.path")
        overrides += flux_images(f, spec, "spec.images", unknowns)
        overrides += patch_overrides(f, spec, "spec.patches", unknowns)
        recurse = True
    else:  # HelmRelease: a chart from a GitRepository path, or chartRef (OCIRepository / HelmChart)
        chart = f.get(spec, "chart", dict, "spec.chart")
        chart_spec = f.get(chart, "spec", dict, "spec.chart.spec")
        if chart_spec is not None:
            ref = source_ref(f, chart_spec, "spec.chart.spec.sourceRef", ns)
            path = f.get(chart_spec, "chart", str, "spec.chart.spec.chart")
        else:
            ref = source_ref(f, spec, "spec.chartRef", ns)
            path = ""
        overrides += parse_fluxish_values(f, spec, unknowns)
        renderers = f.get(spec, "postRenderers", list, "spec.postRenderers")
        if isinstance(renderers, Unknown):
            unknowns.append(renderers)
        for i, r in enumerate(renderers if isinstance(renderers, list) else []):
            kust = f.get(r, "kustomize", dict, f"spec.postRenderers[{i}].kustomize") if isinstance(r, dict) else None
            if isinstance(kust, Unknown):
                unknowns.append(kust)
            elif kust is not None:
                overrides += flux_images(f, kust, f"spec.postRenderers[{i}].kustomize.images", unknowns)
                overrides += patch_overrides(f, kust, f"spec.postRenderers[{i}].kustomize.patches", unknowns)
        recurse = False
    path_value = clean_path(path) if isinstance(path, str) else (path if path is not None else "")
    dep = Deployer(f.label, where, "spec", None, path_value, None, "none", overrides=overrides,
                   unknowns=unknowns, recurse=recurse)
    if isinstance(ref, Unknown) or ref is None:
        missing = ref or Unknown("spec.sourceRef (missing)", where)
        dep.url = dep.revision = missing
        return dep
    found = _find_source(ref, sources)
    ref_text = f"{ref[0]} {ref[2] + '/' if ref[2] else ''}{ref[1]}"
    if ref[0] not in ("GitRepository", "OCIRepository", "Bucket") or (
            kind == "HelmRelease" and ref[0] != "GitRepository"):
        dep.field = f"spec via {ref_text}"  # a chart of a Helm repository, or an OCI chart: no folder of ours
        return dep
    keys = {(str(s.url), str(s.revision), s.revision_kind) for s in found}
    if len(keys) != 1:
        why = "is not in the repository" if not found else "matches several objects that disagree"
        dep.url = dep.revision = Unknown(f"sourceRef {ref_text} ({why})", where)
        return dep
    src = found[0]
    dep.url, dep.url_where = src.url, src.url_where
    dep.revision, dep.revision_kind, dep.revision_where = src.revision, src.revision_kind, src.revision_where
    if src.kind != "GitRepository":
        dep.opaque = f"{src.kind} {src.url}"
    dep.field = f"spec via {ref_text} at {src.where}"
    return dep


def folder_of(kustomization: str) -> str:
    """The folder a kustomization file sits in (``k8s/kustomization.yml`` -> ``k8s``)."""
    return clean_path(posixpath.dirname(kustomization))


Folders = Callable[[], list[str]]
