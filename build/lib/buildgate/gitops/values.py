"""Values that can't be known offline, and the templates that produce them.

GitOps manifests are often templates: an ApplicationSet's ``spec.template`` holds generator
parameters (``{{path}}``, ``{{.path.basename}}``), and an app-of-apps Helm chart holds
``{{ .Values.spec.source.repoURL }}``. A value such templates produce is an :class:`Unknown`
naming the expression and where it stands; checks decide whatever does not depend on it and
raise :class:`~buildgate.errors.CannotDecide` with that name otherwise (CRITERIA.md, unknown
values).

* :class:`Params` resolves ApplicationSet expressions from a generator's parameter set
  (fasttemplate ``{{ key }}`` and Go-template ``{{ .key.sub }}`` field paths; any other Go
  template action, or a missing key, is unknown).
* :func:`parse_helm_template` reads a Helm template as YAML: control lines (``{{- if }}``,
  ``{{- end }}``, ``range``, ``with``, ``define``, comments) are blanked, an inline action
  becomes a marker string, and a line-sized action that emits YAML (``{{- toYaml .Values.x |
  nindent 4 }}``) becomes a marker *key* in its mapping: keys missing from that mapping are
  unknown, since the action may write them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from buildgate.yamlfile import YamlDocument, parse_yaml

MARKER = "__buildgate_unknown_"
_MARKER_RX = re.compile(MARKER + r"(\d+)__")
_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)
_CONTROL = re.compile(r"^\s*(?:/\*.*\*/|if\b|else\b|end\b|range\b|with\b|define\b|block\b|template\b|break\b|"
                      r"continue\b|\$[A-Za-z0-9_]*\s*:?=)", re.S)
_INDENT = re.compile(r"\b(n?indent)\s+(\d+)")
_FIELD_PATH = re.compile(r"^\.?[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*$")
_FAST_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-\[\]]*$")


@dataclass(frozen=True)
class Unknown:
    """A value a template computes that can't be known offline."""

    expr: str
    where: str

    def __str__(self) -> str:
        return f"{self.expr} (at {self.where})"


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


@dataclass
class Markers:
    """The expressions a Helm template's markers stand for (marker number -> expression)."""

    exprs: dict[int, str] = field(default_factory=dict)

    def first(self, text: str) -> str | None:
        m = _MARKER_RX.search(text)
        return self.exprs.get(int(m.group(1)), "{{ … }}") if m else None


def has_marker_key(node: Any) -> str | None:
    """The expression of a marker key in ``node`` (a mapping an action writes into), or None."""
    if isinstance(node, dict):
        for key in node:
            if isinstance(key, str) and key.startswith(MARKER):
                return key
    return None


class Params:
    """How strings of one template resolve: a parameter set (None: unknown parameters),
    Go-template or fasttemplate syntax, and the markers of a Helm template."""

    def __init__(self, params: dict[str, Any] | None = None, go: bool = False, templated: bool = False,
                 markers: Markers | None = None) -> None:
        self.params = params
        self.go = go
        self.templated = templated  # strings of an ApplicationSet template: {{ }} is a parameter
        self.markers = markers

    def resolve(self, text: str, where: str) -> str | Unknown:
        """``text`` with its expressions replaced, or the :class:`Unknown` it depends on."""
        if self.markers is not None and MARKER in text:
            return Unknown(self.markers.first(text) or "{{ … }}", where)
        if not self.templated or "{{" not in text:
            return text
        out: list[str] = []
        pos = 0
        for m in re.finditer(r"\{\{(.*?)\}\}", text, re.S):
            out.append(text[pos:m.start()])
            value = self._lookup(m.group(1).strip())
            if value is None:
                return Unknown(m.group(0), where)
            out.append(value)
            pos = m.end()
        out.append(text[pos:])
        return "".join(out)

    def _lookup(self, expr: str) -> str | None:
        if self.params is None:
            return None
        if self.go:
            expr = expr.strip("- ")
            if not _FIELD_PATH.match(expr) or not expr.startswith("."):
                return None  # a pipeline, a function call, index …: not evaluated here
            value: Any = self.params
            for part in expr[1:].split("."):
                if not isinstance(value, dict) or part not in value:
                    return None
                value = value[part]
        else:
            if not _FAST_KEY.match(expr):
                return None
            value = self.params.get(expr)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        return None


def _line_action(line: str) -> tuple[str, str] | None:
    """(kind, expr) when ``line`` is nothing but template actions: ``control`` or ``emit``."""
    stripped = line.strip()
    if not stripped.startswith("{{") or not stripped.endswith("}}"):
        return None
    rest = _ACTION.sub("", stripped).strip()
    if rest:
        return None
    actions = [m.group(1).strip() for m in _ACTION.finditer(stripped)]
    if all(_CONTROL.match(a) or not a for a in actions):
        return "control", stripped
    return "emit", stripped


def parse_helm_template(raw: str, path: str) -> tuple[YamlDocument, Markers]:
    """Parse a Helm template as YAML with its actions turned into markers (see the module doc).

    Raises :class:`~buildgate.errors.InputError` at ``path:line`` when even that is not YAML.
    """
    markers = Markers()
    lines = raw.split("\n")
    out: list[str] = []
    for line in lines:
        kind = _line_action(line)
        if kind is None:
            def mark(m: re.Match[str]) -> str:
                n = len(markers.exprs)
                markers.exprs[n] = " ".join(m.group(0).split())
                return f"{MARKER}{n}__"
            out.append(_ACTION.sub(mark, line))
            continue
        what, expr = kind
        if what == "control":
            out.append("")
            continue
        n = len(markers.exprs)
        markers.exprs[n] = " ".join(expr.split())
        m = _INDENT.search(expr)
        indent = int(m.group(2)) if m else len(line) - len(line.lstrip())
        out.append(" " * indent + f"{MARKER}{n}__: {MARKER}{n}__")
    return parse_yaml("\n".join(out), path), markers
