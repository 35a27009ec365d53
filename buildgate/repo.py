"""Read-only access to a target repository: its files (work tree or a git revision) and history.

Every path a check uses goes through :meth:`Repo.resolve`, which refuses absolute paths,
``..`` escapes and symlinks that point outside the repository. Parsed YAML is cached by content
(git blob id or bytes), so each file is parsed once per run, and once per distinct blob across a
history walk.

git runs with replace objects and grafts disabled (``refs/replace/*`` or ``info/grafts`` can't
rewrite the history under audit) and without the commit-graph file (a forged one could).

For history walks (see :mod:`buildgate.timeline`):

- trees of consecutive commits come from one ``git log --raw`` (:func:`first_parent_trees`), so a
  commit costs what it changed;
- what a check reads is recorded as facts (:meth:`Repo.recording`) that another revision can
  replay cheaply (:meth:`Repo.replay_equal`);
- git answers about immutable objects (a command whose revisions are all full commit ids) are
  kept per process, and a path-limited ``git log``/``rev-list --ancestry-path``/``merge-base
  --is-ancestor`` at a single-parent commit is derived from its parent's answer; answers about
  the repository's state (refs, abbreviated ids) are kept only inside :func:`frozen_state`.
"""
from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import posixpath
import re
import stat
import subprocess
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from buildgate.errors import BuildgateError, InputError
from buildgate.yamlfile import YamlDocument, decode_text, parse_yaml

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_SYMLINK_HOPS = 40
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C",
            "GIT_NO_REPLACE_OBJECTS": "1", "GIT_GRAFT_FILE": os.devnull}
# The audited repository's own .git/config (and what it includes) is untrusted: these settings
# override every key that would make a read-only git command run a program, reach the network or
# read a history other than the repository's (command-line settings win over every config file).
_GIT_OPTS = (
    "-c", "core.commitGraph=false", "-c", "advice.graftFileDeprecated=false",
    "-c", "core.fsmonitor=false", "-c", "core.untrackedCache=false", "-c", "core.hooksPath=" + os.devnull,
    "-c", "core.pager=cat", "-c", "core.askPass=", "-c", "core.sshCommand=false", "-c", "core.gitProxy=",
    "-c", "credential.helper=", "-c", "protocol.allow=never", "-c", "diff.external=",
    "-c", "log.showSignature=false", "-c", "gpg.program=false", "-c", "core.alternateRefsCommand=",
    "-c", "uploadpack.packObjectsHook=",
)
_HEX40 = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str
    author: str
    timestamp: int
    parents: tuple[str, ...]


def clean_rel(rel: str) -> str:
    """Normalise a repository-relative path, refusing anything that leaves the repository."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        raise InputError(f"invalid path {rel!r}")
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        raise InputError("absolute path; expected a path inside the repository", rel)
    norm = posixpath.normpath(rel.replace("\\", "/"))
    if norm == ".." or norm.startswith("../"):
        raise InputError("path leaves the repository", rel)
    return "" if norm == "." else norm


def read_regular_file(path: Path, limit: int, shown: str) -> bytes:
    """A regular file's bytes, at most ``limit``: a FIFO, device or socket is refused, never read
    (an unpacked tarball or a CI artifact can hold one, and reading it would block forever)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", shown) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file (a FIFO, device or socket): not read", shown)
        if st.st_size > limit:
            raise InputError(f"file is {st.st_size} bytes, over the {limit}-byte limit", shown)
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", shown) from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:
        raise InputError(f"file is over the {limit}-byte limit", shown)
    return data


_BLOBS: dict[str, bytes] = {}  # blob id -> content (small blobs), shared across revisions


@lru_cache(maxsize=4096)
def _parse_cached(key: str, raw: bytes, path: str) -> YamlDocument:
    return parse_yaml(raw, path)


def _git_env() -> dict[str, str]:
    """The environment git runs in: no inherited ``GIT_*`` variable at all.

    An audit may run inside a git hook or under a hostile environment: ``GIT_DIR`` and friends
    would make git read another repository, ``GIT_CONFIG_*`` would add settings that run programs,
    ``GIT_EXEC_PATH``, ``GIT_SSH*``, ``GIT_ASKPASS`` and ``GIT_EXTERNAL_DIFF`` name programs.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_GIT_ENV)
    return env


# -- trees -------------------------------------------------------------------------------------
Entry = tuple  # (mode, type, oid, size); size is -1 when the listing did not say


class _Tree:
    """One revision's tree: every path (files and folders) -> entry, with lazy indexes."""

    __slots__ = ("entries", "root_id", "_files", "_basenames")

    def __init__(self, entries: dict[str, Entry], root_id: str | None = None) -> None:
        self.entries = entries
        self.root_id = root_id
        self._files: list[str] | None = None
        self._basenames: set[str] | None = None

    def files(self) -> list[str]:
        if self._files is None:
            self._files = sorted(p for p, e in self.entries.items() if e[1] == "blob")
        return self._files

    def basenames(self) -> set[str]:
        if self._basenames is None:
            self._basenames = {posixpath.basename(p) for p in self.files()}
        return self._basenames

    def matches(self, pattern: str) -> bool:
        return any(fnmatch.fnmatchcase(p, pattern) for p in self.files())


_TREES: "OrderedDict[tuple[str, str], _Tree]" = OrderedDict()  # (root, commit id) -> tree, newest last
_MAX_TREES = 64
_PARENTS: dict[tuple[str, str], tuple[str, ...]] = {}  # (root, commit id) -> parents, from walks


def _keep_tree(root: str, sha: str, tree: _Tree) -> None:
    _TREES[(root, sha)] = tree
    _TREES.move_to_end((root, sha))
    while len(_TREES) > _MAX_TREES:
        _TREES.popitem(last=False)


def _parse_listing(out: str) -> dict[str, Entry]:
    tree: dict[str, Entry] = {}
    for rec in out.split("\x00"):
        if not rec:
            continue
        meta, path = rec.split("\t", 1)
        mode, typ, oid, size = meta.split()
        tree[path] = (mode, typ, oid, int(size) if size.isdigit() else 0)
    return tree


def _type_of(mode: str) -> str:
    return "tree" if mode == "040000" else "commit" if mode == "160000" else "blob"


def first_parent_trees(repo: "Repo", shas: list[str]) -> Iterator["Repo"]:
    """A :class:`Repo` reading each of ``shas`` (consecutive first-parent commits, oldest first).

    The first commit's tree is listed once; every later tree is its predecessor's plus the
    commit's changes against its first parent, all read with one ``git log --raw``. So a commit
    costs what it changed, not the size of the repository."""
    root = str(repo.root)
    if not shas:
        return
    fmt = "%x01%H %T %P"
    out = repo._run_git("log", "--first-parent", f"-n{len(shas)}", f"--format={fmt}", "--raw", "-r", "-t",
                        "--no-renames", "--no-abbrev", "-z", shas[-1])
    records = []
    for rec in out.split("\x01")[1:]:
        header, _, raw = rec.partition("\x00")
        sha, tree_id, *parents = header.split()
        fields = raw.lstrip("\n").split("\x00")
        changes = []
        for k in range(0, len(fields) - 1, 2):
            meta, path = fields[k], fields[k + 1]
            if not meta.startswith(":"):
                continue
            _old_mode, new_mode, _old, new_oid, status = meta[1:].split()
            changes.append((status[0], new_mode, new_oid, path))
        records.append((sha, tree_id, tuple(parents), changes))
    records.reverse()
    if [r[0] for r in records] != list(shas):  # not one first-parent chain: list every tree
        for sha in shas:
            yield repo.at(sha)
        return
    wanted = sorted({oid for r in records[1:] for status, mode, oid, _p in r[3] if status != "D" and _type_of(mode) == "blob"})
    sizes: dict[str, int] = {}
    if wanted:
        check = repo._exec(("cat-file", "--batch-check=%(objectname) %(objectsize)"), ("\n".join(wanted) + "\n").encode())
        for line in check.stdout.decode(errors="replace").splitlines():
            oid, _, size = line.partition(" ")
            if size.isdigit():
                sizes[oid] = int(size)
    first = repo.at(shas[0])
    first._head = shas[0]
    tree = _Tree(first._ls_tree(), records[0][1])
    first._tree = tree
    _keep_tree(root, shas[0], tree)
    _PARENTS[(root, shas[0])] = records[0][2]
    yield first
    for sha, tree_id, parents, changes in records[1:]:
        entries = dict(tree.entries)
        for status, mode, oid, path in changes:
            if status == "D":
                entries.pop(path, None)
            else:
                entries[path] = (mode, _type_of(mode), oid, sizes.get(oid, -1))
        tree = _Tree(entries, tree_id)
        _keep_tree(root, sha, tree)
        _PARENTS[(root, sha)] = parents
        at = repo.at(sha)
        at._tree = tree
        at._head = sha
        yield at


# -- git answers -------------------------------------------------------------------------------
_REF_OPTIONS = re.compile(
    r"^--(all|branches|tags|remotes|glob|exclude|reflog|since|until|before|after|max-age|min-age|disambiguate|"
    r"is-(shallow|inside|bare)|show-|abbrev-ref|symbolic|git-dir|stdin|walk-reflogs|alternate-refs|bisect|"
    r"indexed-objects|not)|^-g$")
_ANSWERS: "OrderedDict[tuple, tuple[int, bytes, bytes]]" = OrderedDict()  # immutable answers
_ANSWER_BUDGET = 64 * 1024 * 1024
_answer_bytes = 0
_STATE: dict[tuple, tuple[int, bytes, bytes]] = {}  # answers about refs etc., inside frozen_state()
_FROZEN = 0
_DERIVABLE_OPTIONS = re.compile(r"^(--format=.*|--pretty=.*|-p|-U\d+|--no-color|--no-ext-diff|--no-textconv|"
                                r"--reverse|--first-parent|--name-only|--name-status|--raw|--no-renames|"
                                r"--no-abbrev|-r|-t|--ancestry-path)$", re.S)


@contextlib.contextmanager
def frozen_state() -> Iterator[None]:
    """Promise that no repository changes inside this block (a history walk): answers about refs
    and abbreviated ids are then kept too, not only answers about immutable objects."""
    global _FROZEN
    _FROZEN += 1
    try:
        yield
    finally:
        _FROZEN -= 1
        if not _FROZEN:
            _STATE.clear()


def _split_command(args: tuple[str, ...]) -> tuple[int, str]:
    i = 0
    while i + 1 < len(args) and args[i] == "-c":
        i += 2
    return i, (args[i] if i < len(args) else "")


def _revisions(args: tuple[str, ...]) -> list[str] | None:
    """The revision words of a read command (before ``--``), or None if it reads refs or state."""
    revs = []
    for a in args:
        if a == "--":
            break
        if a.startswith("-"):
            if _REF_OPTIONS.match(a):
                return None
            continue
        revs.append(a)
    return revs


def answer_kind(args: tuple[str, ...], input_bytes: bytes | None = None) -> str:
    """``immutable`` when a git command's answer is fixed by object ids (every revision it names is
    a full commit id), else ``state`` (it reads refs, abbreviated ids, the index or the work tree)."""
    i, cmd = _split_command(args)
    rest = args[i + 1:]
    if cmd == "cat-file":
        if rest[:1] == ("blob",) and len(rest) == 2 and _HEX40.fullmatch(rest[1]):
            return "immutable"
        if rest and rest[0].startswith("--batch-check") and input_bytes is not None:
            lines = input_bytes.decode(errors="replace").split()
            return "immutable" if lines and all(_HEX40.fullmatch(x) for x in lines) else "state"
        return "state"
    if cmd not in ("log", "rev-list", "show", "merge-base", "rev-parse", "diff-tree", "ls-tree"):
        return "state"
    revs = _revisions(rest)
    if not revs or input_bytes:
        return "state"
    for r in revs:
        for part in re.split(r"\.\.\.?", r.lstrip("^")):
            if not _HEX40.fullmatch(re.sub(r"(\^\{\w*\}|\^\d*|~\d*)+$", "", part)):
                return "state"
    return "immutable"


def _remember(key: tuple, answer: tuple[int, bytes, bytes]) -> None:
    global _answer_bytes
    size = len(answer[1]) + len(answer[2])
    if size > _ANSWER_BUDGET // 8:
        return
    old = _ANSWERS.pop(key, None)
    if old is not None:
        _answer_bytes -= len(old[1]) + len(old[2])
    _ANSWERS[key] = answer
    _answer_bytes += size
    while _answer_bytes > _ANSWER_BUDGET and _ANSWERS:
        _k, dropped = _ANSWERS.popitem(last=False)
        _answer_bytes -= len(dropped[1]) + len(dropped[2])


class Repo:
    """A git checkout, read either from its work tree (``rev=None``) or from one revision."""

    def __init__(self, root: str | os.PathLike, rev: str | None = None, *, _resolved: bool = False) -> None:
        self.root = Path(root) if _resolved else Path(root).resolve()
        self.rev = rev
        if not _resolved and not self.root.is_dir():
            raise InputError("repository folder does not exist", str(root))
        self._tree: _Tree | None = None
        # Read recorders (see :meth:`recording`): what checks read, so a history walk can reuse
        # a check's result at a revision where everything it read is unchanged.
        self._recorders: list[set] = []
        self._head: str | None = None
        self._index: tuple[tuple, dict[str, str]] | None = None  # work tree: (index file stat, path -> mode)

    def __repr__(self) -> str:
        return f"Repo({str(self.root)!r}, rev={self.rev!r})"

    def at(self, rev: str) -> "Repo":
        """The same repository read at another revision (nothing is checked out)."""
        return Repo(self.root, rev, _resolved=True)

    # -- git ---------------------------------------------------------------------------------
    def _exec(self, args: tuple[str, ...], input_bytes: bytes | None = None) -> subprocess.CompletedProcess:
        """Run ``git -C ROOT ARGS``; a git that can't start or hangs is a one-line InputError."""
        try:
            return subprocess.run(
                ["git", *_GIT_OPTS, "-C", str(self.root), *args],
                capture_output=True,
                env=_git_env(),
                timeout=60,
                input=input_bytes,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputError(f"git {args[0]} failed: {exc}", str(self.root)) from None

    def _answer(self, args: tuple[str, ...], input_bytes: bytes | None, kind: str) -> tuple[int, bytes, bytes]:
        """git's answer (returncode, stdout, stderr): kept, derived from a parent's, or run."""
        key = (str(self.root), args, input_bytes)
        if kind == "immutable":
            got = _ANSWERS.get(key)
            if got is None:
                got = self._derive(args)
            if got is not None:
                _ANSWERS.move_to_end(key) if key in _ANSWERS else _remember(key, got)
                return got
        elif _FROZEN and key in _STATE:
            return _STATE[key]
        proc = self._exec(args, input_bytes)
        got = (proc.returncode, proc.stdout, proc.stderr)
        _i, cmd = _split_command(args)
        if kind == "immutable" and (proc.returncode == 0 or (cmd == "merge-base" and proc.returncode == 1)):
            _remember(key, got)
        elif kind == "state" and _FROZEN and proc.returncode in (0, 1):
            _STATE[key] = got
        return got

    def _derive(self, args: tuple[str, ...]) -> tuple[int, bytes, bytes] | None:
        """The answer at a single-parent commit R from the same question at its parent P:
        ``merge-base --is-ancestor X R`` is true for R or its parents, else the answer at P; a path-limited
        ``log``/``rev-list`` at R is P's answer, plus R's own record when R changed one of the
        paths; ``rev-list --ancestry-path A..R`` is P's answer plus R when P is A or in it."""
        root = str(self.root)
        i, cmd = _split_command(args)
        rest = args[i + 1:]
        if cmd == "merge-base":
            if len(rest) != 3 or rest[0] != "--is-ancestor":
                return None
            x, r = rest[1], rest[2]
            if x == r:
                return (0, b"", b"")
            parents = _PARENTS.get((root, r))
            if parents and x in parents:
                return (0, b"", b"")
            if not parents or len(parents) != 1:
                return None
            got = _ANSWERS.get((root, args[:i + 2] + (x, parents[0]), None))
            return got if got is not None and got[0] in (0, 1) else None
        if cmd not in ("log", "rev-list"):
            return None
        cut = rest.index("--") if "--" in rest else len(rest)
        words, paths = rest[:cut], rest[cut + 1:]
        revs = [(k, w) for k, w in enumerate(words) if not w.startswith("-")]
        if len(revs) != 1 or not all(_DERIVABLE_OPTIONS.match(w) for w in words if w.startswith("-")):
            return None
        k, rev = revs[0]
        ancestry = "--ancestry-path" in words
        base = None
        if ancestry:
            if cmd != "rev-list" or rev.count("..") != 1 or "..." in rev or paths:
                return None
            base, rev = rev.split("..")
        elif ".." in rev or "^" in rev or "~" in rev:
            return None
        parents = _PARENTS.get((root, rev))
        if not parents or len(parents) != 1:
            return None
        parent = parents[0]
        swapped = list(args)
        swapped[i + 1 + k] = f"{base}..{parent}" if ancestry else parent
        prev = _ANSWERS.get((root, tuple(swapped), None))
        if prev is None or prev[0] != 0:
            return None
        if ancestry:
            if rev == base:
                return (0, b"", b"")
            if parent == base or prev[1].strip():
                return (0, rev.encode() + b"\n" + prev[1], b"")
            return (0, b"", b"")
        touched = self._touches(rev, parent, paths)
        if touched is None:
            return None
        if not touched:
            return prev
        one = self._exec(args[:i + 1] + ("-1",) + rest)
        if one.returncode != 0:
            return None
        out = prev[1] + one.stdout if "--reverse" in words else one.stdout + prev[1]
        return (0, out, b"")

    def _touches(self, rev: str, parent: str, paths: tuple[str, ...]) -> bool | None:
        """Whether commit ``rev`` changed any of ``paths`` against ``parent`` (None: unknown)."""
        root = str(self.root)
        new, old = _TREES.get((root, rev)), _TREES.get((root, parent))
        if new is None or old is None:
            return None
        if not paths:
            return True
        for p in paths:
            if not p or p.startswith(":") or any(c in p for c in "*?[\\"):
                return None
            clean = posixpath.normpath(p)
            if clean in (".", "") or clean.startswith(".."):
                return None
            a, b = new.entries.get(clean), old.entries.get(clean)
            if (a[:3] if a else None) != (b[:3] if b else None):
                return True
        return False

    def _checked(self, args: tuple[str, ...], proc: subprocess.CompletedProcess | tuple) -> str:
        rc, out, err = (proc.returncode, proc.stdout, proc.stderr) if not isinstance(proc, tuple) else proc
        if rc != 0:
            lines = err.decode(errors="replace").strip().splitlines()
            raise InputError(f"git {' '.join(args[:2])} failed: {lines[-1] if lines else rc}", str(self.root))
        return out.decode(errors="replace")

    def git(self, *args: str, check: bool = True, input_bytes: bytes | None = None) -> str:
        """Run a read-only git command in the repository and return its stdout."""
        kind = answer_kind(args, input_bytes)
        got = self._answer(args, input_bytes, kind)
        self.record(("git", kind, args, input_bytes or b"", _digest(got)))
        return self._checked(args, got) if check else got[1].decode(errors="replace")

    def require_git(self) -> "Repo":
        """This repository, or an InputError when its folder is not a git checkout."""
        if not self.is_git():
            raise InputError("not a git checkout (buildgate reads files and history through git)", str(self.root))
        return self

    def is_git(self) -> bool:
        """True when the folder is the top of a git checkout (a plain folder inside another
        checkout, an unpacked tarball in a CI workspace say, is not: its history is another's)."""
        top = self.git("rev-parse", "--show-toplevel", check=False).strip()
        try:
            return bool(top) and Path(top).resolve() == self.root
        except OSError:
            return False

    def head(self) -> str:
        """The commit this Repo reads (HEAD for a work tree), resolved once per Repo."""
        if self._head is None:
            self._head = self.rev_parse(self.rev or "HEAD")
        self.record(("head", self._head))
        return self._head

    def rev_parse(self, rev: str) -> str:
        return self.git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()

    def try_rev_parse(self, rev: str) -> str | None:
        if rev.startswith("-"):
            return None
        out = self.git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).strip()
        return out or None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        args = ("merge-base", "--is-ancestor", ancestor, descendant)
        kind = answer_kind(args)
        got = self._answer(args, None, kind)
        self.record(("git", kind, args, b"", _digest(got)))
        return got[0] == 0

    def log(self, *args: str, rev: str | None = None) -> list[Commit]:
        """Commits reachable from ``rev`` (default: this repo's revision or HEAD), newest first."""
        fmt = "%H%x1f%s%x1f%an%x1f%ct%x1f%P%x1e"
        out = self.git("log", f"--format={fmt}", *args, rev or self.rev or "HEAD", "--")
        commits = []
        for rec in out.split("\x1e"):
            rec = rec.strip("\n")
            if not rec:
                continue
            sha, subject, author, ts, parents = rec.split("\x1f")
            commits.append(Commit(sha, subject, author, int(ts), tuple(parents.split())))
        return commits

    # -- files -------------------------------------------------------------------------------
    def _tree_obj(self) -> _Tree:
        if self._tree is None:
            root = str(self.root)
            rev = self.rev or "HEAD"
            cached = _TREES.get((root, rev)) if _HEX40.fullmatch(rev) else None
            if cached is None:
                cached = _Tree(_parse_listing(self._run_git("ls-tree", "-r", "-t", "-l", "-z", "--full-tree", rev)))
                if _HEX40.fullmatch(rev):
                    _keep_tree(root, rev, cached)
            self._tree = cached
        return self._tree

    def _ls_tree(self) -> dict[str, Entry]:
        return self._tree_obj().entries

    def _run_git(self, *args: str) -> str:
        """git for reading this repository's own objects (not recorded as a history read)."""
        return self._checked(args, self._exec(args))

    # -- read recording ----------------------------------------------------------------------
    def recording(self) -> "_Recording":
        """A context manager collecting what is read inside it (nested recordings all collect)."""
        return _Recording(self)

    def record(self, fact: tuple) -> None:
        """Count ``fact`` as read by every recording in progress (see :meth:`recording`)."""
        for rec in self._recorders:
            rec.add(fact)

    def _record_entry(self, clean: str) -> None:
        if self._recorders:
            entry = self._ls_tree().get(clean) if self.rev is not None else None
            self.record(("entry", clean, entry[:3] if entry else None))

    def replay_equal(self, facts: Iterator[tuple] | set) -> bool:
        """True when every recorded fact reads the same at this revision. Facts about git history,
        the commit itself or the work tree never do."""
        if self.rev is None:
            return False
        tree = self._tree_obj()
        entries = tree.entries
        for fact in facts:
            kind = fact[0]
            if kind == "entry":
                entry = entries.get(fact[1])
                if (entry[:3] if entry else None) != fact[2]:
                    return False
            elif kind == "exists":
                if (fact[1] in entries) != fact[2]:
                    return False
            elif kind == "isdir":
                entry = entries.get(fact[1])
                if (fact[1] == "" or (entry is not None and entry[1] == "tree")) != fact[2]:
                    return False
            elif kind == "tree":
                entry = entries.get(fact[1])
                if (entry[2] if entry and entry[1] == "tree" else None) != fact[2]:
                    return False
            elif kind == "list":
                if tuple(self._list(fact[1])) != fact[2]:
                    return False
            elif kind == "tracked":
                if tuple(tree.files()) != fact[1]:
                    return False
            elif kind == "basename":
                if (fact[1] in tree.basenames()) != fact[2]:
                    return False
            elif kind == "glob":
                if tree.matches(fact[1]) != fact[2]:
                    return False
            elif kind == "match":
                if tuple(p for p in tree.files() if glob_match(fact[1], p)) != fact[2]:
                    return False
            else:  # git history, the commit itself, the work tree: never replayable
                return False
        return True

    def memo(self, kind: str, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per distinct input across revisions: a value computed at
        another revision is returned when everything making it read (recorded facts) reads the
        same here. A buildgate error is kept and raised again the same way."""
        if self.rev is None:
            return make()
        slot = _MEMO.setdefault((str(self.root), kind, key), [])
        for facts, value in slot:
            if self.replay_equal(facts):
                for fact in facts:
                    self.record(fact)
                if isinstance(value, BuildgateError):
                    raise value
                return value
        with self.recording() as facts:
            try:
                value = make()
            except BuildgateError as exc:
                value = exc
        slot.append((frozenset(facts), value))
        if len(slot) > 8:
            del slot[0]
        if isinstance(value, BuildgateError):
            raise value
        return value

    def resolve(self, rel: str) -> Path:
        """The real path of ``rel`` in the work tree, refusing escapes through ``..`` or symlinks."""
        clean = clean_rel(rel)
        path = self.root / clean
        try:
            real = path.resolve()
        except (OSError, RuntimeError) as exc:
            raise InputError(f"cannot resolve path: {exc}", rel) from None
        if real != self.root and self.root not in real.parents:
            raise InputError(f"path leaves the repository (resolves to {real})", rel)
        return real

    def exists(self, rel: str) -> bool:
        try:
            clean = clean_rel(rel)
        except InputError:
            return False
        if self.rev is not None:
            found = clean in self._ls_tree()
            self.record(("exists", clean, found))
            return found
        self.record(("worktree",))
        try:
            return self.resolve(clean).exists()
        except InputError:
            return False

    def is_dir(self, rel: str) -> bool:
        clean = clean_rel(rel)
        if self.rev is not None:
            entry = self._ls_tree().get(clean)
            found = clean == "" or (entry is not None and entry[1] == "tree")
            self.record(("isdir", clean, found))
            return found
        self.record(("worktree",))
        try:
            return self.resolve(clean).is_dir()
        except InputError:
            return False

    def list_files(self, folder: str = "") -> list[str]:
        """Repository-relative paths of the files directly in ``folder`` (sorted)."""
        clean = clean_rel(folder) if folder else ""
        if self.rev is not None:
            files = self._list(clean)
            entry = self._ls_tree().get(clean) if clean else None
            if clean:
                self.record(("tree", clean, entry[2] if entry and entry[1] == "tree" else None))
            else:
                self.record(("list", clean, tuple(files)))
            return files
        self.record(("worktree",))
        prefix = clean + "/" if clean else ""
        if not self.is_dir(clean or "."):
            return []
        base = self.resolve(clean or ".")
        return sorted(prefix + p.name for p in base.iterdir() if p.is_file() or p.is_symlink())

    def _list(self, clean: str) -> list[str]:
        prefix = clean + "/" if clean else ""
        return [p for p in self._tree_obj().files() if p.startswith(prefix) and "/" not in p[len(prefix):]]

    def tracked_files(self) -> list[str]:
        """Every file git tracks at this revision (the index, for a work tree)."""
        if self.rev is not None:
            files = self._tree_obj().files()
            self.record(("tracked", tuple(files)))
            return list(files)
        self.record(("worktree",))
        return sorted(self._index_modes())

    def _index_modes(self) -> dict[str, str]:
        """The work tree's index: path -> mode, listed once while git's index file is unchanged."""
        try:
            st = (self.root / ".git" / "index").stat()
            key: tuple | None = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            key = None
        if key is not None and self._index is not None and self._index[0] == key:
            return self._index[1]
        modes: dict[str, str] = {}
        for rec in self.git("ls-files", "-s", "-z").split("\x00"):
            meta, _, path = rec.partition("\t")
            if path:
                modes.setdefault(path, meta.split()[0])
        self._index = (key, modes) if key is not None else None
        return modes

    def any_file_named(self, name: str) -> bool:
        """Whether git tracks a file called ``name`` in any folder."""
        if self.rev is not None:
            found = name in self._tree_obj().basenames()
            self.record(("basename", name, found))
            return found
        return any(posixpath.basename(p) == name for p in self.tracked_files())

    def any_file_matching(self, pattern: str) -> bool:
        """Whether some tracked file's path matches the glob ``pattern`` (``fnmatch``, case-sensitive)."""
        if self.rev is not None:
            found = self._tree_obj().matches(pattern)
            self.record(("glob", pattern, found))
            return found
        return any(fnmatch.fnmatchcase(p, pattern) for p in self.tracked_files())

    def files_matching(self, pattern: str) -> list[str]:
        """Tracked files whose path matches ``pattern``, a path glob: ``*`` and ``?`` stay within
        one folder, ``**`` spans folders (``docs/**/*.md``)."""
        if self.rev is not None:
            found = [p for p in self._tree_obj().files() if glob_match(pattern, p)]
            self.record(("match", pattern, tuple(found)))
            return found
        return [p for p in self.tracked_files() if glob_match(pattern, p)]

    def git_mode(self, rel: str) -> str | None:
        """The file mode git records (``100755``, ``100644``, ``120000``), or None if untracked."""
        clean = clean_rel(rel)
        if self.rev is not None:
            self._record_entry(clean)
            entry = self._ls_tree().get(clean)
            return entry[0] if entry else None
        self.record(("worktree",))
        return self._index_modes().get(clean)

    def content_id(self, rel: str) -> str | None:
        """The blob id of the regular file ``rel`` at this revision, without reading it: a key for
        anything computed from its content. None for the work tree, a symlink or a missing file."""
        if self.rev is None:
            return None
        clean = clean_rel(rel)
        self._record_entry(clean)
        entry = self._ls_tree().get(clean)
        if entry is None or entry[1] != "blob" or entry[0] not in ("100644", "100755"):
            return None
        return entry[2]

    def read_bytes(self, rel: str, limit: int = MAX_FILE_BYTES, _hops: int = 0) -> bytes:
        """A file's bytes, with a one-line :class:`InputError` for every way it can go wrong."""
        clean = clean_rel(rel)
        if self.rev is not None:
            self._record_entry(clean)
            entry = self._ls_tree().get(clean)
            if entry is None:
                raise InputError("file not found in the commit's tree", rel)
            mode, typ, oid, size = entry
            if typ != "blob":
                raise InputError("is a folder, expected a file", rel)
            if mode == "120000":
                target = self._blob(oid, MAX_FILE_BYTES, rel).decode(errors="replace")
                joined = posixpath.normpath(posixpath.join(posixpath.dirname(clean), target))
                if joined == ".." or joined.startswith("../") or target.startswith("/"):
                    raise InputError(f"symlink points outside the repository ({target})", rel)
                if _hops >= MAX_SYMLINK_HOPS:
                    raise InputError(f"symlink loop or chain longer than {MAX_SYMLINK_HOPS} links", rel)
                return self.read_bytes(joined, limit, _hops + 1)
            if size > limit:
                raise InputError(f"file is {size} bytes, over the {limit}-byte limit", rel)
            return self._blob(oid, limit, rel, size)
        self.record(("worktree",))
        path = self.root / clean
        if path.is_symlink():
            self.resolve(clean)  # raises when it escapes
        real = self.resolve(clean)
        if not real.exists():
            raise InputError("file not found", rel)
        if real.is_dir():
            raise InputError("is a folder, expected a file", rel)
        return read_regular_file(real, limit, rel)

    def _blob(self, oid: str, limit: int = MAX_FILE_BYTES, rel: str | None = None, size: int = -1) -> bytes:
        """A blob's content; its size is checked before it is read when the listing did not say."""
        cached = _BLOBS.get(oid)
        if cached is not None:
            if len(cached) > limit:
                raise InputError(f"file is {len(cached)} bytes, over the {limit}-byte limit", rel or oid[:12])
            return cached
        if size < 0:
            size_out = self._exec(("cat-file", "-s", oid))
            if size_out.returncode != 0:
                raise InputError(f"git cat-file failed for blob {oid[:12]}", str(self.root))
            size = int(size_out.stdout.strip() or 0)
        if size > limit:
            raise InputError(f"file is {size} bytes, over the {limit}-byte limit", rel or oid[:12])
        proc = self._exec(("cat-file", "blob", oid))
        if proc.returncode != 0:
            raise InputError(f"git cat-file failed for blob {oid[:12]}", str(self.root))
        if len(proc.stdout) <= 256 * 1024:
            if len(_BLOBS) >= 4096:
                _BLOBS.pop(next(iter(_BLOBS)))
            _BLOBS[oid] = proc.stdout
        return proc.stdout

    def read_text(self, rel: str, limit: int = MAX_FILE_BYTES) -> str:
        return decode_text(self.read_bytes(rel, limit), rel)

    def load_yaml(self, rel: str) -> YamlDocument:
        """Parse a YAML file once per distinct content (cached across revisions)."""
        raw = self.read_bytes(rel)
        key = hashlib.sha1(raw).hexdigest()
        return _parse_cached(key, raw, clean_rel(rel))


_MEMO: dict[tuple, list[tuple[frozenset, Any]]] = {}  # (root, kind, key) -> [(facts, value)], see Repo.memo


def glob_match(pattern: str, path: str) -> bool:
    """Whether ``path`` matches the path glob ``pattern``: ``*``, ``?`` and ``[...]`` within one
    folder (fnmatch on each part), ``**`` for any number of folders. Matched part by part, so a
    hostile pattern can't make it backtrack (fnmatch alone lets ``*`` cross folders)."""
    parts = [p for k, p in enumerate(pattern.split("/")) if not (p == "**" and k and pattern.split("/")[k - 1] == "**")]
    segs = path.split("/")
    states = {0}
    for part in parts:
        if part == "**":
            states = set(range(min(states), len(segs) + 1))
        else:
            states = {j + 1 for j in states if j < len(segs) and fnmatch.fnmatchcase(segs[j], part)}
        if not states:
            return False
    return len(segs) in states


def blob_id(data: bytes) -> str:
    """git's id of a blob with this content (the same key whether read from a tree or a file)."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


class ContentCache:
    """Values computed from one file's content, keyed by its blob id (plus whatever else the value
    depends on, in the key): a file unchanged across commits is never read or parsed again.

    Values are plain JSON data, so :mod:`buildgate.timeline.cache` can keep them on disk; what it
    loads goes through ``valid`` first. Every cache registers itself in :attr:`ALL` by name."""

    ALL: "dict[str, ContentCache]" = {}

    def __init__(self, name: str, valid: Callable[[Any], bool], max_entries: int = 8192) -> None:
        self.name = name
        self.valid = valid
        self.max_entries = max_entries
        self.entries: "OrderedDict[str, Any]" = OrderedDict()
        ContentCache.ALL[name] = self

    def get(self, key: str) -> Any:
        value = self.entries.get(key)
        if value is not None:
            self.entries.move_to_end(key)
        return value

    def put(self, key: str, value: Any) -> Any:
        self.entries[key] = value
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)
        return value


def _digest(answer: tuple[int, bytes, bytes]) -> str:
    return hashlib.sha256(b"%d\x00" % answer[0] + answer[1]).hexdigest()[:32]


_DISAMBIGUATE = re.compile(r"--disambiguate=([0-9a-fA-F]{4,39})")


def still_true(repo: "Repo", facts: list) -> list[bool]:
    """Whether each recorded answer about the repository's state (``[args, input, digest]``, see
    :meth:`Repo.git`) is still what git answers. The ``rev-parse --disambiguate=PREFIX`` answers
    (abbreviated ids in tags) are checked together with one ``git cat-file --batch-check``; the
    others are asked again, once each."""
    out = [False] * len(facts)
    prefixes: dict[str, list[int]] = {}
    for n, (args, text, digest) in enumerate(facts):
        m = _DISAMBIGUATE.fullmatch(args[1]) if len(args) == 2 and args[0] == "rev-parse" and not text else None
        if m:
            prefixes.setdefault(m.group(1).lower(), []).append(n)
            continue
        got = repo._answer(tuple(args), text.encode("latin-1") if text else None, "state")
        out[n] = _digest(got) == digest
    if prefixes:
        names = sorted(prefixes)
        check = repo._exec(("cat-file", "--batch-check=%(objectname)"), ("\n".join(names) + "\n").encode())
        lines = check.stdout.decode(errors="replace").splitlines() if check.returncode == 0 else []
        for name, line in zip(names, lines) if len(lines) == len(names) else ():
            if line.endswith(" missing"):
                answer = (0, b"", b"")
            elif _HEX40.fullmatch(line) and line.startswith(name):
                answer = (0, line.encode() + b"\n", b"")
            else:  # ambiguous: ask rev-parse itself
                answer = repo._answer(("rev-parse", f"--disambiguate={name}"), None, "state")
            for n in prefixes[name]:
                out[n] = _digest(answer) == facts[n][2]
    return out


class _Recording:
    """Collects the facts a block of code reads from a :class:`Repo` (see ``Repo.recording``)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.facts: set = set()

    def __enter__(self) -> set:
        self.repo._recorders.append(self.facts)
        return self.facts

    def __exit__(self, *exc: object) -> None:
        stack = self.repo._recorders
        for i in range(len(stack) - 1, -1, -1):  # by identity: recordings nest
            if stack[i] is self.facts:
                del stack[i]
                break
