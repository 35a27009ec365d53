"""What an update job writes into the kustomization, read from its ``run:`` script.

:func:`find_tag_writes` reads a shell script (and the step's ``env:``) and finds each place
that writes an image tag into a kustomization: ``kustomize edit set image NAME=NEW:TAG``,
``sed -i "s/newTag: .*/newTag: $TAG/"``, ``yq -i '.images[].newTag = ...'`` and heredocs that
write a ``newTag:`` line. It follows the tag back through simple shell variables
(``TAG=...``, ``SHORT_SHA=$(...)``, ``export``), the step's env, ``${{ }}`` expressions and
earlier steps' outputs, to what it is made of:

==========================  ========================================================  =====================
source                      example                                                    piece
==========================  ========================================================  =====================
full commit SHA             ``${{ github.sha }}``, ``$GITHUB_SHA``, ``$(git rev-parse HEAD)``   ``sha`` (40)
a slice of it               ``${GITHUB_SHA::7}``, ``${SHA:0:8}``, ``| cut -c1-7``, ``head -c7`` ``sha`` (N)
git's abbreviation          ``$(git rev-parse --short HEAD)``, ``--short=N``, ``git log --format=%h`` ``short``
metadata-action outputs     ``${{ steps.meta.outputs.version }}``, ``$DOCKER_METADATA_OUTPUT_VERSION`` ``meta``
branch/tag name             ``${{ github.ref_name }}``, ``$GITHUB_REF_NAME``                    ``ref_name``
text                        ``main-``                                                  ``lit``
==========================  ========================================================  =====================

Anything else becomes an ``unknown`` piece: the write is still reported (so a caller can say
what it found), and :meth:`TagWrite.render` raises CannotDecide naming it. A script with no
recognisable write gives an empty list; the caller turns that into CannotDecide.

Scripts are cut into commands and words by :mod:`buildgate.shell` (the one shell reader, and
why it is hand-written); this module turns words into tag pieces.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from buildgate.errors import CannotDecide
from buildgate.shell import DECLARERS, assignments, parse, split_pipeline, word_parts
from buildgate.workflow.events import Event
from buildgate.workflow.expressions import expression_spans

PLAUSIBLE_ABBREV = (7, 8)  # `git rev-parse --short`: 7 at least, more as the repository grows
MAX_SCRIPT = 200_000
MAX_DEPTH = 8

Piece = tuple  # ("lit", str) | ("sha", int|None) | ("short", int|None) | ("meta", str) | ("ref_name", None) | ("unknown", str)


@dataclass(frozen=True)
class TagWrite:
    """One tag written into a kustomization, and what it is made of."""

    kind: str  # git-rev-parse-short | sha-slice | github-sha | metadata-output | ref-name | literal | digest | unknown
    describe: str
    pieces: tuple[Piece, ...] = ()
    sink: str = ""  # "kustomize edit set image" | "sed" | "yq" | "heredoc"
    image: str | None = None  # the image the write targets; None: every images: entry
    line: int | None = None  # 1-based line of the write in the run script
    source: str = ""  # the script text of the write (one line, shortened)

    @property
    def template(self) -> str:
        """The write as canonical shell text (``main-$(git rev-parse --short HEAD)``)."""
        return pieces_text(self.pieces)

    def render(
        self, event: Event, metadata_tags: Sequence[str] | None, abbrev_len: int | None = None,
        *, images: Sequence[str] = (),
    ) -> list[str]:
        """The concrete tag(s) this write can produce for ``event``.

        ``metadata_tags``: the tags docker/metadata-action computed for the same event (no image
        prefix, its order; the first is ``outputs.version``). A bare ``git rev-parse --short``
        gives each plausible length (7 and 8) unless ``abbrev_len`` says what git prints for this
        repository. ``images`` are the action's ``images:`` (for ``outputs.tags``). A digest
        write gives ``[]``. An unknown piece raises CannotDecide naming it.
        """
        if self.kind == "digest":
            return []
        options: list[list[str]] = []
        for kind, arg in self.pieces:
            if kind == "lit":
                options.append([arg])
            elif kind == "sha":
                options.append([event.sha if arg is None else event.sha[:arg]])
            elif kind == "short":
                if arg is not None:
                    lengths: Iterable[int] = [max(arg, abbrev_len or 0) if abbrev_len else arg]
                elif abbrev_len:
                    lengths = [abbrev_len]
                else:
                    lengths = PLAUSIBLE_ABBREV
                options.append([event.sha[:n] for n in lengths])
            elif kind == "ref_name":
                options.append([event.ref_name])
            elif kind == "meta":
                if not metadata_tags:
                    raise CannotDecide(
                        f"the tag written{self._at()} is docker/metadata-action's `{arg}` output, "
                        f"but no metadata tags are known for {event.describe()}")
                if arg == "version":
                    options.append([metadata_tags[0]])
                else:  # tags: newline-separated, image-prefixed when images are set
                    full = [f"{i}:{t}" for i in images for t in metadata_tags] if images else list(metadata_tags)
                    options.append(["\n".join(full)])
            else:
                raise CannotDecide(f"the tag written{self._at()} comes from `{arg}`, which buildgate can't evaluate")
        out: list[str] = []
        for combo in itertools.product(*options):
            tag = "".join(combo)
            if tag not in out:
                out.append(tag)
        return out

    def _at(self) -> str:
        return f" at script line {self.line}" if self.line else ""


# -- pieces -------------------------------------------------------------------------------------
def _merge(pieces: Iterable[Piece]) -> tuple[Piece, ...]:
    out: list[Piece] = []
    for p in pieces:
        if p[0] == "lit":
            if not p[1]:
                continue
            if out and out[-1][0] == "lit":
                out[-1] = ("lit", out[-1][1] + p[1])
                continue
        out.append(p)
    return tuple(out)


def _piece_text(p: Piece) -> str:
    kind, arg = p
    return {
        "lit": lambda: arg,
        "sha": lambda: "${{ github.sha }}" if arg is None else f"${{GITHUB_SHA::{arg}}}",
        "short": lambda: "$(git rev-parse --short HEAD)" if arg is None else f"$(git rev-parse --short={arg} HEAD)",
        "meta": lambda: f"${{{{ steps.meta.outputs.{arg} }}}}",
        "ref_name": lambda: "${{ github.ref_name }}",
        "unknown": lambda: arg,
    }[kind]()


def pieces_text(pieces: Sequence[Piece]) -> str:
    """Canonical shell text for pieces (feed it back as env/output text of a later step)."""
    return "".join(_piece_text(p) for p in pieces)


def _describe_piece(p: Piece, alone: bool) -> str:
    kind, arg = p
    if kind == "lit":
        return f"`{arg}`"
    if kind == "sha":
        return "the full commit SHA (40 hex)" if arg is None else f"the first {arg} hex of the commit SHA"
    if kind == "short":
        if arg is None:
            return f"{'bare ' if alone else ''}`git rev-parse --short HEAD` (length varies, >= 7)"
        return f"`git rev-parse --short={arg} HEAD` ({arg} hex, more if ambiguous)"
    if kind == "meta":
        return f"docker/metadata-action's `{arg}` output"
    if kind == "ref_name":
        return "the branch or tag name (`github.ref_name`)"
    return f"`{arg}` (not understood)"


def _kind(pieces: Sequence[Piece]) -> str:
    kinds = {p[0] for p in pieces}
    if "unknown" in kinds:
        return "unknown"
    if "meta" in kinds:
        return "metadata-output"
    if "short" in kinds:
        return "git-rev-parse-short"
    if any(p[0] == "sha" and p[1] is not None for p in pieces):
        return "sha-slice"
    if "sha" in kinds:
        return "github-sha"
    if "ref_name" in kinds:
        return "ref-name"
    return "literal"


def _make(pieces: Sequence[Piece], sink: str, image: str | None, line: int | None, source: str) -> TagWrite:
    pieces = _merge(pieces)
    text = " + ".join(_describe_piece(p, len(pieces) == 1) for p in pieces) or "an empty tag"
    target = f" for {image}" if image else ""
    src = " ".join(source.split())
    return TagWrite(_kind(pieces), f"{text} via {sink}{target}", pieces, sink, image, line,
                    src[:157] + "..." if len(src) > 160 else src)


# -- expressions ${{ }} -------------------------------------------------------------------------
def _clean(text: str) -> str:
    """Drop the two control characters used as markers here (they never occur in real scripts)."""
    return text.replace("\x00", "").replace("\x01", "")


_PLACEHOLDER = re.compile("\x00(\\d+)\x00")


class _Reader:
    """Expands words of one script with the variables known so far."""

    def __init__(self, env: Mapping[str, str] | None, step_outputs: Mapping[str, str] | None) -> None:
        self.step_outputs = {str(k): _clean(str(v)) for k, v in (step_outputs or {}).items()}
        self.exprs: list[tuple[Piece, ...]] = []
        self.vars: dict[str, tuple[Piece, ...]] = {
            "GITHUB_SHA": (("sha", None),),
            "GITHUB_REF_NAME": (("ref_name", None),),
            "DOCKER_METADATA_OUTPUT_VERSION": (("meta", "version"),),
            "DOCKER_METADATA_OUTPUT_TAGS": (("meta", "tags"),),
        }
        self.depth = 0
        for k, v in (env or {}).items():
            self.vars[str(k)] = self.value_text(_clean("" if v is None else str(v)))

    # ${{ }} ---------------------------------------------------------------------------------
    def protect(self, text: str) -> str:
        """Replace each ``${{ expr }}`` by a placeholder standing for its pieces."""
        try:
            found = expression_spans(text)
        except CannotDecide:
            return text
        out, last = [], 0
        for start, end, expr in found:
            out.append(text[last:start])
            self.exprs.append(self.expression(expr))
            out.append(f"\x00{len(self.exprs) - 1}\x00")
            last = end
        out.append(text[last:])
        return "".join(out)

    def expression(self, expr: str) -> tuple[Piece, ...]:
        e = " ".join(expr.split())
        low = e.lower()
        if low in ("github.sha", "github.event.after", "github.event.head_commit.id",
                   "github.event.pull_request.head.sha"):
            return (("sha", None),)
        if low == "github.ref_name":
            return (("ref_name", None),)
        m = re.fullmatch(r"env\.([A-Za-z_][A-Za-z0-9_]*)", e)
        if m:
            return self.vars.get(m.group(1), (("unknown", "${{ " + e + " }}"),))
        m = re.fullmatch(r"(steps|needs)\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)", e)
        if m:
            if e in self.step_outputs and self.depth < MAX_DEPTH:
                self.depth += 1
                try:
                    return self.value_text(self.step_outputs[e])
                finally:
                    self.depth -= 1
            if m.group(1) == "steps" and m.group(3) in ("version", "tags"):
                return (("meta", m.group(3)),)
        m = re.fullmatch(r"([\w.-]+)\s*\|\|\s*'[^']*'", e)  # `x || 'default'`: the first part when set
        if m:
            return self.expression(m.group(1))
        return (("unknown", "${{ " + e + " }}"),)

    def value_text(self, text: str) -> tuple[Piece, ...]:
        """Pieces of an env/output value: text with ``${{ }}`` and shell expansions."""
        return self.expand(self.protect(text), quoted=True)

    # expansion ------------------------------------------------------------------------------
    def expand(self, word: str, quoted: bool = False) -> tuple[Piece, ...]:
        """Expand one shell word (quotes, ``$VAR``, ``${...}``, ``$(...)``, backticks)."""
        out: list[Piece] = []
        for p in word_parts(word, quoted):
            if p.kind == "text":
                if not self._text(p.text, word[p.end:], out):
                    break
            elif p.kind == "escape":
                keep = quoted and p.text not in ("$", "`", '"', "\\", "\n")
                out.append(("lit", "\\" + p.text if keep else p.text))
            elif p.kind == "single":
                out.extend(self.literal(p.text))  # ${{ }} is replaced before the shell runs
            elif p.kind == "double":
                out.extend(self.expand(p.text, quoted=True))
            elif p.kind in ("command", "backtick"):
                out.extend(self.command_substitution(p.text))
            elif p.kind == "param":
                out.extend(self.parameter(p.text))
            elif p.kind == "var":
                out.extend(self.lookup(p.text))
            else:  # $((...)), $1, $@, ...
                out.append(("unknown", word[p.start:p.end]))
        return _merge(out)

    def _text(self, text: str, rest: str, out: list[Piece]) -> bool:
        """Literal text with ``${{ }}`` placeholders into ``out``; False when a cut placeholder
        (not understood) takes the rest of the word."""
        pos = 0
        while (a := text.find("\x00", pos)) != -1:
            b = text.find("\x00", a + 1)
            out.append(("lit", text[pos:a]))
            if b == -1 or not text[a + 1:b].isdigit():
                out.append(("unknown", (text[a:] + rest).replace("\x00", "")))
                return False
            out.extend(self.exprs[int(text[a + 1:b])])
            pos = b + 1
        out.append(("lit", text[pos:]))
        return True

    def literal(self, text: str) -> tuple[Piece, ...]:
        """Text the shell doesn't expand; only the runner's ``${{ }}`` placeholders apply."""
        out: list[Piece] = []
        for k, part in enumerate(_PLACEHOLDER.split(text)):
            out.extend(self.exprs[int(part)] if k % 2 else [("lit", part)])
        return _merge(out)

    def lookup(self, name: str) -> tuple[Piece, ...]:
        if name in self.vars:
            return self.vars[name]
        return (("unknown", f"${name}"),)

    def parameter(self, body: str) -> tuple[Piece, ...]:
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(.*)", body, re.S)
        if not m:
            return (("unknown", "${" + body + "}"),)
        name, op = m.groups()
        value = self.lookup(name)
        if not op:
            return value
        sl = re.fullmatch(r":\s*(\d*)\s*:\s*(\d+)", op)
        if sl:
            start, length = int(sl.group(1) or 0), int(sl.group(2))
            return _slice(value, start, length) or (("unknown", "${" + body + "}"),)
        dm = re.fullmatch(r":?[-=](.*)", op, re.S)
        if dm:
            if name in self.vars:
                return value
            return self.expand(dm.group(1), quoted=True)
        return (("unknown", "${" + body + "}"),)

    def command_substitution(self, cmd: str) -> tuple[Piece, ...]:
        """``$(...)``: git rev-parse/log, echo/printf, cut/head slices over a pipeline."""
        text = " ".join(cmd.split())
        unknown = (("unknown", f"$({text})"),)
        stages = [s.strip() for s in split_pipeline(cmd)]
        if not stages or self.depth >= MAX_DEPTH:
            return unknown
        self.depth += 1
        try:
            value = self._producer(stages[0])
            for stage in stages[1:]:
                if value is None:
                    break
                value = self._filter(stage, value)
        finally:
            self.depth -= 1
        return value if value else unknown

    def _words(self, command: str) -> list[tuple[Piece, ...]]:
        cmds = _split_commands(command)
        if len(cmds) != 1:
            return []
        return [self.expand(w) for w in cmds[0][1]]

    def _producer(self, command: str) -> tuple[Piece, ...] | None:
        words = self._words(command)
        texts = [_lit(w) for w in words]
        if not words:
            return None
        if texts[:2] == ["git", "rev-parse"]:
            args = words[2:]
            rev = [w for w in args if not (_lit(w) or "").startswith("-")]
            opts = [_lit(w) for w in args if (_lit(w) or "").startswith("-")]
            if len(rev) != 1 or not _is_head(rev[0]):
                return None
            short = [o for o in opts if o and o.startswith("--short")]
            if [o for o in opts if o not in short and o not in ("--verify", "-q", "--quiet")]:
                return None
            if not short:
                return (("sha", None),)
            m = re.fullmatch(r"--short(?:=(\d+))?", short[0] or "")
            return (("short", int(m.group(1)) if m and m.group(1) else None),) if m else None
        if texts[:1] == ["git"] and len(texts) > 1 and texts[1] in ("log", "show"):
            fmt = None
            for t in texts[2:]:
                fm = re.fullmatch(r"--(?:format|pretty)=(?:format:|tformat:)?(.*)", t or "")
                if fm:
                    fmt = fm.group(1)
            revs = [w for w, t in zip(words[2:], texts[2:]) if not (t or "").startswith("-")]
            if fmt in ("%h", "%H") and all(_is_head(r) for r in revs):
                return (("short", None),) if fmt == "%h" else (("sha", None),)
            return None
        if texts[0] == "echo":
            args = [w for w, t in zip(words[1:], texts[1:]) if t not in ("-n", "-e")]
            return _merge(sum((list(a) + [("lit", " ")] for a in args), [])[:-1]) if args else ()
        if texts[0] == "printf" and len(words) == 3 and texts[1] in ("%s", "%s\\n"):
            return words[2]
        if texts[0] == "cat" and len(words) == 1:
            return None
        return None

    def _filter(self, command: str, value: tuple[Piece, ...]) -> tuple[Piece, ...] | None:
        texts = [_lit(w) for w in self._words(command)]
        if not texts or any(t is None for t in texts):
            return None
        joined = " ".join(t for t in texts if t is not None)
        m = (re.fullmatch(r"cut -c ?1?-(\d+)", joined) or re.fullmatch(r"head -c ?(\d+)", joined)
             or re.fullmatch(r"cut -b ?1?-(\d+)", joined))
        if m:
            return _slice(value, 0, int(m.group(1)))
        if joined in ("tr -d '\\n'", "tr -d \\n", "xargs"):
            return value
        return None


def _lit(pieces: tuple[Piece, ...]) -> str | None:
    """The text of a word made only of literal text, else None."""
    if all(p[0] == "lit" for p in pieces):
        return "".join(p[1] for p in pieces)
    return None


def _is_head(rev: tuple[Piece, ...]) -> bool:
    return _lit(rev) in ("HEAD", "@") or rev == (("sha", None),)


def _slice(value: tuple[Piece, ...], start: int, length: int) -> tuple[Piece, ...] | None:
    """``${V:start:length}`` on pieces: exact for literals and for the commit SHA's prefix."""
    text = _lit(value)
    if text is not None:
        return (("lit", text[start:start + length]),)
    if start == 0 and len(value) == 1 and value[0][0] == "sha":
        have = 40 if value[0][1] is None else value[0][1]
        n = min(have, length)
        return (("sha", None if n >= 40 else n),)
    return None


# -- commands -----------------------------------------------------------------------------------
def _split_commands(script: str) -> list[tuple[int, list[str], list[tuple[str, bool]]]]:
    """Simple commands of a script (:meth:`buildgate.shell.Script.simple_commands`, the commands
    the workflow model reads builds from) as (1-based line, raw words and redirection operators,
    heredoc bodies (text, expands))."""
    out = []
    for cmd, _guarded in parse(script).simple_commands():
        words = [t.text for t in cmd.tokens]
        if words or cmd.heredocs:
            out.append((cmd.line, words, [(h.body, h.expands) for h in cmd.heredocs]))
    return out


def _assign(reader: _Reader, raw_words: list[str]) -> tuple[int, bool]:
    """Record the command's leading assignments (``export`` too); the index of its first other
    word, and whether it assigned anything."""
    found, k = assignments(raw_words)
    for name, op, value in found:
        pieces = reader.expand(value)
        reader.vars[name] = _merge(reader.lookup(name) + pieces) if op == "+=" else pieces
    return k, bool(found)


# -- finding writes -----------------------------------------------------------------------------
def _marked(pieces: tuple[Piece, ...]) -> tuple[str, list[Piece]]:
    """Pieces as one string, dynamic pieces as ``\\x01N\\x01`` markers (for text surgery)."""
    dyn: list[Piece] = []
    parts = []
    for p in pieces:
        if p[0] == "lit":
            parts.append(p[1])
        else:
            dyn.append(p)
            parts.append(f"\x01{len(dyn) - 1}\x01")
    return "".join(parts), dyn


def _unmark(text: str, dyn: list[Piece]) -> tuple[Piece, ...]:
    out: list[Piece] = []
    for k, part in enumerate(re.split("\x01(\\d+)\x01", text)):
        out.append(dyn[int(part)] if k % 2 else ("lit", part))
    return _merge(out)


def _strip_quotes(text: str) -> str:
    text = text.strip()
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def _kustomize(words: list[tuple[Piece, ...]], line: int, source: str) -> list[TagWrite]:
    out = []
    for w in words:
        s, dyn = _marked(w)
        if s.startswith("-"):
            continue
        target = s.split("=", 1)[1] if "=" in s else s
        name = s.split("=", 1)[0] if "=" in s else None
        if "@" in target:
            image = _lit(_unmark(name or target.split("@")[0], dyn)) or None
            out.append(TagWrite("digest", "pins a digest, not a tag, via kustomize edit set image",
                                (), "kustomize edit set image", image, line, source))
            continue
        slash = target.rfind("/")
        colon = target.rfind(":")
        if colon <= slash:
            continue  # no tag (newName only)
        image = _lit(_unmark(name if name is not None else target[:colon], dyn))
        out.append(_make(_unmark(target[colon + 1:], dyn), "kustomize edit set image", image, line, source))
    return out


def _sed_split(expr: str) -> list[tuple[str, str, str, str]]:
    """Every ``s`` command in a sed script: (address, pattern, replacement, flags)."""
    out = []
    for m in re.finditer(r"(?:^|[;{}\n]|(?<=\s))\s*((?:/(?:\\.|[^/])*/\s*(?:,\s*/(?:\\.|[^/])*/)?\s*{?\s*)?)s(.)", expr):
        addr, delim = m.group(1), m.group(2)
        if delim.isalnum() or delim in " \\\n":
            continue
        fields, cur, j = [], [], m.end()
        while j < len(expr) and len(fields) < 2:
            ch = expr[j]
            if ch == "\\" and j + 1 < len(expr):
                cur.append(expr[j:j + 2] if expr[j + 1] != delim else delim)
                j += 2
                continue
            if ch == delim:
                fields.append("".join(cur))
                cur = []
            else:
                cur.append(ch)
            j += 1
        if len(fields) == 2:
            flags = re.match(r"[a-zA-Z0-9]*", expr[j:])
            out.append((addr, fields[0], fields[1], flags.group(0) if flags else ""))
    return out


def _sed(words: list[tuple[Piece, ...]], line: int, source: str) -> list[TagWrite]:
    out = []
    scripts = []
    k = 1
    while k < len(words):
        t = _lit(words[k])
        if t in ("-e", "--expression") and k + 1 < len(words):
            scripts.append(words[k + 1])
            k += 2
            continue
        if t is not None and t.startswith("-"):
            k += 1
            continue
        scripts.append(words[k])
        k += 1
    for w in scripts:
        s, dyn = _marked(w)
        for addr, pattern, repl, _flags in _sed_split(s):
            if "newTag" in repl:
                tag = repl.split("newTag", 1)[1]
                tag = re.sub(r"^\\?\"?\s*:\s*", "", tag.lstrip()) if tag.lstrip().startswith((":", '"', "\\")) else tag
                tag = re.sub(r"^:\s*", "", tag)
            elif "newTag" in pattern and re.match(r"^(\\1|&)", repl):
                tag = re.sub(r"^(\\1|&)", "", repl)
            else:
                continue
            tag = _strip_quotes(tag.replace("\\n", ""))
            image = None
            am = re.match(r"\s*/((?:\\.|[^/])*)/", addr)
            nm = re.search(r"name:\s*\"?([^\s\"$]+)", am.group(1).replace("\\/", "/")) if am else None
            if nm:
                image = _lit(_unmark(nm.group(1).replace("\\.", "."), dyn))
            out.append(_make(_unmark(tag, dyn), "sed", image, line, source))
    return out


def _yq(words: list[tuple[Piece, ...]], reader: _Reader, line: int, source: str) -> list[TagWrite]:
    out = []
    for w in words[1:]:
        s, dyn = _marked(w)
        for m in re.finditer(r"\.newTag\s*\|?=\s*", s):
            rhs = s[m.end():]
            image = None
            sel = re.search(r"select\(\s*\.name\s*==\s*\"([^\"]+)\"\s*\)", s[:m.start()])
            if sel:
                image = _lit(_unmark(sel.group(1), dyn))
            env = re.match(r"(?:strenv|env)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)", rhs)
            if env:
                pieces = reader.lookup(env.group(1))
            elif rhs.startswith('"'):
                end = rhs.find('"', 1)
                pieces = _unmark(rhs[1:end if end != -1 else len(rhs)], dyn)
            else:
                token = re.match(r"[^\s|)]+", rhs)
                pieces = _unmark(token.group(0), dyn) if token else (("unknown", rhs.strip()),)
            out.append(_make(pieces, "yq", image, line, source))
    return out


def _heredoc(body: tuple[Piece, ...], line: int) -> list[TagWrite]:
    out = []
    s, dyn = _marked(body)
    lines = s.split("\n")
    for k, text in enumerate(lines):
        m = re.match(r"\s*-?\s*newTag:\s*(.*?)\s*$", text)
        if not m:
            continue
        image = None
        for prev in reversed(lines[:k]):
            nm = re.match(r"\s*-?\s*name:\s*(.*?)\s*$", prev)
            if nm:
                image = _lit(_unmark(_strip_quotes(nm.group(1)), dyn))
                break
        out.append(_make(_unmark(_strip_quotes(m.group(1)), dyn), "heredoc", image,
                         line + k + 1, pieces_text(_unmark(text, dyn))))
    return out


def find_tag_writes(
    run: str, env: Mapping[str, str] | None = None, step_outputs: Mapping[str, str] | None = None,
) -> list[TagWrite]:
    """Each image tag the ``run:`` script writes into a kustomization, in script order.

    ``env``: the step's environment (workflow, job and step ``env:`` merged; values may hold
    ``${{ }}``). ``step_outputs``: expression text -> value text for outputs of earlier steps
    or jobs, e.g. ``{"steps.vars.outputs.sha": "$(git rev-parse --short HEAD)",
    "needs.build.outputs.tag": "${{ steps.meta.outputs.version }}"}``
    (:func:`find_step_outputs` reads them from those steps' scripts).
    """
    if not isinstance(run, str) or len(run) > MAX_SCRIPT:
        return []
    run = _clean(run)
    reader = _Reader(env, step_outputs)
    script = reader.protect(run)
    run_lines = run.splitlines()
    writes: list[TagWrite] = []
    for line, raw_words, heredocs in _split_commands(script):
        source = run_lines[line - 1] if 0 < line <= len(run_lines) else ""
        for body, expands in heredocs:
            pieces = reader.expand(body, quoted=True) if expands else reader.literal(body)
            writes.extend(_heredoc(pieces, line))
        if not raw_words:
            continue
        k, assigned = _assign(reader, raw_words)  # `NAME=value`, `export NAME=value ...`
        if (assigned or raw_words[0] in DECLARERS) and k >= len(raw_words):
            continue
        words = [reader.expand(w) for w in raw_words[k:]]
        texts = [_lit(w) for w in words]
        if texts[:4] == ["kustomize", "edit", "set", "image"]:
            writes.extend(_kustomize(words[4:], line, source))
        elif texts[:1] == ["sed"]:
            writes.extend(_sed(words, line, source))
        elif texts[:1] and (texts[0] or "").rsplit("/", 1)[-1] == "yq":
            writes.extend(_yq(words, reader, line, source))
    return writes


def find_step_outputs(
    run: str, step_id: str, env: Mapping[str, str] | None = None,
    step_outputs: Mapping[str, str] | None = None,
) -> dict[str, dict[str, str]]:
    """What a script hands to later steps: ``{"outputs": {"steps.ID.outputs.N": text},
    "env": {NAME: text}}`` from ``echo "N=V" >> $GITHUB_OUTPUT`` / ``$GITHUB_ENV`` (and the
    old ``::set-output name=N::V``). Texts are canonical shell (see :func:`pieces_text`), ready
    to pass as ``step_outputs``/``env`` to :func:`find_tag_writes` for a later step."""
    result: dict[str, dict[str, str]] = {"outputs": {}, "env": {}}
    if not isinstance(run, str) or len(run) > MAX_SCRIPT:
        return result
    reader = _Reader(env, step_outputs)
    script = reader.protect(_clean(run))
    for _line, raw_words, _heredocs in _split_commands(script):
        k, assigned = _assign(reader, raw_words)
        if assigned and k >= len(raw_words):
            continue
        words = [reader.expand(w) for w in raw_words[k:]]
        texts = [_lit(w) for w in words]
        if not texts or texts[0] not in ("echo", "printf"):
            continue
        target = None
        for j, t in enumerate(texts):
            if t in (">>", ">") and j + 1 < len(words):
                dest = words[j + 1]
                if dest in (reader.lookup("GITHUB_OUTPUT"), (("unknown", "$GITHUB_OUTPUT"),)):
                    target = "outputs"
                elif dest in (reader.lookup("GITHUB_ENV"), (("unknown", "$GITHUB_ENV"),)):
                    target = "env"
                args = words[1:j]
                break
        else:
            args = words[1:]
        args = [a for a, t in zip(args, texts[1:]) if t not in ("-n", "-e")]
        if not args:
            continue
        s, dyn = _marked(_merge(sum((list(a) + [("lit", " ")] for a in args), [])[:-1]))
        if target is None:
            m = re.match(r"::set-output name=([\w-]+)::(.*)$", s, re.S)
            if m:
                result["outputs"][f"steps.{step_id}.outputs.{m.group(1)}"] = pieces_text(_unmark(m.group(2), dyn))
            continue
        m = re.match(r"([\w-]+)=(.*)$", s, re.S)
        if m:
            key = f"steps.{step_id}.outputs.{m.group(1)}" if target == "outputs" else m.group(1)
            result[target][key] = pieces_text(_unmark(m.group(2), dyn))
    return result
