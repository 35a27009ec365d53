"""A resolution document as claims: every checkable statement, with its line and what it names.

The document is read with markdown-it-py (CommonMark plus tables) for its blocks: headings,
paragraphs, list items, fenced code and tables, each with its source line. Its inline rules for
links and emphasis are switched off: on hostile input they cost ~20 µs a character (40 s for
2 MiB of ``[``), and a claim needs neither. Emphasis markers are stripped from the text, and
``[text](href)`` / ``![alt](src)`` are read with one RE2 pattern (linear time).

A **claim** is one of:

- ``check``: a line, list item, heading or table row holding ✅, or a checked task (``- [x]``;
  an unchecked one claims nothing done);
- ``item``: a list item or numbered step under any heading (a lead-in item such as
  ``3. **GitHub Actions automatically**:`` that only introduces a nested list is not one: its
  text becomes the context of the items below it);
- ``field``: a key/value line, ``**File:** `path```, except document metadata (task id, dates,
  author, …) and bold pseudo-headings with no value (``**Features:**``: they label the list
  below them);
- ``mention``: any other line naming an inline-code path, an image reference or a command;
- ``command``: one line of a fenced shell block (``bash``, ``sh``, ``console``…) holding a
  command: the files it names exist, and for ``gh`` and repository scripts, the workflow it names
  exists and its options are accepted. An untagged fence is read only for the commands buildgate checks (``gh`` and
  repository scripts): it is as often a diagram as a script. Commands are read with the one
  shell reader (:mod:`buildgate.shell`) and never run.

Each claim keeps what it names: repository paths (inline code, links, images), container image
references (``ghcr.io/org/app:tag``) and commands (the source text of each simple command), at
most :data:`MAX_SUBJECTS` of each. A document is refused over :data:`MAX_DOC_BYTES` or
:data:`MAX_CLAIMS` claims.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildgate.claims.patterns import compile_pattern
from buildgate.docs.markdown import leaves_repo, link_path
from buildgate.docs.paths import path_tokens
from buildgate.errors import CannotDecide, InputError
from buildgate.reference import split as split_image
from buildgate.shell import ASSIGN, Simple, dequote, parse
from buildgate.yamlfile import decode_text

MAX_DOC_BYTES = 2 * 1024 * 1024
MAX_CLAIMS = 2000
MAX_TEXT = 2000          # characters of a claim's text kept (a claim is a statement, not a chapter)
MAX_SUBJECTS = 50        # paths, images and commands checked per claim (each is a check of its own)
CHECK = "✅"
SHELL_LANGS = frozenset({"bash", "sh", "shell", "zsh", "ksh", "dash"})
PROMPT_LANGS = frozenset({"console", "shell-session", "shellsession", "terminal"})
# Key/value lines that describe the document, not the fix.
METADATA_KEYS = frozenset({
    "task id", "task", "id", "ticket", "issue", "date", "resolution date", "resolved on", "closed",
    "created", "updated", "author", "authors", "assignee", "owner", "reporter", "reviewer", "priority",
    "labels", "tags", "estimate", "time spent",
})
# Programs a command line may be run through before the program itself.
_WRAPPERS = frozenset({"sudo", "env", "time", "command", "exec", "nohup"})
_INTERPRETERS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "source", "."})
_KEY = re.compile(r"^\s*(\*\*|__)([^*_\n]{1,80}?)\1\s*(:?)\s*(.*)$")
_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)[*_]|[*_](?!\w)")
_TASK = re.compile(r"^\[([ xX])\]\s+")
_LEFTOVERS = re.compile(r"\(\s*\)|\[\s*\]")
_HOST = re.compile(r"(?:[a-z0-9][a-z0-9-]{0,62}(?:\.[a-z0-9-]{1,63}){1,8}|localhost)(?::[0-9]{1,5})?", re.I)
_IMAGE_NAME = re.compile(r"[a-z0-9][a-z0-9._/-]*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclass
class Claim:
    """One checkable statement of the document, and what it names."""

    text: str
    line: int
    section: str = ""
    kind: str = "check"
    context: str = ""                                        # what `within:` patterns of a mapping see
    paths: list[str] = field(default_factory=list)           # repository paths it names
    images: list[str] = field(default_factory=list)          # container image references
    commands: list[str] = field(default_factory=list)        # source text of each simple command shown
    checks: list[str] = field(default_factory=list)          # what decides it (set by the mapping)
    summary: bool = False                                    # about the whole resolution (RESOLVED)


# -- reading -------------------------------------------------------------------------------------
def read_document(document: str | Path) -> str:
    """The claims document's text; a missing, oversized or binary one is a one-line InputError."""
    p = Path(document)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise InputError("not a regular file", str(document))
        if size > MAX_DOC_BYTES:
            raise InputError(f"claims document is {size} bytes, over the {MAX_DOC_BYTES}-byte limit", str(document))
        with p.open("rb") as fh:
            raw = fh.read(MAX_DOC_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read claims document: {exc.strerror}", str(document)) from None
    if len(raw) > MAX_DOC_BYTES:
        raise InputError(f"claims document is over the {MAX_DOC_BYTES}-byte limit", str(document))
    return decode_text(raw, str(document))


def _parser() -> Any:
    """markdown-it-py for blocks, with only the cheap inline rules (text, breaks, escapes, code)."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # pragma: no cover - a broken install
        raise CannotDecide("markdown-it-py is not installed (pip install markdown-it-py)") from None
    md = MarkdownIt("commonmark").enable("table")
    md.inline.ruler.disable(["link", "image", "autolink", "html_inline", "entity", "emphasis"])
    md.inline.ruler2.disable(["balance_pairs", "emphasis"])
    return md


_LINK: Any = None


def _links(text: str) -> list[str]:
    """Targets of ``[text](href)`` and ``![alt](src)`` in a line (RE2: linear time)."""
    global _LINK
    if "](" not in text:
        return []
    if _LINK is None:
        _LINK = compile_pattern(r'\[[^\]\n]{0,300}\]\(\s*<?([^()\s<>]{1,1000})>?(?:\s+"[^"\n]{0,300}")?\s*\)',
                                "<link pattern>")
    return [m.group(1) for m in _LINK.finditer(text)]


# -- what a piece of text names ------------------------------------------------------------------
def image_ref(token: str) -> str | None:
    """``token`` as a container image reference with a registry host (``ghcr.io/org/app:tag``)."""
    if len(token) > 512 or "/" not in token:
        return None
    name, tag, digest = split_image(token)
    host, _, path = name.partition("/")
    if not _HOST.fullmatch(host) or not path:
        return None
    if not _IMAGE_NAME.fullmatch(path) or (tag and not _TAG.fullmatch(tag)):
        return None
    if digest and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        return None
    return token


def command_argv(command: str) -> list[str]:
    """The unquoted words of one simple command (read with the shell reader, never run)."""
    for node, _up in parse(command).walk():
        if isinstance(node, Simple):
            return [dequote(w) for w in node.argv]
    return []


def program(argv: list[str]) -> tuple[str, list[str]]:
    """``("gh", args)``, ``("script", [path, *args])`` or ``(name, args)``; ``("", [])`` for none.

    Leading assignments and wrappers (``FOO=1``, ``sudo``, ``env``) are skipped, and a script run
    through its interpreter (``bash scripts/x.sh``) is that script."""
    i = 0
    while i < len(argv) and (ASSIGN.match(argv[i]) or argv[i] in _WRAPPERS):
        i += 1
    if i < len(argv) and argv[i] in _INTERPRETERS and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
        i += 1
        return ("script", [_repo_path(argv[i]), *argv[i + 1:]]) if _is_script(argv[i], True) else ("", [])
    if i >= len(argv):
        return "", []
    word = argv[i]
    if posixpath.basename(word) == "gh" and "/" not in word:
        return "gh", argv[i + 1:]
    if _is_script(word, False):
        return "script", [_repo_path(word), *argv[i + 1:]]
    return word, argv[i + 1:]


def _is_script(word: str, interpreted: bool) -> bool:
    """A repository-relative program path (``./scripts/x.sh``, ``scripts/x.sh``; a bare ``x.sh``
    only after an interpreter)."""
    if not word or word.startswith(("/", "~", "$", "-")) or any(c in word for c in "*?[$`"):
        return False
    return "/" in word or (interpreted and word.endswith(".sh"))


def _repo_path(word: str) -> str:
    return posixpath.normpath(word)


def _code_subjects(code: str, claim: Claim) -> None:
    """What an inline code span names: a command, an image reference, or paths."""
    words = code.split()
    if not words:
        return
    if len(words) > 1:
        kind, _args = program(command_argv(code))
        if kind in ("gh", "script"):
            claim.commands.append(code.strip())
            return
    paths = [tok for tok, _off in path_tokens(code, allow_dir=True)]
    if len(words) == 1 and not paths and image_ref(words[0]):
        claim.images.append(words[0])
    claim.paths += paths


def _link_subjects(text: str, claim: Claim) -> None:
    for href in _links(text):
        target = link_path(href, "", None)
        if target is not None and target not in (".", "") and not leaves_repo(target):
            claim.paths.append(target)


# -- the walk ------------------------------------------------------------------------------------
def _plain(text: str) -> str:
    """Markdown text -> claim text: no ✅, emphasis markers or empty brackets; one line."""
    text = _EMPHASIS.sub("", text.replace(CHECK, " "))
    text = _LEFTOVERS.sub("", text)
    out = " ".join(text.split()).replace(" )", ")").replace("( ", "(").strip(" -:")
    return out if len(out) <= MAX_TEXT else out[: MAX_TEXT - 1] + "…"


@dataclass
class _Line:
    """One source line of an inline block: its raw text (code re-wrapped in backticks), its text
    pieces (for ✅), and its code spans."""

    number: int
    raw: str = ""
    prose: str = ""
    code: list[str] = field(default_factory=list)


def _lines(inline: Any) -> list[_Line]:
    first = inline.map[0] + 1 if inline.map else 1
    out = [_Line(first)]
    for child in inline.children or []:
        if child.type in ("softbreak", "hardbreak"):
            out.append(_Line(out[-1].number + 1))
        elif child.type == "code_inline":
            out[-1].raw += f"`{child.content}`"
            out[-1].code.append(child.content)
        else:
            out[-1].raw += child.content
            out[-1].prose += child.content
    return out


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.claims: list[Claim] = []
        self.seen: set[str] = set()
        self.heads: list[tuple[int, str]] = []   # (level, text) of the headings above
        self.labels: list[str] = []              # lead-ins of the open lists, outermost first
        self.items: list[str] = []               # texts of the open list items, outermost first

    @property
    def section(self) -> str:
        return self.heads[-1][1] if self.heads else ""

    def context(self, extra: str = "") -> str:
        parts = [h for _lvl, h in self.heads] + self.labels + self.items + ([extra] if extra else [])
        return " › ".join(p for p in parts if p)

    def add(self, claim: Claim) -> None:
        if not claim.text or claim.text.lower() in self.seen:
            return
        if len(self.claims) >= MAX_CLAIMS:
            raise InputError(f"the document holds more than {MAX_CLAIMS} claims; buildgate audits at most "
                             f"{MAX_CLAIMS} per document", f"{self.source}:{claim.line}")
        self.seen.add(claim.text.lower())
        claim.paths = list(dict.fromkeys(claim.paths))[:MAX_SUBJECTS]
        claim.images = list(dict.fromkeys(claim.images))[:MAX_SUBJECTS]
        claim.commands = list(dict.fromkeys(claim.commands))[:MAX_SUBJECTS]
        self.claims.append(claim)

    def claim_of(self, lines: list[_Line], kind: str, context: str = "") -> Claim:
        text = _plain(" ".join(ln.raw for ln in lines).replace("`", ""))
        c = Claim(text, lines[0].number, self.section, kind, context or self.context())
        for ln in lines:
            for code in ln.code:
                _code_subjects(code, c)
            _link_subjects(ln.prose, c)
        return c

    # blocks
    def heading(self, level: int, inline: Any) -> None:
        lines = _lines(inline)
        title = _plain(" ".join(ln.raw for ln in lines).replace("`", ""))
        if any(CHECK in ln.prose for ln in lines):
            self.add(self.claim_of(lines, "check", self.context()))
        while self.heads and self.heads[-1][0] >= level:
            self.heads.pop()
        self.heads.append((level, title))

    def item(self, inline: Any, lead_in: bool) -> str:
        """A list item's first paragraph: its claim, unless it only introduces a nested list."""
        lines = _lines(inline)
        box = _TASK.match(lines[0].raw)
        if box and box.group(1) == " ":
            return _plain(lines[0].raw[box.end():])   # an unchecked task claims nothing done
        if box:
            lines[0].raw, lines[0].prose = lines[0].raw[box.end():], CHECK + lines[0].prose[box.end():]
        claim = self.claim_of(lines, "check" if any(CHECK in ln.prose for ln in lines) else "item")
        if not (lead_in and claim.kind == "item" and claim.text and _EMPHASIS.sub("", lines[-1].raw).rstrip().endswith(":")):
            self.add(claim)
        return claim.text

    def paragraph(self, inline: Any, lead_in: bool) -> str | None:
        """Each line of a paragraph that is a claim; returns the label it gives the list below."""
        lines = _lines(inline)
        label = None
        for ln in lines:
            key = _KEY.match(ln.raw)
            if CHECK in ln.prose:
                self.add(self.claim_of([ln], "check"))
            elif key and (key.group(3) or key.group(2).rstrip().endswith(":")):
                name = key.group(2).strip().rstrip(":").strip().lower()
                if key.group(4).strip() and name not in METADATA_KEYS:
                    self.add(self.claim_of([ln], "field"))
            elif ln.code or "](" in ln.prose:
                claim = self.claim_of([ln], "mention")
                if claim.paths or claim.images or claim.commands:
                    self.add(claim)
        if lead_in and len(lines) == 1 and _EMPHASIS.sub("", lines[0].raw).rstrip().endswith(":"):
            label = _plain(lines[0].raw.replace("`", ""))
        return label

    def table_row(self, cells: list[Any]) -> None:
        """A table row holding ✅: its cells' text, joined with ``|``."""
        rows = [_lines(c) for c in cells]
        lines = [ln for r in rows for ln in r]
        if not lines or not any(CHECK in ln.prose for ln in lines):
            return
        texts = [_plain(" ".join(ln.raw for ln in r).replace("`", "")) for r in rows]
        claim = self.claim_of(lines, "check")
        claim.text = " | ".join(t for t in texts if t)
        claim.line = lines[0].number
        self.add(claim)

    def fence(self, content: str, first_line: int, info: str) -> None:
        lang = (info.split() or [""])[0].lower()
        if lang and lang not in SHELL_LANGS | PROMPT_LANGS:
            return
        src_lines = content.split("\n")
        if lang in PROMPT_LANGS:  # only prompt lines are commands; keep offsets: blank the rest
            src_lines = ["  " + ln[2:] if ln.startswith("$ ") else " " * len(ln) for ln in src_lines]
        text = "\n".join(src_lines)
        by_line: dict[int, list[Simple]] = {}
        script = parse(text)
        comments = {line: body for body, line in script.comments}
        for node, _up in script.walk():
            if isinstance(node, Simple) and node.tokens:
                by_line.setdefault(node.line, []).append(node)
        for line, nodes in sorted(by_line.items()):
            spans = [(n.tokens[0].start, n.tokens[-1].end) for n in nodes]
            commands = [text[a:b] for a, b in spans]
            checkable = [c for c in commands if program(command_argv(c))[0] in ("gh", "script")]
            if not lang and not checkable:
                continue
            shown = " ".join(text[min(a for a, _ in spans):max(b for _, b in spans)].split())
            comment = _plain(comments.get(line - 1, "")) if line - 1 not in by_line else ""
            claim = Claim(_plain_command(shown), first_line + line - 1, self.section, "command",
                          self.context(comment), commands=list(commands))
            for cmd in commands:
                kind, args = program(command_argv(cmd))
                if kind == "script":
                    claim.paths.append(args[0])
                elif kind != "gh":  # the files any other command names (`docker build -f api/Dockerfile`)
                    claim.paths += [a for a in args if [a] == [t for t, _o in path_tokens(a)]]
            self.add(claim)


def _plain_command(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def extract_claims(text: str, source: str = "<claims>") -> list[Claim]:
    """Every claim of a resolution document, in document order, without duplicates."""
    tokens = _parser().parse(text)
    r = _Reader(source)
    label: str | None = None      # a paragraph ending in ":" right before a list labels that list
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        kind = tok.type
        if kind == "heading_open" and nxt is not None:
            r.heading(int(tok.tag[1:]), nxt)
        elif kind == "inline" and tokens[i - 1].type == "paragraph_open":
            after = tokens[i + 2] if i + 2 < len(tokens) else None
            lead_in = after is not None and after.type in ("bullet_list_open", "ordered_list_open")
            if i > 1 and tokens[i - 2].type == "list_item_open":
                r.items[-1] = r.item(tok, lead_in)   # the context of its nested lists
            else:
                label = r.paragraph(tok, lead_in)
            continue
        elif kind in ("bullet_list_open", "ordered_list_open"):
            r.labels.append(label or "")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            r.labels.pop()
        elif kind == "list_item_open":
            r.items.append("")
        elif kind == "list_item_close":
            r.items.pop()
        elif kind in ("fence", "code_block") and tok.map:
            r.fence(tok.content, tok.map[0] + (2 if kind == "fence" else 1), tok.info if kind == "fence" else "")
        elif kind == "tr_open":
            k = i + 1
            cells = []
            while k < len(tokens) and tokens[k].type != "tr_close":
                if tokens[k].type == "inline":
                    cells.append(tokens[k])
                k += 1
            r.table_row(cells)
        if kind not in ("paragraph_close",):
            label = None
    return r.claims
