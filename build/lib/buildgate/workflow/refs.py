"""Image references as a workflow writes them, known in part.

A build's image reference may hold unknown pieces (a secret, a step output, a matrix computed at
run time): ``quay.io/${{ github.repository_owner }}/app:${{ steps.tag.outputs.tag }}`` has a
known name and an unknown tag; ``${{ secrets.DOCKER_IMAGE }}:latest`` an unknown name and a known
tag. :func:`split_ref` cuts such a value into name and tag without losing what is known, and
:func:`name_could_be` says whether a partly known name can be a given image (the known pieces
must fit the Docker reference grammar's forms of that image, :mod:`buildgate.reference`).

Values are ``str`` or :class:`~buildgate.workflow.expressions.Unknown` (with ``parts`` for a
string known in part). Shell words read from ``run:`` scripts come in as text where unknown
pieces are :func:`marker` strings; :func:`word_value` turns them back into Unknowns.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from buildgate import reference
from buildgate.workflow.expressions import Unknown, concat

_MARK = re.compile(r"\u27e6(\d+)\u27e7")
_SHELL_EXPANSION = re.compile(r"\$(?:\{[^}]*\}?|\([^)]*\)?|[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])|`[^`]*`?")


def marker(n: int) -> str:
    """The text that stands for unknown number ``n`` inside a script."""
    return f"\u27e6{n}\u27e7"


@dataclass(frozen=True)
class ImageRef:
    """One image reference a build names: ``name`` and ``tag`` (None: no tag written)."""

    name: Any  # str (normalised) | Unknown
    tag: Any = None  # str | Unknown | None
    where: str = ""

    @property
    def known(self) -> bool:
        return isinstance(self.name, str)

    def text(self) -> str:
        name = self.name if isinstance(self.name, str) else self.name.text("…")
        if self.tag is None:
            return name
        tag = self.tag if isinstance(self.tag, str) else self.tag.text("…")
        return f"{name}:{tag}"


def word_value(word: str, unknowns: Mapping[int, Unknown], where: str) -> Any:
    """A shell word with marker strings and leftover expansions, as a str or an Unknown."""
    if "\u27e6" not in word and "\u27e7" not in word and not _SHELL_EXPANSION.search(word):
        return word
    pieces: list[Any] = []
    pos = 0
    pattern = re.compile(_MARK.pattern + "|" + _SHELL_EXPANSION.pattern + "|[\u27e6\u27e7]")
    for m in pattern.finditer(word):
        pieces.append(word[pos:m.start()])
        if m.group(1) is not None and int(m.group(1)) in unknowns:
            pieces.append(unknowns[int(m.group(1))])
        else:
            text = m.group(0)
            pieces.append(Unknown(f"shell expansion {text}" if text not in "\u27e6\u27e7" else "a shell expansion",
                                  where, None))
        pos = m.end()
    pieces.append(word[pos:])
    return concat(pieces)


def _split_at(parts: tuple, index: int, offset: int) -> tuple[list, list]:
    before = list(parts[:index]) + ([parts[index][:offset]] if parts[index][:offset] else [])
    after = ([parts[index][offset + 1:]] if parts[index][offset + 1:] else []) + list(parts[index + 1:])
    return before, after


def _value(pieces: list) -> Any:
    if not pieces:
        return ""
    return concat(pieces) if any(isinstance(p, Unknown) for p in pieces) else "".join(pieces)


def split_ref(value: Any, where: str = "") -> ImageRef:
    """``name[:tag][@digest]`` of a value known in part. A ``:`` after the last ``/`` of the known
    text starts the tag; an unknown piece after the last known ``/`` with no known ``:`` after it
    leaves the tag unknown too (it may hold one)."""
    if isinstance(value, str):
        name, tag, _digest = reference.split(value.strip())
        return ImageRef(reference.normalize_name(name) if name else name, tag or None, where)
    if not isinstance(value, Unknown):
        return ImageRef(str(value), None, where)
    parts = value.parts or (value,)
    parts = tuple(p.split("@", 1)[0] if isinstance(p, str) and "@" in p else p for p in parts)
    # the last known '/', then the first known ':' after it
    slash = None
    for i in range(len(parts) - 1, -1, -1):
        p = parts[i]
        if isinstance(p, str) and "/" in p:
            slash = (i, p.rfind("/"))
            break
    start_i, start_off = slash if slash else (0, -1)
    colon = None
    for i in range(start_i, len(parts)):
        p = parts[i]
        if isinstance(p, str):
            j = p.find(":", start_off + 1 if i == start_i else 0)
            if j >= 0:
                colon = (i, j)
                break
    if colon is None:
        tail_unknown = any(isinstance(p, Unknown) for p in parts[start_i + (1 if slash else 0):])
        name_val = _value([p.strip() if isinstance(p, str) else p for p in parts])
        if isinstance(name_val, str):
            return ImageRef(reference.normalize_name(name_val), None, where)
        return ImageRef(name_val, value.origin if tail_unknown else None, where)
    before, after = _split_at(parts, *colon)
    name_val, tag_val = _value(before), _value(after)
    if isinstance(name_val, str):
        name_val = reference.normalize_name(name_val.strip())
    return ImageRef(name_val, tag_val, where)


def _forms(image: str) -> list[str]:
    """The ways a workflow may write ``image``: ``docker.io/library/nginx``, ``library/nginx``, ``nginx``."""
    ref = reference.parse(image)
    out = [ref.name]
    if ref.registry == reference.DEFAULT_REGISTRY:
        out.append(ref.path)
        out.append("index.docker.io/" + ref.path)
        if ref.path.startswith("library/"):
            out.append(ref.path[len("library/"):])
    return out


def name_could_be(name: Any, image: str) -> bool:
    """Whether ``name`` (a normalised str, or an Unknown known in part) can be ``image``."""
    if isinstance(name, str):
        return reference.same_name(name, image)
    if not isinstance(name, Unknown):
        return False
    parts = name.parts or (name,)
    rx = "".join(re.escape(p.lower()) if isinstance(p, str) else ".+" for p in parts)
    pattern = re.compile(rf"^{rx}$", re.S)
    return any(pattern.match(form.lower()) for form in _forms(image))
