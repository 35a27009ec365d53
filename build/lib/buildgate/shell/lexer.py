"""The shell lexer: where quoted and nested constructs end, and a script cut into tokens.

- scanning: :func:`skip_double`, :func:`skip_paren`, :func:`skip_brace`, :func:`skip_quoted`,
  :func:`split_pipeline`: where a quoted or nested construct ends (iterative, so no nesting
  depth can overflow the stack);
- :func:`lex`: a script as a stream of :class:`Token` s (words with quotes kept, redirection
  operators, separators ``; && || | & ( ) ;;`` and newlines, ``(( ))`` arithmetic, here-document
  bodies) plus its comments; :mod:`.syntax` builds the command tree on it;
- :func:`split_commands`: the flat view of the same tokens: every group of words between two
  separators, keywords and all (what a reader that wants every word of a script uses).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

HEREDOC_OP = re.compile(r"""<<(-?)[ \t]*(["']?)([A-Za-z0-9_.-]+)\2""")
# Words after which `((` still opens an arithmetic command (`if ((x > 1))`, `for ((i=0; ...))`).
ARITH_AFTER = frozenset({"if", "elif", "while", "until", "then", "do", "else", "!", "time", "{", "for"})


# -- scanning -----------------------------------------------------------------------------------
def skip_to(s: str, quote: str, i: int) -> int:
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
                j = skip_to(s, "`", j)
            else:
                j += 1
        elif c == "'":
            j = skip_to(s, "'", j)
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
        return skip_to(s, c, i)
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


def is_arithmetic(text: str, i: int) -> bool:
    """``text[i:]`` starts an ``(( ... ))`` arithmetic command, not nested subshells
    (``((cd a; b) )``, ``((a); (b))``) and not an unterminated ``((``."""
    if not text.startswith("((", i):
        return False
    end = skip_paren(text, i)
    return text[end - 2:end] == "))" and skip_paren(text, i + 1) == end - 1


# -- tokens -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Heredoc:
    """A here-document body (tabs stripped for ``<<-``); ``expands`` unless the delimiter is quoted."""

    body: str
    expands: bool
    line: int  # the line of the body's first line


@dataclass(frozen=True)
class Token:
    """One raw word (quotes and expansions as written) and the line it starts on.

    ``kind``: ``word``; ``redirect`` (``>``, ``>>``, ``<``, ``>&``: ``2>&1`` is 2, >&, 1; ``op``
    is true for these); ``sep`` (``;`` ``;;`` ``;&`` ``;;&`` ``&&`` ``||`` ``|`` ``|&`` ``&``
    ``(`` ``)`` or ``"\\n"``); ``arith`` (a whole ``((...))`` command); ``heredoc-op`` (``<<END``);
    ``heredoc`` (a body, in ``heredoc``, at the end of the line that asked for it).
    ``start``/``end``: where the token is in the text."""

    text: str
    line: int
    op: bool = False
    kind: str = "word"
    start: int = -1
    end: int = -1
    heredoc: Heredoc | None = field(default=None, compare=False)


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


@dataclass
class Tokens:
    """A script as tokens, plus its comments as ``(text after #, line)``."""

    text: str
    tokens: list[Token] = field(default_factory=list)
    comments: list[tuple[str, int]] = field(default_factory=list)


_SEPARATORS = (";;&", ";;", ";&", "&&", "||", "|&", ";", "&", "|", "(", ")")


def lex(text: str, line: int = 1) -> Tokens:
    """Cut a script into tokens. Line continuations are dropped; a ``#`` that starts a word
    starts a comment; ``((...))`` where a command starts is one ``arith`` token; here-document
    bodies follow the line that asked for them. ``line`` is the line ``text`` starts on."""
    out = Tokens(text)
    toks = out.tokens
    pending: list[tuple[str, bool, bool]] = []  # (delimiter, expands, strip tabs)
    cur: list[str] = []
    cur_line = cur_start = 0
    words: list[str] = []  # the words of the command so far (for where `((` is arithmetic)
    i, n = 0, len(text)

    def end_word() -> None:
        if cur:
            toks.append(Token("".join(cur), cur_line, start=cur_start, end=i))
            words.append(toks[-1].text)
            cur.clear()

    while i < n:
        c = text[i]
        if text.startswith("\\\n", i):
            i += 2
            line += 1
            continue
        k = skip_quoted(text, i)
        if (k is None and c == "(" and not cur and (not words or all(w in ARITH_AFTER for w in words))
                and is_arithmetic(text, i)):
            k = skip_paren(text, i)  # (( arithmetic )): one token
            toks.append(Token(text[i:k], line, kind="arith", start=i, end=k))
            words.clear()
            line += text.count("\n", i, k)
            i = k
            continue
        if k is not None:
            if not cur:
                cur_line, cur_start = line, i
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
                toks.append(Token(m.group(0), line, kind="heredoc-op", start=i, end=m.end()))
                i = m.end()
                continue
        if c == "\n":
            end_word()
            nl_line, nl_at = line, i
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
                doc = Heredoc("\n".join(body), expands, start)
                toks.append(Token("", nl_line, kind="heredoc", start=nl_at, end=nl_at, heredoc=doc))
            pending.clear()
            toks.append(Token("\n", nl_line, kind="sep", start=nl_at, end=nl_at + 1))
            words.clear()
            continue
        if c in ";&|()":
            end_word()
            sep = next(s for s in _SEPARATORS if text.startswith(s, i))
            toks.append(Token(sep, line, kind="sep", start=i, end=i + len(sep)))
            words.clear()
            i += len(sep)
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
            toks.append(Token(text[i:k], line, op=True, kind="redirect", start=i, end=k))
            words.append(text[i:k])
            i = k
            continue
        if not cur:
            cur_line, cur_start = line, i
        cur.append(c)
        i += 1
    end_word()
    return out


def split_commands(text: str, line: int = 1) -> Lexed:
    """Simple commands of a script, flat: the words between two separators (``; && || | & ( )``,
    newlines, ``((...))``), keywords included, with here-document bodies and comments.
    ``line`` is the line ``text`` starts on. :func:`.syntax.parse` reads the same tokens into
    a command tree."""
    lexed = lex(text, line)
    out = Lexed(comments=lexed.comments)
    cmd: Command | None = None
    last_line = line

    def end_command() -> None:
        nonlocal cmd
        if cmd is not None and (cmd.words or cmd.heredocs):
            out.commands.append(cmd)
        cmd = None

    for tok in lexed.tokens:
        if tok.kind in ("sep", "arith"):
            end_command()
            last_line = tok.line + (1 if tok.text == "\n" else 0) + tok.text.count("\n") * (tok.kind == "arith")
            continue
        if cmd is None:
            cmd = Command(last_line)
        if tok.kind == "heredoc":
            assert tok.heredoc is not None
            cmd.heredocs.append(tok.heredoc)
        elif not cmd.words:
            cmd.line = tok.line
        if tok.kind in ("word", "redirect"):
            cmd.words.append(tok)
    end_command()
    return out
