"""YAML loading with line numbers, limits and one-line errors.

GitHub Actions and Kubernetes read YAML 1.2, where only ``true``/``false`` are booleans; PyYAML
follows YAML 1.1 and reads a bare ``on:`` key as ``True``. This loader resolves booleans the
YAML 1.2 way, so ``on`` stays ``"on"``; consumers still accept ``True`` for documents loaded
elsewhere. Mappings and sequences come back as :class:`LineDict` / :class:`LineList`, which
remember the 1-based line of each key or item, so checks can say ``file:line``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from buildgate.errors import InputError

MAX_YAML_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000


class LineDict(dict):
    """A dict that remembers where it and each of its keys stand in the file."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A list that remembers where it and each of its items stand in the file."""

    line: int = 0
    item_lines: list

    def line_of(self, index: int) -> int:
        try:
            return self.item_lines[index]
        except (IndexError, AttributeError):
            return self.line


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and line-tracking containers.

    It records what YAML accepts but GitHub Actions rejects (FACTS.md): a key repeated in one
    mapping (PyYAML keeps the last silently) and a merge key ``<<`` (PyYAML merges silently).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[str, int, int]] = []   # (key, line, line of the first)
        self.merge_keys: list[int] = []                        # lines of ``<<`` keys


# YAML 1.2 core schema booleans only: drop the 1.1 yes/no/on/off resolver and add true/false.
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def expanded_size(node: yaml.Node, limit: int = MAX_NODES) -> int:
    """How many nodes the document has with every alias expanded where it is used.

    An alias is one node in the text but a whole subtree wherever it is used, so a 1 kB file can
    expand into billions of nodes ("billion laughs"). Sizes are memoised per node, so this costs
    one visit per distinct node; it stops counting past ``limit``.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        if id(current) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        elif isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        if not children_done:
            stack.append((current, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        sizes[id(current)] = min(limit + 1, 1 + sum(sizes.get(id(c), 0) for c in children))
    return sizes[id(node)]


def _record_strictness(loader: _Loader, node: yaml.MappingNode) -> None:
    """Note merge keys and repeated scalar keys as written (before merges are applied)."""
    first: dict[tuple[str, str], int] = {}
    for key_node, _ in node.value:
        line = key_node.start_mark.line + 1
        if key_node.tag == "tag:yaml.org,2002:merge":
            loader.merge_keys.append(line)
        elif isinstance(key_node, yaml.ScalarNode):
            ident = (key_node.tag, key_node.value)
            if ident in first:
                loader.duplicate_keys.append((key_node.value, line, first[ident]))
            else:
                first[ident] = line


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    _record_strictness(loader, node)
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "found an unhashable mapping key", key_node.start_mark
            ) from None
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def line_at(data: Any, path: Any) -> int | None:
    """The line of the deepest key or item of ``path`` found in ``data`` (best effort).

    A workflow's ``on`` key may be PyYAML's ``True`` in data loaded elsewhere; both are found.
    """
    node, line = data, None
    for part in path:
        if part == "on" and isinstance(node, dict) and "on" not in node and True in node:
            part = True
        if hasattr(node, "line_of"):
            line = node.line_of(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    if getattr(node, "line", None):
        line = line or node.line
    return line


@dataclass(frozen=True)
class YamlDocument:
    """One parsed YAML file: ``data`` is the first document, ``documents`` all of them.

    ``duplicate_keys`` (key, line, line of the first) and ``merge_keys`` (lines) are what YAML
    accepts but stricter readers such as GitHub Actions reject.
    """

    path: str
    documents: tuple[Any, ...]
    duplicate_keys: tuple[tuple[str, int, int], ...] = ()
    merge_keys: tuple[int, ...] = ()

    @property
    def data(self) -> Any:
        return self.documents[0] if self.documents else None

    def where(self, line: int | None = None) -> str:
        return f"{self.path}:{line}" if line else self.path


def decode_text(raw: bytes, path: str) -> str:
    """Bytes to text, refusing binary files with a one-line reason."""
    if b"\x00" in raw[:8192]:
        raise InputError("binary file (contains NUL bytes), expected text", path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path) from None


def parse_yaml(raw: bytes | str, path: str, max_bytes: int = MAX_YAML_BYTES) -> YamlDocument:
    """Parse all documents of a YAML file; any problem is an :class:`InputError` at ``path:line``."""
    size = len(raw)
    if size > max_bytes:
        raise InputError(f"file is {size} bytes, over the {max_bytes}-byte limit for YAML", path)
    text = decode_text(raw, path) if isinstance(raw, bytes) else raw
    loader = _Loader(text)
    try:
        docs = []
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if expanded_size(node) > MAX_NODES:
                line = node.start_mark.line + 1
                raise InputError(f"invalid YAML: the document expands to more than {MAX_NODES} nodes "
                                 "(aliases used many times, or a huge file)", f"{path}:{line}")
            docs.append(loader.construct_document(node))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"{path}:{mark.line + 1}" if mark else path
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(f"invalid YAML: {problem}", line) from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise InputError(f"invalid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", path) from None
    finally:
        loader.dispose()
    return YamlDocument(path, tuple(docs), tuple(loader.duplicate_keys), tuple(loader.merge_keys))
