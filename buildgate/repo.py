"""Read-only access to a target repository: its files (work tree or a git revision) and history.

Every path a check uses goes through :meth:`Repo.resolve`, which refuses absolute paths,
``..`` escapes and symlinks that point outside the repository. Parsed YAML is cached by content
(git blob id or bytes), so each file is parsed once per run, and once per distinct blob across a
history walk.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from buildgate.errors import InputError
from buildgate.yamlfile import YamlDocument, decode_text, parse_yaml

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_SYMLINK_HOPS = 40
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str
    author: str
    timestamp: int
    parents: tuple[str, ...]


def _clean_rel(rel: str) -> str:
    """Normalise a repository-relative path, refusing anything that leaves the repository."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        raise InputError(f"invalid path {rel!r}")
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        raise InputError("absolute path; expected a path inside the repository", rel)
    norm = posixpath.normpath(rel.replace("\\", "/"))
    if norm == ".." or norm.startswith("../"):
        raise InputError("path leaves the repository", rel)
    return "" if norm == "." else norm


_BLOBS: dict[str, bytes] = {}  # blob id -> content (small blobs), shared across revisions


@lru_cache(maxsize=4096)
def _parse_cached(key: str, raw: bytes, path: str) -> YamlDocument:
    return parse_yaml(raw, path)


class Repo:
    """A git checkout, read either from its work tree (``rev=None``) or from one revision."""

    def __init__(self, root: str | os.PathLike, rev: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.rev = rev
        if not self.root.is_dir():
            raise InputError("repository folder does not exist", str(root))
        self._tree: dict[str, tuple[str, str, str, int]] | None = None  # path -> (mode, type, oid, size)
        # Read recorders (see :meth:`recording`): what checks read, so a history walk can reuse
        # a check's result at a revision where everything it read is unchanged.
        self._recorders: list[set] = []
        self._head: str | None = None

    def __repr__(self) -> str:
        return f"Repo({str(self.root)!r}, rev={self.rev!r})"

    def at(self, rev: str) -> "Repo":
        """The same repository read at another revision (nothing is checked out)."""
        return Repo(self.root, rev)

    # -- git ---------------------------------------------------------------------------------
    def _exec(self, args: tuple[str, ...], input_bytes: bytes | None = None) -> subprocess.CompletedProcess:
        """Run ``git -C ROOT ARGS``; a git that can't start or hangs is a one-line InputError."""
        try:
            return subprocess.run(
                ["git", "-C", str(self.root), *args],
                capture_output=True,
                env={**os.environ, **_GIT_ENV},
                timeout=60,
                input=input_bytes,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InputError(f"git {args[0]} failed: {exc}", str(self.root)) from None

    def _checked(self, args: tuple[str, ...], proc: subprocess.CompletedProcess) -> str:
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise InputError(f"git {' '.join(args[:2])} failed: {err[-1] if err else proc.returncode}", str(self.root))
        return proc.stdout.decode(errors="replace")

    def git(self, *args: str, check: bool = True, input_bytes: bytes | None = None) -> str:
        """Run a read-only git command in the repository and return its stdout."""
        self._record(("git",) + tuple(args))
        proc = self._exec(args, input_bytes)
        return self._checked(args, proc) if check else proc.stdout.decode(errors="replace")

    def is_git(self) -> bool:
        return self.git("rev-parse", "--is-inside-work-tree", check=False).strip() == "true"

    def head(self) -> str:
        """The commit this Repo reads (HEAD for a work tree), resolved once per Repo."""
        if self._head is None:
            self._head = self.rev_parse(self.rev or "HEAD")
        else:
            self._record(("git", "rev-parse", self.rev or "HEAD"))
        return self._head

    def rev_parse(self, rev: str) -> str:
        return self.git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()

    def try_rev_parse(self, rev: str) -> str | None:
        if rev.startswith("-"):
            return None
        out = self.git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False).strip()
        return out or None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        self._record(("git", "merge-base", ancestor, descendant))
        return self._exec(("merge-base", "--is-ancestor", ancestor, descendant)).returncode == 0

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
    def _ls_tree(self) -> dict[str, tuple[str, str, str, int]]:
        if self._tree is None:
            proc = self._run_git("ls-tree", "-r", "-t", "-l", "-z", "--full-tree", self.rev or "HEAD")
            tree = {}
            for rec in proc.split("\x00"):
                if not rec:
                    continue
                meta, path = rec.split("\t", 1)
                mode, typ, oid, size = meta.split()
                tree[path] = (mode, typ, oid, int(size) if size.isdigit() else 0)
            self._tree = tree
        return self._tree

    def _run_git(self, *args: str) -> str:
        """git for reading this repository's own objects (not recorded as a history read)."""
        return self._checked(args, self._exec(args))

    # -- read recording ----------------------------------------------------------------------
    def recording(self) -> "_Recording":
        """A context manager collecting what is read inside it (nested recordings all collect)."""
        return _Recording(self)

    def _record(self, fact: tuple) -> None:
        for rec in self._recorders:
            rec.add(fact)

    def _record_entry(self, clean: str) -> None:
        if self._recorders:
            entry = self._ls_tree().get(clean) if self.rev is not None else None
            self._record(("entry", clean, entry[:3] if entry else None))

    def replay_equal(self, facts: set) -> bool:
        """True when every recorded fact reads the same at this revision (and none is history)."""
        if self.rev is None:
            return False
        tree = self._ls_tree()
        for fact in facts:
            kind = fact[0]
            if kind == "entry":
                entry = tree.get(fact[1])
                if (entry[:3] if entry else None) != fact[2]:
                    return False
            elif kind == "list":
                if tuple(self._list(fact[1])) != fact[2]:
                    return False
            elif kind == "tracked":
                if tuple(self._tracked()) != fact[1]:
                    return False
            else:  # git history, the work tree: never replayable
                return False
        return True

    def resolve(self, rel: str) -> Path:
        """The real path of ``rel`` in the work tree, refusing escapes through ``..`` or symlinks."""
        clean = _clean_rel(rel)
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
            clean = _clean_rel(rel)
        except InputError:
            return False
        if self.rev is not None:
            self._record_entry(clean)
            return clean in self._ls_tree()
        self._record(("worktree",))
        try:
            return self.resolve(clean).exists()
        except InputError:
            return False

    def is_dir(self, rel: str) -> bool:
        clean = _clean_rel(rel)
        if self.rev is not None:
            self._record_entry(clean)
            entry = self._ls_tree().get(clean)
            return clean == "" or (entry is not None and entry[1] == "tree")
        try:
            return self.resolve(clean).is_dir()
        except InputError:
            return False

    def list_files(self, folder: str = "") -> list[str]:
        """Repository-relative paths of the files directly in ``folder`` (sorted)."""
        clean = _clean_rel(folder) if folder else ""
        if self.rev is not None:
            files = self._list(clean)
            self._record(("list", clean, tuple(files)))
            return files
        self._record(("worktree",))
        prefix = clean + "/" if clean else ""
        if not self.is_dir(clean or "."):
            return []
        base = self.resolve(clean or ".")
        return sorted(prefix + p.name for p in base.iterdir() if p.is_file() or p.is_symlink())

    def _list(self, clean: str) -> list[str]:
        prefix = clean + "/" if clean else ""
        return sorted(
            p for p, entry in self._ls_tree().items()
            if entry[1] == "blob" and p.startswith(prefix) and "/" not in p[len(prefix):]
        )

    def tracked_files(self) -> list[str]:
        """Every file git tracks at this revision (the index, for a work tree)."""
        if self.rev is not None:
            files = self._tracked()
            self._record(("tracked", tuple(files)))
            return files
        return sorted(p for p in self.git("ls-files", "-z").split("\x00") if p)

    def _tracked(self) -> list[str]:
        return sorted(p for p, entry in self._ls_tree().items() if entry[1] == "blob")

    def git_mode(self, rel: str) -> str | None:
        """The file mode git records (``100755``, ``100644``, ``120000``), or None if untracked."""
        clean = _clean_rel(rel)
        if self.rev is not None:
            self._record_entry(clean)
            entry = self._ls_tree().get(clean)
            return entry[0] if entry else None
        out = self.git("ls-files", "-s", "--", clean).strip()
        return out.split()[0] if out else None

    def read_bytes(self, rel: str, limit: int = MAX_FILE_BYTES, _hops: int = 0) -> bytes:
        """A file's bytes, with a one-line :class:`InputError` for every way it can go wrong."""
        clean = _clean_rel(rel)
        if self.rev is not None:
            self._record_entry(clean)
            entry = self._ls_tree().get(clean)
            if entry is None:
                raise InputError(f"file not found at {self.rev[:12]}", rel)
            mode, typ, oid, size = entry
            if typ != "blob":
                raise InputError("is a folder, expected a file", rel)
            if mode == "120000":
                target = self._blob(oid).decode(errors="replace")
                joined = posixpath.normpath(posixpath.join(posixpath.dirname(clean), target))
                if joined == ".." or joined.startswith("../") or target.startswith("/"):
                    raise InputError(f"symlink points outside the repository ({target})", rel)
                if _hops >= MAX_SYMLINK_HOPS:
                    raise InputError(f"symlink loop or chain longer than {MAX_SYMLINK_HOPS} links", rel)
                return self.read_bytes(joined, limit, _hops + 1)
            if size > limit:
                raise InputError(f"file is {size} bytes, over the {limit}-byte limit", rel)
            return self._blob(oid)
        self._record(("worktree",))
        path = self.root / clean
        if path.is_symlink():
            self.resolve(clean)  # raises when it escapes
        real = self.resolve(clean)
        if not real.exists():
            raise InputError("file not found", rel)
        if real.is_dir():
            raise InputError("is a folder, expected a file", rel)
        size = real.stat().st_size
        if size > limit:
            raise InputError(f"file is {size} bytes, over the {limit}-byte limit", rel)
        try:
            return real.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read file: {exc.strerror}", rel) from None

    def _blob(self, oid: str) -> bytes:
        cached = _BLOBS.get(oid)
        if cached is not None:
            return cached
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
        return _parse_cached(key, raw, _clean_rel(rel))


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
