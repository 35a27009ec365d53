"""What a contained script run did, read from its system-call trace (V3, V4).

The launcher traces the script with ``strace -f -xx`` (every string hex-escaped, so no script
output can forge trace syntax) for: exec, connect/send-to-address, the mount family, namespace
and clone calls, ptrace, io_uring. :func:`read_trace` turns that into :class:`Effect` values:

* ``exec-tool``: a build tool (or one of a build's helpers) ran from a path that is not a
  recording shim: a copy, a symlink, a binary the script brought;
* ``exec-anon``: a binary ran from a file descriptor or memory (``execveat(AT_EMPTY_PATH)``,
  ``/proc/self/fd/N``), which no path can name;
* ``engine-socket``: a connection to a container engine's socket (a build by API);
* ``socket``: a connection to any other unix socket in the file system (but user lookups and
  logging): another process, outside the sandbox, could build, push or reach the network;
* ``tamper``: a mount, unmount, ``chroot``/``pivot_root``, new namespace, ``setns``, an
  untraced clone, ``ptrace``, ``io_uring`` or ``process_vm_writev``: what removing the shims,
  escaping the trace or building by hand needs;
* ``network``: a connect or send to an IPv4/IPv6 address (loopback included: on a real devpod
  a local port may be a proxy to GitHub).

Only what follows the exec of the launcher's start wrapper is the script's; what comes before
is the launcher's own setup.
"""
from __future__ import annotations

import ipaddress
import posixpath
import re
from dataclasses import dataclass
from typing import Collection, Iterable, Sequence

# Besides the build tools themselves (the shims' names): the programs a build needs (daemons,
# runtimes, rootless helpers, the fuse overlay, registry clients). Running any of them from a
# path that is not a shim counts as a build attempt.
BUILD_HELPERS = frozenset({"dockerd", "containerd", "buildkitd", "buildx", "docker-buildx", "runc", "crun", "conmon",
                           "fuse-overlayfs", "fusermount", "fusermount3", "newuidmap", "newgidmap", "rootlesskit",
                           "slirp4netns", "executor", "kaniko-executor", "skopeo", "crane", "regctl", "oras"})
ENGINE_SOCKET = re.compile(r"docker|podman|containerd|buildkit|libpod|crio|nerdctl", re.I)
# Sockets any program may touch without leaving its sandbox: user lookups and logging. Any other
# socket in the file system is another process that could build, push or reach the network for it.
HARMLESS_SOCKET = re.compile(r"^((/var)?/run/nscd/socket|/dev/log|(/var)?/run/systemd/journal/.*|/var/lib/sss/pipes/.*)$")
MOUNT_CALLS = frozenset({"mount", "umount2", "fsopen", "fsmount", "fsconfig", "move_mount", "open_tree", "mount_setattr",
                         "pivot_root", "chroot"})
ODD_CALLS = frozenset({"ptrace", "io_uring_setup", "process_vm_writev"})
_LINE = re.compile(r"^(\d+)\s+(.*)$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
_UNFINISHED = " <unfinished ...>"
_CALL = re.compile(r"^(\w+)\((.*)$", re.S)
_RESULT = re.compile(r"^(.*)\)\s+= (.*)$", re.S)
_STR = re.compile(r'@?"((?:\\x[0-9a-f]{2})*)"(\.\.\.)?')
_LDSO = re.compile(r"^ld-linux.*\.so(\.\d+)*$|^ld\.so$|^ld-musl-.*\.so(\.\d+)*$")
_LDSO_VALUE_OPTS = {"--library-path", "--preload", "--argv0", "--audit", "--glibc-hwcaps-mask", "--glibc-hwcaps-prepend"}
_PROC_ROOT = re.compile(r"^/proc/(self|thread-self|\d+)/root(?=/)")
_FD_PATH = re.compile(r"^/(proc/(self|thread-self|\d+)/fd|dev/fd)/\d+$")
_INET = re.compile(r"sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\(\"((?:\\x[0-9a-f]{2})*)\"\)")
_INET6 = re.compile(r"sa_family=AF_INET6, sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, \"((?:\\x[0-9a-f]{2})*)\"")
_UNIX = re.compile(r"sa_family=AF_UNIX, sun_path=(@?)\"((?:\\x[0-9a-f]{2})*)\"")


@dataclass(frozen=True)
class Syscall:
    """One traced system call: the process, the call, its arguments (strace's text) and result."""

    pid: int
    name: str
    args: str
    result: str

    @property
    def ok(self) -> bool:
        return not self.result.startswith("-1") and self.result not in ("?", "")

    @property
    def errno(self) -> str:
        parts = self.result.split()
        return parts[1] if self.result.startswith("-1") and len(parts) > 1 else ""

    def strings(self) -> list[str]:
        """The call's string arguments, decoded (arrays flattened, in order)."""
        return [unhex(m.group(1)) + (m.group(2) or "") for m in _STR.finditer(self.args)]


@dataclass(frozen=True)
class Effect:
    """Something the script did that matters to V3 or V4."""

    kind: str  # exec-tool | exec-anon | engine-socket | socket | tamper | network
    text: str  # one line for a message: what, where, how it ended
    pid: int
    loopback: bool = False  # network: the address is a loopback one


def unhex(s: str) -> str:
    """strace's ``\\xNN`` escapes back to text."""
    try:
        return bytes(int(s[i + 2:i + 4], 16) for i in range(0, len(s), 4)).decode("utf-8", errors="replace")
    except ValueError:
        return s


def parse_trace(text: str) -> list[Syscall]:
    """strace ``-f`` output as calls, with ``<unfinished ...>``/``<... resumed>`` pairs joined."""
    out: list[Syscall] = []
    pending: dict[int, str] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        pid, rest = int(m.group(1)), m.group(2)
        if rest.startswith(("+++", "---")):
            continue
        r = _RESUMED.match(rest)
        if r:
            start = pending.pop(pid, None)
            if start is None:
                continue
            rest = start + r.group(2)
        elif rest.endswith(_UNFINISHED):
            pending[pid] = rest[: -len(_UNFINISHED)]
            continue
        c = _CALL.match(rest)
        if not c:
            continue
        r = _RESULT.match(c.group(2))  # strace pads before " = "; strings are hex, so the last match is it
        if r:
            out.append(Syscall(pid, c.group(1), r.group(1), r.group(2).strip()))
        else:  # no result (the process ended inside the call)
            out.append(Syscall(pid, c.group(1), c.group(2).rstrip(")"), "?"))
    for pid, start in pending.items():  # calls that never returned (killed inside them)
        c = _CALL.match(start)
        if c:
            out.append(Syscall(pid, c.group(1), c.group(2), "?"))
    return out


def script_calls(calls: Sequence[Syscall], start: str) -> list[Syscall] | None:
    """The calls from the exec of ``start`` on (``None`` if the script never started)."""
    for i, c in enumerate(calls):
        if c.name == "execve" and c.ok and c.strings()[:1] == [start]:
            return list(calls[i + 1:])
    return None


def _program(path: str, argv: Sequence[str]) -> str:
    """The program an exec runs: the path, or for the dynamic loader its program argument."""
    if _LDSO.match(posixpath.basename(path)):
        skip = False
        for a in argv[1:]:
            if skip:
                skip = False
            elif a in _LDSO_VALUE_OPTS:
                skip = True
            elif not a.startswith("--"):
                return a
    return path


def _norm(path: str) -> str:
    return _PROC_ROOT.sub("", path)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _how(c: Syscall) -> str:
    return "ok" if c.ok else (c.errno or "failed")


@dataclass(frozen=True)
class Exec:
    """A successful exec: the program it ran, placed in the file system when the trace allows."""

    call: Syscall
    prog: str  # absolute when placed; else as the script wrote it
    argv: list[str]
    placed: bool
    anon: str = ""  # why no path names the program (a descriptor, memory), if so


def execs(calls: Iterable[Syscall], cwd: str | None = None) -> list[Exec]:
    """The script's successful execs, relative paths resolved against each process's folder
    (followed through ``chdir`` and inherited over ``clone``/``fork``; ``cwd``: where the
    script started; ``fchdir`` makes a folder unknown)."""
    cwds: dict[int, str | None] = {}
    out: list[Exec] = []
    for c in calls:
        here = cwds.get(c.pid, cwd)
        if c.name in ("clone", "clone3", "fork", "vfork") and c.ok and c.result.split()[0].isdigit():
            cwds[int(c.result.split()[0])] = here
        elif c.name == "chdir" and c.ok and c.strings():
            target = c.strings()[0]
            cwds[c.pid] = posixpath.normpath(posixpath.join(here, target)) if here or target.startswith("/") else None
        elif c.name == "fchdir" and c.ok:
            cwds[c.pid] = None
        elif c.name in ("execve", "execveat") and c.ok:
            strs = c.strings()
            if c.name == "execveat" and (not c.args.startswith("AT_FDCWD") or "AT_EMPTY_PATH" in c.args):
                out.append(Exec(c, strs[0] if strs else "", strs[1:], False, "an open file descriptor (execveat)"))
                continue
            if not strs:
                continue
            prog = _program(strs[0], strs[1:])
            if prog.startswith("/"):
                out.append(Exec(c, _norm(prog), strs[1:], True))
            elif here is not None:
                out.append(Exec(c, posixpath.normpath(posixpath.join(here, prog)), strs[1:], True))
            else:
                out.append(Exec(c, prog, strs[1:], False))
    return out


def _exec_effect(x: Exec, shims: frozenset[str], tools: Collection[str]) -> Effect | None:
    pid = x.call.pid
    if x.anon:
        return Effect("exec-anon", f"ran a binary from {x.anon}, which no path names", pid)
    if _FD_PATH.match(x.prog) or x.prog.startswith(("memfd:", "/memfd:")):
        return Effect("exec-anon", f"ran a binary from {x.prog}, which no path names", pid)
    if not x.placed:
        return Effect("exec-anon", f"ran {x.prog} from a folder the trace can't name (after fchdir)", pid)
    name = posixpath.basename(x.prog)
    if (name in tools or name in BUILD_HELPERS) and x.prog not in shims:
        shown = f" ({_short(' '.join(x.argv[:4]), 120)})" if x.argv else ""
        return Effect("exec-tool", f"ran {name} at {x.prog}, not the recording shim{shown}", pid)
    return None


def _net_effect(c: Syscall) -> Effect | None:
    verb = "connect to" if c.name == "connect" else "send to"
    m = _INET.search(c.args)
    if m:
        host, port = unhex(m.group(2)), m.group(1)
        return Effect("network", f"{verb} {host}:{port} ({_how(c)})", c.pid, loopback=_is_loopback(host))
    m = _INET6.search(c.args)
    if m:
        host, port = unhex(m.group(2)), m.group(1)
        return Effect("network", f"{verb} [{host}]:{port} ({_how(c)})", c.pid, loopback=_is_loopback(host))
    m = _UNIX.search(c.args)
    if m and c.name == "connect" and not m.group(1):  # abstract sockets belong to the (empty) network namespace
        path = unhex(m.group(2))
        if ENGINE_SOCKET.search(path):
            return Effect("engine-socket", f"tried to connect to the engine socket {path} ({_how(c)})", c.pid)
        if not HARMLESS_SOCKET.match(path):
            return Effect("socket", f"tried to connect to the unix socket {path} ({_how(c)}), a way out of its sandbox",
                          c.pid)
    return None


def _is_loopback(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def _tamper_effect(c: Syscall) -> Effect | None:
    if c.name in MOUNT_CALLS:
        what = " ".join(repr(s) for s in c.strings()[:3])
        return Effect("tamper", _short(f"{c.name}({what}) ({_how(c)})"), c.pid)
    if c.name in ("unshare", "setns") or (c.name in ("clone", "clone3") and "CLONE_NEW" in c.args):
        flags = sorted(set(re.findall(r"CLONE_NEW\w+", c.args))) or [c.name]
        return Effect("tamper", f"{c.name} {'|'.join(flags)} ({_how(c)})", c.pid)
    if c.name in ("clone", "clone3", "fork", "vfork") and "CLONE_UNTRACED" in c.args:
        return Effect("tamper", f"{c.name} with CLONE_UNTRACED, to escape the trace ({_how(c)})", c.pid)
    if c.name in ODD_CALLS:
        return Effect("tamper", f"{c.name} ({_how(c)})", c.pid)
    return None


SCRATCH = ("/tmp/", "/var/tmp/", "/dev/shm/", "/proc/")  # private to the run (or not files at all)


def exec_paths(ran: Iterable[Exec]) -> list[str]:
    """The programs the script ran that outlive the run (placed, outside its scratch space):
    what :func:`buildgate.devpod.isolate.tool_copies` compares with the real tools."""
    return list(dict.fromkeys(x.prog for x in ran if x.placed and not x.anon and not x.prog.startswith(SCRATCH)
                              and "\n" not in x.prog))


def effects(calls: Sequence[Syscall], shims: Iterable[str], tools: Collection[str], cwd: str | None = None) -> list[Effect]:
    """The effects of the script's calls. ``shims``: the paths at which a build tool is a shim;
    ``tools``: the build tools' names (with :data:`BUILD_HELPERS`, what may not run for real);
    ``cwd``: the folder the script started in."""
    shim_set = frozenset(shims)
    ran = {id(x.call): x for x in execs(calls, cwd)}
    out: list[Effect] = []
    for c in calls:
        if c.name in ("execve", "execveat"):
            x = ran.get(id(c))
            e = _exec_effect(x, shim_set, tools) if x else None
        elif c.name in ("connect", "sendto", "sendmsg", "sendmmsg"):
            e = _net_effect(c)
        else:
            e = _tamper_effect(c)
        if e is not None:
            out.append(e)
    return out
