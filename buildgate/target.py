"""The target: where the repository, registry, cluster and devpod are, and the names to check.

A target file is YAML, validated against :mod:`buildgate.schema.core` with ``jsonschema``.
Defaults are the real target's names from CRITERIA.md (org ``ardenone``, repo ``moltbook-org``).
"""
from __future__ import annotations

import datetime as _dt
import reprlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from buildgate.errors import InputError, TargetError
from buildgate.repo import Repo, clean_rel, read_regular_file
from buildgate.schema.core import SCHEMA
from buildgate.yamlfile import MAX_YAML_BYTES, line_at, parse_yaml

DEFAULT_IMAGES = (
    ("ghcr.io/ardenone/moltbook-api", "./api"),
    ("ghcr.io/ardenone/moltbook-frontend", "./moltbook-frontend"),
)
DEFAULT_SCRIPTS = {
    "local_build": "scripts/build-images.sh",
    "devpod_trigger": "scripts/build-images-devpod.sh",
    "build_status": "scripts/check-build-status.sh",
}


@dataclass(frozen=True)
class Image:
    """An image the workflow must build: its registry name and its build context."""

    name: str
    context: str

    @property
    def registry(self) -> str:
        """The registry host (Docker reference grammar: ``user/app`` is on ``docker.io``)."""
        from buildgate.reference import registry_of

        return registry_of(self.name)

    @property
    def context_path(self) -> str:
        """The context as a clean repository-relative path (``./api`` -> ``api``)."""
        return clean_rel(self.context) or "."


@dataclass(frozen=True)
class Waiver:
    criterion: str
    reason: str
    expires: _dt.date | None

    def expired(self, today: _dt.date | None = None) -> bool:
        return self.expires is not None and (today or _dt.date.today()) > self.expires


@dataclass(frozen=True)
class OwnCriterion:
    """A criterion the target file declares (``criteria: {X1: {title, layer}}``), with its ``file:line``."""

    id: str
    title: str
    layer: str
    where: str


@dataclass
class Target:
    """Everything a run checks. Layer sections stay plain dicts, read by their layer."""

    name: str = "moltbook-org"
    repo_path: Path | None = None
    github: str = "ardenone/moltbook-org"
    default_branch: str = "main"
    workflow: str = ".github/workflows/build-push.yml"
    workflows_dir: str = ".github/workflows"
    kustomization: str = "k8s/kustomization.yml"
    docs: str = "DOCKER_BUILD.md"
    readme: str = "README.md"
    scripts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SCRIPTS))
    bot_authors: tuple[str, ...] = ("github-actions[bot]", "github-actions")
    docs_scope: tuple[str, ...] = ()  # more files D3 reads (path globs), beyond docs, README, scripts, workflows
    images: tuple[Image, ...] = tuple(Image(n, c) for n, c in DEFAULT_IMAGES)
    registry: dict[str, Any] = field(default_factory=dict)
    cluster: dict[str, Any] = field(default_factory=dict)
    devpod: dict[str, Any] = field(default_factory=dict)
    waivers: tuple[Waiver, ...] = ()
    criteria: tuple[OwnCriterion, ...] = ()  # declared by the target file; the pytest plugin registers them
    sections: tuple[str, ...] = ()  # the top-level keys the target file sets
    source: str = "<defaults>"
    sandbox: bool = False
    in_audited_repository: bool = False  # found there (.buildgate/target.yml), not named by the auditor

    def repo(self) -> Repo:
        """The repository, opened read-only."""
        if self.repo_path is None:
            raise TargetError("no repository given (set repo.path in the target or pass --repo)", self.source)
        return Repo(self.repo_path)

    def image(self, name: str) -> Image:
        for img in self.images:
            if img.name == name:
                return img
        raise TargetError(f"no image named {name!r} in the target", self.source)

    def describe(self) -> dict[str, Any]:
        """A credential-free summary for reports."""
        return {
            "name": self.name,
            "source": self.source,
            "sandbox": self.sandbox,
            "in_audited_repository": self.in_audited_repository,
            "repo": str(self.repo_path) if self.repo_path else None,
            "github": self.github,
            "workflow": self.workflow,
            "images": [{"name": i.name, "context": i.context} for i in self.images],
        }


def _check_rel(value: str, key: str, source: str, data: Any, path: tuple) -> str:
    """A repository-relative path from the target file, refused (at file:line) if it leaves."""
    try:
        clean_rel(value)
    except InputError as exc:
        line = line_at(data, path)
        raise TargetError(f"{key}: {value!r}: {exc.reason}", f"{source}:{line}" if line else source) from None
    return value


def _check_glob(value: str, source: str, data: Any, path: tuple) -> str:
    """A ``docs_scope`` glob: relative to the repository root and inside it (no ``..``)."""
    problem = None
    if value.startswith(("/", "\\")) or (len(value) > 1 and value[1] == ":"):
        problem = "absolute path; expected a glob relative to the repository root"
    elif ".." in value.replace("\\", "/").split("/"):
        problem = "'..' leaves the repository"
    elif "\x00" in value or "\n" in value:
        problem = "control character in the glob"
    elif len(value) > 512 or value.count("**") > 8:
        problem = "glob too long (at most 512 characters and 8 '**')"
    if problem:
        line = line_at(data, path)
        raise TargetError(f"repo.docs_scope[{path[-1]}]: {value!r}: {problem}", f"{source}:{line}" if line else source)
    return value


def from_dict(data: Any, source: str = "<dict>", base_dir: Path | None = None) -> Target:
    """Validate a parsed target file and build the :class:`Target`."""
    if data is None:
        data = {}
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        loc = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        path = list(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})), key=str)
            path += extra[:1]  # point at the unknown key itself
        elif "propertyNames" in err.schema_path:
            path.append(err.instance)  # a key of the wrong shape (a declared criterion id): its own line
        line = line_at(data, path)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        where = f"{source}:{line}" if line else source
        raise TargetError(f"{loc}: {_short(err)}{more}", where)

    repo = data.get("repo", {})
    target = Target(source=source)
    target.name = data.get("name", target.name)
    if "path" in repo:
        p = Path(repo["path"]).expanduser()
        target.repo_path = (base_dir / p if base_dir and not p.is_absolute() else p).resolve()
    for key in ("github", "default_branch", "workflows_dir", "workflow", "kustomization", "docs", "readme"):
        if key in repo:
            value = repo[key]
            if key not in ("github", "default_branch"):
                value = _check_rel(value, f"repo.{key}", source, data, ("repo", key))
            setattr(target, key, value)
    target.scripts = {
        **DEFAULT_SCRIPTS,
        **{k: _check_rel(v, f"repo.scripts.{k}", source, data, ("repo", "scripts", k)) for k, v in repo.get("scripts", {}).items()},
    }
    if "bot_authors" in repo:
        target.bot_authors = tuple(repo["bot_authors"])
    if "docs_scope" in repo:
        target.docs_scope = tuple(_check_glob(g, source, data, ("repo", "docs_scope", n))
                                  for n, g in enumerate(repo["docs_scope"]))
    if "images" in data:
        target.images = tuple(
            Image(i["name"], _check_rel(i["context"], f"images[{n}].context", source, data, ("images", n, "context")))
            for n, i in enumerate(data["images"])
        )
    target.registry = dict(data.get("registry", {}))
    target.cluster = dict(data.get("cluster", {}))
    target.devpod = dict(data.get("devpod", {}))
    target.sections = tuple(str(k) for k in data)
    # Declared before the waivers are read: a waiver may name a criterion of the file's own.
    target.criteria = _own_criteria(data.get("criteria", {}), source, data)
    own = [c.id for c in target.criteria]
    target.waivers = tuple(
        Waiver(_check_criterion(w["criterion"], source, data, ("waivers", n, "criterion"), own), w["reason"].strip(),
               _dt.date.fromisoformat(w["expires"]) if w.get("expires") else None)
        for n, w in enumerate(data.get("waivers", []))
    )
    return target


def _own_criteria(section: dict[str, Any], source: str, data: Any) -> tuple[OwnCriterion, ...]:
    """The criteria the file declares; an id of a built-in criterion is refused at its line."""
    from buildgate.criteria import BUILTIN

    out = []
    for cid, spec in section.items():
        line = line_at(data, ("criteria", cid))
        where = f"{source}:{line}" if line else source
        if cid in BUILTIN:
            raise TargetError(f"criteria: {cid} is a built-in criterion; declare an id of your own (e.g. X1)", where)
        out.append(OwnCriterion(cid, " ".join(spec["title"].split()), spec["layer"], where))
    return tuple(out)


def _check_criterion(cid: str, source: str, data: Any, path: tuple, own: list[str] = ()) -> str:
    """A waiver's criterion must be a built-in one or one this file declares (a typo would waive
    nothing)."""
    from buildgate.criteria import CRITERIA, DeclaredCriterion

    known = [c for c, crit in CRITERIA.items() if not isinstance(crit, DeclaredCriterion)] + list(own)
    if cid not in known:
        line = line_at(data, path)
        raise TargetError(f"waivers: unknown criterion {cid!r} (known: {', '.join(known)})",
                          f"{source}:{line}" if line else source)
    return cid


class _BoundedRepr(reprlib.Repr):
    """reprlib that knows the YAML loader's containers (a subclass would be rendered whole)."""

    def repr_LineList(self, obj: list, level: int) -> str:  # noqa: N802 - reprlib's naming
        return self.repr_list(obj, level)

    def repr_LineDict(self, obj: dict, level: int) -> str:  # noqa: N802
        return self.repr_dict(obj, level)


_REPR = _BoundedRepr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlevel, _REPR.maxlist, _REPR.maxdict = 80, 80, 2, 4, 4


def short_repr(value: Any) -> str:
    """A bounded ``repr`` (reprlib): a huge or deeply nested value is never rendered whole."""
    return _REPR.repr(value)


def _short(err: jsonschema.ValidationError) -> str:
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})), key=str)
        return f"unknown key(s) {', '.join(short_repr(k) if not isinstance(k, str) else k for k in extra)}"
    if err.validator == "type":
        return f"expected {err.validator_value}, found {type(err.instance).__name__} {short_repr(err.instance)}"
    if err.validator == "pattern":
        return f"{short_repr(err.instance)} is not a valid value (expected to match {err.validator_value})"
    if err.validator in ("enum", "const"):
        return f"{short_repr(err.instance)} is not one of {short_repr(err.validator_value)}"
    return " ".join(err.message.split())[:200]


def load(path: str | Path) -> Target:
    """Read and validate a target file."""
    p = Path(path)
    if not p.exists():
        raise TargetError("target file not found", str(path))
    try:
        raw = read_regular_file(p, MAX_YAML_BYTES, str(path))
        doc = parse_yaml(raw, str(path))
    except InputError as exc:
        raise TargetError(exc.reason, exc.where) from None
    return from_dict(doc.data, str(path), p.resolve().parent)
