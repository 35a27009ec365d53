"""The command tree of a script: simple commands, pipelines and lists, ``if``, loops, ``case``
arms with their patterns and bodies, functions, ``{ }`` and ``( )`` groups, ``(( ))``.

:func:`parse` reads the tokens of :func:`.lexer.lex` into a :class:`Script`. It is tolerant,
as the checks need it to be: an unterminated construct ends with the script, a stray ``fi``,
``done``, ``esac``, ``}`` or ``)`` is ignored, and nothing raises. It is iterative, so no
nesting depth can overflow the stack. Redirections and here-documents after a compound command
(``done < list``, ``} > log``) are read as a simple command of their own, with no ``argv``.

:meth:`Script.simple_commands` walks the simple commands in script order, each with whether it
runs only under shell logic (inside ``if``/``case``/a loop, or after ``&&``/``||``);
:func:`expanded_commands` gives their words with the values a caller knows put in, following
plain assignments in order (what :mod:`buildgate.workflow.model` reads ``run:`` builds with).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Union

from buildgate.shell.lexer import Heredoc, Token, lex
from buildgate.shell.words import DECLARERS, assignments, expand_known

RESERVED = frozenset({"if", "then", "elif", "else", "fi", "while", "until", "for", "select", "do", "done",
                      "case", "esac", "{", "}", "!", "time", "function"})
FUNCTION_NAME = re.compile(r"[A-Za-z_][\w:.-]*")  # bash takes `my-func`, `ns::f`
AND_OR = ("&&", "||")
PIPES = ("|", "|&")
ARM_ENDS = (";;", ";&", ";;&")


@dataclass
class _Node:
    """What every command node has (keyword-only): the and-or/pipe operator before it in its
    list (``connector``), whether it runs only after ``&&``/``||`` (``chained``: itself, or
    piped on from such a command), and its last line."""

    connector: str | None = field(default=None, kw_only=True)
    chained: bool = field(default=False, kw_only=True)
    end_line: int = field(default=0, kw_only=True)


@dataclass
class Simple(_Node):
    """A simple command: its raw tokens (words and redirections, keywords before it removed)
    and the here-documents it reads."""

    line: int
    tokens: list[Token] = field(default_factory=list)
    heredocs: list[Heredoc] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        """Raw word texts, redirection operators left out (their targets kept)."""
        return [t.text for t in self.tokens if not t.op]

    @property
    def argv(self) -> list[str]:
        """Raw word texts without redirections (``> f``, ``2>&1``, ``<<END``)."""
        out: list[str] = []
        skip = False
        for k, t in enumerate(self.tokens):
            if t.op:
                skip = not t.text.endswith("&") or t.text in (">&", "<&")
                continue
            if skip:
                skip = False
                continue
            nxt = self.tokens[k + 1] if k + 1 < len(self.tokens) else None
            if nxt is not None and nxt.op and t.end == nxt.start and t.text.isdigit():
                continue  # the file descriptor of `2>&1`
            out.append(t.text)
        return out


@dataclass
class Branch:
    """One ``if``/``elif`` test and the commands it guards."""

    line: int
    condition: list[Node] = field(default_factory=list)
    body: list[Node] = field(default_factory=list)


@dataclass
class If(_Node):
    line: int
    branches: list[Branch] = field(default_factory=list)
    orelse: list[Node] | None = None


@dataclass
class Loop(_Node):
    """``for``/``select`` (``variable``, ``items``; None without ``in``), ``c-for`` (``arith``:
    the whole ``((init; test; step))``), ``while``/``until`` (``condition``). ``header``: the
    script text from the keyword to the end of its line."""

    kind: str
    line: int
    header: str = ""
    variable: str | None = None
    items: list[Token] | None = None
    arith: str | None = None
    condition: list[Node] = field(default_factory=list)
    body: list[Node] = field(default_factory=list)


@dataclass
class Arm:
    """One ``case`` arm: its patterns (raw words), its commands, and how it ends (``;;``...)."""

    line: int
    patterns: list[Token] = field(default_factory=list)
    body: list[Node] = field(default_factory=list)
    end: str = ""


@dataclass
class Case(_Node):
    line: int
    subject: Token | None = None
    arms: list[Arm] = field(default_factory=list)


@dataclass
class Function(_Node):
    """``name() { ...; }`` / ``function name { ...; }``; ``body`` holds the compound command."""

    name: str
    line: int
    body: list[Node] = field(default_factory=list)


@dataclass
class Group(_Node):
    """``{ ...; }`` (kind ``{``) or a subshell ``( ... )`` (kind ``(``)."""

    kind: str
    line: int
    body: list[Node] = field(default_factory=list)


@dataclass
class Arith(_Node):
    """An ``(( ... ))`` command, as written."""

    text: str
    line: int


Node = Union[Simple, If, Loop, Case, Function, Group, Arith]
GUARDS = (If, Loop, Case)


def children(node: Node) -> list[Node]:
    """The nodes directly inside ``node``, in script order."""
    if isinstance(node, If):
        out = [n for b in node.branches for n in (*b.condition, *b.body)]
        return out + list(node.orelse or [])
    if isinstance(node, Loop):
        return [*node.condition, *node.body]
    if isinstance(node, Case):
        return [n for a in node.arms for n in a.body]
    if isinstance(node, (Function, Group)):
        return list(node.body)
    return []


def walk(nodes: list[Node], ancestors: tuple[Node, ...] = ()) -> Iterator[tuple[Node, tuple[Node, ...]]]:
    """Every node under ``nodes``, depth first in script order, with its ancestors (outermost first)."""
    stack = [(n, ancestors) for n in reversed(nodes)]
    while stack:
        node, up = stack.pop()
        yield node, up
        inner = up + (node,)
        stack.extend((c, inner) for c in reversed(children(node)))


def guarded(node: Node, ancestors: tuple[Node, ...]) -> bool:
    """Whether ``node`` runs only under shell logic: inside ``if``/``case``/a loop, or after
    ``&&``/``||`` (itself or a group around it)."""
    return node.chained or any(isinstance(a, GUARDS) or a.chained for a in ancestors)


@dataclass
class Script:
    """A script read into a command tree, plus its comments as ``(text after #, line)``."""

    text: str
    body: list[Node] = field(default_factory=list)
    comments: list[tuple[str, int]] = field(default_factory=list)

    def walk(self) -> Iterator[tuple[Node, tuple[Node, ...]]]:
        return walk(self.body)

    def simple_commands(self) -> Iterator[tuple[Simple, bool]]:
        """Each simple command in script order, and whether it is :func:`guarded`."""
        for node, up in self.walk():
            if isinstance(node, Simple):
                yield node, guarded(node, up)

    def loops(self) -> list[Loop]:
        return [n for n, _ in self.walk() if isinstance(n, Loop)]

    def cases(self) -> list[Case]:
        return [n for n, _ in self.walk() if isinstance(n, Case)]

    def functions(self) -> list[Function]:
        return [n for n, _ in self.walk() if isinstance(n, Function)]


def _is_name(tok: Token) -> bool:
    return tok.kind == "word" and FUNCTION_NAME.fullmatch(tok.text) is not None


class _Parser:
    """The state of :func:`parse`: a stack of open compound commands, each with its section."""

    def __init__(self, text: str, line: int) -> None:
        lexed = lex(text, line)
        self.text = text
        self.toks = lexed.tokens
        self.script = Script(text, comments=lexed.comments)
        self.stack: list[list] = []  # [node, section]
        self.cur: Simple | None = None
        self.connector: str | None = None
        self.at_start = True
        self.patterns: list[Token] = []
        self.last_line = line

    # -- where new nodes go ------------------------------------------------------------------
    def target(self) -> list[Node]:
        if not self.stack:
            return self.script.body
        node, section = self.stack[-1]
        if isinstance(node, If):
            if section == "else":
                return node.orelse if node.orelse is not None else []
            return node.branches[-1].condition if section == "cond" else node.branches[-1].body
        if isinstance(node, Loop):
            return node.condition if section == "cond" else node.body
        if isinstance(node, Case):
            if not node.arms:
                node.arms.append(Arm(node.line))
            return node.arms[-1].body
        return node.body

    def add(self, node: Node) -> None:
        siblings = self.target()
        node.connector = self.connector
        prev = siblings[-1] if siblings else None
        node.chained = self.connector in AND_OR or (self.connector in PIPES and prev is not None and prev.chained)
        siblings.append(node)
        self.connector = None

    def open(self, node: Node, section: str) -> None:
        self.finish()
        if self.stack and isinstance(self.stack[-1][0], Function) and self.stack[-1][1] == "await":
            self.stack[-1][1] = "open"
        self.add(node)
        self.stack.append([node, section])
        self.at_start = True

    def close(self, kind: type, line: int, group: str | None = None) -> bool:
        """Close the innermost open ``kind`` (and whatever is open inside it)."""
        self.finish()
        for k in range(len(self.stack) - 1, -1, -1):
            node = self.stack[k][0]
            if isinstance(node, kind) and (group is None or getattr(node, "kind", None) == group):
                for inner, _ in self.stack[k:]:
                    inner.end_line = line
                del self.stack[k:]
                self._close_function(line)
                self.at_start = True
                return True
        return False

    def _close_function(self, line: int) -> None:
        while self.stack and isinstance(self.stack[-1][0], Function) and self.stack[-1][1] in ("open", "simple"):
            self.stack.pop()[0].end_line = line

    def finish(self) -> None:
        """End the simple command being read."""
        if self.cur is not None:
            self.cur = None
            if self.stack and isinstance(self.stack[-1][0], Function) and self.stack[-1][1] == "simple":
                self._close_function(self.last_line)
        self.at_start = True

    # -- tokens ----------------------------------------------------------------------------------
    def run(self) -> Script:
        i = 0
        while i < len(self.toks):
            i = self.token(i)
        self.finish()
        for node, _ in self.stack:
            node.end_line = self.last_line
        return self.script

    def token(self, i: int) -> int:
        t = self.toks[i]
        self.last_line = max(self.last_line, t.line)
        top, section = self.stack[-1] if self.stack else (None, None)
        if t.kind == "sep":
            return self.separator(i, t, top, section)
        if t.kind == "heredoc":
            assert t.heredoc is not None
            if self.cur is None:
                self.simple(t.line)
            assert self.cur is not None
            self.cur.heredocs.append(t.heredoc)
            return i + 1
        if isinstance(top, Case) and section in ("subject", "patterns"):
            return self.case_word(i, t, top, section)
        if isinstance(top, Loop) and section == "header":
            return self.loop_header(i, t, top)
        if t.kind == "arith":
            self.finish()
            self.add(Arith(t.text, t.line, end_line=t.line + t.text.count("\n")))
            return i + 1
        if t.kind == "word" and self.at_start and self.cur is None and t.text in RESERVED:
            return self.keyword(i, t)
        if self.cur is None:
            self.simple(t.line)
        assert self.cur is not None
        if t.kind == "heredoc-op":
            if not self.cur.tokens:
                self.cur.line = t.line
        else:
            if not self.cur.tokens:
                self.cur.line = t.line
            self.cur.tokens.append(t)
            self.cur.end_line = t.line
        self.at_start = False
        return i + 1

    def simple(self, line: int) -> None:
        if self.stack and isinstance(self.stack[-1][0], Function) and self.stack[-1][1] == "await":
            self.stack[-1][1] = "simple"
        self.cur = Simple(line, end_line=line)
        self.add(self.cur)

    def separator(self, i: int, t: Token, top: Node | None, section: str | None) -> int:
        s = t.text
        nxt = self.toks[i + 1] if i + 1 < len(self.toks) else None
        if isinstance(top, Case) and section == "patterns":
            if s == ")":
                top.arms.append(Arm(self.patterns[0].line if self.patterns else t.line, self.patterns))
                self.patterns = []
                self.stack[-1][1] = "body"
                self.at_start = True
            return i + 1  # `(`, `|`, newlines between patterns
        if isinstance(top, Loop) and section == "header" and s in (";", "\n"):
            self.stack[-1][1] = "await-do"
            return i + 1
        if s == "(":
            cur = self.cur
            if (cur is not None and len(cur.tokens) == 1 and _is_name(cur.tokens[0]) and nxt is not None
                    and nxt.kind == "sep" and nxt.text == ")"):
                self.target().remove(cur)
                self.cur = None
                self.connector = cur.connector
                self.open(Function(cur.tokens[0].text, cur.line), "await")
                return i + 2
            self.open(Group("(", t.line), "body")
            return i + 1
        self.finish()
        if s == ")":
            self.close(Group, t.line, "(")
        elif s in AND_OR or s in PIPES:
            self.connector = s
        elif s in ARM_ENDS:
            for k in range(len(self.stack) - 1, -1, -1):
                node = self.stack[k][0]
                if isinstance(node, Case) and self.stack[k][1] == "body":
                    for inner, _ in self.stack[k + 1:]:
                        inner.end_line = t.line
                    del self.stack[k + 1:]
                    if node.arms:
                        node.arms[-1].end = s
                    self.stack[k][1] = "patterns"
                    break
            self.connector = None
        else:  # ; & newline
            self.connector = None
        return i + 1

    def case_word(self, i: int, t: Token, case: Case, section: str) -> int:
        if section == "subject":
            if case.subject is None:
                case.subject = t
            elif t.kind == "word" and t.text == "in":
                self.stack[-1][1] = "patterns"
            return i + 1
        if t.kind == "word" and t.text == "esac" and not self.patterns:
            self.close(Case, t.line)
            return i + 1
        if t.kind == "word":
            self.patterns.append(t)
        return i + 1

    def loop_header(self, i: int, t: Token, loop: Loop) -> int:
        if t.kind == "arith" and loop.variable is None and loop.items is None:
            loop.kind, loop.arith = "c-for", t.text
            self.stack[-1][1] = "await-do"
        elif t.kind != "word":
            pass
        elif loop.variable is None:
            loop.variable = t.text
        elif loop.items is None and t.text == "in":
            loop.items = []
        elif loop.items is None and t.text == "do":
            self.stack[-1][1] = "body"
            self.at_start = True
        elif loop.items is not None:
            loop.items.append(t)
        return i + 1

    def keyword(self, i: int, t: Token) -> int:
        w = t.text
        top, section = self.stack[-1] if self.stack else (None, None)
        if w == "if":
            self.open(If(t.line, [Branch(t.line)]), "cond")
        elif w in ("while", "until"):
            self.open(Loop(w, t.line, self._header(t)), "cond")
        elif w in ("for", "select"):
            self.open(Loop(w, t.line, self._header(t)), "header")
        elif w == "case":
            self.open(Case(t.line), "subject")
            self.patterns = []
        elif w == "{":
            self.open(Group("{", t.line), "body")
        elif w == "then" and isinstance(top, If):
            self.stack[-1][1] = "body"
        elif w == "elif" and isinstance(top, If):
            top.branches.append(Branch(t.line))
            self.stack[-1][1] = "cond"
        elif w == "else" and isinstance(top, If):
            top.orelse = []
            self.stack[-1][1] = "else"
        elif w == "do" and isinstance(top, Loop):
            self.stack[-1][1] = "body"
        elif w == "fi":
            self.close(If, t.line)
        elif w == "done":
            self.close(Loop, t.line)
        elif w == "esac":
            self.close(Case, t.line)
        elif w == "}":
            self.close(Group, t.line, "{")
        elif w == "time":
            nxt = self.toks[i + 1] if i + 1 < len(self.toks) else None
            if nxt is not None and nxt.kind == "word" and nxt.text == "-p":
                return i + 2
        elif w == "function":
            nxt = self.toks[i + 1] if i + 1 < len(self.toks) else None
            if nxt is None or nxt.kind != "word":
                return i + 1
            name = nxt.text[:-2] if nxt.text.endswith("()") else nxt.text
            self.open(Function(name, t.line), "await")
            j = i + 2
            if j + 1 < len(self.toks) and [x.text for x in self.toks[j:j + 2]] == ["(", ")"] \
                    and all(x.kind == "sep" for x in self.toks[j:j + 2]):
                j += 2
            return j
        # `!` and stray keywords (`then` outside an if...) are skipped
        self.at_start = True
        return i + 1

    def _header(self, t: Token) -> str:
        end = self.text.find("\n", t.start)
        return self.text[t.start:len(self.text) if end == -1 else end].strip()


def parse(text: str, line: int = 1) -> Script:
    """Read a script into its command tree (see the module docstring). ``line``: the line
    ``text`` starts on."""
    return _Parser(text, line).run()


# -- commands with known values ---------------------------------------------------------------
CONTAINER_CLIS = ("docker", "podman", "buildah")


@dataclass
class ExpandedCommand:
    """A simple command's words with known values put in (see :func:`expanded_commands`)."""

    words: list[str]
    line: int
    conditional: bool  # runs only under shell logic (:func:`guarded`)
    after_success: bool = False  # only guarded by `&&` after a container command: runs when that succeeds


def expanded_commands(script: str | Script, env: Mapping[str, str] | None = None) -> list[ExpandedCommand]:
    """The simple commands of ``script`` in order, words unquoted, with ``$VAR``, ``${VAR}`` and
    ``${VAR:offset:length}`` replaced from ``env`` and the plain assignments before them
    (``X=1``, ``export X=1``, ``local X=1``); unknown expansions stay as written. Assignment-only
    commands and declarations are not listed; ``VAR=x cmd`` lists ``cmd``."""
    tree = parse(script) if isinstance(script, str) else script
    known = dict(env or {})
    out: list[ExpandedCommand] = []
    prev: list[str] = []
    for cmd, up in tree.walk():
        if not isinstance(cmd, Simple):
            continue
        conditional = guarded(cmd, up)
        # `docker build ... && docker push ...`: the push runs when the build succeeds (no test)
        after_success = (conditional and cmd.connector == "&&" and bool(prev) and prev[0] in CONTAINER_CLIS
                         and not any(isinstance(a, GUARDS) or a.chained for a in up))
        words = [expand_known(w, known) for w in cmd.argv]
        prev = [w.rsplit("/", 1)[-1] for w in words[:1]]
        if not words:
            continue
        found, k = assignments(words)
        if k >= len(words) or words[0] in DECLARERS:
            for name, op, value in found:
                known[name] = known.get(name, "") + value if op == "+=" else value
            continue
        out.append(ExpandedCommand(words[k:], cmd.line, conditional, after_success))
    return out
