"""Image overrides a GitOps object applies on top of what it deploys, and which images they hit.

Forms read (each gives an :class:`Override` with its ``file:line``):

* Argo CD ``kustomize.images`` strings, as ``kustomize edit set image`` reads them:
  ``name:tag``, ``name@sha256:…``, ``name=newname``, ``name=newname:tag``,
  ``name=newname@digest`` (and ``name:tag@digest``).
* Flux ``spec.images`` / HelmRelease ``postRenderers[].kustomize.images`` mappings
  (``name``, ``newName``, ``newTag``, ``digest``).
* Helm settings: Argo CD ``helm.parameters`` (``image.tag=…``), ``helm.values`` (a YAML string),
  ``helm.valuesObject``, Flux HelmRelease ``spec.values``. A setting is about an image when a
  key on its path names one (``image``, ``images``, ``apiImage``, ``imageTag``…) or its leaf is a
  tag or digest (``tag``, ``apptag``, ``digest``); ``pullPolicy``/``pullSecrets`` are not.
* Patches (Argo CD ``kustomize.patches``, Flux ``spec.patches``) that set a container's
  ``image`` to a built image.

Image names compare with the Docker reference grammar (:func:`buildgate.reference.normalize_name`):
``user/app`` is ``docker.io/user/app``, ``app`` is ``docker.io/library/app``, and a first path
part with ``.`` or ``:`` (or ``localhost``) is a registry host. Names the kustomization itself
maps onto a built image (``name: api`` with ``newName: ghcr.io/org/api``) count as that image,
because ``kustomize edit set image api:latest`` rewrites that entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from buildgate.gitops.values import Unknown
from buildgate.reference import normalize_name
from buildgate.reference import split as split_image

_NOT_IMAGE_LEAVES = frozenset({"pullpolicy", "imagepullpolicy", "pullsecrets", "imagepullsecrets", "pullsecret"})
_TAG_LEAVES = ("tag", "digest", "version")
_NAME_LEAVES = ("repository", "repo", "name", "image", "registry")


Text = "str | Unknown | None"


@dataclass(frozen=True)
class Override:
    """One setting that changes which image (tag, digest or name) a deployed container runs."""

    source: str  # the field it comes from: ``spec.source.kustomize.images[0]``
    where: str  # file:line (or namespace/Kind/name for a live object)
    text: str  # the setting as written (credentials masked by the caller's evidence)
    name: str | Unknown | None  # the image it is about (None: the chart's own, unnamed)
    new_name: str | Unknown | None = None
    tag: str | Unknown | None = None
    digest: str | Unknown | None = None

    @property
    def forces(self) -> str:
        """What it forces: ``tag latest``, ``digest sha256:…``, ``name other/app``."""
        parts = []
        for label, value in (("name", self.new_name), ("tag", self.tag), ("digest", self.digest)):
            if value is not None:
                parts.append(f"{label} {value.expr if isinstance(value, Unknown) else value}")
        return ", ".join(parts) or "nothing"

    def describe(self) -> str:
        """One line: where, which field, what it sets."""
        return f"{self.where} {self.source} {self.text} (forces {self.forces})"

    def changes_something(self) -> bool:
        """A tag or digest set, or a new name: ``name`` alone is a no-op."""
        if self.tag is not None or self.digest is not None:
            return True
        if self.new_name is None:
            return False
        if isinstance(self.new_name, Unknown) or isinstance(self.name, Unknown) or self.name is None:
            return True
        return normalize_name(self.new_name) != normalize_name(self.name)


class BuiltImages:
    """The images the workflow builds, and the names the kustomization maps onto them."""

    def __init__(self, images: Iterable[str], aliases: Iterable[str] = ()) -> None:
        self.names = [str(i) for i in images]
        self._keys = {normalize_name(i) for i in self.names}
        self._aliases = {a for a in aliases if a}

    def hits(self, name: str | Unknown | None) -> bool | None:
        """True when ``name`` is a built image (or a kustomization alias of one); None: unknown."""
        if isinstance(name, Unknown):
            return None
        if name is None:
            return None
        return normalize_name(name) in self._keys or split_image(name.strip())[0] in self._aliases

    def override_hits(self, ov: Override) -> bool | None:
        """Whether ``ov`` changes a built image: True, False, or None when that is unknown.

        An unnamed Helm image setting (``image.tag``) is None: which image the chart's ``image``
        is depends on the chart."""
        if not ov.changes_something():
            return False
        results = [self.hits(ov.name)]
        if ov.new_name is not None:
            results.append(self.hits(ov.new_name))
        if any(r is True for r in results):
            return True
        if any(r is None for r in results):
            return None
        return False


# -- parsers -----------------------------------------------------------------------------------
def parse_set_image(text: str) -> tuple[str, str | None, str | None, str | None]:
    """``kustomize edit set image`` argument -> (name, newName, tag, digest)."""
    old, eq, new = text.partition("=")
    ref = new if eq else old
    name, tag, digest = split_image(ref)
    if eq:
        return old.strip(), name.strip() or None, tag or None, digest or None
    return name.strip(), None, tag or None, digest or None


def is_image_key(path: list[str]) -> bool:
    """A Helm values/parameter path that sets an image (see the module doc)."""
    if not path:
        return False
    leaf = path[-1].lower()
    if leaf in _NOT_IMAGE_LEAVES:
        return False
    if any("image" in p.lower() for p in path):
        return True
    return leaf.endswith("tag") or leaf == "digest"


def helm_leaf_role(key: str) -> str | None:
    """``name``, ``tag`` or ``digest`` for a Helm image setting's last key, or None."""
    k = key.lower()
    if k in _NOT_IMAGE_LEAVES:
        return None
    if k.endswith("digest"):
        return "digest"
    if k.endswith("tag") or k == "version":
        return "tag"
    if any(k.endswith(n) for n in _NAME_LEAVES):
        return "name"
    return None


def helm_overrides(settings: list[tuple[list[str], Any, str]], source: str, label: str) -> list[Override]:
    """Overrides from flattened Helm settings ``(key path, value, where)``.

    Settings under the same parent (``api.image.repository`` + ``api.image.tag``) form one
    override naming that image; a string ``image: ghcr.io/org/app:1.0`` is one by itself.
    """
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    order: list[tuple[str, ...]] = []
    out: list[Override] = []
    for path, value, where in settings:
        if not is_image_key(path):
            continue
        role = helm_leaf_role(path[-1])
        dotted = ".".join(path)
        leaf = path[-1].lower()
        if (role == "name" and leaf.endswith("image")) or (role is None and isinstance(value, (str, Unknown))):
            # image: repo/app:tag (the whole reference in one value)
            if isinstance(value, Unknown):
                out.append(Override(f"{source} {dotted}", where, f"{label} {dotted}={value.expr}", value, tag=value))
                continue
            name, tag, digest = split_image(str(value))
            if tag or digest:
                out.append(Override(f"{source} {dotted}", where, f"{label} {dotted}={value}", name,
                                    tag=tag or None, digest=digest or None))
            continue
        if role is None:
            continue
        parent = tuple(path[:-1])
        if parent not in groups:
            groups[parent] = {"where": where, "text": []}
            order.append(parent)
        g = groups[parent]
        g["text"].append(f"{dotted}={value.expr if isinstance(value, Unknown) else value}")
        if role == "name":
            g.setdefault("registry" if leaf == "registry" else "name", value)
        else:
            g[role] = value if isinstance(value, Unknown) else str(value)
            g["where"] = where
    for parent in order:
        g = groups[parent]
        if "tag" not in g and "digest" not in g:
            continue  # a repository alone keeps the kustomization's tag question out of it
        name, registry = g.get("name"), g.get("registry")
        if name is not None and not isinstance(name, (str, Unknown)):
            name = str(name)
        if isinstance(registry, Unknown) and name is not None:
            name = registry
        elif isinstance(name, str) and isinstance(registry, str) and registry:
            name = f"{registry}/{name}"
        out.append(Override(f"{source} {'.'.join(parent) or '(top)'}", g["where"], f"{label} " + ", ".join(g["text"]),
                            name, tag=g.get("tag"), digest=g.get("digest")))
    return out
