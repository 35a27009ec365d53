"""D-checks: the build docs cover their topics (D1), the README links them (D2), and every path
the docs and scripts name exists (D3).

Markdown is read with markdown-it-py (CommonMark plus tables), so links, reference-style links,
code spans and fenced code are what a renderer sees, each with its source line.
"""
from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Iterable
from urllib.parse import unquote

from buildgate.errors import CannotDecide
from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate import scripts as sh

try:  # a dependency of buildgate; guarded so a missing install is a clear error, not an ImportError
    from markdown_it import MarkdownIt
except ImportError:  # pragma: no cover - exercised only on a broken install
    MarkdownIt = None  # type: ignore[assignment,misc]


def _markdown() -> "MarkdownIt":
    if MarkdownIt is None:
        raise CannotDecide("markdown-it-py is not installed (pip install markdown-it-py)")
    return MarkdownIt("commonmark").enable("table")


# -- sections (D1) ----------------------------------------------------------------------------
@dataclass
class Section:
    """A heading and its body (with its subsections), as source text. Line numbers are 1-based.
    ``body`` is the text under the heading line(s): the section less its own heading."""

    heading: str
    level: int
    line: int
    end: int  # last line, inclusive
    text: str
    body: str = ""
    own_body: str = ""  # the body up to the first subsection (all of ``body`` when it has none)

    def contains(self, other: "Section") -> bool:
        return self is not other and self.line <= other.line and other.end <= self.end


def sections(text: str) -> list[Section]:
    """Every heading's section: from the heading to the next heading of the same or a higher
    level. The document's title (the only heading at the top level, when there are others) counts
    only up to its first subheading, so that a whole document never passes for one section.
    Text before the first heading is a section of its own, named ``(preamble)`` (level 0: it has
    no heading, so D1 never counts it for a topic)."""
    lines = text.splitlines()
    heads: list[tuple[int, int, int, str]] = []  # (0-based line, 0-based line after the heading, level, title)
    tokens = _markdown().parse(text)
    for k, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map:
            title = tokens[k + 1].content if k + 1 < len(tokens) else ""
            heads.append((tok.map[0], tok.map[1], int(tok.tag[1:]), title))
    out: list[Section] = []
    first = heads[0][0] if heads else len(lines)
    if not heads or any(ln.strip() for ln in lines[:first]):
        pre = "\n".join(lines[:first])
        out.append(Section("(preamble)", 0, 1, max(first, 1), pre, pre, pre))
    top = min((lvl for _l, _b, lvl, _t in heads), default=0)
    lone_title = sum(1 for _l, _b, lvl, _t in heads if lvl == top) == 1 and len(heads) > 1
    for idx, (start, body_start, level, title) in enumerate(heads):
        end = len(lines)
        for start2, _b2, level2, _t2 in heads[idx + 1:]:
            if level2 <= level or (lone_title and level == top):
                end = start2
                break
        own_end = min(end, heads[idx + 1][0]) if idx + 1 < len(heads) else end
        out.append(Section(title, level, start + 1, end, "\n".join(lines[start:end]),
                           "\n".join(lines[max(body_start, start + 1):end]),
                           "\n".join(lines[max(body_start, start + 1):own_end])))
    return out


MIN_BODY_WORDS = 3  # "at least a sentence": a body shorter than this (and with no code block) is no coverage


def body_content(body: str) -> tuple[int, int]:
    """(words of prose, non-empty code blocks) in a section's body; subsection headings are not
    content."""
    words = code = 0
    in_heading = False
    for tok in _markdown().parse(body):
        if tok.type == "heading_open":
            in_heading = True
        elif tok.type == "heading_close":
            in_heading = False
        elif tok.type in ("fence", "code_block"):
            code += 1 if tok.content.strip() else 0
        elif tok.type == "inline" and not in_heading:
            words += len(re.findall(r"[^\W_]+(?:['’-][^\W_]+)*", tok.content))
        elif tok.type == "html_block":
            words += len(re.findall(r"[^\W_]+", re.sub(r"<[^>]*>", " ", tok.content)))
    return words, code


@dataclass(frozen=True)
class Topic:
    """A D1 topic: each group is a set of synonyms, and a section covers the topic when its
    heading and body together match every group, its body matches at least one of them (a heading
    alone covers nothing), and its body has real content (see :func:`covers`)."""

    key: str
    title: str
    groups: tuple[tuple[str, str], ...]  # (what it stands for, regex)

    def match(self, text: str) -> tuple[list[str], list[str]]:
        """(groups matched, groups missed), by their descriptions."""
        flat = " ".join(text.lower().split())
        hit, miss = [], []
        for desc, rx in self.groups:
            (hit if re.search(rx, flat) else miss).append(desc)
        return hit, miss


TOPICS: tuple[Topic, ...] = (
    Topic("overlay", "the overlay error and its cause", (
        ("overlay/overlayfs", r"\boverlay(?:fs|2)?\b"),
        ("nested / invalid argument / not supported",
         r"\bnested\b|invalid argument|not supported|unsupported|\beinval\b|overlay[- ]on[- ]overlay|"
         r"overlay inside (?:an )?overlay|cannot be stacked|refuses?"),
    )),
    Topic("actions", "GitHub Actions as the way to build", (
        ("GitHub Actions", r"github actions|\.github/workflows/|\bgha\b|actions runner"),
        ("build / push / image", r"\bbuild|\bpush|\bimages?\b|ghcr"),
    )),
    Topic("devpod_trigger", "triggering a build from the devpod", (
        ("devpod", r"\bdev ?pods?\b|devcontainer|build-images-devpod"),
        ("gh workflow run / push / trigger", r"gh workflow run|git push|\bpush\b|workflow_dispatch|\btrigger|\bstart"),
    )),
    Topic("local_build", "building on a local machine", (
        ("local machine", r"\blocal(?:ly)?\b|laptop|workstation|your (?:own )?machine|outside the devpod"),
        ("docker build / build script", r"docker (?:buildx )?build|podman build|buildah bud|build-images\.sh|build script"),
    )),
    Topic("troubleshooting", "troubleshooting", (
        ("troubleshooting / common problems", r"\btroubleshoot(?:ing)?\b|\bcommon (?:problems|issues|errors|pitfalls)\b|"
         r"\bknown (?:problems|issues)\b|\bfaq\b|\bdebugging\b|\bwhat to do (?:if|when)\b|"
         r"\bif (?:the |a |your )?build fails\b|\bsomething goes wrong\b"),
        # a remedy is an action that repairs something; "use" and "try" alone are not one
        ("a remedy (fix / check / solution)", r"\bfix(?:es|ed|ing)?\b|\bsolutions?\b|\bresolve[sd]?\b|"
         r"\bcheck(?:s|ed|ing)?\b|\bverify\b|\bworkarounds?\b|\bretry\b|\bre-?run\b|\bmake sure\b|\bensure\b|"
         r"\blog ?in with\b|\brestart\b"),
    )),
)


def covers(topic: Topic, sec: Section, whole: bool = True) -> tuple[bool, str]:
    """Whether a headed section covers ``topic`` (``whole``: with its subsections; else only its
    heading and the body before its first subsection), and if not, why (``""`` when it doesn't
    even match every group)."""
    if sec.level == 0:
        return False, ""
    body = sec.body if whole else sec.own_body
    _hit, miss = topic.match(f"{sec.heading}\n{body}")
    if miss:
        return False, ""
    body_hit, _ = topic.match(body)
    if not body_hit:
        return False, "only its heading names the topic"
    words, code = body_content(body)
    if words < MIN_BODY_WORDS and not code:
        return False, f"its body is {'empty' if not words else f'{words} word(s)'}, with no code block"
    return True, ""


OWN, WHOLE = "own", "whole"


def _assign(topics: list[Topic], secs: list[Section], cover: dict[tuple[int, int], str | None]) -> dict[int, int]:
    """The largest assignment of topics to sections such that no text counts for two topics:
    ``{topic index: section index}``. A section covers a topic with its own part (heading and the
    body before its first subsection), which leaves its subsections free for other topics, or as a
    whole, which takes its subsections too. Sections nest (each is inside its parent or apart), so
    a tree walk over subsets of topics finds the best assignment exactly."""
    idx = [i for i, s in enumerate(secs) if s.level > 0]
    children: dict[int, list[int]] = {i: [] for i in idx}
    roots: list[int] = []
    stack: list[int] = []
    for i in sorted(idx, key=lambda i: (secs[i].line, -secs[i].end)):
        while stack and not secs[stack[-1]].contains(secs[i]):
            stack.pop()
        (children[stack[-1]] if stack else roots).append(i)
        stack.append(i)

    Table = dict[frozenset[int], tuple[tuple[int, int], ...]]

    def merge(a: Table, b: Table) -> Table:
        out = dict(a)
        for ka, va in a.items():
            for kb, vb in b.items():
                if not ka & kb and (ka | kb) not in out:
                    out[ka | kb] = va + vb
        for kb, vb in b.items():
            out.setdefault(kb, vb)
        return out

    def walk(i: int) -> Table:
        own: Table = {frozenset(): ()}
        for t in range(len(topics)):
            if cover.get((t, i)) == OWN:
                own[frozenset({t})] = ((t, i),)
        for c in children[i]:
            own = merge(own, walk(c))
        for t in range(len(topics)):
            if cover.get((t, i)) == WHOLE:
                own.setdefault(frozenset({t}), ((t, i),))
        return own

    table: Table = {frozenset(): ()}
    for r in roots:
        table = merge(table, walk(r))
    best = max(table, key=lambda k: (len(k), [-t for t in sorted(k)]))
    return {t: s for t, s in table[best]}


def docs_cover_topics(repo: Repo, docs: str, topics: Iterable[Topic] = TOPICS) -> CheckResult:
    """D1: the docs file has, for each topic, a headed section of its own that covers it: heading
    and body match all of the topic's groups, the body has real content, and no section (nor one
    inside it) counts for two topics."""
    if not repo.exists(docs):
        return CheckResult.failed(docs, "no such file")
    text = repo.read_text(docs)
    secs = sections(text)
    topics = list(topics)
    cover: dict[tuple[int, int], str | None] = {}
    thin: dict[int, list[str]] = {}
    for t, topic in enumerate(topics):
        for i, sec in enumerate(secs):
            ok, why = covers(topic, sec, whole=False)
            if not ok:
                ok, why = covers(topic, sec)
                cover[(t, i)] = WHOLE if ok else None
            else:
                cover[(t, i)] = OWN
            if why:
                thin.setdefault(t, []).append(f"'{sec.heading}' at {docs}:{sec.line} names it, but {why}")
    chosen = _assign(topics, secs, cover)
    evidence: list[str] = []
    missing: list[str] = []
    headed = [s for s in secs if s.level > 0]
    if not headed:
        evidence.append(f"{docs} has no headings: every topic needs a section of its own (a heading and a body)")
    for t, topic in enumerate(topics):
        if t in chosen:
            sec = secs[chosen[t]]
            evidence.append(f"{topic.title}: '{sec.heading}' at {docs}:{sec.line}")
            continue
        looked = " + ".join(d for d, _rx in topic.groups)
        notes: list[str] = []
        for i, sec in enumerate(secs):
            if not cover[(t, i)]:
                continue
            for t2, i2 in chosen.items():
                s2 = secs[i2]
                if i2 == i or (s2.contains(sec) and cover[(t2, i2)] == WHOLE) or \
                        (sec.contains(s2) and cover[(t, i)] == WHOLE):
                    where2 = f"'{s2.heading}' at {docs}:{s2.line}"
                    notes.append(f"'{sec.heading}' at {docs}:{sec.line} covers it, but "
                                 + ("already counts for " if i2 == i else f"overlaps {where2}, which counts for ")
                                 + topics[t2].title)
                    break
        notes += thin.get(t, [])
        missing.append(f"{topic.title} (looked for {looked}{': ' + '; '.join(notes[:1]) if notes else ''})")
        best: tuple[int, Section | None, list[str]] = (-1, None, [])
        for sec in headed:
            hit, miss = topic.match(sec.text)
            if miss and len(hit) > best[0]:
                best = (len(hit), sec, miss)
        near = ""
        if not notes and best[1] is not None and best[0] > 0:
            near = f"; closest '{best[1].heading}' at {docs}:{best[1].line} lacks {', '.join(best[2])}"
        evidence.append(f"missing {topic.title}: no section of its own with {looked}{near}")
        evidence += [f"  {n}" for n in notes]
        pre = next((s for s in secs if s.level == 0), None)
        if pre is not None and not topic.match(pre.text)[1]:
            evidence.append(f"  heading-less text at {docs}:{pre.line} mentions it: that is no section of its own")
    if missing:
        return CheckResult.failed(
            f"{docs} to cover {len(topics)} topics ({', '.join(t.title for t in topics)})",
            ("no headings at all; " if not headed else "") + f"no section on {'; '.join(missing)}", docs, evidence)
    return CheckResult.passed(f"{docs} covers all {len(evidence)} topics, each in a section of its own", evidence)


# -- Markdown references (D2, D3) -------------------------------------------------------------
@dataclass(frozen=True)
class Ref:
    """A path-like thing a file names, where, and how it was named."""

    file: str
    line: int
    text: str
    kind: str  # link | code | text | workflow | script


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and ((tag == "a" and name == "href") or (tag in ("img", "source") and name == "src")):
                self.found.append((value, self.getpos()[0]))


def _html_hrefs(html: str) -> list[tuple[str, int]]:
    """``href``/``src`` values of an HTML fragment with their 1-based line in the fragment."""
    p = _Hrefs()
    try:
        p.feed(html)
        p.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; never let odd HTML crash a check
        pass
    return p.found


@dataclass
class MarkdownRefs:
    """What a Markdown file names: links (href, line), code (text, line) and prose (text, line)."""

    links: list[tuple[str, int]] = field(default_factory=list)
    code: list[tuple[str, int]] = field(default_factory=list)
    prose: list[tuple[str, int]] = field(default_factory=list)
    fences: list[tuple[str, int]] = field(default_factory=list)


def markdown_refs(text: str) -> MarkdownRefs:
    """Links (inline, reference style, HTML), code spans, fenced code and prose, with lines."""
    out = MarkdownRefs()
    for tok in _markdown().parse(text):
        if not tok.map:
            continue
        base = tok.map[0] + 1
        if tok.type in ("fence", "code_block"):
            out.fences.append((tok.content, base + (1 if tok.type == "fence" else 0)))
        elif tok.type == "html_block":
            out.links.extend((h, base + ln - 1) for h, ln in _html_hrefs(tok.content))
            out.prose.append((re.sub(r"<[^>]*>", " ", tok.content), base))
        elif tok.type == "inline":
            line = base
            for child in tok.children or []:
                if child.type in ("softbreak", "hardbreak"):
                    line += 1
                elif child.type in ("link_open", "image"):
                    href = child.attrs.get("href") if child.type == "link_open" else child.attrs.get("src")
                    if isinstance(href, str):
                        out.links.append((href, line))
                elif child.type == "html_inline":
                    out.links.extend((h, line) for h, _ in _html_hrefs(child.content))
                elif child.type == "code_inline":
                    out.code.append((child.content, line))
                elif child.type == "text":
                    out.prose.append((child.content, line))
    return out


_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def link_path(href: str, from_file: str, github: str | None = None) -> str | None:
    """The repository path a Markdown link points at, or None for URLs elsewhere and anchors.

    Relative links resolve from the linking file's folder, ``/x`` from the repository root (as
    GitHub renders them), and ``https://github.com/<github>/blob/<ref>/<path>`` to ``path``.
    The result may leave the repository (``../``): callers treat that as invalid."""
    href = href.strip()
    if github:
        m = re.match(rf"^https?://github\.com/{re.escape(github)}/(?:blob|tree|raw)/[^/]+/([^?#]+)", href, re.I)
        if m:
            return posixpath.normpath(unquote(m.group(1)))
    if not href or href.startswith(("#", "//")) or _SCHEME.match(href):
        return None
    path = unquote(re.split(r"[?#]", href, 1)[0])
    if not path:
        return None
    if path.startswith("/"):
        return posixpath.normpath(path.lstrip("/")) or "."
    return posixpath.normpath(posixpath.join(posixpath.dirname(from_file), path))


def _leaves(path: str) -> bool:
    return path == ".." or path.startswith("../") or path.startswith("/")


def readme_links_docs(repo: Repo, readme: str, docs: str, github: str | None = None) -> CheckResult:
    """D2: the README has a Markdown/HTML link whose target resolves to the docs file."""
    want = posixpath.normpath(docs)
    if not repo.exists(readme):
        return CheckResult.failed(f"{readme} linking {docs}", "no such file")
    text = repo.read_text(readme)
    refs = markdown_refs(text)
    others: list[str] = []
    for href, line in refs.links:
        target = link_path(href, readme, github)
        if target == want:
            note = "" if repo.exists(docs) else f" ({docs} itself does not exist: see D1)"
            return CheckResult.passed(f"{readme}:{line} links {docs}",
                                      [f"{readme}:{line}: link {href} -> {target}{note}"])
        if target and posixpath.basename(target).lower() == posixpath.basename(want).lower():
            others.append(f"{href} ({readme}:{line}) -> {target}")
    if others:
        return CheckResult.failed(f"a link in {readme} to {docs}",
                                  f"links that resolve elsewhere: {'; '.join(others)}", readme, others)
    name = posixpath.basename(want)
    for n, ln in enumerate(text.splitlines(), 1):
        if name.lower() in ln.lower():
            return CheckResult.failed(f"a link in {readme} to {docs}", f"only a bare mention of {name}, not a link",
                                      f"{readme}:{n}", [f"{readme}:{n}: {ln.strip()[:160]}"])
    return CheckResult.failed(f"a link in {readme} to {docs}", f"no link to or mention of {name}", readme)


# -- path references (D3) ---------------------------------------------------------------------
BARE_EXTS = ("md", "yml", "yaml", "sh")
PATH_EXTS = BARE_EXTS + ("json", "toml", "py", "js", "ts", "mjs", "cjs", "txt", "html", "cfg", "conf", "ini",
                         "env", "lock", "tf", "tpl", "j2", "xml", "gradle", "go", "rs", "rb", "css")
FILE_NAMES = ("Dockerfile", "Containerfile", "Makefile", "Procfile", "Justfile")
_SPLIT = re.compile(r"[\s\"'`()<>\[\]{},;|&=]+")
_WORKFLOW_REF = re.compile(
    r"gh\s+workflow\s+(?:run|view|enable|disable)\s+(?:-{1,2}[\w-]+(?:[ =]\S+)?\s+)*[\"']?([\w.-]+\.ya?ml)\b"
    r"|--workflow[=\s]+[\"']?([\w./-]+\.ya?ml)\b|\bgh\s+run\s+list\b[^\n|;]*?\s-w\s+[\"']?([\w./-]+\.ya?ml)\b"
)
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?$", re.I)
_PLACEHOLDER = re.compile(r"^\.git/|path/to/|/to/your|\byour[-_]|\.\.\.|…|\bxxx\b|\bfoo\b|\bmy-|\bsome-", re.I)


def _looks_like_path(tok: str, allow_dir: bool) -> bool:
    """A token shaped like a repository path we should check."""
    base = tok.rstrip("/").rsplit("/", 1)[-1]
    if not base or tok.startswith(("-", "~", "/", "$", "@", "\\")):
        return False
    if "/" in tok.rstrip("/"):
        parts = re.sub(r"^(?:\.\.?/)+", "", tok).split("/", 1)
        if len(parts) == 2 and _DOMAIN.match(parts[0]) and not parts[0].startswith("."):
            return False  # ghcr.io/x/y, github.com/x
    if tok.endswith("/"):
        return allow_dir and "/" in tok and not tok.startswith("//")
    ext = base.rsplit(".", 1)[-1] if "." in base.strip(".") else ""
    if "/" in tok:
        return ext in PATH_EXTS or base in FILE_NAMES
    return ext in BARE_EXTS and base[0].isalnum()


def path_tokens(text: str, allow_dir: bool = False) -> list[tuple[str, int]]:
    """Path-like tokens of a text with their line offset (0-based) inside it. URLs are skipped."""
    out: list[tuple[str, int]] = []
    for off, ln in enumerate(text.split("\n")):
        ln = re.sub(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+|\bwww\.\S+", " ", ln)
        for raw in _SPLIT.split(ln):
            tok = raw.lstrip("*_").rstrip("*_")
            tok = tok if tok.endswith(("/", "/..", "/.")) else tok.rstrip(".,:;!?")
            tok = re.sub(r":\d+(?::\d+)?$", "", tok.split("#", 1)[0] if "#" in tok[1:] else tok)  # x.sh:12, x.md#a
            tok = tok if tok.endswith(("/", "/..", "/.")) else tok.rstrip(".,:;!?")
            if tok and _looks_like_path(tok, allow_dir) and not _PLACEHOLDER.search(tok):
                out.append((tok, off))
    return out


@dataclass
class Dangling:
    ref: Ref
    reason: str

    def __str__(self) -> str:
        return f"{self.ref.file}:{self.ref.line} names {self.ref.text} ({self.reason})"


class _Resolver:
    """Decides whether a reference names something that exists in the repository."""

    def __init__(self, repo: Repo, workflows_dir: str) -> None:
        self.repo = repo
        self.workflows_dir = workflows_dir
        self._basenames: set[str] | None = None
        self._files: list[str] | None = None

    def basenames(self) -> set[str]:
        if self._basenames is None:
            self._basenames = {posixpath.basename(p) for p in self.tracked()}
        return self._basenames

    def tracked(self) -> list[str]:
        if self._files is None:
            self._files = self.repo.tracked_files()
        return self._files

    def check(self, ref: Ref, candidates: list[str]) -> str | None:
        """None when one candidate exists, else why the reference dangles."""
        inside = [c for c in candidates if not _leaves(c)]
        if not inside:
            return "leaves the repository"
        for c in inside:
            if any(ch in c for ch in "*?["):
                if any(fnmatch.fnmatchcase(p, c) for p in self.tracked()):
                    return None
                continue
            if self.repo.exists(c or "."):
                return None
        return "no such file" if len(inside) == 1 else f"no such file: tried {', '.join(dict.fromkeys(inside))}"

    def ref_candidates(self, ref: Ref, token: str, base_dir: str) -> list[str] | None:
        """Repository paths ``token`` can mean, or None when it can't be decided (ignore it)."""
        if ref.kind == "workflow":
            if "/" not in token:
                return [posixpath.join(self.workflows_dir, token)]
            return [posixpath.normpath(token)]
        t = token.rstrip("/")
        if "/" not in t:  # a bare file name: beside the file, at the root, or anywhere by name
            if t in self.basenames():
                return None
            return list(dict.fromkeys([posixpath.normpath(posixpath.join(base_dir, t)), t]))
        cands = [posixpath.normpath(posixpath.join(base_dir, t))]
        if not t.startswith("../"):
            cands.append(posixpath.normpath(t))
        return list(dict.fromkeys(cands))


def _scan_text(resolver: _Resolver, file: str, base_dir: str, text: str, first_line: int, kind: str,
               allow_dir: bool, out: list[tuple[Ref, list[str]]]) -> None:
    wf_lines: set[tuple[int, str]] = set()
    for m in _WORKFLOW_REF.finditer(text):
        name = next(g for g in m.groups() if g)
        line = first_line + text.count("\n", 0, m.start(0) + m.group(0).find(name))
        ref = Ref(file, line, name, "workflow")
        cands = resolver.ref_candidates(ref, name, base_dir)
        if cands is not None:
            out.append((ref, cands))
            wf_lines.add((line, name))
    for tok, off in path_tokens(text, allow_dir):
        line = first_line + off
        if (line, tok) in wf_lines:
            continue
        ref = Ref(file, line, tok, kind)
        cands = resolver.ref_candidates(ref, tok, base_dir)
        if cands is not None:
            out.append((ref, cands))


def _markdown_refs_of(resolver: _Resolver, file: str, text: str, github: str | None) -> list[tuple[Ref, list[str]]]:
    out: list[tuple[Ref, list[str]]] = []
    base_dir = posixpath.dirname(file)
    refs = markdown_refs(text)
    for href, line in refs.links:
        target = link_path(href, file, github)
        if target is None or _PLACEHOLDER.search(href) or re.search(r"[<>{}$]", href):
            continue
        out.append((Ref(file, line, href, "link"), [target]))
    for content, line in refs.code:
        _scan_text(resolver, file, base_dir, content, line, "code", True, out)
    for content, line in refs.fences:
        _scan_text(resolver, file, base_dir, content, line, "code", False, out)
    for content, line in refs.prose:
        _scan_text(resolver, file, base_dir, content, line, "text", False, out)
    return out


def _script_refs_of(resolver: _Resolver, file: str, text: str) -> list[tuple[Ref, list[str]]]:
    out: list[tuple[Ref, list[str]]] = []
    script = sh.parse_shell(text, file)
    script_dir = posixpath.dirname(file)
    seen_wf: set[tuple[int, str]] = set()
    for w in sh.gh_workflow_words(script):
        for v in sh.expand(w.text, script.variables):
            if sh.is_resolved(v) and v.endswith((".yml", ".yaml")):
                ref = Ref(file, w.line, v, "workflow")
                cands = resolver.ref_candidates(ref, v, script_dir)
                if cands is not None:
                    out.append((ref, cands))
                    seen_wf.add((w.line, v))
    for cmd in script.commands:
        for w in cmd:
            for value in sh.expand(w.text, script.variables):
                _scan_word(resolver, file, script_dir, value, w.line, seen_wf, out)
    for frag in script.fragments:
        _scan_text(resolver, file, script_dir, frag.text, frag.line, "script", False, out)
    return out


_ANCHORS = {sh.SCRIPT_DIR: "$(dirname \"$0\")", sh.REPO_ROOT: "$(git rev-parse --show-toplevel)"}


def _scan_word(resolver: _Resolver, file: str, script_dir: str, value: str, line: int,
               seen_wf: set[tuple[int, str]], out: list[tuple[Ref, list[str]]]) -> None:
    """Path tokens of one expanded shell word; ``$(dirname "$0")``-style folders are resolved."""
    for part_off, part in enumerate(value.split("\n")):
        ln = line + part_off
        for raw in _SPLIT.split(part):
            if not raw or sh.UNRESOLVED in raw:
                continue
            anchor = next((m for m in _ANCHORS if raw.startswith(m)), None)
            if anchor is not None:
                rest = raw[len(anchor):]
                if any(m in rest for m in _ANCHORS):
                    continue
                base = script_dir if anchor == sh.SCRIPT_DIR else ""
                rel = posixpath.normpath(posixpath.join(base, rest.lstrip("/")))
                shown = _ANCHORS[anchor] + rest
                if _looks_like_path(rel, False) or (_leaves(rel) and _looks_like_path(rel.rsplit("/", 1)[-1], False)):
                    out.append((Ref(file, ln, shown, "script"), [rel]))
                continue
            if any(m in raw for m in _ANCHORS):
                continue
            for tok, _ in path_tokens(raw):
                if (ln, tok) in seen_wf:
                    continue
                ref = Ref(file, ln, tok, "script")
                cands = resolver.ref_candidates(ref, tok, script_dir)
                if cands is not None:
                    out.append((ref, cands))


def files_to_scan(repo: Repo, docs: str, readme: str, scripts: Iterable[str]) -> tuple[list[str], list[str]]:
    """(Markdown files, scripts) D3 reads: the docs, the README, other ``*.md`` at the top level and
    in ``docs/`` that git tracks, and the target's scripts. Missing ones are left out (D1/D2/S1
    report them)."""
    md = [p for p in (docs, readme) if repo.exists(p)]
    for p in repo.tracked_files():
        if p.lower().endswith(".md") and (p.count("/") == 0 or (p.startswith("docs/") and p.count("/") == 1)):
            md.append(p)
    scr = [p for p in scripts if repo.exists(p)]
    return list(dict.fromkeys(posixpath.normpath(p) for p in md)), list(dict.fromkeys(scr))


def _collect(repo: Repo, docs: str, readme: str, scripts: list[str], workflows_dir: str,
             github: str | None) -> tuple[_Resolver, list[str], list[tuple[Ref, list[str]]]]:
    resolver = _Resolver(repo, workflows_dir)
    md, scr = files_to_scan(repo, docs, readme, scripts)
    found: list[tuple[Ref, list[str]]] = []
    for f in md:
        found.extend(_markdown_refs_of(resolver, f, repo.read_text(f), github))
    for f in scr:
        found.extend(_script_refs_of(resolver, f, repo.read_text(f)))
    return resolver, md + scr, found


def references(repo: Repo, docs: str, readme: str, scripts: Iterable[str], workflows_dir: str,
               github: str | None = None) -> list[tuple[Ref, list[str]]]:
    """Every path-like reference in the docs and scripts, with the repository paths it can mean."""
    return _collect(repo, docs, readme, list(scripts), workflows_dir, github)[2]


def named_paths_exist(repo: Repo, docs: str, readme: str, scripts: Iterable[str], workflows_dir: str,
                      github: str | None = None) -> CheckResult:
    """D3: every workflow, script or doc path named in the docs and scripts exists. Each dangling
    reference is reported with file:line; one that leaves the repository is never read."""
    scripts = list(scripts)
    resolver, scanned, found = _collect(repo, docs, readme, scripts, workflows_dir, github)
    if not scanned:
        return CheckResult.failed(f"docs or scripts to read ({docs}, {readme}, {', '.join(scripts)})", "none of them")
    dangling: list[Dangling] = []
    ok: list[str] = []
    seen: set[tuple[str, int, str]] = set()
    for ref, cands in found:
        key = (ref.file, ref.line, ref.text)
        if key in seen:
            continue
        seen.add(key)
        why = resolver.check(ref, cands)
        if why is None:
            ok.append(f"{ref.file}:{ref.line}: {ref.text}")
        else:
            dangling.append(Dangling(ref, why))
    files = f"{len(scanned)} files ({', '.join(scanned)})"
    order = {f: i for i, f in enumerate(scanned)}
    dangling.sort(key=lambda d: (order.get(d.ref.file, len(order)), d.ref.line))
    if dangling:
        first = "; ".join(str(d) for d in dangling[:3])
        more = f" (+{len(dangling) - 3} more)" if len(dangling) > 3 else ""
        ev = [f"dangling: {d}" for d in dangling] + [f"exists: {e}" for e in ok]
        where = f"{dangling[0].ref.file}:{dangling[0].ref.line}"
        return CheckResult(False, f"expected every path named in {files} to exist; found {len(dangling)} "
                           f"dangling: {first}{more} (at {where})", ev)
    return CheckResult.passed(f"all {len(ok)} paths named in {files} exist", [f"exists: {e}" for e in ok])
