"""What a script asked ``gh`` for, and whether the real ``gh`` accepts it, without any network.

The real ``gh`` (Debian's) parses flags and arguments before it talks to GitHub. Each recorded
call is replayed with ``-R 127.0.0.1:9/owner/repo`` (a closed loopback port), a dummy
``GH_TOKEN``, ``GH_HOST`` and proxies pointed at that port, an empty private config folder, and,
when this machine allows it, in a fresh network namespace with no interface up. A parse error
comes back as cobra's usage text; a valid call ends in a connection error. It can never reach
GitHub, and no credential of this machine is read or printed.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from buildgate import ghcli
from buildgate.devpod.isolate import DEAD
from buildgate.devpod.shims import Call
from buildgate.errors import CannotDecide

# gh command groups that take -R/--repo
REPO_GROUPS = {"workflow", "run", "pr", "issue", "release", "secret", "variable", "label", "cache", "browse"}

_NET_ERRORS = re.compile(r"connection refused|network is unreachable|dial tcp|no such host|proxyconnect|"
                         r"connect: |i/o timeout|authentication failed|HTTP 40[13]", re.I)
_PARSE_ERRORS = re.compile(r"^(unknown (flag|shorthand flag|command)|invalid argument|accepts |requires |"
                           r"required flag|flag needs an argument|.* required when not running interactively|"
                           r"bad flag syntax|if any flags in the group)", re.I)


@dataclass(frozen=True)
class GhVerdict:
    call: Call
    accepted: bool
    reason: str
    gh_version: str


def repo_of(call: Call) -> str | None:
    """The repository a gh call names with ``-R``/``--repo`` (``None`` if it names none)."""
    return ghcli.repo_of(call.args)


def workflows_in_call(call: Call) -> list[tuple[str, str]]:
    """``(workflow, role)`` pairs a gh call names (:func:`buildgate.ghcli.workflows_named`)."""
    if call.tool != "gh":
        return []
    return [(value, role) for _i, value, role in ghcli.workflows_named(call.args)]


def _strip_repo(args: Sequence[str]) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ghcli.REPO_FLAGS:
            skip = True
            continue
        if a.startswith(("--repo=", "-R=")) or (a.startswith("-R") and len(a) > 2 and not a.startswith("--")):
            continue
        out.append(a)
    return out


# Flags whose value gh reads as a file (``-F key=@path``, ``--input path``): on replay every such
# file is /dev/null, so a script's arguments never make the harness's gh read this machine's files
# (``@/root/.config/gh/hosts.yml``) or an endless one (``@/dev/zero``). Parsing is unchanged.
_FIELD_FLAGS = ("-F", "--field")
_FILE_FLAGS = ("--input", "--body-file", "-F", "--field")


def _neutral(flag: str, value: str) -> str:
    if flag in _FIELD_FLAGS:
        key, sep, rest = value.partition("=")
        return f"{key}=@/dev/null" if sep and rest.startswith("@") else "@/dev/null" if value.startswith("@") else value
    return "/dev/null" if value not in ("", "-") else value


def _no_files(args: Sequence[str]) -> list[str]:
    out: list[str] = []
    pending: str | None = None
    for a in args:
        if pending is not None:
            out.append(_neutral(pending, a))
            pending = None
            continue
        flag, eq, value = a.partition("=")
        if a in _FILE_FLAGS:
            pending = a
            out.append(a)
        elif eq and flag in _FILE_FLAGS and flag.startswith("--"):
            out.append(f"{flag}={_neutral(flag, value)}")
        elif a.startswith("-F") and len(a) > 2 and not a.startswith("--"):
            out.append("-F" + _neutral("-F", a[2:].lstrip("=")))
        else:
            out.append(a)
    return out


def replay_argv(call: Call) -> list[str]:
    """The arguments to replay: the script's, its ``-R`` replaced by the dead loopback repository
    and every file it names for gh to read replaced by ``/dev/null``."""
    args = _no_files(_strip_repo(call.args))
    if args and args[0] in REPO_GROUPS and len(args) >= 2 and not args[1].startswith("-"):
        args = [args[0], args[1], "-R", f"{DEAD}/owner/repo", *args[2:]]
    return args


def find_gh() -> str:
    path = shutil.which("gh")
    if not path:
        raise CannotDecide("the real gh is not installed on the harness machine (apt install gh), so gh calls can't be validated")
    return path


@lru_cache(maxsize=1)
def isolation() -> tuple[str, ...]:
    """A prefix that runs a command with no network at all, when this machine allows one."""
    unshare = shutil.which("unshare")
    if unshare:
        for prefix in ((unshare, "--net", "--"), (unshare, "--map-root-user", "--net", "--")):
            try:
                proc = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if proc.returncode == 0:
                return prefix
    return ()


@lru_cache(maxsize=1)
def gh_version(gh: str) -> str:
    proc = subprocess.run([gh, "--version"], capture_output=True, text=True, timeout=30,
                          env={"PATH": os.defpath, "GH_NO_UPDATE_NOTIFIER": "1"})
    m = re.search(r"gh version (\S+)", proc.stdout)
    return m.group(1) if m else "unknown"


def validate(calls: Sequence[Call], timeout: float = 30) -> list[GhVerdict]:
    """Replay each gh call with the real gh, offline; classify it accepted or rejected."""
    gh = find_gh()
    version = gh_version(gh)
    prefix = isolation()
    out: list[GhVerdict] = []
    with tempfile.TemporaryDirectory(prefix="buildgate-gh-") as cfg:
        env = {
            "PATH": os.defpath, "HOME": cfg, "GH_CONFIG_DIR": cfg, "XDG_CONFIG_HOME": cfg, "XDG_CACHE_HOME": cfg,
            "XDG_STATE_HOME": cfg, "XDG_DATA_HOME": cfg,
            "GH_TOKEN": "buildgate-dummy", "GH_ENTERPRISE_TOKEN": "buildgate-dummy", "GH_HOST": DEAD,
            "HTTPS_PROXY": f"http://{DEAD}", "HTTP_PROXY": f"http://{DEAD}", "https_proxy": f"http://{DEAD}",
            "http_proxy": f"http://{DEAD}", "NO_PROXY": "", "no_proxy": "",
            "GH_NO_UPDATE_NOTIFIER": "1", "GH_PROMPT_DISABLED": "1", "NO_COLOR": "1", "GH_PAGER": "cat", "PAGER": "cat",
            "GH_SPINNER_DISABLED": "1", "LC_ALL": "C",
        }
        for call in calls:
            if call.tool != "gh":
                continue
            if call.cut:
                raise CannotDecide(f"`{call.text} …` is longer than the shim records (4000 bytes), so gh can't be asked "
                                   f"whether it accepts the whole call")
            argv = [*prefix, gh, *replay_argv(call)]
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                                      stdin=subprocess.DEVNULL, cwd=cfg)
            except subprocess.TimeoutExpired:
                raise CannotDecide(f"gh did not answer within {timeout:.0f}s for `{call.text}`") from None
            out.append(classify(call, proc.returncode, proc.stdout + proc.stderr, version))
    return out


def classify(call: Call, rc: int, output: str, version: str) -> GhVerdict:
    """Accepted when gh got past parsing (it then fails on the dead network); rejected on a usage error."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    first = lines[0][:200] if lines else f"exit {rc}"
    usage = any(ln.startswith("Usage:") for ln in lines)
    parse_err = next((ln for ln in lines if _PARSE_ERRORS.match(ln)), None)
    if rc != 0 and (usage or parse_err):
        return GhVerdict(call, False, (parse_err or first)[:200], version)
    if rc == 0:
        return GhVerdict(call, True, "parsed and ran offline", version)
    net = next((ln for ln in lines if _NET_ERRORS.search(ln)), None)
    if net:
        return GhVerdict(call, True, "parsed; stopped at the network", version)
    raise CannotDecide(f"can't tell whether gh {version} accepts `{call.text}`: {first}")
