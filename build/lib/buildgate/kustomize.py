"""The kustomization: its ``images:`` overrides, and the manifests it renders (criterion K1).

Two renderers produce the same :class:`Rendered` model:

* ``kubectl kustomize <dir>`` when ``kubectl`` is on PATH and the repository is read from its
  work tree. This is the same kustomize Argo CD runs, so its answer is the reference.
* A built-in reader, used when kubectl is missing, when the repository is read at a git revision
  (kubectl only reads files on disk), when the kustomization has remote resources (buildgate
  never fetches them), or when kubectl fails for a reason that is not the kustomization's fault
  (it could not start, timed out, or hit the network).

The built-in reader is hand-written on purpose: kustomize is a Go program with no Python
binding, and a Python port of it does not exist as a maintained library. Only the part of
kustomize that decides which image a container runs is needed: ``resources``/``bases`` (files
and folders with their own kustomization), ``components``, multi-document YAML and ``List``
objects, ``namespace``, ``namePrefix``/``nameSuffix``, and the ``images:`` transformer. The
transformer is reproduced from kustomize's own rules (``api/filters/imagetag``): every list
named ``containers`` or ``initContainers`` anywhere in an object (CRDs excepted) has each
``image`` matched against ``^<name>(:tag)?(@sha256:digest)?$`` -- ``name`` is used as a regular
expression, unescaped, as kustomize does -- and a match gets newName/newTag/digest (a new tag
drops an old digest and vice versa). Patches that mention an image can't be applied by the
reader, so it refuses to decide rather than guess.

The built-in reader also runs before kubectl, as a guard: it checks every path the
kustomization names (resources, components, patches, generator files) through
:class:`buildgate.repo.Repo`, so an absolute path, a ``..`` escape or a symlink out of the
repository is an :class:`InputError` at ``file:line`` and kubectl never reads outside it. It
also gives each rendered object and container its source ``file:line``.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterator

from buildgate.errors import CannotDecide, InputError
from buildgate.reference import join as join_image
from buildgate.reference import same_name
from buildgate.reference import split as split_image
from buildgate.repo import Repo, clean_rel
from buildgate.result import CheckResult
from buildgate.yamlfile import LineDict, LineList, parse_yaml

KUSTOMIZATION_API = "kustomize.config.k8s.io/v1beta1"
COMPONENT_API = "kustomize.config.k8s.io/v1alpha1"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KUBECTL_TIMEOUT = 60
MAX_RENDER_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 20
MAX_OBJECTS = 10_000

# Kinds the namespace transformer leaves alone (cluster-scoped). Custom resources count as
# namespaced, as in kustomize.
_CLUSTER_SCOPED = frozenset({
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "PersistentVolume", "StorageClass", "PriorityClass", "APIService", "IngressClass",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "RuntimeClass",
    "CSIDriver", "CSINode", "VolumeAttachment", "Node", "PodSecurityPolicy",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ComponentStatus",
})
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*::|[a-z][a-z0-9+.-]*://|git@|(?:github\.com|gitlab\.com|bitbucket\.org)/)",
                     re.I)
# Path-valued kustomization fields the guard checks (kubectl would read these files).
_PATH_LISTS = ("resources", "bases", "components", "crds", "configurations",
               "patchesStrategicMerge", "transformers", "generators", "validators")


# -- images ------------------------------------------------------------------------------------
def image_matches(ref: str, name: str) -> bool:
    """kustomize's ``IsImageMatched``: ``name`` is used as an (unescaped) regular expression."""
    try:
        pattern = re.compile("^" + name + r"(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?$")
    except re.error:
        return False
    return pattern.match(ref) is not None


@dataclass(frozen=True)
class ImageOverride:
    """One ``images:`` entry, with where it stands."""

    name: str | None
    new_name: str | None
    new_tag: str | None
    digest: str | None
    path: str
    line: int
    key_lines: tuple[tuple[str, int], ...] = ()

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def where_of(self, key: str) -> str:
        return f"{self.path}:{dict(self.key_lines).get(key, self.line)}"

    @property
    def effective_name(self) -> str | None:
        """The image name containers get after the override."""
        return self.new_name or self.name

    def apply(self, ref: str) -> str | None:
        """The overridden reference, or None when this entry does not match ``ref``."""
        if not self.name or not image_matches(ref, self.name):
            return None
        name, tag, digest = split_image(ref)
        if self.new_name:
            name = self.new_name
        if self.new_tag and self.digest:
            tag, digest = self.new_tag, self.digest
        elif self.new_tag:
            tag, digest = self.new_tag, ""
        elif self.digest:
            tag, digest = "", self.digest
        return join_image(name, tag, digest)

    def describe(self) -> str:
        parts = [f"name {self.name}"]
        for label, value in (("newName", self.new_name), ("newTag", self.new_tag), ("digest", self.digest)):
            if value:
                parts.append(f"{label} {value}")
        return ", ".join(parts)


# -- the kustomization file --------------------------------------------------------------------
@dataclass
class Kustomization:
    """A parsed kustomization file: its kind, images (with lines) and the raw mapping."""

    path: str
    data: LineDict
    images: list[ImageOverride] = field(default_factory=list)

    @property
    def folder(self) -> str:
        return posixpath.dirname(self.path)

    @property
    def api_version(self) -> Any:
        return self.data.get("apiVersion")

    @property
    def kind(self) -> Any:
        return self.data.get("kind")

    def where(self, key: str | None = None) -> str:
        return f"{self.path}:{self.data.line_of(key) if key else (self.data.line or 1)}"

    def kind_problem(self, allowed: tuple[str, ...] = ("Kustomization",)) -> str | None:
        """Why this is not a Kustomization (or one of ``allowed``), or None when it is."""
        kind = self.kind
        if kind is None and "Kustomization" in allowed:
            if self.api_version not in (None, KUSTOMIZATION_API):
                return f"apiVersion {self.api_version!r} with no kind"
            return None
        if kind not in allowed:
            return f"kind {kind!r}"
        want = KUSTOMIZATION_API if kind == "Kustomization" else COMPONENT_API
        if self.api_version not in (None, want):
            return f"apiVersion {self.api_version!r} for kind {kind}"
        return None

    def entries_for(self, image: str) -> list[ImageOverride]:
        """Entries that make containers use ``image``: newName == image, or name == image and no newName."""
        return [e for e in self.images if e.effective_name and same_name(e.effective_name, image)]

    def near_misses(self, image: str) -> list[ImageOverride]:
        """Entries that look meant for ``image`` but don't produce it (same name, or same last path part)."""
        base = image.rsplit("/", 1)[-1]
        out = []
        for e in self.images:
            if e.effective_name and same_name(e.effective_name, image):
                continue
            names = [n for n in (e.name, e.new_name) if n]
            if any(same_name(n, image) or n.rsplit("/", 1)[-1] == base for n in names):
                out.append(e)
        return out

    @classmethod
    def load(cls, repo: Repo, path: str) -> "Kustomization":
        """Read a kustomization file through ``repo`` (one parse per distinct content)."""
        doc = repo.load_yaml(path)
        data = doc.data
        if not isinstance(data, LineDict):
            found = "an empty file" if data is None else type(data).__name__
            raise InputError(f"expected a kustomization mapping; found {found}", doc.where(1))
        images_raw = data.get("images")
        images: list[ImageOverride] = []
        if images_raw is not None:
            if not isinstance(images_raw, LineList):
                raise InputError("images: expected a list", doc.where(data.line_of("images")))
            texts = None
            for i, item in enumerate(images_raw):
                line = images_raw.line_of(i)
                if not isinstance(item, LineDict):
                    raise InputError("images entry: expected a mapping", doc.where(line))
                values = {}
                for key in ("name", "newName", "newTag", "digest"):
                    v = item.get(key)
                    if v is not None and not isinstance(v, str):
                        # newTag: 0123456 is a string to kustomize; YAML would make it a number.
                        if texts is None:
                            texts = _scalar_texts(repo.read_bytes(path))
                        v = texts.get((item.line_of(key), key), str(v))
                    values[key] = v
                images.append(ImageOverride(
                    values["name"], values["newName"], values["newTag"], values["digest"], doc.path,
                    item.line, tuple((str(k), item.line_of(k)) for k in item),
                ))
        return cls(doc.path, data, images)


def _scalar_texts(raw: bytes) -> dict[tuple[int, str], str]:
    """``(line, key) -> scalar text as written`` for every ``key: scalar`` pair in the first document."""
    import yaml

    out: dict[tuple[int, str], str] = {}
    try:
        node = yaml.compose(raw.decode("utf-8", "replace"), Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return out
    stack = [node] if node is not None else []
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode):
                    out[(k.start_mark.line + 1, k.value)] = v.value
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return out


def find_kustomization(repo: Repo, folder: str) -> str | None:
    """The kustomization file in ``folder`` (kustomize's three names), or None."""
    for name in KUSTOMIZATION_FILES:
        rel = posixpath.join(folder, name) if folder else name
        if repo.exists(rel) and not repo.is_dir(rel):
            return rel
    return None


# -- rendered model ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Container:
    name: str
    image: str
    init: bool = False
    source: str | None = None  # file:line of the image in the source manifest (built-in reader)


@dataclass
class RenderedObject:
    api_version: str
    kind: str
    namespace: str | None
    name: str
    containers: list[Container] = field(default_factory=list)
    source: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.namespace or '-'}/{self.kind}/{self.name}"

    @property
    def key(self) -> tuple[str, str | None, str]:
        return (self.kind, self.namespace, self.name)


@dataclass
class Rendered:
    """The objects a kustomization renders, and which renderer produced them."""

    kustomization: str
    objects: list[RenderedObject]
    renderer: str  # "kubectl" or "builtin"
    evidence: str  # e.g. "rendered with kubectl kustomize v5.5.0"
    notes: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)  # remote resources not followed

    def containers(self) -> Iterator[tuple[RenderedObject, Container]]:
        for obj in self.objects:
            for c in obj.containers:
                yield obj, c


def deployments_images(rendered: Rendered, kinds: tuple[str, ...] = ("Deployment",)) -> dict[tuple[str, str, str], str]:
    """``(namespace, deployment, container) -> image`` for every container of every Deployment.

    ``namespace`` is ``""`` when the manifests leave it unset (the deployer's namespace applies).
    Init containers are included. ``kinds`` widens this to other workloads.
    """
    out: dict[tuple[str, str, str], str] = {}
    for obj in rendered.objects:
        if obj.kind in kinds:
            for c in obj.containers:
                out[(obj.namespace or "", obj.name, c.name)] = c.image
    return out


def _containers_of(obj: Any, path: str) -> list[Container]:
    """kustomize's legacy image walk: any ``containers``/``initContainers`` list at any depth."""
    found: list[Container] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value)
                if key in ("containers", "initContainers") and isinstance(value, list):
                    for i, item in enumerate(value):
                        if isinstance(item, dict) and isinstance(item.get("image"), str):
                            line = item.line_of("image") if isinstance(item, LineDict) else 0
                            found.append(Container(
                                str(item.get("name", f"#{i}")), item["image"], key == "initContainers",
                                f"{path}:{line}" if line else None,
                            ))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(obj)
    return found


@dataclass
class _Obj:
    """An object while the built-in reader transforms it (the parsed YAML itself is never mutated:
    it is shared through :meth:`Repo.load_yaml`'s cache)."""

    api_version: str
    kind: str
    namespace: str | None
    name: str
    source: str
    containers: list[list[Any]]  # [name, image, init, source]

    def freeze(self) -> RenderedObject:
        return RenderedObject(self.api_version, self.kind, self.namespace, self.name,
                              [Container(str(n), str(i), bool(init), src) for n, i, init, src in self.containers],
                              self.source)


# -- the built-in reader -----------------------------------------------------------------------
class _Reader:
    """Follows a kustomization's resources through :class:`Repo` and applies what decides images."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.notes: list[str] = []
        self.remote: list[str] = []
        self.undecidable: list[tuple[str, str]] = []  # (reason, where): only matters if this result is used
        self.count = 0

    def _target_path(self, base: str, entry: Any, where: str, what: str) -> str:
        """Resolve a path the kustomization names, refusing anything outside the repository."""
        if not isinstance(entry, str) or not entry.strip():
            raise InputError(f"{what}: expected a path, found {entry!r}", where)
        if entry.startswith(("/", "\\")) or (len(entry) > 1 and entry[1] == ":"):
            raise InputError(f"{what} {entry!r} is an absolute path; expected a path inside the repository", where)
        joined = posixpath.normpath(posixpath.join(base, entry)) if base else posixpath.normpath(entry)
        if joined == ".." or joined.startswith("../"):
            raise InputError(f"{what} {entry!r} leaves the repository", where)
        rel = "" if joined == "." else joined
        if self.repo.rev is None and rel:
            try:
                self.repo.resolve(rel)
            except InputError as exc:
                raise InputError(f"{what} {entry!r}: {exc.reason}", where) from None
        return rel

    @staticmethod
    def _items(k: Kustomization, key: str) -> list[tuple[Any, str]]:
        """``(entry, file:line)`` for each item of a list field (an InputError if it isn't a list)."""
        value = k.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise InputError(f"{key}: expected a list", k.where(key))
        return [(v, f"{k.path}:{value.line_of(i) if isinstance(value, LineList) else k.data.line_of(key)}")
                for i, v in enumerate(value)]

    def build(self, folder: str, kfile: str | None = None, stack: tuple[str, ...] = (),
              allowed: tuple[str, ...] = ("Kustomization",), where: str | None = None,
              inherited: list[_Obj] | None = None) -> list[_Obj]:
        """The objects of the kustomization in ``folder``; a Component also transforms ``inherited``."""
        if len(stack) > MAX_DEPTH:
            raise InputError(f"kustomizations nested more than {MAX_DEPTH} deep", where)
        if folder in stack:
            raise InputError(f"resource cycle: {' -> '.join((*stack, folder))}", where)
        kfile = kfile or find_kustomization(self.repo, folder)
        if kfile is None:
            raise InputError(f"no kustomization file ({', '.join(KUSTOMIZATION_FILES)}) in {folder or '.'}", where)
        k = Kustomization.load(self.repo, kfile)
        problem = k.kind_problem(allowed)
        if problem:
            raise InputError(f"expected {' or '.join(allowed)}; found {problem}",
                             k.where("kind" if "kind" in k.data else None))
        self._guard_paths(k)
        stack = (*stack, folder)
        objs: list[_Obj] = list(inherited or [])
        for key in ("resources", "bases"):
            for entry, w in self._items(k, key):
                if isinstance(entry, str) and _REMOTE.match(entry):
                    self.remote.append(entry)
                    self.notes.append(f"remote resource {entry} ({w}) not followed")
                    continue
                rel = self._target_path(folder, entry, w, "resource")
                if self.repo.is_dir(rel or "."):
                    objs.extend(self.build(rel, None, stack, ("Kustomization",), w))
                elif self.repo.exists(rel):
                    objs.extend(self._load_file(rel))
                else:
                    raise InputError(f"resource {entry!r} not found", w)
        for entry, w in self._items(k, "components"):
            if isinstance(entry, str) and _REMOTE.match(entry):
                self.remote.append(entry)
                self.notes.append(f"remote component {entry} ({w}) not followed")
                continue
            rel = self._target_path(folder, entry, w, "component")
            objs = self.build(rel, None, stack, ("Component",), w, inherited=objs)
        self._transform(k, objs)
        return objs

    def _guard_paths(self, k: Kustomization) -> None:
        """Every file kubectl would read must stay inside the repository."""
        for key in _PATH_LISTS:
            if key in ("resources", "bases", "components"):
                continue  # checked while following them
            for entry, w in self._items(k, key):
                if isinstance(entry, str) and "\n" not in entry and not _REMOTE.match(entry):
                    self._target_path(k.folder, entry, w, key)
        for key in ("patches", "patchesJson6902"):
            for item, _w in self._items(k, key):
                if isinstance(item, LineDict) and isinstance(item.get("path"), str):
                    self._target_path(k.folder, item["path"], f"{k.path}:{item.line_of('path')}", f"{key} path")
        for key in ("configMapGenerator", "secretGenerator"):
            for item, _w in self._items(k, key):
                if not isinstance(item, LineDict):
                    continue
                for sub in ("files", "envs"):
                    values = item.get(sub)
                    for j, v in enumerate(values if isinstance(values, list) else []):
                        if isinstance(v, str):
                            line = values.line_of(j) if isinstance(values, LineList) else item.line_of(sub)
                            self._target_path(k.folder, v.split("=", 1)[-1], f"{k.path}:{line}", f"{key} {sub}")
                if isinstance(item.get("env"), str):
                    self._target_path(k.folder, item["env"], f"{k.path}:{item.line_of('env')}", f"{key} env")

    def _load_file(self, rel: str) -> list[_Obj]:
        doc = self.repo.load_yaml(rel)
        out: list[_Obj] = []

        def add(data: Any, line: int) -> None:
            if data is None:
                return
            if not isinstance(data, dict):
                raise InputError("expected a Kubernetes object (a mapping)", f"{rel}:{line}")
            kind = str(data.get("kind", ""))
            if kind.endswith("List") and isinstance(data.get("items"), list):
                items = data["items"]
                for i, item in enumerate(items):
                    add(item, items.line_of(i) if isinstance(items, LineList) else line)
                return
            self.count += 1
            if self.count > MAX_OBJECTS:
                raise InputError(f"more than {MAX_OBJECTS} objects rendered", rel)
            meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
            ns = meta.get("namespace")
            containers = [] if kind == "CustomResourceDefinition" else _containers_of(data, rel)
            out.append(_Obj(str(data.get("apiVersion", "")), kind, str(ns) if ns is not None else None,
                            str(meta.get("name", "")), f"{rel}:{line}",
                            [[c.name, c.image, c.init, c.source] for c in containers]))

        for doc_data in doc.documents:
            add(doc_data, getattr(doc_data, "line", 1) or 1)
        return out

    def _transform(self, k: Kustomization, objs: list[_Obj]) -> None:
        """Apply ``k``'s transformers that decide images and object identity, in kustomize's order."""
        d = k.data
        for key in ("patches", "patchesStrategicMerge", "patchesJson6902", "replacements", "helmCharts",
                    "transformers"):
            value = d.get(key)
            if not value:
                continue
            texts = [json.dumps(value, default=str)]
            if key.startswith("patches"):
                for item in value if isinstance(value, list) else []:
                    p = item.get("path") if isinstance(item, dict) else item if isinstance(item, str) else None
                    if isinstance(p, str) and "\n" not in p:
                        rel = self._target_path(k.folder, p, k.where(key), key)
                        if self.repo.exists(rel):
                            texts.append(self.repo.read_text(rel))
            if key in ("helmCharts", "transformers") or any("image" in t for t in texts):
                self.undecidable.append((f"{key} may change images, and only kubectl applies it", k.where(key)))
            else:
                self.notes.append(f"{key} at {k.where(key)} not applied by the built-in reader (it names no image)")
        ns = d.get("namespace")
        prefix, suffix = d.get("namePrefix") or "", d.get("nameSuffix") or ""
        for obj in objs:
            if isinstance(ns, str) and ns:
                if obj.kind == "Namespace":
                    obj.name = ns
                elif obj.kind not in _CLUSTER_SCOPED:
                    obj.namespace = ns
            if (prefix or suffix) and obj.kind not in ("Namespace", "CustomResourceDefinition", "APIService"):
                obj.name = f"{prefix}{obj.name}{suffix}"
            if obj.kind == "CustomResourceDefinition":
                continue
            for c in obj.containers:
                for entry in k.images:
                    new = entry.apply(c[1])
                    if new is not None:
                        c[1] = new


# -- kubectl -----------------------------------------------------------------------------------
def _kubectl_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    env.update(LC_ALL="C", KUBECONFIG=os.devnull, GIT_TERMINAL_PROMPT="0")
    return env


@lru_cache(maxsize=8)
def kubectl_version(exe: str) -> str:
    """kubectl's embedded kustomize version (``v5.5.0``), or ``unknown``."""
    try:
        proc = subprocess.run([exe, "version", "--client", "-o", "json"], capture_output=True,
                              timeout=KUBECTL_TIMEOUT, env=_kubectl_env())
        info = json.loads(proc.stdout or b"{}")
        return str(info.get("kustomizeVersion") or "unknown")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return "unknown"


_NOT_OUR_FAULT = re.compile(
    r"dial tcp|no such host|could not resolve|connection refused|timed? ?out|network is unreachable|"
    r"failed to run '.*git|exec format error|permission denied.*kubectl|signal: killed", re.I,
)


class _KubectlUnusable(Exception):
    """kubectl failed for a reason that is not the kustomization's fault."""


def _run_kubectl(exe: str, repo: Repo, folder: str) -> list[Any]:
    cwd_dir = repo.resolve(folder or ".")
    try:
        proc = subprocess.run([exe, "kustomize", str(cwd_dir)], capture_output=True,
                              timeout=KUBECTL_TIMEOUT, env=_kubectl_env(), cwd=str(repo.root))
    except subprocess.TimeoutExpired:
        raise _KubectlUnusable(f"timed out after {KUBECTL_TIMEOUT}s") from None
    except OSError as exc:
        raise _KubectlUnusable(f"could not start: {exc.strerror}") from None
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace")
        m = re.search(r'err="(.*?)"\s*$', err, re.M) or re.search(r"err=<\s*(.*?)\s*>", err, re.S)
        reason = " ".join((m.group(1) if m else err).split())[:400] or f"exit {proc.returncode}"
        reason = reason.replace(str(repo.root) + "/", "")
        if _NOT_OUR_FAULT.search(err) or proc.returncode < 0:
            raise _KubectlUnusable(reason)
        raise InputError(f"kubectl kustomize failed: {reason}", find_kustomization(repo, folder) or folder)
    if len(proc.stdout) > MAX_RENDER_BYTES:
        raise InputError(f"kubectl kustomize output over {MAX_RENDER_BYTES} bytes", folder)
    return list(parse_yaml(proc.stdout, "<kubectl kustomize>", max_bytes=MAX_RENDER_BYTES).documents)


def render(repo: Repo, path: str, kubectl: str | bool = True, fetch_remote: bool = False) -> Rendered:
    """Render the kustomization at ``path`` (a kustomization file or its folder).

    At a git revision (a history walk) the result is computed once per distinct input: it is
    reused at another revision where every tree entry and blob the rendering read is the same
    (:meth:`Repo.memo`), so a commit that leaves the kustomization's inputs alone renders nothing.

    ``kubectl``: True finds it on PATH, a string is the executable to use, False forces the
    built-in reader. ``fetch_remote``: let kubectl fetch remote resources (off: no network).
    Raises :class:`InputError` for a kustomization that can't be read or built, and
    :class:`CannotDecide` when only the built-in reader could run and the kustomization uses a
    feature it does not apply (a patch naming an image, a transformer plugin, a Helm chart).
    """
    if repo.rev is not None:
        return repo.memo("kustomize-render", (clean_rel(path), kubectl, fetch_remote),
                         lambda: _render(repo, path, kubectl, fetch_remote))
    return _render(repo, path, kubectl, fetch_remote)


def _render(repo: Repo, path: str, kubectl: str | bool, fetch_remote: bool) -> Rendered:
    clean = clean_rel(path)
    if repo.is_dir(clean or "."):
        folder, kfile = clean, find_kustomization(repo, clean)
        if kfile is None:
            raise InputError(f"no kustomization file ({', '.join(KUSTOMIZATION_FILES)})", clean or ".")
    else:
        kfile, folder = clean, posixpath.dirname(clean)
        if not repo.exists(kfile):
            raise InputError("kustomization file not found", kfile)
    reader = _Reader(repo)
    builtin = [o.freeze() for o in reader.build(folder, kfile)]

    exe = shutil.which("kubectl") if kubectl is True else (kubectl or None)
    if not exe:
        why = "kubectl not found" if kubectl is True else "kubectl disabled"
    elif repo.rev is not None:
        why = "reading a git revision; kubectl reads only the work tree"
    elif find_kustomization(repo, folder) != kfile:
        why = f"kubectl reads only {' or '.join(KUSTOMIZATION_FILES)}, not {posixpath.basename(kfile)}"
    elif reader.remote and not fetch_remote:
        why = f"remote resources are not fetched: {', '.join(reader.remote)}"
    else:
        try:
            docs = _run_kubectl(exe, repo, folder)
        except _KubectlUnusable as exc:
            why = f"kubectl kustomize could not run: {exc}"
        else:
            return Rendered(kfile, _from_kubectl(docs, builtin), "kubectl",
                            f"rendered with kubectl kustomize {kubectl_version(exe)}")
    if reader.undecidable:
        reason, where = reader.undecidable[0]
        raise CannotDecide(f"{reason} ({why}); install kubectl to render it", where)
    return Rendered(kfile, builtin, "builtin", f"rendered with the built-in reader ({why})",
                    notes=reader.notes, remote=reader.remote)


def _from_kubectl(docs: list[Any], builtin: list[RenderedObject]) -> list[RenderedObject]:
    """kubectl's objects, with source file:line borrowed from the built-in reader's objects."""
    sources = {o.key: o for o in builtin}
    objects = []
    for d in docs:
        if not isinstance(d, dict):
            continue
        meta = d.get("metadata") if isinstance(d.get("metadata"), dict) else {}
        kind = str(d.get("kind", ""))
        ns = meta.get("namespace")
        obj = RenderedObject(str(d.get("apiVersion", "")), kind, str(ns) if ns is not None else None,
                             str(meta.get("name", "")))
        src = sources.get(obj.key)
        obj.source = src.source if src else None
        lines = {c.name: c.source for c in src.containers} if src else {}
        if kind != "CustomResourceDefinition":
            obj.containers = [Container(c.name, c.image, c.init, lines.get(c.name))
                              for c in _containers_of(d, "<kubectl kustomize>")]
        objects.append(obj)
    return objects


# -- K1 ----------------------------------------------------------------------------------------
def k1_overrides_apply(kust: Kustomization, rendered: Rendered | Callable[[], Rendered],
                    images: list[str] | tuple[str, ...]) -> CheckResult:
    """K1: an ``images:`` entry (newName, newTag) per built image, and the rendered manifests use it.

    ``rendered`` may be a zero-argument callable: it is called only once the file is known to be
    a Kustomization, so a wrong kind is a failure of K1 rather than a rendering error.

    An entry counts for an image when its newName is the image, or its name is and it has no
    newName. The rendered manifests must then run ``image:newTag`` (``@digest`` too, if set)
    in at least one container and in no other tag: a container image the entry's ``name``
    doesn't match keeps its old tag, which is the trap this catches. A kustomization that does
    not render (a missing resource, a bad patch, invalid YAML) fails K1: the repository is broken.
    Names compare by the Docker reference grammar (:mod:`buildgate.reference`).
    """
    if not images:
        raise CannotDecide("the target names no images to check")
    problem = kust.kind_problem()
    if problem:
        return CheckResult.failed(
            f"a Kustomization (apiVersion {KUSTOMIZATION_API}, kind Kustomization)", problem,
            kust.where("kind" if "kind" in kust.data else "apiVersion"),
        )
    if callable(rendered):
        try:
            rendered = rendered()
        except InputError as exc:  # the repository's kustomization is broken, not the audit's input
            return CheckResult.failed(f"{kust.path} to render (kustomize build)", exc.reason, exc.where or kust.where())
    evidence = [rendered.evidence, *rendered.notes]
    failures: list[str] = []
    containers = list(rendered.containers())
    for image in images:
        entries = kust.entries_for(image)
        if not entries:
            near = kust.near_misses(image)
            if near:
                e = near[0]
                failures.append(CheckResult.failed(
                    f"an images: entry with newName {image}", f"{e.describe()}", e.where).message)
            else:
                listed = ", ".join(str(e.effective_name) for e in kust.images) or "no images: entries"
                failures.append(CheckResult.failed(
                    f"an images: entry for {image}", f"none ({listed})",
                    kust.where("images" if "images" in kust.data else None)).message)
            continue
        e = entries[0]
        if len(entries) > 1:
            evidence.append(f"{image}: {len(entries)} images entries yield it "
                            f"({', '.join(x.where for x in entries)}); the rendered manifests decide")
        if not e.new_tag:
            failures.append(CheckResult.failed(
                f"a newTag in the images: entry for {image}", f"{e.describe()}", e.where).message)
            continue
        if not e.new_name:
            evidence.append(f"{image}: images entry {e.where} has no newName; its name already is the image")
        expected = join_image(image, e.new_tag, e.digest or "")
        users = [(o, c) for o, c in containers if same_name(c.image, image)]
        if not users:
            if rendered.remote:
                raise CannotDecide(f"no rendered container runs {image}, and remote resources were not followed "
                                   f"({', '.join(rendered.remote)})", e.where)
            found = "; ".join(f"{c.image} in {o.ref}" + (f" ({c.source})" if c.source else "")
                              for o, c in containers) or "no containers at all"
            if not any(image_matches(c.image, e.name or "") for _o, c in containers):
                found = f"images entry name {e.name!r} matches no container image, so the override never applies; " \
                        f"containers run {found}"
            failures.append(CheckResult.failed(f"a rendered container running {expected}", found, e.where).message)
            continue
        bad = [(o, c) for o, c in users if split_image(c.image)[1:] != (e.new_tag, e.digest or "")]
        for o, c in bad[:1]:
            hint = ""
            if e.name and not image_matches(c.image, e.name):
                hint = f" (images entry name {e.name!r} at {e.where} does not match it, so the override never applies)"
            where = f"{o.ref} container {c.name}" + (f", {c.source}" if c.source else "")
            failures.append(CheckResult.failed(f"{expected} for {image}", f"{c.image}{hint}", where).message)
        if bad:
            continue
        for o, c in users:
            evidence.append(f"{image}: images entry {e.where} ({e.describe()}) -> {o.ref} container {c.name} "
                            f"runs {c.image}" + (f" (source {c.source})" if c.source else ""))
    if failures:
        return CheckResult(False, "; ".join(failures), evidence)
    return CheckResult.passed(
        f"{kust.path} overrides {', '.join(images)} and the rendered manifests use them ({rendered.evidence})",
        evidence)
