"""Links and path references in Markdown, as a renderer sees them (markdown-it-py), with source lines."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote

from buildgate.errors import CannotDecide

try:  # a dependency of buildgate; guarded so a missing install is a clear error, not an ImportError
    from markdown_it import MarkdownIt
except ImportError:  # pragma: no cover - exercised only on a broken install
    MarkdownIt = None  # type: ignore[assignment,misc]


def parser() -> "MarkdownIt":
    """A CommonMark parser with tables (markdown-it-py)."""
    if MarkdownIt is None:
        raise CannotDecide("markdown-it-py is not installed (pip install markdown-it-py)")
    return MarkdownIt("commonmark").enable("table")


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
    for tok in parser().parse(text):
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


def leaves_repo(path: str) -> bool:
    return path == ".." or path.startswith("../") or path.startswith("/")

