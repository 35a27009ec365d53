"""Flux objects as deployers: a Kustomization or HelmRelease with its ``sourceRef`` followed to the
GitRepository (or OCIRepository, Bucket) found in the repository, which gives the URL and revision.

A GitRepository with no ``spec.ref`` tracks the branch ``master`` (Flux's default), and ``ref``
fields take Flux's precedence: ``commit`` > ``name`` > ``semver`` > ``tag`` > ``branch``. A
``sourceRef`` with no namespace is the object's own; an object with no namespace (set by a parent
kustomization) matches a source by name. A chart of a Helm repository or an OCI chart deploys no
folder of this repository; an OCI artifact or bucket of manifests might, so it is *opaque*.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from buildgate.gitops.images import Override, helm_overrides
from buildgate.gitops.objects import (
    Deployer,
    Fields,
    Value,
    clean_path,
    flatten,
    namespace_of,
    patch_overrides,
)
from buildgate.gitops.values import Unknown
from buildgate.yamlfile import LineDict


@dataclass
class FluxSource:
    """A GitRepository / OCIRepository / Bucket found in the repository."""

    kind: str
    name: str
    namespace: str | None
    where: str
    url: Value
    url_where: str
    revision: Value
    revision_kind: str
    revision_where: str


def flux_source(f: Fields, data: LineDict, kind: str) -> FluxSource:
    spec = f.get(data, "spec", dict, "spec")
    url = f.get(spec, "url", str, "spec.url") if spec is not None else None
    if kind == "Bucket":
        url = f.get(spec, "bucketName", str, "spec.bucketName")
    ref = f.get(spec, "ref", dict, "spec.ref") if not isinstance(spec, Unknown) else spec
    rev_kind, rev, rev_where = "branch", "master", ""  # Flux: no ref means branch master
    if kind != "GitRepository":
        rev_kind, rev = "tag", "latest"
    if isinstance(ref, Unknown):
        rev_kind, rev, rev_where = "ref", ref, ref.where
    elif ref:
        for key in ("commit", "digest", "name", "semver", "tag", "branch"):  # Flux's precedence
            value = f.get(ref, key, str, f"spec.ref.{key}")
            if value:
                rev_kind, rev, rev_where = key, value, f.where(ref, key)
                break
        if rev_kind == "branch" and rev_where == "" and kind == "GitRepository":
            rev_where = f.where(ref)
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) and isinstance(meta.get("name"), str) else "?"
    return FluxSource(kind, name, namespace_of(data), f.where(data), url, f.where(spec, "url"), rev, rev_kind,
                      rev_where)


def source_ref(f: Fields, node: Any, name: str, default_ns: str | None) -> tuple[str, str, str | None] | Unknown | None:
    """``(kind, name, namespace)`` of a Flux ``sourceRef``/``chartRef``."""
    ref = f.get(node, name.rsplit(".", 1)[-1], dict, name)
    if ref is None or isinstance(ref, Unknown):
        return ref
    kind = f.get(ref, "kind", str, f"{name}.kind")
    rname = f.get(ref, "name", str, f"{name}.name")
    ns = f.get(ref, "namespace", str, f"{name}.namespace")
    for v in (kind, rname, ns):
        if isinstance(v, Unknown):
            return v
    if not rname:
        raise f.error(f"{f.label}: {name}.name: missing", f.where(ref))
    return (kind or "GitRepository", rname, ns or default_ns)


def flux_images(f: Fields, node: Any, name: str, unknowns: list[Unknown]) -> list[Override]:
    """Flux/kustomize ``images:`` mappings (``name``, ``newName``, ``newTag``, ``digest``)."""
    out = []
    for item_name, where, item in f.items(node, "images", name, unknowns, dict, " (name, newName, newTag, digest)"):
        vals = {k: f.get(item, k, str, f"{item_name}.{k}") for k in ("name", "newName", "newTag", "digest")}
        if not vals["name"]:
            raise f.error(f"{f.label}: {item_name}.name: missing", where)
        text = ", ".join(f"{k} {v.expr if isinstance(v, Unknown) else v}" for k, v in vals.items() if v)
        out.append(Override(item_name, where, text, vals["name"], vals["newName"], vals["newTag"], vals["digest"]))
    return out


def parse_fluxish_values(f: Fields, spec: Any, unknowns: list[Unknown]) -> list[Override]:
    values = f.get(spec, "values", dict, "spec.values")
    if isinstance(values, Unknown):
        unknowns.append(values)
        return []
    out = helm_overrides(flatten(values, f), "spec.values", "values") if values else []
    vfrom = f.get(spec, "valuesFrom", list, "spec.valuesFrom")
    if isinstance(vfrom, Unknown):
        unknowns.append(vfrom)
    elif vfrom:
        where = f.where(spec, "valuesFrom")
        unknowns.append(Unknown("spec.valuesFrom (values kept in a ConfigMap or Secret of the cluster)", where))
    return out


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
                   unknowns=unknowns, recurse=recurse, generates=recurse)
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


