"""D3: every workflow, script or doc path named in the build docs, the README, the helper scripts
and the workflows exists (plus the files the target's ``repo.docs_scope`` globs select).

Other Markdown of the repository (status notes, reports) is out of scope: CRITERIA.md's D3.
What each file names is extracted once per distinct content (keyed by its blob id, see
:class:`buildgate.repo.ContentCache`), so a history walk reads and parses a file only when it
changed; whether each named path exists is then decided at every revision from the tree.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any, Iterable

from buildgate.errors import InputError
from buildgate.repo import ContentCache, Repo, blob_id
from buildgate.result import CheckResult
from buildgate.yamlfile import decode_text

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


# -- what a file names (cached per content) ----------------------------------------------------
# A raw reference is JSON data: [line, text, kind, candidates] with the repository paths it can
# mean, or [line, text, kind, None, token, base_dir] when that depends on the revision (a bare
# file name counts wherever a file of that name is tracked).
RawRef = list

_USES_LOCAL = re.compile(r"""^\s*-?\s*uses:\s*["']?(\./[^\s"'@#]+)""", re.M)


def _token_ref(line: int, token: str, kind: str, base_dir: str, wf_dir: str | None = None) -> RawRef:
    """A path token as named, with its candidates when they don't depend on the revision."""
    if kind == "workflow":  # named by gh: a file name is in the workflows folder
        return [line, token, kind, [posixpath.join(wf_dir or "", token) if "/" not in token else posixpath.normpath(token)]]
    t = token.rstrip("/")
    if "/" not in t:
        return [line, token, kind, None, t, base_dir]
    cands = [posixpath.normpath(posixpath.join(base_dir, t))]
    if not t.startswith("../"):
        cands.append(posixpath.normpath(t))
    return [line, token, kind, list(dict.fromkeys(cands))]


def _scan_text(file: str, base_dir: str, text: str, first_line: int, kind: str, allow_dir: bool,
               wf_dir: str, out: list[RawRef]) -> None:
    wf_lines: set[tuple[int, str]] = set()
    for m in _WORKFLOW_REF.finditer(text):
        name = next(g for g in m.groups() if g)
        line = first_line + text.count("\n", 0, m.start(0) + m.group(0).find(name))
        out.append(_token_ref(line, name, "workflow", base_dir, wf_dir))
        wf_lines.add((line, name))
    for tok, off in path_tokens(text, allow_dir):
        line = first_line + off
        if (line, tok) not in wf_lines:
            out.append(_token_ref(line, tok, kind, base_dir))


def _markdown_refs_of(file: str, text: str, github: str | None, wf_dir: str) -> list[RawRef]:
    out: list[RawRef] = []
    base_dir = posixpath.dirname(file)
    refs = markdown_refs(text)
    for href, line in refs.links:
        target = link_path(href, file, github)
        if target is None or _PLACEHOLDER.search(href) or re.search(r"[<>{}$]", href):
            continue
        out.append([line, href, "link", [target]])
    for content, line in refs.code:
        _scan_text(file, base_dir, content, line, "code", True, wf_dir, out)
    for content, line in refs.fences:
        _scan_text(file, base_dir, content, line, "code", False, wf_dir, out)
    for content, line in refs.prose:
        _scan_text(file, base_dir, content, line, "text", False, wf_dir, out)
    return out


def _script_refs_of(file: str, text: str, wf_dir: str) -> list[RawRef]:
    out: list[RawRef] = []
    script = sh.parse_shell(text, file)
    script_dir = posixpath.dirname(file)
    seen_wf: set[tuple[int, str]] = set()
    for w in gh_workflow_words(script):
        for v in sh.expand(w.text, script.variables):
            if sh.is_resolved(v) and v.endswith((".yml", ".yaml")):
                out.append(_token_ref(w.line, v, "workflow", script_dir, wf_dir))
                seen_wf.add((w.line, v))
    for cmd in script.commands:
        for w in cmd:
            for value in sh.expand(w.text, script.variables):
                _scan_word(file, script_dir, value, w.line, seen_wf, out)
    for frag in script.fragments:
        _scan_text(file, script_dir, frag.text, frag.line, "script", False, wf_dir, out)
    return out


def _workflow_refs_of(file: str, text: str, wf_dir: str) -> list[RawRef]:
    """A workflow's steps run at the repository root: its paths (in ``run:``, ``with:``, ``paths:``,
    comments) are read from there, and ``uses: ./dir`` names a local action's folder."""
    out: list[RawRef] = []
    for m in _USES_LOCAL.finditer(text):
        line = text.count("\n", 0, m.start(1)) + 1
        out.append([line, m.group(1), "workflow", [posixpath.normpath(m.group(1))]])
    _scan_text(file, "", text, 1, "workflow-text", False, wf_dir, out)
    return out


_ANCHORS = {sh.SCRIPT_DIR: "$(dirname \"$0\")", sh.REPO_ROOT: "$(git rev-parse --show-toplevel)"}


def _scan_word(file: str, script_dir: str, value: str, line: int, seen_wf: set[tuple[int, str]],
               out: list[RawRef]) -> None:
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
                    out.append([ln, shown, "script", [rel]])
                continue
            if any(m in raw for m in _ANCHORS):
                continue
            for tok, _ in path_tokens(raw):
                if (ln, tok) not in seen_wf:
                    out.append(_token_ref(ln, tok, "script", script_dir))


_EXTRACT = {"markdown": lambda f, t, gh, wf: _markdown_refs_of(f, t, gh, wf),
            "script": lambda f, t, gh, wf: _script_refs_of(f, t, wf),
            "workflow": lambda f, t, gh, wf: _workflow_refs_of(f, t, wf),
            "text": lambda f, t, gh, wf: _scan_text_refs(f, t, wf)}


def _scan_text_refs(file: str, text: str, wf_dir: str) -> list[RawRef]:
    out: list[RawRef] = []
    _scan_text(file, posixpath.dirname(file), text, 1, "text", False, wf_dir, out)
    return out


def _valid_refs(value: Any) -> bool:
    """What a cache on disk may hold for a file: a list of well-formed raw references."""
    if not isinstance(value, list):
        return False
    for r in value:
        if not (isinstance(r, list) and len(r) in (4, 6) and isinstance(r[0], int) and isinstance(r[1], str)
                and isinstance(r[2], str)):
            return False
        if len(r) == 4 and not (isinstance(r[3], list) and all(isinstance(c, str) for c in r[3])):
            return False
        if len(r) == 6 and not (r[3] is None and isinstance(r[4], str) and isinstance(r[5], str)):
            return False
    return True


_REFS = ContentCache("d3-refs", _valid_refs)


def named_in(repo: Repo, file: str, kind: str, github: str | None, workflows_dir: str) -> list[RawRef]:
    """What ``file`` names, extracted once per distinct content (its blob id is the key): at a
    revision, a file seen before is not even read."""
    oid = repo.content_id(file)
    data = None
    if oid is None:  # the work tree, or a symlink: the content itself gives the key
        data = repo.read_bytes(file)
        oid = blob_id(data)
    key = f"{kind}\x00{github or ''}\x00{workflows_dir}\x00{file}\x00{oid}"
    hit = _REFS.get(key)
    if hit is not None:
        return hit
    text = decode_text(data, file) if data is not None else repo.read_text(file)
    return _REFS.put(key, _EXTRACT[kind](file, text, github, workflows_dir))


# -- D3's files ---------------------------------------------------------------------------------
def kind_of(path: str, workflows_dir: str) -> str:
    low = path.lower()
    if low.endswith((".md", ".markdown")):
        return "markdown"
    if low.endswith((".yml", ".yaml")) and posixpath.dirname(path) == posixpath.normpath(workflows_dir):
        return "workflow"
    if low.endswith((".sh", ".bash")):
        return "script"
    return "text"


def files_to_scan(repo: Repo, docs: str, readme: str, scripts: Iterable[str], workflows_dir: str,
                  scope: Iterable[str] = ()) -> list[tuple[str, str]]:
    """``(path, kind)`` of the files D3 reads, in the order its message reports them: the build
    docs, the README, the helper scripts, the workflows, then what the target's ``docs_scope``
    globs select. Missing ones are left out (D1, D2 and S1 report them)."""
    out: dict[str, str] = {}
    for p in (docs, readme):
        if repo.exists(p):
            out.setdefault(posixpath.normpath(p), "markdown")
    for p in scripts:
        if repo.exists(p):
            out.setdefault(posixpath.normpath(p), "script")
    if repo.is_dir(workflows_dir):
        for p in repo.list_files(workflows_dir):
            if p.endswith((".yml", ".yaml")):
                out.setdefault(p, "workflow")
    for pattern in scope:
        for p in repo.files_matching(pattern):
            out.setdefault(p, kind_of(p, workflows_dir))
    return list(out.items())


def docs_in_scope(repo: Repo, docs: str, readme: str, scope: Iterable[str] = (), workflows_dir: str = "") -> list[str]:
    """The Markdown files whose script command lines D3 checks: the build docs, the README and the
    Markdown files the target's ``docs_scope`` selects (for D3's option part)."""
    out = [docs, readme]
    for pattern in scope:
        out += [p for p in repo.files_matching(pattern) if kind_of(p, workflows_dir) == "markdown"]
    return list(dict.fromkeys(out))


# -- resolution at one revision -----------------------------------------------------------------
def _candidates(repo: Repo, raw: RawRef) -> list[str] | None:
    """The repository paths a raw reference can mean here, or None when it can't be decided
    (a bare file name that some tracked file has: ignore it)."""
    if raw[3] is not None:
        return raw[3]
    t, base_dir = raw[4], raw[5]
    if repo.any_file_named(t):
        return None
    return list(dict.fromkeys([posixpath.normpath(posixpath.join(base_dir, t)), t]))


def _why_dangling(repo: Repo, candidates: list[str]) -> str | None:
    """None when one candidate exists, else why the reference dangles."""
    inside = [c for c in candidates if not leaves_repo(c)]
    if not inside:
        return "leaves the repository"
    for c in inside:
        if any(ch in c for ch in "*?["):
            if repo.any_file_matching(c):
                return None
            continue
        if repo.exists(c or "."):
            return None
    return "no such file" if len(inside) == 1 else f"no such file: tried {', '.join(dict.fromkeys(inside))}"


def references(repo: Repo, docs: str, readme: str, scripts: Iterable[str], workflows_dir: str,
               github: str | None = None, scope: Iterable[str] = ()) -> list[tuple[Ref, list[str]]]:
    """Every path-like reference in D3's files, with the repository paths it can mean."""
    out = []
    for f, kind in files_to_scan(repo, docs, readme, scripts, workflows_dir, scope):
        for raw in named_in(repo, f, kind, github, workflows_dir):
            cands = _candidates(repo, raw)
            if cands is not None:
                out.append((Ref(f, raw[0], raw[1], raw[2]), cands))
    return out


def d3_named_paths_exist(repo: Repo, docs: str, readme: str, scripts: Iterable[str], workflows_dir: str,
                         github: str | None = None, scope: Iterable[str] = ()) -> CheckResult:
    """D3: every workflow, script or doc path named in the build docs, the README, the helper
    scripts and the workflows (and the files ``scope`` selects) exists. Each dangling reference is
    reported with file:line, the build docs' first; one that leaves the repository is never read."""
    scripts = list(scripts)
    scanned = files_to_scan(repo, docs, readme, scripts, workflows_dir, scope)
    if not scanned:
        return CheckResult.failed(f"docs or scripts to read ({docs}, {readme}, {', '.join(scripts)})", "none of them")
    dangling: list[Dangling] = []
    ok: list[str] = []
    seen: set[tuple[str, int, str]] = set()
    unread: list[str] = []
    for f, kind in scanned:
        try:
            raws = named_in(repo, f, kind, github, workflows_dir)
        except InputError as exc:  # a file that can't be read names nothing we can check
            unread.append(f"{f}: not read ({exc.reason})")
            continue
        for raw in raws:
            key = (f, raw[0], raw[1])
            if key in seen:
                continue
            seen.add(key)
            cands = _candidates(repo, raw)
            if cands is None:
                continue
            ref = Ref(f, raw[0], raw[1], raw[2])
            why = _why_dangling(repo, cands)
            if why is None:
                ok.append(f"{f}:{ref.line}: {ref.text}")
            else:
                dangling.append(Dangling(ref, why))
    names = [f for f, _k in scanned]
    shown = ", ".join(names[:6]) + (f", and {len(names) - 6} more" if len(names) > 6 else "")
    files = f"{len(names)} files ({shown})"
    order = {f: i for i, f in enumerate(names)}
    dangling.sort(key=lambda d: (order.get(d.ref.file, len(order)), d.ref.line))
    if dangling:
        first = "; ".join(str(d) for d in dangling[:3])
        more = f" (+{len(dangling) - 3} more)" if len(dangling) > 3 else ""
        ev = [f"dangling: {d}" for d in dangling] + [f"exists: {e}" for e in ok] + unread
        where = f"{dangling[0].ref.file}:{dangling[0].ref.line}"
        return CheckResult(False, f"expected every path named in {files} to exist; found {len(dangling)} "
                           f"dangling: {first}{more} (at {where})", ev)
    return CheckResult.passed(f"all {len(ok)} paths named in {files} exist", [f"exists: {e}" for e in ok] + unread)
