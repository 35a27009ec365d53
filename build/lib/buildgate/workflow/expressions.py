"""GitHub Actions expressions: a tokenizer, a parser and an evaluator that never guesses.

``evaluate(expr, context)`` evaluates one expression (with or without the ``${{ }}`` wrapper);
``interpolate(text, context)`` replaces every ``${{ ... }}`` inside a string, the way the runner
does for ``with:``/``env:``/``run:`` values. The rules follow GitHub's documentation:

- literals: ``null``, ``true``/``false``, JSON numbers (plus ``0x`` hex), single-quoted strings
  with ``''`` as the escaped quote;
- property access ``a.b``, index ``a['b']`` / ``a[0]``, the object filter ``a.*.b``;
- ``!``, ``< <= > >=``, ``== !=``, ``&&``, ``||`` (this precedence, tightest first), with
  loose equality: mismatched types are coerced to numbers, strings compare case-insensitively;
  ``&&``/``||`` return an operand, not a boolean;
- functions ``success() failure() always() cancelled() contains() startsWith() endsWith()
  format() join() toJSON() fromJSON()``.

**Unknown values are symbolic.** What can't be known offline (a context missing from
``context`` such as ``secrets`` or ``vars``, a value marked :class:`Unknown`, a key missing from a
:class:`PartialDict`, ``hashFiles()``) evaluates to an :class:`Unknown` that carries its origin:
the expression and ``where`` (a ``file:line``). Unknowns flow through the operators the way the
verdicts need: ``false && secrets.X`` is false, ``true || secrets.X`` is true, a comparison with
an unknown is unknown, and a string built from known text and unknowns is an :class:`Unknown`
with ``parts`` (``quay.io/`` + ``github.repository_owner`` + ``/app:`` + *unknown*), so a caller
can still read the known pieces. Conditions are three-valued (:func:`condition`: True, False or
an Unknown).

Two ways to evaluate: :func:`value` / :func:`interpolate_value` / :func:`condition` return
Unknowns; :func:`evaluate` / :func:`interpolate` / :func:`evaluate_condition` are strict and raise
:class:`CannotDecide` naming the origin when the result is unknown (for callers whose answer
depends on the value). An unknown function is a CannotDecide either way.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from buildgate.errors import CannotDecide, InputError

__all__ = [
    "evaluate", "interpolate", "value", "interpolate_value", "condition", "evaluate_condition", "truth",
    "undecided", "is_unknown", "parse", "strip_template", "is_template", "has_expression",
    "truthy", "to_str", "Unknown", "PartialDict", "ExpressionSyntaxError", "contexts_used",
    "STATUS_FUNCTIONS",
]

STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")
MAX_EXPR_LEN = 21000  # GitHub's own limit on an expression


class ExpressionSyntaxError(InputError):
    """An expression that GitHub itself would reject (bad token, unbalanced parentheses)."""


class Unknown:
    """A value that exists but can't be known offline (a secret, a step output, a run id).

    ``what`` names it (``secrets.DOCKER_IMAGE``); ``where`` is the ``file:line`` of the expression
    that read it and ``expr`` that expression. ``truth`` is its truthiness when that is known
    although the value is not (``x || 'a'``). ``parts`` is set for a string known in part: known
    text and Unknowns, in order."""

    def __init__(self, what: str, where: str | None = None, expr: str | None = None,
                 truth: bool | None = None, parts: tuple = ()) -> None:
        self.what = what
        self.where = where
        self.expr = expr
        self.truth = truth
        self.parts = parts

    def __repr__(self) -> str:
        return f"Unknown({self.what!r})"

    def located(self, where: str | None, expr: str | None) -> "Unknown":
        """This value with an origin (kept when it already has one)."""
        if self.where is not None or (where is None and expr is None):
            return self
        return Unknown(self.what, where, expr if self.expr is None else self.expr, self.truth, self.parts)

    def with_truth(self, truth: bool | None) -> "Unknown":
        return Unknown(self.what, self.where, self.expr, truth, self.parts)

    def leaves(self) -> list["Unknown"]:
        """The unknowns this value is made of (itself when it has no parts)."""
        if not self.parts:
            return [self]
        return [p for part in self.parts if isinstance(part, Unknown) for p in part.leaves()]

    @property
    def origin(self) -> "Unknown":
        """The first unknown it is made of (what a message names)."""
        return self.leaves()[0] if self.leaves() else self

    def describe(self) -> str:
        """What it is and where: ```secrets.X` in `${{ secrets.X != '' }}` at f.yml:12 (not known offline)``."""
        o = self.origin
        name = o.what.split(" (", 1)[0]
        if o.expr and o.expr.strip() != name:
            head = f"`{name}` in `${{{{ {o.expr} }}}}`"
        elif o.expr:
            head = f"`${{{{ {o.expr} }}}}`"
        else:
            head = f"`{name}`"
        note = o.what[len(name):].strip()
        at = f" at {o.where}" if o.where else ""
        return f"{head}{at} ({note[1:-1] + '; ' if note.startswith('(') else ''}not known offline)"

    def text(self, placeholder: str = "*") -> str:
        """The known text with ``placeholder`` for each unknown piece."""
        if not self.parts:
            return placeholder
        return "".join(p if isinstance(p, str) else p.text(placeholder) for p in self.parts)


def undecided(value: "Unknown", what: str, where: str | None = None) -> CannotDecide:
    """The CannotDecide for a decision that depends on ``value``: names its expression and line."""
    o = value.origin
    return CannotDecide(f"cannot decide {what}: it depends on {value.describe()}", where or o.where)


def is_unknown(v: Any) -> bool:
    return isinstance(v, Unknown)


class PartialDict(dict):
    """A context known only in part: a missing key means "not known", not null."""

    def __init__(self, *args: Any, name: str = "", origin: str = "", **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.name = name
        self.origin = origin  # why the missing keys are unknown (named in messages)


# --------------------------------------------------------------------------------- tokens
@dataclass(frozen=True)
class Tok:
    kind: str  # num str ident op punct end
    value: Any
    pos: int


_NUM = re.compile(r"0x[0-9a-fA-F]+|-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_OPS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ".", ",", "*")


def _tokenize(src: str, start: int = 0, stop_at_close: bool = False) -> tuple[list[Tok], int]:
    """Tokens of ``src`` from ``start``; with ``stop_at_close``, stop at a ``}}`` outside strings."""
    toks: list[Tok] = []
    i, n = start, len(src)
    while i < n:
        c = src[i]
        if c in " \t\r\n":
            i += 1
            continue
        if stop_at_close and src.startswith("}}", i):
            toks.append(Tok("end", None, i))
            return toks, i + 2
        if c == "'":
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise ExpressionSyntaxError(f"unterminated string in expression {src[start:][:80]!r}")
                if src[j] == "'":
                    if j + 1 < n and src[j + 1] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(src[j])
                j += 1
            toks.append(Tok("str", "".join(buf), i))
            i = j + 1
            continue
        if c == '"':
            raise ExpressionSyntaxError(f"double-quoted string in expression {src[start:][:80]!r} (GitHub needs single quotes)")
        prev = toks[-1] if toks else None
        # a leading '-' belongs to a number only where an operand is expected
        operand_expected = prev is None or (prev.kind == "op" and prev.value not in (")", "]", "*"))
        m = _NUM.match(src, i)
        if m and (c != "-" or operand_expected) and not (c == "." and not operand_expected):
            text = m.group(0)
            value: float = float(int(text, 16)) if text.lower().startswith("0x") else float(text)
            toks.append(Tok("num", value, i))
            i = m.end()
            continue
        m = _IDENT.match(src, i)
        if m:
            toks.append(Tok("ident", m.group(0), i))
            i = m.end()
            continue
        for op in _OPS:
            if src.startswith(op, i):
                toks.append(Tok("op", op, i))
                i += len(op)
                break
        else:
            raise ExpressionSyntaxError(f"unexpected character {c!r} in expression {src[start:][:80]!r}")
    if stop_at_close:
        raise ExpressionSyntaxError(f"'${{{{' without closing '}}}}' in {src[max(0, start - 3):][:80]!r}")
    toks.append(Tok("end", None, n))
    return toks, n


# --------------------------------------------------------------------------------- AST
@dataclass(frozen=True)
class Node:
    kind: str  # lit ctx prop index filter not bin and or call
    value: Any = None
    args: tuple["Node", ...] = ()


class _Parser:
    def __init__(self, toks: list[Tok], text: str) -> None:
        self.toks, self.i, self.text = toks, 0, text

    def peek(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, value: str) -> None:
        t = self.take()
        if t.kind != "op" or t.value != value:
            got = "end of expression" if t.kind == "end" else repr(t.value)
            raise ExpressionSyntaxError(f"expected {value!r}, found {got} in expression {self.text[:80]!r}")

    def accept(self, value: str) -> bool:
        t = self.peek()
        if t.kind == "op" and t.value == value:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.or_()
        if self.peek().kind != "end":
            raise ExpressionSyntaxError(f"unexpected {self.peek().value!r} in expression {self.text[:80]!r}")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("||"):
            node = Node("or", None, (node, self.and_()))
        return node

    def and_(self) -> Node:
        node = self.eq()
        while self.accept("&&"):
            node = Node("and", None, (node, self.eq()))
        return node

    def eq(self) -> Node:
        node = self.cmp()
        while self.peek().kind == "op" and self.peek().value in ("==", "!="):
            op = self.take().value
            node = Node("bin", op, (node, self.cmp()))
        return node

    def cmp(self) -> Node:
        node = self.unary()
        while self.peek().kind == "op" and self.peek().value in ("<", "<=", ">", ">="):
            op = self.take().value
            node = Node("bin", op, (node, self.unary()))
        return node

    def unary(self) -> Node:
        if self.accept("!"):
            return Node("not", None, (self.unary(),))
        return self.postfix(self.primary())

    def primary(self) -> Node:
        t = self.take()
        if t.kind == "num":
            return Node("lit", t.value)
        if t.kind == "str":
            return Node("lit", t.value)
        if t.kind == "ident":
            word = t.value
            if word == "true":
                return Node("lit", True)
            if word == "false":
                return Node("lit", False)
            if word == "null":
                return Node("lit", None)
            if self.accept("("):
                args: list[Node] = []
                if not self.accept(")"):
                    args.append(self.or_())
                    while self.accept(","):
                        args.append(self.or_())
                    self.expect(")")
                return Node("call", word, tuple(args))
            return Node("ctx", word)
        if t.kind == "op" and t.value == "(":
            node = self.or_()
            self.expect(")")
            return node
        got = "end of expression" if t.kind == "end" else repr(t.value)
        raise ExpressionSyntaxError(f"expected a value, found {got} in expression {self.text[:80]!r}")

    def postfix(self, node: Node) -> Node:
        while True:
            if self.accept("."):
                t = self.take()
                if t.kind == "op" and t.value == "*":
                    node = Node("filter", None, (node,))
                elif t.kind == "ident":
                    node = Node("prop", t.value, (node,))
                else:
                    raise ExpressionSyntaxError(f"expected a property name after '.' in expression {self.text[:80]!r}")
            elif self.accept("["):
                if self.accept("*"):
                    self.expect("]")
                    node = Node("filter", None, (node,))
                else:
                    idx = self.or_()
                    self.expect("]")
                    node = Node("index", None, (node, idx))
            else:
                return node


_PARSE_CACHE: dict[str, Node] = {}


def parse(expr: str) -> Node:
    """Parse one expression (without ``${{ }}``) into an AST; cached."""
    node = _PARSE_CACHE.get(expr)
    if node is None:
        if len(expr) > MAX_EXPR_LEN:
            raise ExpressionSyntaxError(f"expression is {len(expr)} characters, over GitHub's limit")
        toks, _ = _tokenize(expr)
        node = _Parser(toks, expr.strip()).parse()
        if len(_PARSE_CACHE) > 4096:
            _PARSE_CACHE.clear()
        _PARSE_CACHE[expr] = node
    return node


# --------------------------------------------------------------------------------- values
class _Filtered(list):
    """The result of an object filter ``.*``: property access maps over it."""


def truth(v: Any) -> bool | None:
    """Truthiness, or None when it is not known (an :class:`Unknown` without ``truth``)."""
    if isinstance(v, Unknown):
        return v.truth
    return truthy(v)


def truthy(v: Any) -> bool:
    if isinstance(v, Unknown):
        raise undecided(v, "a truth value")
    if v is None or v is False:
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return not (v == 0 or math.isnan(v))
    if isinstance(v, str):
        return v != ""
    return True


def _num_str(f: float) -> str:
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    if f == int(f) and abs(f) < 1e15:
        return str(int(f))
    return repr(f)


def to_str(v: Any) -> str:
    """GitHub's string coercion (what ``${{ }}`` puts into a string); CannotDecide for an Unknown."""
    if isinstance(v, Unknown):
        raise undecided(v, "a text value")
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return _num_str(float(v))
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "Array"
    if isinstance(v, dict):
        return "Object"
    return str(v)


_JSON_NUM = re.compile(r"^\s*(?:0x[0-9a-fA-F]+|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*$")


def to_num(v: Any) -> float:
    if v is None:
        return 0.0
    if v is True:
        return 1.0
    if v is False:
        return 0.0
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        if v.strip() == "":
            return 0.0
        if _JSON_NUM.match(v):
            t = v.strip()
            return float(int(t, 16)) if t.lower().startswith("0x") else float(t)
        return math.nan
    return math.nan


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "num"
    if isinstance(v, str):
        return "str"
    return "obj"


def loose_eq(a: Any, b: Any) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka == kb:
        if ka == "str":
            return a.upper() == b.upper()
        if ka == "num":
            return float(a) == float(b)
        if ka == "obj":
            return a is b
        return a == b
    if ka == "obj" or kb == "obj":
        return False
    x, y = to_num(a), to_num(b)
    return x == y  # NaN never equals


def _compare(op: str, a: Any, b: Any) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka == "str" and kb == "str":
        x, y = a.upper(), b.upper()
    elif ka == "obj" or kb == "obj":
        return False
    else:
        x, y = to_num(a), to_num(b)
        if math.isnan(x) or math.isnan(y):
            return False
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


# --------------------------------------------------------------------------------- evaluation
class _Eval:
    def __init__(self, context: dict, text: str, where: str | None, status: str) -> None:
        self.context, self.text, self.where, self.status = context, text, where, status

    def undecidable(self, why: str) -> CannotDecide:
        return CannotDecide(f"cannot decide ${{{{ {self.text} }}}}: {why}", self.where)

    def unknown(self, what: str, truth: bool | None = None) -> Unknown:
        return Unknown(what, self.where, self.text, truth)

    def check(self, v: Any, what: str) -> Any:
        if isinstance(v, Unknown):
            return v.located(self.where, self.text)
        return v

    def run(self, n: Node) -> Any:
        k = n.kind
        if k == "lit":
            return n.value
        if k == "ctx":
            name = n.value
            for key in self.context:  # context names are case-insensitive
                if isinstance(key, str) and key.lower() == name.lower():
                    return self.check(self.context[key], name)
            return self.unknown(name)
        if k == "prop":
            return self.prop(self.run(n.args[0]), n.value, self.path(n))
        if k == "index":
            base = self.run(n.args[0])
            idx = self.run(n.args[1])
            if isinstance(base, Unknown) and not base.parts:
                return self.unknown(self.path(n))
            if isinstance(idx, Unknown):
                return self.unknown(self.path(n)) if isinstance(base, (dict, list)) else None
            if isinstance(base, list) and not isinstance(base, _Filtered):
                f = to_num(idx)
                if math.isnan(f) or f < 0 or f != int(f) or int(f) >= len(base):
                    return None
                return self.check(base[int(f)], self.path(n))
            if isinstance(idx, (int, float)) and not isinstance(idx, bool) and isinstance(base, _Filtered):
                f = int(idx)
                return self.check(base[f], self.path(n)) if 0 <= f < len(base) else None
            return self.prop(base, to_str(idx), self.path(n))
        if k == "filter":
            base = self.run(n.args[0])
            if isinstance(base, Unknown):
                return self.unknown(self.path(n))
            if isinstance(base, _Filtered):
                out = _Filtered()
                for item in base:
                    if isinstance(item, list):
                        out.extend(item)
                    elif isinstance(item, dict):
                        out.extend(item.values())
                return out
            if isinstance(base, list):
                return _Filtered(base)
            if isinstance(base, dict):
                if isinstance(base, PartialDict):
                    return self.unknown(self.path(n))
                return _Filtered(base.values())
            return _Filtered()
        if k == "not":
            v = self.run(n.args[0])
            if isinstance(v, Unknown):
                return v.with_truth(None) if v.truth is None else (not v.truth)
            return not truthy(v)
        if k in ("and", "or"):
            # `&&` stops at a falsy left operand, `||` at a truthy one; an unknown left operand
            # leaves the value unknown, but its truthiness is known when the right one decides it
            stop = k == "or"
            left = self.run(n.args[0])
            lt = truth(left)
            if lt is stop:
                return left
            right = self.run(n.args[1])
            if lt is (not stop):
                return right
            return left.with_truth(stop if truth(right) is stop else None)
        if k == "bin":
            a, b = self.run(n.args[0]), self.run(n.args[1])
            if isinstance(a, Unknown) or isinstance(b, Unknown):
                if n.value in ("==", "!="):
                    differs = _known_to_differ(a, b)
                    if differs:
                        return n.value == "!="
                o = (a if isinstance(a, Unknown) else b).origin
                return Unknown(o.what, o.where or self.where, o.expr or self.text)
            if n.value == "==":
                return loose_eq(a, b)
            if n.value == "!=":
                return not loose_eq(a, b)
            return _compare(n.value, a, b)
        if k == "call":
            return self.call(n.value, n.args)
        raise AssertionError(k)  # pragma: no cover

    def path(self, n: Node) -> str:
        if n.kind == "ctx":
            return n.value
        if n.kind == "prop":
            return f"{self.path(n.args[0])}.{n.value}"
        if n.kind == "index":
            idx = n.args[1]
            if idx.kind == "lit" and isinstance(idx.value, str):
                return f"{self.path(n.args[0])}.{idx.value}"
            return f"{self.path(n.args[0])}[...]"
        if n.kind == "filter":
            return f"{self.path(n.args[0])}.*"
        if n.kind == "call":
            return f"{n.value}(...)"
        return "(value)"

    def prop(self, base: Any, key: str, path: str) -> Any:
        if isinstance(base, Unknown):
            return None if base.parts else Unknown(path, base.where or self.where, base.expr or self.text)
        if isinstance(base, _Filtered):
            out = _Filtered()
            for item in base:
                if isinstance(item, dict):
                    v = self._get(item, key, path)
                    if isinstance(v, Unknown):
                        return v
                    if v is not None:
                        out.append(v)
            return out
        if isinstance(base, dict):
            return self._get(base, key, path)
        return None

    def _get(self, d: dict, key: str, path: str) -> Any:
        for k2 in d:
            if isinstance(k2, str) and k2.lower() == key.lower():
                return self.check(d[k2], path)
        if isinstance(d, PartialDict):
            return self.unknown(f"{path} ({d.origin})" if d.origin else path)
        return None

    def call(self, name: str, arg_nodes: tuple[Node, ...]) -> Any:
        lname = name.lower()
        nargs = len(arg_nodes)

        def arity(lo: int, hi: int) -> None:
            if not lo <= nargs <= hi:
                raise ExpressionSyntaxError(f"{name}() takes {lo}..{hi} arguments, got {nargs}", self.where)

        if lname in STATUS_FUNCTIONS:
            arity(0, 0)
            if lname == "always":
                return True
            if self.status == "unknown":
                return self.unknown(f"{lname}() (whether the jobs it needs succeed is not known offline)")
            if self.status not in ("success", "failure", "cancelled", "skipped"):
                raise self.undecidable(f"job status is {self.status!r}")
            return {
                "success": self.status == "success",
                "failure": self.status == "failure",
                "cancelled": self.status == "cancelled",
            }[lname]
        if lname == "hashfiles":
            return self.unknown("hashFiles() (it depends on the runner's work tree)")
        if lname not in ("contains", "startswith", "endswith", "format", "join", "tojson", "fromjson"):
            raise self.undecidable(f"unknown function {name}()")
        args = [self.run(a) for a in arg_nodes]
        if lname == "format":
            if nargs < 1:
                raise ExpressionSyntaxError("format() needs a format string", self.where)
            if isinstance(args[0], Unknown):
                return args[0]
            return self.format(to_str(args[0]), [a if isinstance(a, Unknown) else to_str(a) for a in args[1:]])
        unknown = next((a for a in args if isinstance(a, Unknown)), None)
        if lname == "contains":
            arity(2, 2)
            hay, needle = args
            if unknown is not None:
                if isinstance(hay, list) and not any(isinstance(x, Unknown) for x in hay) and isinstance(needle, Unknown):
                    return unknown
                if isinstance(hay, Unknown) and hay.parts and isinstance(needle, str) and \
                        needle.upper() in "".join(p for p in hay.parts if isinstance(p, str)).upper():
                    return True
                return unknown.with_truth(None) if unknown.truth is not None else unknown
            if isinstance(hay, list):
                return any(loose_eq(x, needle) for x in hay)
            return to_str(needle).upper() in to_str(hay).upper()
        if lname in ("startswith", "endswith"):
            arity(2, 2)
            if unknown is not None:
                decided = _known_affix(args[0], args[1], lname == "startswith")
                return decided if decided is not None else unknown
            if lname == "startswith":
                return to_str(args[0]).upper().startswith(to_str(args[1]).upper())
            return to_str(args[0]).upper().endswith(to_str(args[1]).upper())
        if unknown is not None:
            return Unknown(f"{name}() of {unknown.origin.what}", unknown.origin.where or self.where,
                           unknown.origin.expr or self.text)
        if lname == "join":
            arity(1, 2)
            sep = to_str(args[1]) if nargs == 2 else ","
            if isinstance(args[0], list):
                return sep.join(to_str(x) for x in args[0])
            return to_str(args[0])
        if lname == "tojson":
            arity(1, 1)
            try:
                return json.dumps(_plain(args[0]), indent=2)
            except CannotDecide:
                return self.unknown("toJSON() of a context known only in part")
        arity(1, 1)  # fromJSON
        try:
            return _from_json(json.loads(to_str(args[0])))
        except ValueError as exc:
            raise CannotDecide(f"fromJSON() of invalid JSON in ${{{{ {self.text} }}}}: {exc}", self.where) from None

    def format(self, fmt: str, vals: list[Any]) -> Any:
        out: list[Any] = []
        i, n = 0, len(fmt)
        while i < n:
            c = fmt[i]
            if c == "{":
                if fmt.startswith("{{", i):
                    out.append("{")
                    i += 2
                    continue
                j = fmt.find("}", i)
                idx = fmt[i + 1:j] if j > 0 else ""
                if not idx.isdigit() or int(idx) >= len(vals):
                    raise ExpressionSyntaxError(f"format(): bad placeholder in {fmt!r}", self.where)
                out.append(vals[int(idx)])
                i = j + 1
            elif c == "}":
                if fmt.startswith("}}", i):
                    out.append("}")
                    i += 2
                    continue
                raise ExpressionSyntaxError(f"format(): unbalanced '}}' in {fmt!r}", self.where)
            else:
                out.append(c)
                i += 1
        return concat(out)


def concat(pieces: list[Any]) -> Any:
    """Known strings and Unknowns joined: a string, or an Unknown with ``parts``."""
    if not any(isinstance(p, Unknown) for p in pieces):
        return "".join(to_str(p) for p in pieces)
    parts: list[Any] = []
    for p in pieces:
        items = p.parts if isinstance(p, Unknown) and p.parts else [p]
        for item in items:
            if isinstance(item, Unknown):
                parts.append(item)
            else:
                s = to_str(item)
                if not s:
                    continue
                if parts and isinstance(parts[-1], str):
                    parts[-1] += s
                else:
                    parts.append(s)
    first = next(p for p in parts if isinstance(p, Unknown))
    known_text = any(isinstance(p, str) and p for p in parts)
    return Unknown(first.what, first.where, first.expr, True if known_text else None, tuple(parts))


def _affixes(v: Any) -> tuple[str, str]:
    """The known prefix and suffix of a value (all of it for a known string)."""
    if isinstance(v, Unknown):
        if not v.parts:
            return "", ""
        pre = v.parts[0] if isinstance(v.parts[0], str) else ""
        suf = v.parts[-1] if isinstance(v.parts[-1], str) else ""
        return pre, suf
    s = to_str(v)
    return s, s


def _known_to_differ(a: Any, b: Any) -> bool:
    """Whether a partly known string can't equal the other value whatever its unknowns are."""
    if isinstance(a, Unknown) and isinstance(b, Unknown):
        return False
    u, k = (a, b) if isinstance(a, Unknown) else (b, a)
    if not u.parts or not isinstance(k, str):
        return False
    pre, suf = _affixes(u)
    ku = k.upper()
    return not ku.startswith(pre.upper()) or not ku.endswith(suf.upper())


def _known_affix(value: Any, affix: Any, start: bool) -> bool | None:
    if isinstance(affix, Unknown) or not isinstance(value, Unknown):
        return None
    pre, suf = _affixes(value)
    known = pre if start else suf
    want = to_str(affix).upper()
    if len(known) >= len(want):
        return known.upper().startswith(want) if start else known.upper().endswith(want)
    if not (want.startswith(known.upper()) if start else want.endswith(known.upper())):
        return False
    return None


def _plain(v: Any) -> Any:
    if isinstance(v, Unknown):
        raise CannotDecide(f"toJSON() of a value not known offline ({v.what})")
    if isinstance(v, dict):
        if isinstance(v, PartialDict):
            raise CannotDecide("toJSON() of a context known only in part")
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, float) and v == int(v) and not math.isinf(v):
        return int(v)
    return v


def _from_json(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, list):
        return [_from_json(x) for x in v]
    if isinstance(v, dict):
        return {k: _from_json(x) for k, x in v.items()}
    return v


# --------------------------------------------------------------------------------- API
_WRAPPED = re.compile(r"^\s*\$\{\{(.*)\}\}\s*$", re.S)


def is_template(text: Any) -> bool:
    """True when ``text`` is a string holding at least one ``${{ }}``."""
    return isinstance(text, str) and "${{" in text


has_expression = is_template


def strip_template(expr: str) -> str:
    """``${{ x }}`` -> ``x`` when the whole string is one expression; otherwise unchanged."""
    m = _WRAPPED.match(expr)
    if m and "${{" not in m.group(1):
        # make sure the '}}' we matched is the expression's own end (not one inside a string)
        _toks, end = _tokenize(expr, expr.index("${{") + 3, stop_at_close=True)
        if expr[end:].strip() == "":
            return m.group(1).strip()
    return expr.strip()


def _node(text: str, where: str | None) -> Node:
    try:
        return parse(text)
    except ExpressionSyntaxError as exc:
        raise ExpressionSyntaxError(exc.reason, where) from None


def value(expr: Any, context: dict, *, where: str | None = None, status: str = "success") -> Any:
    """Evaluate one expression (``${{ }}`` optional) against ``context``; what can't be known
    comes back as an :class:`Unknown` with its origin (never raised).

    ``context`` maps context names (``github``, ``inputs``, ``env``, ``needs``, ``steps``,
    ``matrix``...) to plain values; :class:`PartialDict` and :class:`Unknown` mark what isn't
    known. ``status`` is the job status the status functions see (``success`` by default: the
    verdicts are about the run in which everything before succeeded; ``skipped`` when a needed
    job was skipped, where ``success()`` and ``failure()`` are both false; ``unknown`` when that
    is not known). Numbers come back as ``float``. Raises :class:`ExpressionSyntaxError` for what
    GitHub rejects, and CannotDecide only for an unknown function.
    """
    if not isinstance(expr, str):
        return expr
    text = strip_template(expr)
    if "${{" in text:
        # a string mixing text and expressions: its value is the interpolated string
        return interpolate_value(expr, context, where=where, status=status)
    return _Eval(context, text, where, status).run(_node(text, where))


def evaluate(expr: str, context: dict, *, where: str | None = None, status: str = "success") -> Any:
    """:func:`value`, strict: a result that is not known raises :class:`CannotDecide` naming
    the expression it depends on and its ``file:line``."""
    out = value(expr, context, where=where, status=status)
    if isinstance(out, Unknown):
        raise _strict_error(out, expr, where)
    return out


def _strict_error(u: Unknown, expr: Any, where: str | None) -> CannotDecide:
    o = u.origin
    text = strip_template(str(expr)) if isinstance(expr, str) else str(expr)
    return CannotDecide(f"cannot decide ${{{{ {text} }}}}: {o.what} is not known offline"
                        + (f" (from `${{{{ {o.expr} }}}}` at {o.where})" if o.expr and o.where and o.where != where
                           and o.expr != text else ""), where or o.where)


def condition(expr: Any, context: dict, *, where: str | None = None, status: str = "success") -> Any:
    """An ``if:`` value as GitHub decides it (an implicit ``success() &&`` unless a status
    function is used), three-valued: True, False, or an :class:`Unknown` naming what it depends on."""
    if expr is None:
        return _status_ok(status, where)
    if isinstance(expr, bool):
        return expr and _status_ok(status, where) if expr else False
    if isinstance(expr, (int, float)):
        return _and3(truthy(expr), _status_ok(status, where))
    text = strip_template(str(expr))
    if "${{" in text:
        # "if: ${{ a }} && b" is not one expression: GitHub treats the whole string as a literal
        v = interpolate_value(str(expr), context, where=where, status=status)
        return _and3(truth(v) if truth(v) is not None else v, _status_ok(status, where))
    node = _node(text, where)
    v = _Eval(context, text, where, status).run(node)
    tv = truth(v)
    tv = tv if tv is not None else (v if isinstance(v, Unknown) else Unknown("condition", where, text))
    if not _uses_status(node):
        return _and3(_status_ok(status, where), tv)
    return tv


def _status_ok(status: str, where: str | None) -> Any:
    if status == "unknown":
        return Unknown("success() (whether the jobs it needs succeed is not known offline)", where, "success()")
    return status == "success"


def _and3(a: Any, b: Any) -> Any:
    """Three-valued and of True/False/Unknown."""
    if a is False or b is False:
        return False
    if isinstance(a, Unknown):
        return a.with_truth(None)
    if isinstance(b, Unknown):
        return b.with_truth(None)
    return True


def evaluate_condition(expr: Any, context: dict, *, where: str | None = None, status: str = "success") -> bool:
    """:func:`condition`, strict: an unknown outcome raises :class:`CannotDecide` naming its origin."""
    out = condition(expr, context, where=where, status=status)
    if isinstance(out, Unknown):
        raise _strict_error(out, expr, where)
    return bool(out)


def _uses_status(n: Node) -> bool:
    if n.kind == "call" and n.value.lower() in STATUS_FUNCTIONS:
        return True
    return any(_uses_status(a) for a in n.args)


def interpolate_value(text: Any, context: dict, *, where: str | None = None, status: str = "success") -> Any:
    """Replace each ``${{ expr }}`` in ``text`` with its value; non-strings pass through. An
    unknown piece makes the result an :class:`Unknown` (with ``parts`` when text surrounds it).

    A string that is exactly one ``${{ expr }}`` keeps the value's type (as GitHub does for
    ``with:`` inputs it then stringifies: callers use :func:`to_str` when they need text).
    """
    if not isinstance(text, str) or "${{" not in text:
        return text
    pieces: list[Any] = []
    i = 0
    while True:
        j = text.find("${{", i)
        if j < 0:
            pieces.append(text[i:])
            break
        pieces.append(text[i:j])
        _toks, end = _tokenize(text, j + 3, stop_at_close=True)
        inner = text[j + 3:end - 2].strip()
        pieces.append(_Eval(context, inner, where, status).run(_node(inner, where)))
        i = end
    non_empty = [p for p in pieces if not (isinstance(p, str) and p == "")]
    if len(pieces) == 3 and pieces[0] == "" and pieces[2] == "":
        return pieces[1]
    if len(non_empty) == 1 and not isinstance(non_empty[0], str):
        return non_empty[0]
    return concat(pieces)


def interpolate(text: Any, context: dict, *, where: str | None = None, status: str = "success") -> Any:
    """:func:`interpolate_value`, strict: an unknown piece raises :class:`CannotDecide` naming it."""
    out = interpolate_value(text, context, where=where, status=status)
    if isinstance(out, Unknown):
        raise _strict_error(out, text, where)
    return out


def expression_spans(text: str) -> list[tuple[int, int, str]]:
    """Every ``${{ ... }}`` in ``text`` as ``(start, end, inner expression)``, also when the
    expression itself is not valid (only a ``}}`` inside a quoted string doesn't end it).
    Raises :class:`CannotDecide` for an expression that never ends."""
    out = []
    i = 0
    while True:
        start = text.find("${{", i)
        if start == -1:
            return out
        j = start + 3
        quote = False
        while j < len(text):
            if text[j] == "'":
                quote = not quote
            elif not quote and text.startswith("}}", j):
                break
            j += 1
        if j >= len(text):
            raise CannotDecide(f"unterminated expression in {text!r}")
        out.append((start, j + 2, text[start + 3:j].strip()))
        i = j + 2


def expressions_in(text: Any) -> list[str]:
    """The inner text of every ``${{ }}`` in ``text``."""
    if not isinstance(text, str):
        return []
    out, i = [], 0
    while True:
        j = text.find("${{", i)
        if j < 0:
            return out
        try:
            _toks, end = _tokenize(text, j + 3, stop_at_close=True)
        except ExpressionSyntaxError:
            return out
        out.append(text[j + 3:end - 2].strip())
        i = end


def contexts_used(expr: str) -> set[str]:
    """Names of the contexts an expression reads (``github``, ``secrets``...), lower case."""
    found: set[str] = set()

    def walk(n: Node) -> None:
        if n.kind == "ctx":
            found.add(n.value.lower())
        for a in n.args:
            walk(a)

    walk(parse(strip_template(expr)))
    return found


def references(expr: str) -> list[str]:
    """Dotted paths an expression reads (``secrets.GITHUB_TOKEN``, ``github.token``)."""
    out: list[str] = []

    def dotted(n: Node) -> str | None:
        if n.kind == "ctx":
            return n.value
        if n.kind == "prop":
            base = dotted(n.args[0])
            return f"{base}.{n.value}" if base else None
        if n.kind == "index" and n.args[1].kind == "lit" and isinstance(n.args[1].value, str):
            base = dotted(n.args[0])
            return f"{base}.{n.args[1].value}" if base else None
        return None

    def walk(n: Node, parent_is_access: bool) -> None:
        if n.kind in ("ctx", "prop", "index") and not parent_is_access:
            d = dotted(n)
            if d:
                out.append(d)
        for pos, a in enumerate(n.args):
            walk(a, n.kind in ("prop", "index", "filter") and pos == 0)

    walk(parse(strip_template(expr)), False)
    return out
