"""Docker image references: the one normaliser, after the distribution ``reference`` grammar.

Every place that compares image names (target images, workflow images, kustomization entries,
the registry client, GitOps overrides) goes through this module, so ``user/app``,
``docker.io/user/app`` and ``index.docker.io/user/app:1.0`` are one image everywhere.

The grammar (distribution's ``reference`` package, as FACTS.md records it):

- ``[host[:port]/]path[:tag][@digest]``;
- the first path component is a registry host only if it contains ``.`` or ``:`` or is
  ``localhost``; otherwise the host is ``docker.io`` (``index.docker.io`` is the same host), and a
  single-component name on Docker Hub gets ``library/`` (``nginx`` is ``docker.io/library/nginx``);
- path components are lower case ``[a-z0-9]+`` joined by ``.``, ``_``, ``__`` or runs of ``-``;
- a tag is ``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``; a digest is ``algorithm:hex``.

API: :func:`parse` (a :class:`Reference`, normalised; ``strict=True`` raises
:class:`InvalidReference` for what the grammar refuses), :func:`split` (the text cut into name,
tag and digest, nothing normalised: what kustomize's ``images:`` matching needs), :func:`join`,
:func:`normalize_name` and :func:`same_name`. Written here: the Docker SDK only splits a tag off
(``docker.utils.parse_repository_tag``) and has no normaliser or validator.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from buildgate.errors import InputError

DEFAULT_REGISTRY = "docker.io"
_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io", "docker.io")
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                   r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
MAX_NAME = 255


class InvalidReference(InputError):
    """Text the Docker reference grammar refuses."""


@dataclass(frozen=True)
class Reference:
    """A parsed image reference: ``registry``/``path``, and the tag and digest if given."""

    registry: str
    path: str
    tag: str = ""
    digest: str = ""

    @property
    def name(self) -> str:
        """The fully qualified repository name: ``docker.io/library/nginx``."""
        return f"{self.registry}/{self.path}"

    @property
    def familiar(self) -> str:
        """The short form ``docker`` prints: ``nginx``, ``user/app``, ``ghcr.io/o/app``."""
        if self.registry == DEFAULT_REGISTRY:
            return self.path[len("library/"):] if self.path.startswith("library/") else self.path
        return self.name

    def __str__(self) -> str:
        return join(self.name, self.tag, self.digest)


def split(ref: str) -> tuple[str, str, str]:
    """``name, tag, digest`` of a reference as written (``host:5000/a/b:tag@sha256:..``); no
    normalisation: a port's colon is not a tag."""
    name, _, digest = ref.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest


def join(name: str, tag: str = "", digest: str = "") -> str:
    """``name[:tag][@digest]``."""
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def is_host(component: str) -> bool:
    """Whether the first path component of a name is a registry host (``.``, ``:`` or localhost)."""
    return "." in component or ":" in component or component == "localhost"


def parse(ref: str, *, strict: bool = False) -> Reference:
    """The normalised reference of ``ref`` (surrounding blanks ignored).

    With ``strict``, text the grammar refuses (upper case in the path, an empty component, a bad
    tag or digest) raises :class:`InvalidReference`; without, it is normalised as far as it goes
    (the registry client and the comparisons want a key, not a verdict)."""
    text = str(ref).strip()
    name, tag, digest = split(text)
    first, sep, rest = name.partition("/")
    if sep and is_host(first):
        host, path = first.lower(), rest
    else:
        host, path = DEFAULT_REGISTRY, name
    if host in _HUB_ALIASES:
        host = DEFAULT_REGISTRY
    if host == DEFAULT_REGISTRY and path and "/" not in path:
        path = "library/" + path
    if strict:
        problem = _problem(text, host, path, tag, digest)
        if problem:
            raise InvalidReference(f"{text!r} is not a valid image reference: {problem}")
    return Reference(host, path, tag, digest)


def _problem(text: str, host: str, path: str, tag: str, digest: str) -> str | None:
    if not path:
        return "no repository path"
    if len(host) + 1 + len(path) > MAX_NAME:
        return f"name longer than {MAX_NAME} characters"
    if not _HOST.match(host):
        return f"registry host {host!r}"
    for comp in path.split("/"):
        if not _COMPONENT.match(comp):
            why = "upper case" if comp.lower() != comp and _COMPONENT.match(comp.lower()) else "characters"
            return f"path component {comp!r} ({why})"
    if tag and not TAG_RE.match(tag):
        return f"tag {tag!r}"
    if "@" in text and not _DIGEST.match(digest):
        return f"digest {digest!r}"
    return None


def problem(ref: str) -> str | None:
    """Why ``ref`` is not a valid reference, or None."""
    try:
        parse(ref, strict=True)
    except InvalidReference as exc:
        return exc.reason
    return None


def normalize_name(ref: str) -> str:
    """The fully qualified repository name of ``ref`` (tag and digest dropped).

    >>> normalize_name("nginx:1.27")
    'docker.io/library/nginx'
    """
    return parse(ref).name


def same_name(a: str, b: str) -> bool:
    """Whether two references name the same repository (tags and digests ignored). Case is not
    significant here: the grammar allows lower case only, and a name written in upper case (say
    from ``github.repository``) means the same repository to the people who wrote it; whether it
    is valid is :func:`problem`'s question."""
    return normalize_name(a).lower() == normalize_name(b).lower()


def registry_of(ref: str) -> str:
    """The registry host of ``ref`` (``docker.io`` for Docker Hub names)."""
    return parse(ref).registry
