"""Running an audited script in the devpod, contained and watched (V3, V4).

A script from the audited repository is untrusted: it may try to remove the shims, build by
another route, read the harness's secrets or reach GitHub. :func:`run_isolated` runs it through
the fixed launcher (:mod:`buildgate.devpod.launcher`) as PID 1 of fresh mount, PID, network,
IPC and UTS namespaces (``unshare``, as root in the devpod):

* the script runs as a dedicated unprivileged uid (:data:`RUN_UID`) with no capabilities and
  ``no_new_privs``, in a user namespace whose limit of nested user namespaces is zero, so it
  can neither unmount the shims nor get a namespace of its own in which to build;
* the real build tools are covered by read-only bind mounts of the recording shims; every
  other mount is read-only, except a private ``/tmp``, ``/var/tmp`` and ``/dev/shm``;
* the network namespace has only loopback; service-account tokens read empty;
* the environment is an allow-list (:func:`allowed_env`): ``PATH``, locale, terminal, the
  pod's own variables (``KUBERNETES_*``, ``*_SERVICE_HOST``, ...), a private ``HOME`` and dummy
  GitHub settings. Nothing else of the devpod's (or, on ``local://``, the harness's)
  environment reaches the script.

What it did is recorded where the script can't touch it: shim calls through a FIFO only root
reads, and, when the devpod has ``strace``, every exec, connect, mount, namespace and clone
(:mod:`buildgate.devpod.effects` reads the trace). Image stores or layouts left in its scratch
space are listed. Everything the run made vanishes with its namespaces.

A devpod where this can't be done (not root, no ``unshare``/``setpriv``) runs nothing:
:class:`IsolationUnavailable` says why, and V3/V4 say "cannot decide" (an unconfined run could
build, push or reach GitHub for real).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from buildgate.devpod.host import DevpodHost
from buildgate.devpod.launcher import LAUNCHER
from buildgate.errors import CannotDecide, RemoteError

RUN_UID = 47474  # dedicated to audited scripts: owns nothing in the devpod, in no group
UNSHARE = ["unshare", "--mount", "--pid", "--net", "--ipc", "--uts", "--fork", "--kill-child", "--mount-proc",
           "--propagation", "private", "--"]
BASE = "/tmp/.buildgate"  # the run folder inside the namespaces (a private tmpfs; root-only parts)
START = f"{BASE}/start"  # the wrapper that execs the script: the trace's "script starts here" mark
SHIM_DIR = f"{BASE}/bin"
# The tools' usual homes: the shims cover every copy found there (and on the devpod's PATH).
SHADOW_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
SETUP_SLACK = 60  # seconds the launcher may spend on setup and report, on top of the script's limit
_HEADER = b"\n@@buildgate "
_RECORDS_SLACK_KB = 1024  # less free room than this in the record folder: the trace may be cut short
_ISOLATION_FAILED = "buildgate-isolation: "

DEAD = "127.0.0.1:9"  # a closed loopback port: where dummy GitHub settings (and gh replays) point
# Set for every run: a private home and temporary folder, dummy GitHub tokens and a dead GitHub
# host (so a script that checks for a token goes on to call gh), git kept off any remote. No
# proxy or engine-host variables: an attempt to reach anything goes where the script aims it,
# fails in the empty network namespace and is named in the trace.
SAFE_ENV = {
    "HOME": "/tmp/home", "TMPDIR": "/tmp", "GH_CONFIG_DIR": "/tmp/home/.config/gh",
    "GH_HOST": DEAD, "GH_TOKEN": "buildgate-dummy", "GITHUB_TOKEN": "buildgate-dummy",
    "GH_ENTERPRISE_TOKEN": "buildgate-dummy", "GH_PROMPT_DISABLED": "1", "GH_NO_UPDATE_NOTIFIER": "1",
    "GIT_SSH_COMMAND": "false", "GIT_TERMINAL_PROMPT": "0",
}
# The devpod's own variables a script may see: PATH, locale, terminal, and the pod's identity
# and service addresses (a guard may test them); their values must look like what they are.
_ALLOWED_PLAIN = {"PATH", "LANG", "LANGUAGE", "TERM", "COLORTERM", "TZ", "HOSTNAME"}
_LOCALE = re.compile(r"LC_[A-Z]+")
_ADDR = r"[A-Za-z0-9.:\[\]-]+"
_SERVICE = [
    (re.compile(r"[A-Z][A-Z0-9_]*_SERVICE_HOST"), re.compile(_ADDR)),
    (re.compile(r"[A-Z][A-Z0-9_]*_SERVICE_PORT(_[A-Z0-9_]+)?"), re.compile(r"\d{1,5}")),
    (re.compile(r"[A-Z][A-Z0-9_]*_PORT"), re.compile(rf"(tcp|udp|sctp)://{_ADDR}:\d{{1,5}}")),
    (re.compile(r"[A-Z][A-Z0-9_]*_PORT_\d{1,5}_(TCP|UDP|SCTP)"), re.compile(rf"(tcp|udp|sctp)://{_ADDR}:\d{{1,5}}")),
    (re.compile(r"[A-Z][A-Z0-9_]*_PORT_\d{1,5}_(TCP|UDP|SCTP)_PROTO"), re.compile(r"tcp|udp|sctp")),
    (re.compile(r"[A-Z][A-Z0-9_]*_PORT_\d{1,5}_(TCP|UDP|SCTP)_PORT"), re.compile(r"\d{1,5}")),
    (re.compile(r"[A-Z][A-Z0-9_]*_PORT_\d{1,5}_(TCP|UDP|SCTP)_ADDR"), re.compile(_ADDR)),
]
_SAFE_VALUE = re.compile(r"[\x20-\x7e]{0,4096}")
_SHELL_OWN = {"HOME", "PWD", "OLDPWD", "SHLVL", "_"}  # set anew for the script (HOME is buildgate's), not withheld


class IsolationUnavailable(CannotDecide):
    """The devpod can't contain a script run (so buildgate runs none)."""


@dataclass
class IsolatedRun:
    """What one contained run of a script did (the launcher's report, read)."""

    rc: int
    output: str
    calls_raw: bytes
    trace: str | None  # strace's output (None: no strace in the devpod)
    trace_complete: bool
    shadowed: list[str]  # real tool paths the shims covered
    artefacts: list[str]  # image stores or layouts found in the scratch space afterwards
    timed_out: bool
    userns: bool  # the script ran in a user namespace limited to zero nested ones
    loopback: bool
    scratch_files: int


def allowed_env(devpod_env: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """``(the variables a script may see, the names withheld)`` from the devpod's environment."""
    keep: dict[str, str] = {}
    dropped: list[str] = []
    for name, value in devpod_env.items():
        if name in _SHELL_OWN:
            continue
        ok = _SAFE_VALUE.fullmatch(value) is not None and (
            name in _ALLOWED_PLAIN or _LOCALE.fullmatch(name) is not None
            or any(n.fullmatch(name) and v.fullmatch(value) for n, v in _SERVICE))
        if ok:
            keep[name] = value
        else:
            dropped.append(name)
    return keep, sorted(dropped)


def devpod_env(dh: DevpodHost) -> dict[str, str]:
    """The environment a command in the devpod gets (``/proc/self/environ``: any Linux, any ``env``)."""
    res = dh.run(["cat", "/proc/self/environ"], timeout=30)
    if res.rc != 0:
        raise RemoteError(f"cannot read the devpod's environment (exit {res.rc}): {res.last_line()}", dh.name)
    out = {}
    for item in res.stdout_bytes.split(b"\0"):
        name, sep, value = item.decode("utf-8", errors="replace").partition("=")
        if sep and name:
            out[name] = value
    return out


def script_env(dh: DevpodHost, extra: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str], list[str]]:
    """The script's whole environment: the allow-listed devpod variables, :data:`SAFE_ENV`, ``extra``,
    and the shim folder first on ``PATH``. Also the names passed on and withheld."""
    keep, dropped = allowed_env(devpod_env(dh))
    path = keep.get("PATH") or "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    env = {**keep, **SAFE_ENV, **(extra or {}), "PATH": f"{SHIM_DIR}:{path}"}
    return env, sorted(keep), dropped


def parse_report(stdout: bytes) -> dict[str, tuple[bytes, int]]:
    """``{section: (bytes shown, total size)}`` from the launcher's stdout."""
    out: dict[str, tuple[bytes, int]] = {}
    i = stdout.find(_HEADER)
    while i >= 0:
        j = stdout.find(b"\n", i + 1)
        if j < 0:
            break
        parts = stdout[i + len(_HEADER):j].decode("ascii", errors="replace").split()
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
            break
        shown = int(parts[1])
        out[parts[0]] = (stdout[j + 1:j + 1 + shown], int(parts[2]))
        i = stdout.find(_HEADER, j + shown)
    return out


def _meta(raw: bytes) -> dict[str, str]:
    return dict(line.partition("=")[::2] for line in raw.decode(errors="replace").splitlines() if "=" in line)


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default


def _lines(raw: bytes) -> list[str]:
    return [ln for ln in raw.decode("utf-8", errors="replace").splitlines() if ln.strip()]


def run_isolated(dh: DevpodHost, argv: Sequence[str], *, cwd: str | None, run_dir: str, tools: Sequence[str],
                 env: Mapping[str, str], limit: float) -> IsolatedRun:
    """Run ``argv`` (the script and its arguments) contained in the devpod; read the report.

    ``cwd``: the folder to run in (``None``: ``run_dir/repo``, a staged copy). ``run_dir``: an
    empty root-only folder on the devpod, removed by the caller. ``tools``: the names the shims
    stand in for. ``env``: the script's whole environment. ``limit``: seconds for the script.
    """
    tracer = dh.which("strace") or ""
    dirs = list(dict.fromkeys([*SHADOW_DIRS, *(d for d in env.get("PATH", "").split(":")
                                               if d.startswith("/") and not d.startswith(BASE))]))
    full = [*UNSHARE, "/bin/sh", "-c", LAUNCHER, "sh", str(RUN_UID), run_dir, cwd or "", str(max(1, int(limit))),
            tracer, " ".join(tools), " ".join(dirs), *(f"{k}={v}" for k, v in env.items()), START, *argv]
    res = dh.run(full, timeout=limit + SETUP_SLACK)
    report = parse_report(res.stdout_bytes)
    if "meta" not in report:
        why = next((ln[len(_ISOLATION_FAILED):] for ln in res.stderr.splitlines() if ln.startswith(_ISOLATION_FAILED)),
                   None)
        if res.timed_out:
            why = f"the contained run did not finish within {int(limit + SETUP_SLACK)}s"
        raise IsolationUnavailable(f"cannot contain a script run in the devpod: {why or res.last_line()} "
                                   f"(buildgate needs root, unshare, setpriv and mount there)", dh.name)
    meta = _meta(report["meta"][0])
    trace_raw, trace_total = report.get("trace", (b"", 0))
    traced = meta.get("traced") == "yes"
    return IsolatedRun(
        rc=_int(meta.get("rc"), -1),
        output=report.get("out", (b"", 0))[0].decode("utf-8", errors="replace"),
        calls_raw=report.get("calls", (b"", 0))[0],
        trace=trace_raw.decode("utf-8", errors="replace") if traced else None,
        trace_complete=traced and len(trace_raw) == trace_total and _int(meta.get("records_free_kb")) > _RECORDS_SLACK_KB,
        shadowed=_lines(report.get("shadowed", (b"", 0))[0]),
        artefacts=_lines(report.get("artefacts", (b"", 0))[0]),
        timed_out=meta.get("timed_out") == "yes",
        userns=meta.get("userns") == "1",
        loopback=meta.get("loopback") == "up",
        scratch_files=_int(meta.get("scratch_files")),
    )


def tool_copies(dh: DevpodHost, ran: Sequence[str], real: Sequence[str]) -> list[tuple[str, str]]:
    """``(path ran, real tool)`` for each program the script ran whose content is a real build
    tool's (a copy under another name or in another folder): sizes first, then SHA-256."""
    ran = [p for p in ran if p not in real][:200]
    if not ran or not real:
        return []
    sizes: dict[str, str] = {}
    res = dh.run(["stat", "-L", "-c", "%s %n", "--", *real, *ran], timeout=60)
    for line in res.stdout.splitlines():
        size, _, path = line.partition(" ")
        sizes[path] = size
    real_sizes = {sizes[r] for r in real if r in sizes}
    suspects = [p for p in ran if sizes.get(p) in real_sizes]
    if not suspects:
        return []
    res = dh.run(["sha256sum", "--", *[r for r in real if sizes.get(r) in {sizes[p] for p in suspects}], *suspects],
                 timeout=120)
    digests: dict[str, str] = {}
    for line in res.stdout.splitlines():
        digest, _, path = line.partition("  ")
        digests[path] = digest
    by_digest = {digests[r]: r for r in real if r in digests}
    return [(p, by_digest[digests[p]]) for p in suspects if digests.get(p) in by_digest]
