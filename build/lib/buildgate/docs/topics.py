"""D1: the build docs cover their topics, each in a section of its own.

Markdown is read with markdown-it-py (CommonMark plus tables), each block with its source line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from buildgate.repo import ContentCache, Repo, blob_id
from buildgate.result import CheckResult
from buildgate.docs.markdown import parser



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
    tokens = parser().parse(text)
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
    for tok in parser().parse(body):
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


def _valid_result(value: object) -> bool:
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], bool) and isinstance(value[1], str)
            and isinstance(value[2], list) and all(isinstance(e, str) for e in value[2]))


_D1 = ContentCache("d1", _valid_result)  # (docs path, blob id) -> [ok, message, evidence]


def d1_docs_cover_topics(repo: Repo, docs: str, topics: Iterable[Topic] = TOPICS) -> CheckResult:
    """D1: the docs file has, for each topic, a headed section of its own that covers it: heading
    and body match all of the topic's groups, the body has real content, and no section (nor one
    inside it) counts for two topics. Decided once per distinct content of the docs file."""
    if not repo.exists(docs):
        return CheckResult.failed(docs, "no such file")
    topics = tuple(topics)
    oid = repo.content_id(docs)
    if oid is None:
        oid = blob_id(repo.read_bytes(docs))
    key = f"{docs}\x00{oid}" if topics == TOPICS else None
    hit = _D1.get(key) if key else None
    if hit is None:
        res = _d1_text(repo.read_text(docs), docs, list(topics))
        hit = [res.ok, res.message, res.evidence] if key is None else _D1.put(key, [res.ok, res.message, res.evidence])
    return CheckResult(hit[0], hit[1], list(hit[2]))


def _d1_text(text: str, docs: str, topics: list[Topic]) -> CheckResult:
    secs = sections(text)
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

