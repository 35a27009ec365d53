"""Reaching the devpod: a thin layer over a testinfra host that runs argument lists.

Every probe goes through :class:`DevpodHost`, so it works the same on ``kubectl://``,
``local://``, ``ssh://``, ``podman://``, ``docker://`` and the sandbox backend. Commands are
argument lists; testinfra quotes each argument (``host.run("%s %s", *argv)``), so no target
value is ever pasted into a shell string.
"""
from __future__ import annotations

import shlex
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from buildgate.errors import NotApplicable, RemoteError, TargetError, Unreachable

SCHEMES = ("kubectl", "local", "ssh", "safe-ssh", "paramiko", "podman", "docker")
DEFAULT_TIMEOUT = 120.0
_ARG_CHUNK = 60_000  # below the kernel's 128 KiB single-argument limit
# A fixed shell program; targets' values only ever arrive as its positional arguments.
_CD_EXEC = 'cd "$1" || exit 127; shift; exec "$@"'
_WRITE = 'if [ "$3" = new ]; then printf %s "$2" > "$1"; else printf %s "$2" >> "$1"; fi'


@dataclass
class RunResult:
    """What one command did inside the devpod."""

    argv: list[str]
    rc: int
    stdout_bytes: bytes
    stderr_bytes: bytes
    timed_out: bool = False

    @property
    def stdout(self) -> str:
        return self.stdout_bytes.decode("utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_bytes.decode("utf-8", errors="replace")

    @property
    def output(self) -> str:
        """stdout then stderr, as text."""
        return self.stdout + ("\n" if self.stdout and not self.stdout.endswith("\n") else "") + self.stderr

    def last_line(self) -> str:
        lines = [ln.strip() for ln in self.output.splitlines() if ln.strip()]
        return lines[-1][:300] if lines else "(no output)"


@dataclass
class DevpodHost:
    """A devpod reached through a testinfra host.

    ``repo_dir`` is where the target repository is checked out inside the devpod (``None``:
    scripts are staged into a temporary folder). ``name`` is a credential-free label for
    messages (``kubectl://devpod-0``, ``sandbox``).
    """

    host: Any  # testinfra.host.Host
    name: str
    repo_dir: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    sandbox: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    _has_timeout: bool | None = field(default=None, repr=False)

    # -- commands ----------------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> RunResult:
        """Run ``argv`` in the devpod (optionally in ``cwd``, with extra ``env``), bounded in time."""
        argv = [str(a) for a in argv]
        if not argv:
            raise ValueError("empty command")
        full = list(argv)
        if env:
            full = ["env", *(f"{k}={v}" for k, v in env.items()), *full]
        if cwd is not None:
            full = ["sh", "-c", _CD_EXEC, "sh", cwd, *full]
        limit = self.timeout if timeout is None else timeout
        if limit and self._timeout_available():
            full = ["timeout", "-k", "5", str(max(1, int(limit))), *full]
        template = " ".join(["%s"] * len(full))
        try:
            res = self.host.run(template, *full)
        except Exception as exc:  # testinfra backends raise assorted errors on transport failures
            raise Unreachable(f"cannot run a command in the devpod: {type(exc).__name__}: {exc}", self.name) from None
        rc = int(res.rc)
        return RunResult(argv, rc, res.stdout_bytes, res.stderr_bytes, timed_out=bool(limit) and rc in (124, 137) and bool(self._has_timeout))

    def _timeout_available(self) -> bool:
        if self._has_timeout is None:
            res = self.host.run("%s %s %s", "sh", "-c", "command -v timeout >/dev/null 2>&1")
            self._has_timeout = res.rc == 0
        return bool(self._has_timeout)

    def check(self, argv: Sequence[str], what: str, **kw: Any) -> RunResult:
        """Run ``argv``; a non-zero exit is a :class:`RemoteError` naming ``what``."""
        res = self.run(argv, **kw)
        if res.rc != 0:
            raise RemoteError(f"{what} failed in the devpod (exit {res.rc}): {res.last_line()}", self.name)
        return res

    def ping(self) -> None:
        """Prove the devpod answers; raise :class:`Unreachable` with the transport's last line if not."""
        res = self.run(["echo", "buildgate-devpod-ok"], timeout=60)
        if "buildgate-devpod-ok" not in res.stdout:
            raise Unreachable(f"devpod does not answer (exit {res.rc}): {res.last_line()}", self.name)

    # -- files -------------------------------------------------------------------------------
    def which(self, program: str) -> str | None:
        res = self.run(["sh", "-c", 'command -v "$1"', "sh", program], timeout=30)
        path = res.stdout.strip()
        return path if res.rc == 0 and path else None

    def exists(self, path: str) -> bool:
        return self.run(["test", "-e", path], timeout=30).rc == 0

    def is_dir(self, path: str) -> bool:
        return self.run(["test", "-d", path], timeout=30).rc == 0

    def env_value(self, name: str) -> str | None:
        res = self.run(["printenv", name], timeout=30)
        return res.stdout.rstrip("\n") if res.rc == 0 else None

    def mktemp_dir(self, prefix: str = "buildgate", base: str | None = None) -> str:
        """A fresh private folder in the devpod (``mktemp -d``)."""
        template = f"{base or '/tmp'}/{prefix}.XXXXXXXX"
        res = self.check(["mktemp", "-d", template], "mktemp", timeout=30)
        path = res.stdout.strip()
        if not path.startswith("/"):
            raise RemoteError(f"mktemp returned {path!r}", self.name)
        return path

    def remove_tree(self, path: str) -> bool:
        """Remove a folder this harness made (after unmounting anything below it); True if gone."""
        for mnt in reversed(self.mounts_under(path)):
            self.run(["umount", "-l", mnt], timeout=30)
        self.run(["rm", "-rf", "--one-file-system", path], timeout=120)
        return not self.exists(path)

    def mounts_under(self, path: str) -> list[str]:
        res = self.run(["cat", "/proc/self/mountinfo"], timeout=30)
        out = []
        for line in res.stdout.splitlines():
            parts = line.split()
            if len(parts) > 4:
                mnt = unescape_mount(parts[4])
                if mnt == path or mnt.startswith(path.rstrip("/") + "/"):
                    out.append(mnt)
        return out

    def write_file(self, path: str, content: str, mode: str = "0644") -> None:
        """Write a text file in the devpod, in chunks passed as arguments (testinfra has no stdin)."""
        if "\x00" in content:
            raise ValueError("cannot write NUL bytes through the command line")
        chunks = [content[i:i + _ARG_CHUNK] for i in range(0, len(content), _ARG_CHUNK)] or [""]
        for i, chunk in enumerate(chunks):
            self.check(["sh", "-c", _WRITE, "sh", path, chunk, "new" if i == 0 else "append"], f"writing {path}", timeout=60)
        self.check(["chmod", mode, path], f"chmod {path}", timeout=30)

    def read_bytes(self, path: str) -> bytes:
        return self.check(["cat", path], f"reading {path}", timeout=60).stdout_bytes


def unescape_mount(field_: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    out, i = [], 0
    while i < len(field_):
        if field_[i] == "\\" and i + 4 <= len(field_) and field_[i + 1:i + 4].isdigit():
            out.append(chr(int(field_[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field_[i])
            i += 1
    return "".join(out)


def describe_spec(spec: str) -> str:
    """A credential-free label for a host spec (user, password and query dropped)."""
    url = urllib.parse.urlsplit(spec)
    host = url.hostname or ""
    if url.port:
        host += f":{url.port}"
    return f"{url.scheme}://{host}"


def open_host(spec: str, *, repo_dir: str | None = None, timeout: float | None = None,
              settings: Mapping[str, Any] | None = None) -> DevpodHost:
    """Open the devpod named by a testinfra host spec and check that it answers."""
    if not isinstance(spec, str) or "://" not in spec:
        raise TargetError(f"devpod.host must be a testinfra spec like kubectl://POD?namespace=NS, got {spec!r}")
    scheme = spec.split("://", 1)[0]
    if scheme not in SCHEMES:
        raise TargetError(f"devpod.host: unsupported scheme {scheme!r} (use one of {', '.join(SCHEMES)})")
    try:
        import testinfra  # imported late: only the devpod layer needs it
        host = testinfra.get_host(spec)
    except Exception as exc:
        raise TargetError(f"devpod.host {describe_spec(spec)}: {type(exc).__name__}: {exc}") from None
    dh = DevpodHost(host, describe_spec(spec), repo_dir=repo_dir, timeout=timeout or DEFAULT_TIMEOUT,
                    settings=dict(settings or {}))
    dh.ping()
    return dh


def from_target_section(section: Mapping[str, Any]) -> DevpodHost:
    """The devpod of a real target's ``devpod:`` section; :class:`NotApplicable` when absent."""
    spec = section.get("host") if section else None
    if not spec:
        raise NotApplicable("no devpod configured (set devpod.host in the target file)")
    return open_host(spec, repo_dir=section.get("repo_path"), timeout=section.get("timeout"), settings=section)


def argv_text(argv: Sequence[str]) -> str:
    """An argument list as a shell-quoted line, for messages."""
    return shlex.join([str(a) for a in argv])
