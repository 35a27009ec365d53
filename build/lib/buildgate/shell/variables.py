"""A script's words with quotes removed, and string-valued variable following.

:func:`parse_shell` reads a script into its simple commands (the flat view,
:func:`.lexer.split_commands`), with words unquoted, commands inside ``$(...)`` read too, and
every ``NAME=value`` it assigns. :func:`expand` then gives every value a word can take:
``$NAME``, ``${NAME}``, ``${NAME:-default}``, ``${1:-default}``. ``$(dirname "$0")``,
``$(cd "$(dirname ...)/.." && pwd)`` and ``$(git rev-parse --show-toplevel)`` resolve to the
script's folder and the repository root. Anything else stays unresolved and is reported as
such, never guessed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from buildgate.errors import InputError
from buildgate.shell.lexer import split_commands
from buildgate.shell.words import KEYWORDS, PREFIXES, Part, assignments, parameter, unquote

# Markers left in word text by the reader and the resolver.
SCRIPT_DIR = "\x01DIR\x01"  # the folder of the script being read
REPO_ROOT = "\x01ROOT\x01"  # the repository root
UNRESOLVED = "\x01?\x01"  # an expansion we can't resolve
CMD_SUBST = "\x02"  # a command substitution whose value we don't know (before resolution)

MAX_NESTING = 40
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


def _dequote(word: str, line: int, out: ShellScript, depth: int) -> str:
    """A raw word's text with quotes removed; ``$(...)``/backticks are read as commands into
    ``out`` and stand for their known value (:func:`_subst_value`); ``$((...))`` is unresolved;
    ``$NAME``, ``${...}`` and ``$1`` are kept as written, for :func:`expand`."""

    def expansion(p: Part, written: str, at: int) -> str:
        if p.kind in ("command", "backtick"):
            opener = 2 if p.kind == "command" else 1
            _read(p.text, out, line + word.count("\n", 0, at + opener), depth + 1)
            return _subst_value(p.text, depth)
        return UNRESOLVED if p.kind == "arith" else written

    return unquote(word, expansion)


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


def parse_shell(text: str, path: str = "<script>", depth: int = 0) -> ShellScript:
    """Read a shell script into commands, comments/here-doc text, and variable assignments.
    ``depth``: how deep in substitutions ``text`` already is. Raises :class:`InputError` (one
    line) for nesting too deep to read."""
    out = ShellScript(path)
    _read(text, out, 1, depth + 1)
    out.fragments.sort(key=lambda f: f.line)  # comments inside $(...) are found after the rest
    for cmd in out.commands:
        found, _ = assignments([w.text for w in command_words(cmd)])
        for name, _op, value in found:
            out.variables.setdefault(name, []).append(value)
    return out


_EXPANSION = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])")
_DEFAULT_OP = re.compile(r"^(:?[-=?+])(.*)$", re.S)


def expand(word: str, variables: dict[str, list[str]], _seen: frozenset[str] = frozenset(), _depth: int = 0) -> list[str]:
    """Every value ``word`` (quotes already removed, as :func:`parse_shell` gives it) can take
    (at most 16); parts that can't be known become :data:`UNRESOLVED`. Only ``$X``, ``${X}``
    and ``${X:-default}``-style forms resolve."""
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
            par = parameter(m.group(1))
            d = _DEFAULT_OP.match(par.op) if par is not None else None
            if par is None or (par.op and not d):  # ${#X}, ${X%%pat}, ${X/a/b}, ...
                results = [r + literal + UNRESOLVED for r in results]
                continue
            name, op, default = par.name, d.group(1) if d else None, d.group(2) if d else None
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
