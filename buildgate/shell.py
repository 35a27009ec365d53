"""Reading shell scripts: the one shell reader behind S1/S2/D3 and V4 (:mod:`buildgate.scripts`,
:mod:`buildgate.docs`) and W9/W10 (:mod:`buildgate.workflow.tagwrites`).

It is a small lexer, not a shell, and it is hand-written on purpose:

- bashlex (the pure-Python port of bash's parser) refuses whole scripts for constructs CI
  scripts use every day (``[[ ]]``, ``$(( ))``): the sandbox's ``scripts/build-images.sh`` and
  the kustomization step of its ``build-push.yml`` both fail to parse, and one unrelated line
  must not turn a whole script into "can't decide".
- tree-sitter-bash (``tree-sitter`` + ``tree-sitter-bash`` wheels) parses every sandbox script
  and ``run:`` block, but it is compiled code outside the project's dependencies, reads an
  unterminated quote or a raw ``${{ }}`` as one ERROR subtree that swallows the commands around
  it, and would still need this module's word reading (quotes, substitutions) on top of its
  tree: the checks need words and lines, not a syntax tree.

Layers, lowest first:

- scanning: :func:`skip_double`, :func:`skip_paren`, :func:`skip_brace`, :func:`skip_quoted`,
  :func:`split_pipeline`: where a quoted or nested construct ends (iterative, so no nesting
  depth can overflow the stack);
- :func:`split_commands`: simple commands as raw words (quotes kept) with their lines,
  here-document bodies and comments;
- :func:`word_parts`: one raw word cut into text, escapes, quoted strings, ``$(...)``,
  backticks, ``${...}``, ``$((...))`` and ``$NAME``;
- :func:`parse_shell` and :func:`expand`: words with quotes removed, and string-valued variable
  following (``NAME=value`` anywhere, then ``$NAME``, ``${NAME}``, ``${NAME:-default}``,
  ``${1:-default}``). ``$(dirname "$0")``, ``$(cd "$(dirname ...)/.." && pwd)`` and
  ``$(git rev-parse --show-toplevel)`` resolve to the script's folder and the repository root.
  Anything else stays unresolved and is reported as such, never guessed.
  (:mod:`buildgate.workflow.tagwrites` follows variables to tag pieces instead of strings,
  on top of :func:`split_commands` and :func:`word_parts`.)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from buildgate.errors import InputError

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SPECIAL_PARAMS = "0123456789@*#?$!-"
KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time"})
DECLARERS = frozenset({"export", "readonly", "local", "declare", "typeset"})
ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\+?=)(.*)$", re.S)
HEREDOC_OP = re.compile(r"""<<(-?)[ \t]*(["']?)([A-Za-z0-9_.-]+)\2""")


# -- scanning -----------------------------------------------------------------------------------
def _skip_to(s: str, quote: str, i: int) -> int:
    """Index just past the next ``quote`` after ``i`` (the end of ``s`` when there is none)."""
    k = s.find(quote, i + 1)
    return len(s) if k == -1 else k + 1


def _skip_nested(s: str, i: int) -> int:
    """Index just past the double-quoted string or the parenthesis starting at ``s[i]``.

    In double quotes: ``\\x``, ``$(...)`` and backticks; in parentheses: ``\\x``, ``'...'``,
    ``"..."`` and nested ``(``/``)``. Unterminated constructs run to the end of ``s``."""
    n = len(s)
    stack: list[str | int] = ['"'] if s[i] == '"' else [0]  # '"', or the open-paren count
    j = i + 1 if s[i] == '"' else i
    while j < n:
        c = s[j]
        top = stack[-1]
        if c == "\\":
            j += 2
        elif top == '"':
            if c == '"':
                stack.pop()
                j += 1
            elif s.startswith("$(", j):
                stack.append(0)
                j += 1  # the "(" is counted in the new frame
            elif c == "`":
                j = _skip_to(s, "`", j)
            else:
                j += 1
        elif c == "'":
            j = _skip_to(s, "'", j)
        elif c == '"':
            stack.append('"')
            j += 1
        else:
            if c == "(":
                stack[-1] = int(top) + 1
            elif c == ")":
                stack[-1] = int(top) - 1
                if stack[-1] == 0:
                    stack.pop()
            j += 1
        if not stack:
            return j
    return n


def skip_double(s: str, i: int) -> int:
    """Index just past the double-quoted string starting at ``s[i] == '"'``."""
    return _skip_nested(s, i)


def skip_paren(s: str, i: int) -> int:
    """Index just past the ``)`` matching ``s[i] == '('`` (quote-aware)."""
    return _skip_nested(s, i)


def skip_brace(s: str, i: int) -> int:
    """Index just past the ``}`` matching ``s[i] == '{'`` (backslash-aware)."""
    depth = 0
    j = i
    while j < len(s):
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(s)


def skip_quoted(s: str, i: int) -> int | None:
    """Index just past the ``\\x``, ``'...'``, ``"..."``, ``$(...)``, ``${...}`` or backtick
    string starting at ``s[i]``; None when ``s[i]`` starts none of them."""
    c = s[i]
    if c == "\\":
        return i + 2
    if c in "'`":
        return _skip_to(s, c, i)
    if c == '"':
        return skip_double(s, i)
    if s.startswith("$(", i):
        return skip_paren(s, i + 1)
    if s.startswith("${", i):
        return skip_brace(s, i + 1)
    return None


def split_pipeline(cmd: str) -> list[str]:
    """The stages of ``a | b | c``; ``[]`` for ``a || b`` (not a simple value)."""
    parts, last, j = [], 0, 0
    while j < len(cmd):
        k = skip_quoted(cmd, j)
        if k is not None:
            j = k
            continue
        if cmd.startswith("||", j):
            return []
        if cmd[j] == "|":
            parts.append(cmd[last:j])
            last = j + 1
        j += 1
    parts.append(cmd[last:])
    return parts


# -- commands -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    """One raw word (quotes and expansions as written) and the line it starts on."""

    text: str
    line: int
    op: bool = False  # a redirection operator: ``>``, ``>>``, ``<``, ``>&`` (``2>&1`` is 2, >&, 1)


@dataclass(frozen=True)
class Heredoc:
    """A here-document body (tabs stripped for ``<<-``); ``expands`` unless the delimiter is quoted."""

    body: str
    expands: bool
    line: int  # the line of the body's first line


@dataclass
class Command:
    """A simple command: the line it starts on, its raw words, and the here-documents it reads."""

    line: int
    words: list[Token] = field(default_factory=list)
    heredocs: list[Heredoc] = field(default_factory=list)


@dataclass
class Lexed:
    """A script cut into simple commands, plus its comments as ``(text after #, line)``."""

    commands: list[Command] = field(default_factory=list)
    comments: list[tuple[str, int]] = field(default_factory=list)


def _arithmetic(text: str, i: int) -> bool:
    """``text[i:]`` starts an ``(( ... ))`` arithmetic command, not nested subshells
    (``((cd a; b) )``, ``((a); (b))``) and not an unterminated ``((``."""
    if not text.startswith("((", i):
        return False
    end = skip_paren(text, i)
    return text[end - 2:end] == "))" and skip_paren(text, i + 1) == end - 1


def split_commands(text: str, line: int = 1) -> Lexed:
    """Simple commands of a script. Operators ``; && || | & ( )`` and newlines end a command;
    ``((...))`` (arithmetic) is no command; line continuations and here-documents are handled.
    ``line`` is the line ``text`` starts on."""
    out = Lexed()
    cmd = Command(line)
    pending: list[tuple[str, bool, bool]] = []  # (delimiter, expands, strip tabs)
    cur: list[str] = []
    cur_line = line
    i, n = 0, len(text)

    def end_word() -> None:
        if cur:
            cmd.words.append(Token("".join(cur), cur_line))
            cur.clear()

    def end_command() -> None:
        nonlocal cmd
        end_word()
        if cmd.words or cmd.heredocs:
            out.commands.append(cmd)
        cmd = Command(line)

    while i < n:
        c = text[i]
        if not cmd.words and not cur and c not in " \t\r\n;&|()":
            cmd.line = line
        if text.startswith("\\\n", i):
            i += 2
            line += 1
            continue
        k = skip_quoted(text, i)
        if k is None and c == "(" and not cmd.words and not cur and _arithmetic(text, i):
            k = skip_paren(text, i)  # (( arithmetic )): skipped whole
            line += text.count("\n", i, k)
            i = k
            end_command()
            continue
        if k is not None:
            if not cur:
                cur_line = line
            cur.append(text[i:k])
            line += text.count("\n", i, k)
            i = k
            continue
        if c == "#" and not cur:
            k = text.find("\n", i)
            k = n if k == -1 else k
            out.comments.append((text[i + 1:k], line))
            i = k
            continue
        if text.startswith("<<", i) and not text.startswith("<<<", i):
            end_word()
            m = HEREDOC_OP.match(text, i)
            if m:
                pending.append((m.group(3), not m.group(2), bool(m.group(1))))
                i = m.end()
                continue
        if c == "\n":
            line += 1
            i += 1
            for delim, expands, strip in pending:
                body, start = [], line
                while i < n:
                    k = text.find("\n", i)
                    k = n if k == -1 else k
                    ln = text[i:k].lstrip("\t") if strip else text[i:k]
                    i = k + 1
                    line += 1
                    if ln == delim:
                        break
                    body.append(ln)
                cmd.heredocs.append(Heredoc("\n".join(body), expands, start))
            pending.clear()
            end_command()
            continue
        if c in ";&|()":
            end_command()
            i += 1
            continue
        if c in " \t\r":
            end_word()
            i += 1
            continue
        if c in "<>":
            end_word()
            k = i
            while k < n and text[k] in "<>&":
                k += 1
            cmd.words.append(Token(text[i:k], line, op=True))
            i = k
            continue
        if not cur:
            cur_line = line
        cur.append(c)
        i += 1
    end_command()
    return out


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


# -- words --------------------------------------------------------------------------------------
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
            j = _skip_to(word, "'", i)
            part = Part("single", _inner(word, i + 1, j, "'"), i, j)
        elif c == '"' and not quoted:
            j = skip_double(word, i)
            part = Part("double", _inner(word, i + 1, j, '"'), i, j)
        elif c == "\\":
            part = Part("escape", word[i + 1:i + 2], i, min(i + 2, n))
        elif c == "`":
            j = _skip_to(word, "`", i)
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


# -- words with quotes removed, and string-valued variables ----------------------------------------
# Markers left in word text by the reader and the resolver.
SCRIPT_DIR = "\x01DIR\x01"  # the folder of the script being read
REPO_ROOT = "\x01ROOT\x01"  # the repository root
UNRESOLVED = "\x01?\x01"  # an expansion we can't resolve
CMD_SUBST = "\x02"  # a command substitution whose value we don't know (before resolution)

MAX_NESTING = 40
PREFIXES = frozenset({"exec", "command", "builtin", "nohup"})  # run the command after them
_DIRNAME = re.compile(r"""^\s*dirname\s+(?:--\s+)?["']?\$(?:0|\{0\}|\{BASH_SOURCE(?:\[0\])?\}|BASH_SOURCE)["']?\s*$""")
_TOPLEVEL = re.compile(r"^\s*git\s+(?:-C\s+\S+\s+)?rev-parse\s+--show-toplevel\s*$")
_FOLDER_OF = (  # `cd X && pwd`, `realpath X`: the folder X
    re.compile(r"^cd\s+(?:-P\s+)?(.+?)\s*&&\s*pwd(?:\s+-P)?\s*$", re.S),
    re.compile(r"^(?:realpath|readlink\s+-f)\s+(.+?)\s*$", re.S),
)


@dataclass
class Word:
    """One shell word: text with quotes removed (expansions kept as written), and its line."""

    text: str
    line: int


@dataclass
class Fragment:
    """Plain text of a script that is no code: a comment or a here-document body."""

    text: str
    line: int


@dataclass
class ShellScript:
    """A script read into simple commands, plus its comments and here-document bodies.
    Commands inside ``$(...)`` and backticks come before the command holding them."""

    path: str
    commands: list[list[Word]] = field(default_factory=list)
    fragments: list[Fragment] = field(default_factory=list)
    variables: dict[str, list[str]] = field(default_factory=dict)


def _read(text: str, out: ShellScript, line: int, depth: int) -> None:
    """Add the commands and fragments of ``text`` (starting at ``line``) to ``out``."""
    if depth > MAX_NESTING:
        raise InputError(f"command substitutions nested more than {MAX_NESTING} deep", f"{out.path}:{line}")
    lexed = split_commands(text, line)
    out.fragments.extend(Fragment(t, ln) for t, ln in lexed.comments)
    for cmd in lexed.commands:
        words = [Word(_dequote(t.text, t.line, out, depth), t.line) for t in cmd.words if not t.op]
        if words:
            out.commands.append(words)
        out.fragments.extend(Fragment(h.body, h.line) for h in cmd.heredocs)


def _dequote(word: str, line: int, out: ShellScript, depth: int, quoted: bool = False) -> str:
    """A raw word's text with quotes removed; ``$(...)``/backticks are read as commands into
    ``out`` and stand for their known value (:func:`_subst_value`); ``$((...))`` is unresolved."""
    buf: list[str] = []
    for p in word_parts(word, quoted):
        if p.kind in ("text", "single"):
            buf.append(p.text)
        elif p.kind == "escape":
            if p.text == "":
                buf.append("\\")
            elif p.text != "\n":  # a line continuation
                buf.append(("\\" if quoted and p.text not in '"\\$`' else "") + p.text)
        elif p.kind == "double":
            buf.append(_dequote(p.text, line + word.count("\n", 0, p.start), out, depth, True))
        elif p.kind in ("command", "backtick"):
            opener = 2 if p.kind == "command" else 1
            _read(p.text, out, line + word.count("\n", 0, p.start + opener), depth + 1)
            buf.append(_subst_value(p.text, depth))
        elif p.kind == "arith":
            buf.append(UNRESOLVED)
        else:  # $NAME, ${...}, $1: kept as written, for expand()
            buf.append(word[p.start:p.end])
    return "".join(buf)


def _subst_value(inner: str, depth: int = 0) -> str:
    """What a command substitution stands for, when it is a known folder idiom."""
    inner = inner.strip()
    if _DIRNAME.match(inner):
        return SCRIPT_DIR
    if _TOPLEVEL.match(inner):
        return REPO_ROOT
    for folder in _FOLDER_OF:
        m = folder.match(inner)
        if m:
            sub = parse_shell(m.group(1), "<subst>", depth + 1)
            if sub.commands and len(sub.commands[-1]) == 1:
                return sub.commands[-1][0].text
    return CMD_SUBST


def command_words(words: list[Word]) -> list[Word]:
    """The words of a command past its keywords (``if``, ``!``, ...) and prefixes (``exec``, ...)."""
    i = 0
    while i < len(words) and (words[i].text in KEYWORDS or words[i].text in PREFIXES):
        i += 1
    return words[i:]


def parse_shell(text: str, path: str = "<script>", _depth: int = 0) -> ShellScript:
    """Read a shell script into commands, comments/here-doc text, and variable assignments.
    Raises :class:`InputError` (one line) for nesting too deep to read."""
    out = ShellScript(path)
    _read(text, out, 1, _depth + 1)
    out.fragments.sort(key=lambda f: f.line)  # comments inside $(...) are found after the rest
    for cmd in out.commands:
        found, _ = assignments([w.text for w in command_words(cmd)])
        for name, _op, value in found:
            out.variables.setdefault(name, []).append(value)
    return out


_EXPANSION = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])")
_BRACED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*|[0-9]+)(?:\[[0-9@*]\])?(?:(:?[-=?+])(.*))?$", re.S)


def expand(word: str, variables: dict[str, list[str]], _seen: frozenset[str] = frozenset(), _depth: int = 0) -> list[str]:
    """Every value ``word`` can take (at most 16); parts that can't be known become
    :data:`UNRESOLVED`. Only ``$X``, ``${X}`` and ``${X:-default}``-style forms resolve."""
    if _depth > 6:
        return [UNRESOLVED]
    results = [""]
    pos = 0
    for m in _EXPANSION.finditer(word):
        literal = word[pos:m.start()]
        pos = m.end()
        if m.group(2) is not None:
            name, op, default = m.group(2), None, None
        else:
            b = _BRACED.match(m.group(1))
            if not b:  # ${#X}, ${X%%pat}, ${X/a/b}, ...
                results = [r + literal + UNRESOLVED for r in results]
                continue
            name, op, default = b.group(1), b.group(2), b.group(3)
        values: list[str]
        if name in variables and name not in _seen:
            values = []
            for raw in variables[name][:4]:
                values.extend(expand(raw, variables, _seen | {name}, _depth + 1))
            if op in (":+", "+"):
                values = expand(default or "", variables, _seen, _depth + 1)
        elif op in (":-", "-", ":=", "="):
            values = expand(default or "", variables, _seen, _depth + 1)
        elif op in (":+", "+"):
            values = [""]
        else:
            values = [UNRESOLVED]
        results = [r + literal + v for r in results for v in dict.fromkeys(values)][:16]
    results = [r + word[pos:] for r in results]
    return [r.replace(CMD_SUBST, UNRESOLVED) for r in results]


def is_resolved(value: str) -> bool:
    return UNRESOLVED not in value and CMD_SUBST not in value
