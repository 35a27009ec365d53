"""D3: every workflow, script or doc path the docs, scripts and workflows name exists."""
from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass
from typing import Iterable

from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.docs.markdown import Ref, leaves_repo, link_path, markdown_refs
from buildgate import shell as sh
from buildgate.scripts import gh_workflow_words



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
        inside = [c for c in candidates if not leaves_repo(c)]
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
    for w in gh_workflow_words(script):
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
                if _looks_like_path(rel, False) or (leaves_repo(rel) and _looks_like_path(rel.rsplit("/", 1)[-1], False)):
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


def d3_named_paths_exist(repo: Repo, docs: str, readme: str, scripts: Iterable[str], workflows_dir: str,
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
