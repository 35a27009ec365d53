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
from typing import Any

from buildgate.errors import CannotDecide, InputError
from buildgate.gitops.appset import appset_deployers
from buildgate.gitops.flux import FluxSource, flux_deployer, flux_source
from buildgate.gitops.objects import (
    Deployer,
    Fields,
    application_deployers,
    clean_path,
    gitops_kind,
    object_name,
)
from buildgate.gitops.values import Markers, Params, parse_helm_template
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


def folder_of(kustomization: str) -> str:
    """The folder a kustomization file sits in (``k8s/kustomization.yml`` -> ``k8s``)."""
    return clean_path(posixpath.dirname(kustomization))

