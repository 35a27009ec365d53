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

Anything that can't be known offline raises :class:`CannotDecide` naming the expression (and
``where``, a ``file:line``): a context missing from ``context`` (``secrets``, ``vars``, a step
output nobody computed), a value marked :class:`Unknown`, a key missing from a
:class:`PartialDict`, ``hashFiles()`` or any unknown function.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from buildgate.errors import CannotDecide, InputError

__all__ = [
    "evaluate", "interpolate", "parse", "strip_template", "is_template", "has_expression",
    "truthy", "to_str", "Unknown", "PartialDict", "ExpressionSyntaxError", "contexts_used",
    "STATUS_FUNCTIONS",
]

STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")
MAX_EXPR_LEN = 21000  # GitHub's own limit on an expression


class ExpressionSyntaxError(InputError):
    """An expression that GitHub itself would reject (bad token, unbalanced parentheses)."""


class Unknown:
    """A value that exists but can't be known offline (a secret, a step output, a run id)."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"Unknown({self.what!r})"


class PartialDict(dict):
    """A context known only in part: a missing key means "not known", not null."""

    def __init__(self, *args: Any, name: str = "", **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.name = name


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


def truthy(v: Any) -> bool:
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
    """GitHub's string coercion (what ``${{ }}`` puts into a string)."""
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

    def check(self, v: Any, what: str) -> Any:
        if isinstance(v, Unknown):
            raise self.undecidable(f"{what} is not known offline ({v.what})")
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
            raise self.undecidable(f"context {name!r} is not available offline")
        if k == "prop":
            return self.prop(self.run(n.args[0]), n.value, self.path(n))
        if k == "index":
            base = self.run(n.args[0])
            idx = self.run(n.args[1])
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
                    raise self.undecidable(f"{self.path(n.args[0])} is only partly known")
                return _Filtered(base.values())
            return _Filtered()
        if k == "not":
            return not truthy(self.run(n.args[0]))
        if k == "and":
            left = self.run(n.args[0])
            return self.run(n.args[1]) if truthy(left) else left
        if k == "or":
            left = self.run(n.args[0])
            return left if truthy(left) else self.run(n.args[1])
        if k == "bin":
            a, b = self.run(n.args[0]), self.run(n.args[1])
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
            return f"{self.path(n.args[0])}[...]"
        if n.kind == "filter":
            return f"{self.path(n.args[0])}.*"
        return "(value)"

    def prop(self, base: Any, key: str, path: str) -> Any:
        if isinstance(base, _Filtered):
            out = _Filtered()
            for item in base:
                if isinstance(item, dict):
                    v = self._get(item, key, path)
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
            raise self.undecidable(f"{path} is not known offline")
        return None

    def call(self, name: str, arg_nodes: tuple[Node, ...]) -> Any:
        lname = name.lower()
        nargs = len(arg_nodes)

        def arity(lo: int, hi: int) -> None:
            if not lo <= nargs <= hi:
                raise ExpressionSyntaxError(f"{name}() takes {lo}..{hi} arguments, got {nargs}", self.where)

        if lname in STATUS_FUNCTIONS:
            arity(0, 0)
            if self.status not in ("success", "failure", "cancelled", "skipped"):
                raise self.undecidable(f"job status is {self.status!r}")
            return {
                "success": self.status == "success",
                "failure": self.status == "failure",
                "cancelled": self.status == "cancelled",
                "always": True,
            }[lname]
        if lname == "hashfiles":
            raise self.undecidable("hashFiles() depends on the runner's work tree")
        if lname not in ("contains", "startswith", "endswith", "format", "join", "tojson", "fromjson"):
            raise self.undecidable(f"unknown function {name}()")
        args = [self.run(a) for a in arg_nodes]
        if lname == "contains":
            arity(2, 2)
            hay, needle = args
            if isinstance(hay, list):
                return any(loose_eq(x, needle) for x in hay)
            return to_str(needle).upper() in to_str(hay).upper()
        if lname == "startswith":
            arity(2, 2)
            return to_str(args[0]).upper().startswith(to_str(args[1]).upper())
        if lname == "endswith":
            arity(2, 2)
            return to_str(args[0]).upper().endswith(to_str(args[1]).upper())
        if lname == "format":
            if nargs < 1:
                raise ExpressionSyntaxError("format() needs a format string", self.where)
            return self.format(to_str(args[0]), [to_str(a) for a in args[1:]])
        if lname == "join":
            arity(1, 2)
            sep = to_str(args[1]) if nargs == 2 else ","
            if isinstance(args[0], list):
                return sep.join(to_str(x) for x in args[0])
            return to_str(args[0])
        if lname == "tojson":
            arity(1, 1)
            return json.dumps(_plain(args[0]), indent=2)
        arity(1, 1)  # fromJSON
        try:
            return _from_json(json.loads(to_str(args[0])))
        except ValueError as exc:
            raise CannotDecide(f"fromJSON() of invalid JSON in ${{{{ {self.text} }}}}: {exc}", self.where) from None

    def format(self, fmt: str, vals: list[str]) -> str:
        out, i, n = [], 0, len(fmt)
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
        return "".join(out)


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


def evaluate(expr: str, context: dict, *, where: str | None = None, status: str = "success") -> Any:
    """Evaluate one expression (``${{ }}`` optional) against ``context``.

    ``context`` maps context names (``github``, ``inputs``, ``env``, ``needs``, ``steps``,
    ``matrix``...) to plain values; :class:`PartialDict` and :class:`Unknown` mark what isn't
    known. ``status`` is the job status the status functions see (``success`` by default: the
    verdicts are about the run in which everything before succeeded; ``skipped`` when a needed
    job was skipped, where ``success()`` and ``failure()`` are both false). Numbers come back as
    ``float``. Raises :class:`CannotDecide` (with ``where``) or :class:`ExpressionSyntaxError`.
    """
    if not isinstance(expr, str):
        return expr
    text = strip_template(expr)
    if "${{" in text:
        # a string mixing text and expressions: its value is the interpolated string
        return interpolate(expr, context, where=where, status=status)
    try:
        node = parse(text)
    except ExpressionSyntaxError as exc:
        raise ExpressionSyntaxError(exc.reason, where) from None
    return _Eval(context, text, where, status).run(node)


def evaluate_condition(expr: Any, context: dict, *, where: str | None = None, status: str = "success") -> bool:
    """An ``if:`` value as GitHub decides it: implicit ``success() &&`` unless a status function is used."""
    if expr is None:
        return status == "success"
    if isinstance(expr, bool):
        return expr and status == "success"
    if isinstance(expr, (int, float)):
        return truthy(expr) and status == "success"
    text = strip_template(str(expr))
    if "${{" in text:
        # "if: ${{ a }} && b" is not one expression: GitHub treats the whole string as a literal
        return truthy(interpolate(str(expr), context, where=where, status=status)) and status == "success"
    try:
        node = parse(text)
    except ExpressionSyntaxError as exc:
        raise ExpressionSyntaxError(exc.reason, where) from None
    value = _Eval(context, text, where, status).run(node)
    if not _uses_status(node):
        return status == "success" and truthy(value)
    return truthy(value)


def _uses_status(n: Node) -> bool:
    if n.kind == "call" and n.value.lower() in STATUS_FUNCTIONS:
        return True
    return any(_uses_status(a) for a in n.args)


def interpolate(text: Any, context: dict, *, where: str | None = None, status: str = "success") -> Any:
    """Replace each ``${{ expr }}`` in ``text`` with its string value; non-strings pass through.

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
        try:
            node = parse(inner)
        except ExpressionSyntaxError as exc:
            raise ExpressionSyntaxError(exc.reason, where) from None
        pieces.append(_Eval(context, inner, where, status).run(node))
        i = end
    non_empty = [p for p in pieces if not (isinstance(p, str) and p == "")]
    if len(pieces) == 3 and pieces[0] == "" and pieces[2] == "":
        return pieces[1]
    if len(non_empty) == 1 and not isinstance(non_empty[0], str):
        return non_empty[0]
    return "".join(to_str(p) for p in pieces)


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
