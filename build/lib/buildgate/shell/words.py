"""Shell words: one raw word cut into its parts, quotes removed, known variables put in.

- :func:`word_parts`: a raw word cut into text, escapes, quoted strings, ``$(...)``,
  backticks, ``${...}``, ``$((...))``, ``$NAME`` and ``$1``-style parameters;
- :func:`unquote`: the word with its quotes removed, each expansion replaced as a caller says;
- :func:`dequote`: the word with its quotes removed, every expansion kept as written;
- :func:`expand_known`: the same, with ``$NAME``, ``${NAME}`` and ``${NAME:offset:length}``
  replaced by the values a caller knows (the others stay as written);
- :func:`parameter`, :func:`references`, :func:`substitutions`: what a word reads;
- :func:`assignments`: the ``NAME=value`` words a command starts with.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Sequence

from buildgate.shell.lexer import skip_brace, skip_double, skip_paren, skip_to

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SPECIAL_PARAMS = "0123456789@*#?$!-"
KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time"})
DECLARERS = frozenset({"export", "readonly", "local", "declare", "typeset"})
PREFIXES = frozenset({"exec", "command", "builtin", "nohup"})  # run the command after them
ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\+?=)(.*)$", re.S)


@dataclass(frozen=True)
class Part:
    """A piece of one raw word: ``kind`` and its ``text``, at ``word[start:end]``.

    ===========  =====================================================
    kind         text
    ===========  =====================================================
    text         literal characters
    escape       the character after a backslash ("" at the end)
    single       the inside of ``'...'``
    double       the inside of ``"..."``
    command      the inside of ``$(...)``
    backtick     the inside of a backtick string
    param        the inside of ``${...}``
    arith        the whole ``$((...))``
    var          the name of ``$NAME``
    special      the character of ``$1``, ``$@``, ``$?``, ...
    ===========  =====================================================
    """

    kind: str
    text: str
    start: int
    end: int


def _inner(word: str, start: int, end: int, close: str) -> str:
    """The text between an opener ending at ``start`` and ``close`` at ``end - 1`` (if there)."""
    return word[start:end - 1 if end - 1 >= start and word[end - 1] == close else end]


def _dollar(word: str, i: int) -> Part | None:
    """The expansion starting at ``word[i] == "$"``; None for a plain ``$``."""
    if word.startswith("$((", i):
        j = skip_paren(word, i + 1)
        return Part("arith", word[i:j], i, j)
    if word.startswith("$(", i):
        j = skip_paren(word, i + 1)
        return Part("command", _inner(word, i + 2, j, ")"), i, j)
    if word.startswith("${", i):
        j = skip_brace(word, i + 1)
        return Part("param", _inner(word, i + 2, j, "}"), i, j)
    m = NAME.match(word, i + 1)
    if m:
        return Part("var", m.group(0), i, m.end())
    if i + 1 < len(word) and word[i + 1] in SPECIAL_PARAMS:
        return Part("special", word[i + 1], i, i + 2)
    return None


def word_parts(word: str, quoted: bool = False) -> list[Part]:
    """Cut a raw word into :class:`Part` s; ``quoted``: the word is the inside of double quotes
    (or an expanding here-document), where ``'`` and ``"`` are plain characters."""
    parts: list[Part] = []
    i, n = 0, len(word)
    text = -1  # where the pending run of literal characters starts
    while i < n:
        c = word[i]
        part: Part | None = None
        if c == "'" and not quoted:
            j = skip_to(word, "'", i)
            part = Part("single", _inner(word, i + 1, j, "'"), i, j)
        elif c == '"' and not quoted:
            j = skip_double(word, i)
            part = Part("double", _inner(word, i + 1, j, '"'), i, j)
        elif c == "\\":
            part = Part("escape", word[i + 1:i + 2], i, min(i + 2, n))
        elif c == "`":
            j = skip_to(word, "`", i)
            part = Part("backtick", _inner(word, i + 1, j, "`"), i, j)
        elif c == "$":
            part = _dollar(word, i)
        if part is None:
            text = i if text < 0 else text
            i += 1
            continue
        if text >= 0:
            parts.append(Part("text", word[text:i], text, i))
            text = -1
        parts.append(part)
        i = part.end
    if text >= 0:
        parts.append(Part("text", word[text:], text, n))
    return parts


def escaped(char: str, quoted: bool) -> str:
    """What ``\\char`` stands for: the character; in double quotes a backslash stays before
    anything but ``" \\ $ `````; a line continuation is nothing."""
    if char == "":
        return "\\"
    if char == "\n":
        return ""
    return ("\\" if quoted and char not in '"\\$`' else "") + char


_BRACED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*|[0-9]+)(?:\[([0-9@*])\])?(.*)$", re.S)


@dataclass(frozen=True)
class Parameter:
    """The inside of ``${...}``: the parameter's ``name``, its ``index`` (``[0]``) and the
    operation after it as written (``:-default``, ``::7``, ``%%pat``...; "" for none).
    ``${#X}``, ``${!X}`` and anything else unreadable give None from :func:`parameter`."""

    name: str
    index: str | None
    op: str


def parameter(inner: str) -> Parameter | None:
    """Read the inside of a ``${...}`` expansion (see :class:`Parameter`)."""
    m = _BRACED.match(inner)
    if not m:
        return None
    return Parameter(m.group(1), m.group(2), m.group(3))


_SLICE = re.compile(r"^:\s*(\d*)\s*(?::\s*(\d+)\s*)?$")


def unquote(word: str, expansion: Callable[[Part, str, int], str], quoted: bool = False, _at: int = 0) -> str:
    """``word`` with its quotes and escapes removed; each expansion part (``$X``, ``${...}``,
    ``$(...)``, backticks, ``$((...))``, ``$1``) becomes ``expansion(part, as written, offset)``,
    the offset being where the part starts in the outermost word."""
    buf: list[str] = []
    for p in word_parts(word, quoted):
        if p.kind in ("text", "single"):
            buf.append(p.text)
        elif p.kind == "escape":
            buf.append(escaped(p.text, quoted))
        elif p.kind == "double":
            buf.append(unquote(p.text, expansion, True, _at + p.start + 1))
        else:
            buf.append(expansion(p, word[p.start:p.end], _at + p.start))
    return "".join(buf)


def expand_known(word: str, values: Mapping[str, str], quoted: bool = False) -> str:
    """``word`` with quotes removed and ``$NAME``, ``${NAME}``, ``${NAME:offset[:length]}``,
    ``${NAME#pat}``/``##``/``%``/``%%``, ``${NAME/pat/rep}``/``//`` and ``${NAME,,}``/``^^``
    replaced for the names ``values`` holds (patterns written literally); every other expansion
    (unknown names, ``$(...)``, ``$1``, ``${X:-y}``...) is kept as written."""

    def known(p: Part, written: str, _at: int) -> str:
        if p.kind == "var" and p.text in values:
            return str(values[p.text])
        par = parameter(p.text) if p.kind == "param" else None
        if par is None or par.index is not None or par.name not in values:
            return written
        val = str(values[par.name])
        if par.op == "":
            return val
        sl = _SLICE.match(par.op)
        if sl:
            off = int(sl.group(1) or 0)
            return val[off:off + int(sl.group(2))] if sl.group(2) is not None else val[off:]
        done = _pattern_op(val, par.op)
        return written if done is None else done

    return unquote(word, known, quoted)


def _glob(pattern: str) -> "re.Pattern[str] | None":
    """A shell pattern (``*``, ``?``, ``[...]``) as a regular expression; None when it holds an
    expansion or a quote (its text is then not known here)."""
    if any(c in pattern for c in "$`'\"\\"):
        return None
    import fnmatch

    return re.compile(fnmatch.translate(pattern.replace("[^", "[!")), re.S)  # bash negates with ^ too


def _pattern_op(val: str, op: str) -> str | None:
    """``${X#p}`` ``${X##p}`` ``${X%p}`` ``${X%%p}`` ``${X/p/r}`` ``${X//p/r}`` ``${X,,}``
    ``${X^^}`` applied to a known value; None for any other operation."""
    if op in (",,", "^^", ",", "^"):
        if op == ",,":
            return val.lower()
        if op == "^^":
            return val.upper()
        return (val[:1].lower() if op == "," else val[:1].upper()) + val[1:]
    for mark in ("##", "#", "%%", "%"):
        if op.startswith(mark):
            rx = _glob(op[len(mark):])
            if rx is None:
                return None
            n = len(val)
            if mark == "#":
                cut = next((i for i in range(n + 1) if rx.match(val[:i])), 0)
                return val[cut:]
            if mark == "##":
                cut = next((i for i in range(n, -1, -1) if rx.match(val[:i])), 0)
                return val[cut:]
            if mark == "%":
                cut = next((i for i in range(n, -1, -1) if rx.match(val[i:])), n)
                return val[:cut]
            cut = next((i for i in range(n + 1) if rx.match(val[i:])), n)
            return val[:cut]
    if op.startswith("/"):
        every = op.startswith("//")
        body = op[2:] if every else op[1:]
        m = re.match(r"((?:\\.|[^/\\])*)(?:/(.*))?$", body, re.S)
        pat = re.sub(r"\\(.)", r"\1", m.group(1)) if m else ""
        rep = (m.group(2) or "") if m else ""
        if not pat or any(c in rep for c in "$`'\"\\"):
            return None
        rx = _glob(pat)
        if rx is None:
            return None
        inner = rx.pattern
        inner = inner[4:-3] if inner.startswith("(?s:") and inner.endswith(")\\Z") else None
        if inner is None:
            return None
        try:
            return re.sub(inner, lambda _m: rep, val, count=0 if every else 1)
        except re.error:
            return None
    return None


def dequote(word: str) -> str:
    """``word`` with its quotes removed; every expansion is kept as written."""
    return expand_known(word, {})


def references(word: str, quoted: bool = False) -> Iterator[str]:
    """The names of the parameters ``word`` reads (``X`` for ``$X`` and ``${X:-y}``, ``1`` for
    ``$1``), outside single quotes and substitutions."""
    for p in word_parts(word, quoted):
        if p.kind in ("var", "special"):
            yield p.text
        elif p.kind == "param":
            par = parameter(p.text)
            if par is not None:
                yield par.name
        elif p.kind == "double":
            yield from references(p.text, True)


def substitutions(word: str, quoted: bool = False) -> Iterator[str]:
    """The inner text of every ``$(...)`` and backtick string in ``word`` (outside single quotes)."""
    for p in word_parts(word, quoted):
        if p.kind in ("command", "backtick"):
            yield p.text
        elif p.kind == "double":
            yield from substitutions(p.text, True)


def assignments(words: Sequence[str]) -> tuple[list[tuple[str, str, str]], int]:
    """The ``NAME=value`` / ``NAME+=value`` words a command starts with (after ``export``,
    ``local``, ... and their options) as ``(name, op, value)``, and the index of the first
    other word (``len(words)`` when there is none)."""
    k = 0
    if words and words[0] in DECLARERS:
        k = 1
        while k < len(words) and words[k].startswith("-"):
            k += 1
    found = []
    while k < len(words):
        m = ASSIGN.match(words[k])
        if not m:
            break
        found.append((m.group(1), m.group(2), m.group(3)))
        k += 1
    return found, k
