"""A script run in the devpod behind PATH shims (V3, V4): every build tool (and ``gh``) is a
recording shim that runs nothing; where the devpod allows it the shims are also bind-mounted
over the real tools in a private mount and PID namespace. Also: the image stores compared
before and after a run, and which recorded calls build or push an image.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from buildgate.devpod.host import DevpodHost, RunResult, argv_text
from buildgate.errors import CannotDecide, InputError, RemoteError

if TYPE_CHECKING:
    from buildgate.devpod.scan import Bypass, ScriptScan


BUILD_TOOLS = ("docker", "podman", "buildah", "nerdctl", "buildctl", "kaniko", "img")
_MARK = "\x01buildgate-call\x01"
# The shim: a fixed program. It records its own name and every argument, NUL-separated, runs
# nothing and succeeds silently.
_SHIM = """#!/bin/sh
# buildgate shim: records this call and runs nothing
log=%s
{ printf '\\001buildgate-call\\001\\000%%s\\000' "${0##*/}"; for a in "$@"; do printf '%%s\\000' "$a"; done; } >> "$log"
exit 0
"""


# git runs for real (scripts compute refs with it), but nothing that talks to a remote.
_GIT_GUARD = """#!/bin/sh
# buildgate guard: records this call; runs the real git unless it would talk to a remote
log=%s
real=%s
{ printf '\\001buildgate-call\\001\\000%%s\\000' "${0##*/}"; for a in "$@"; do printf '%%s\\000' "$a"; done; } >> "$log"
sub=""; skip=0
for a in "$@"; do
  if [ "$skip" = 1 ]; then skip=0; continue; fi
  case "$a" in -C|-c|--git-dir|--work-tree|--namespace) skip=1 ;; -*) ;; *) sub=$a; break ;; esac
done
case "$sub" in push|fetch|pull|clone|ls-remote|remote|submodule|send-email|request-pull) exit 0 ;; esac
exec "$real" "$@"
"""
# What a script run sees besides the shims: no way to reach GitHub or a daemon even through an
# absolute path (dead proxies and hosts on a closed loopback port, dummy tokens, empty gh config).
DEAD = "127.0.0.1:9"
_SAFE_ENV = {
    "GH_HOST": DEAD, "GH_TOKEN": "buildgate-dummy", "GITHUB_TOKEN": "buildgate-dummy",
    "GH_ENTERPRISE_TOKEN": "buildgate-dummy", "GH_PROMPT_DISABLED": "1", "GH_NO_UPDATE_NOTIFIER": "1",
    "HTTPS_PROXY": f"http://{DEAD}", "HTTP_PROXY": f"http://{DEAD}", "https_proxy": f"http://{DEAD}",
    "http_proxy": f"http://{DEAD}", "ALL_PROXY": f"http://{DEAD}", "NO_PROXY": "", "no_proxy": "",
    "DOCKER_HOST": f"tcp://{DEAD}", "CONTAINER_HOST": f"tcp://{DEAD}", "GIT_SSH_COMMAND": "false",
    "GIT_TERMINAL_PROMPT": "0",
}


@dataclass(frozen=True)
class Call:
    """One recorded invocation of a shimmed program."""

    tool: str
    args: tuple[str, ...]

    @property
    def text(self) -> str:
        return argv_text([self.tool, *self.args])


@dataclass
class ShimmedRun:
    """A script run inside the devpod behind PATH shims."""

    script: str
    argv: list[str]
    rc: int
    output: str
    calls: list[Call]
    timed_out: bool
    staged: bool  # True: the script was copied into a temporary folder (no repo in the devpod)
    cleaned: bool = True
    shadowed: list[str] = field(default_factory=list)  # real tool paths the shims were bind-mounted over
    shadow_note: str = ""  # why absolute paths were not shadowed (empty when they were, or not asked)
    not_run: str | None = None  # why the script was not run at all (it would have built for real)
    scan: ScriptScan | None = None  # the static scan for calls the PATH shims can't see
    images: list[ImageChange] = field(default_factory=list)  # image stores compared before/after the run

    def last_line(self) -> str:
        lines = [ln.strip() for ln in self.output.splitlines() if ln.strip()]
        return lines[-1][:300] if lines else "(no output)"


def parse_calls(raw: bytes) -> list[Call]:
    """Parse the shims' log (records start with a marker; fields are NUL-terminated)."""
    text = raw.decode("utf-8", errors="replace")
    calls = []
    for rec in text.split(_MARK + "\x00")[1:]:
        fields = rec.split("\x00")
        if fields and fields[-1] == "":
            fields = fields[:-1]
        if fields:
            calls.append(Call(fields[0], tuple(fields[1:])))
    return calls


# The tools' usual homes: the shims are bind-mounted over every one that exists, so a call by
# absolute path (or through `command -p`, `env -i`, `sudo`) is recorded and runs nothing either.
SHADOW_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
# Run in a private mount and PID namespace: the bind mounts exist only for the script's processes
# and vanish with them; every process the script leaves behind dies with it (--kill-child, PID 1).
_UNSHARE = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--propagation", "private", "--"]
_SHADOW = (
    'n=$1; shift; '
    'while [ "$n" -gt 0 ]; do '
    '  mount --bind "$1" "$2" || { echo "buildgate: cannot bind the shim over $2" >&2; exit 125; }; '
    '  shift 2; n=$((n - 1)); '
    'done; '
    'exec "$@"'
)
_SHADOW_FAILED = "buildgate: cannot bind the shim over"


def _tool_paths(dh: DevpodHost, names: Sequence[str], path: str) -> list[tuple[str, str]]:
    """``(name, real path)`` of every copy of ``names`` in :data:`SHADOW_DIRS` and on ``path``."""
    dirs = list(dict.fromkeys([*SHADOW_DIRS, *(d for d in path.split(":") if d.startswith("/"))]))
    prog = ('for n in $1; do for d in $2; do '
            '[ -f "$d/$n" ] && printf "%s %s\\n" "$n" "$(readlink -f "$d/$n")"; done; done; true')
    res = dh.run(["sh", "-c", prog, "sh", " ".join(names), " ".join(dirs)], timeout=30)
    out: dict[str, str] = {}
    for line in res.stdout.splitlines():
        name, _, real = line.partition(" ")
        if name in names and real.startswith("/"):
            out.setdefault(real, name)
    return [(n, r) for r, n in out.items()]


def can_shadow(dh: DevpodHost, probe_dir: str) -> tuple[bool, str]:
    """Whether this devpod lets a script run in a private mount namespace with bind mounts."""
    res = dh.run([*_UNSHARE, "sh", "-c", 'mount --bind "$1" "$1"', "sh", probe_dir], timeout=30)
    if res.rc == 0:
        return True, ""
    return False, f"unshare/mount not permitted here (exit {res.rc}: {res.last_line()})"


def run_with_shims(dh: DevpodHost, repo: Any, script: str, shims: Sequence[str], args: Sequence[str] = (),
                   timeout: float = 120, env: dict[str, str] | None = None, *, shadow: bool | None = None,
                   refuse_unshadowed: Sequence[Bypass] = (), watch_images: bool = False) -> ShimmedRun:
    """Run ``script`` (repository-relative) in the devpod with ``shims`` first on PATH.

    The script runs from the devpod's checkout (``dh.repo_dir``) when there is one, else from a
    temporary folder holding a copy of it at the same relative path. The run's environment is
    the devpod's, plus the shim folder in front of ``PATH``.

    ``shadow`` (``None``: whenever the devpod allows it; always on the sandbox devpod): the run
    also gets a private mount and PID namespace in which the shims are bind-mounted over the
    real tools, so a call by absolute path is recorded and runs nothing. Where that is not
    possible and ``refuse_unshadowed`` names calls the PATH shims can't see, the script is not
    run at all (``not_run`` says why): it would build for real. ``watch_images``: the podman,
    buildah and docker image lists are compared before and after the run.
    """
    text = repo.read_text(script)  # InputError when the script is missing: an error verdict
    tmp = dh.mktemp_dir("buildgate-shim")
    log = f"{tmp}/calls.log"
    staged = dh.repo_dir is None
    try:
        dh.check(["mkdir", "-p", f"{tmp}/bin"], "mkdir")
        for name in shims:
            dh.write_file(f"{tmp}/bin/{name}", _SHIM % shlex.quote(log), "0755")
        dh.write_file(log, "")
        real_git = dh.which("git")
        if real_git and "git" not in shims:
            dh.write_file(f"{tmp}/bin/git", _GIT_GUARD % (shlex.quote(log), shlex.quote(real_git)), "0755")
        dh.check(["mkdir", "-p", f"{tmp}/gh-config"], "mkdir")
        if staged:
            cwd = f"{tmp}/repo"
            parent = script.rsplit("/", 1)[0] if "/" in script else ""
            dh.check(["mkdir", "-p", f"{cwd}/{parent}" if parent else cwd], "mkdir")
            dh.write_file(f"{cwd}/{script}", text, "0755")
        else:
            cwd = dh.repo_dir  # type: ignore[assignment]
            if not dh.exists(f"{cwd}/{script}"):
                raise InputError(f"{script} is not in the devpod's checkout at {cwd}", dh.name)
        path = dh.run(["sh", "-c", 'printf %s "$PATH"'], timeout=30).stdout or "/usr/local/bin:/usr/bin:/bin"
        argv = [f"./{script}", *args]
        run_env = {**_SAFE_ENV, "GH_CONFIG_DIR": f"{tmp}/gh-config", **(env or {}), "PATH": f"{tmp}/bin:{path}"}
        shadowed: list[str] = []
        note = ""
        if shadow is not False:
            ok, note = can_shadow(dh, f"{tmp}/bin")
            if not ok and (shadow or dh.sandbox):
                raise RemoteError(f"cannot shadow the build tools in the devpod: {note}", dh.name)
            if ok:
                pairs = _tool_paths(dh, shims, path)
                shadowed = [real for _n, real in pairs]
                binds = [x for name, real in pairs for x in (f"{tmp}/bin/{name}", real)]
                argv = [*_UNSHARE, "sh", "-c", _SHADOW, "sh", str(len(pairs)), *binds, *argv]
        else:
            note = "not asked"
        if not shadowed and refuse_unshadowed:
            b = refuse_unshadowed[0]
            why = (f"`{b.text}` ({b.how}, {script}:{b.line}) would run unintercepted: absolute paths can't be "
                   f"shadowed here ({note or 'none of the tools is installed'})")
            run = ShimmedRun(script, argv, -1, "", [], False, staged, shadow_note=note, not_run=why)
        else:
            before = image_lists(dh) if watch_images else {}
            res: RunResult = dh.run(argv, cwd=cwd, env=run_env, timeout=timeout)
            if res.rc == 125 and _SHADOW_FAILED in res.output:
                raise RemoteError(f"cannot shadow the build tools in the devpod: {res.last_line()}", dh.name)
            if res.rc == 126 and "ermission denied" in res.output:
                raise CannotDecide(f"{script} is not executable in the devpod (exit 126; see S1)", dh.name)
            calls = parse_calls(dh.read_bytes(log))
            run = ShimmedRun(script, argv, res.rc, res.output, calls, res.timed_out, staged,
                             shadowed=shadowed, shadow_note="" if shadowed else note)
            if watch_images:
                run.images = compare_images(before, image_lists(dh))
    finally:
        gone = dh.remove_tree(tmp)
    run.cleaned = gone
    return run


# -- image stores (V3 on a devpod where absolute paths can't be shadowed) ------------------------
IMAGE_LISTS = {
    "podman": ["podman", "images", "--all", "--noheading", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"],
    "buildah": ["buildah", "images", "--all", "--noheading", "--no-trunc", "--format", "{{.ID}} {{.Name}}:{{.Tag}}"],
    "docker": ["docker", "images", "--all", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"],
}


@dataclass
class ImageChange:
    """One image store compared before and after a script run."""

    tool: str
    new: list[str] = field(default_factory=list)  # "id name:tag" lines that appeared
    note: str = ""  # why the store could not be compared (empty when it was)


def image_lists(dh: DevpodHost) -> dict[str, set[str] | str]:
    """``{tool: image lines}`` for each of podman, buildah and docker present in the devpod, or
    ``{tool: reason}`` when its list can't be read (a dead daemon, a storage driver that fails)."""
    out: dict[str, set[str] | str] = {}
    for tool, argv in IMAGE_LISTS.items():
        if not dh.which(tool):
            continue
        res = dh.run(argv, timeout=60)
        out[tool] = ({" ".join(ln.split()) for ln in res.stdout.splitlines() if ln.strip()} if res.rc == 0
                     else f"exit {res.rc}: {res.last_line()}")
    return out


def compare_images(before: dict[str, set[str] | str], after: dict[str, set[str] | str]) -> list[ImageChange]:
    """What appeared in each image store between two :func:`image_lists`."""
    out = []
    for tool in dict.fromkeys([*before, *after]):
        b, a = before.get(tool), after.get(tool)
        if isinstance(b, set) and isinstance(a, set):
            out.append(ImageChange(tool, sorted(a - b)))
        else:
            out.append(ImageChange(tool, note=str(b if isinstance(b, str) else a if isinstance(a, str) else "absent")))
    return out


# -- classifying build-tool calls ----------------------------------------------------------
_VALUE_FLAGS = {"--root", "--runroot", "--storage-driver", "--storage-opt", "-H", "--host", "--context", "-c",
                "--config", "--log-level", "-l", "--url", "--connection", "--cgroup-manager", "--tlscacert",
                "--tlscert", "--tlskey", "--namespace", "-n", "--address", "--registries-conf"}
_GROUPS = {"image", "buildx", "builder", "compose", "manifest", "container"}


def subcommand_words(args: Sequence[str]) -> list[str]:
    """The subcommand words of a docker/podman/buildah call (global flags skipped)."""
    words, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a.startswith("-"):
            skip = a in _VALUE_FLAGS
            continue
        words.append(a)
        if len(words) == 2 or words[0] not in _GROUPS:
            break
    return words


def build_or_push(call: Call) -> str | None:
    """``"build"``/``"push"`` when the call builds or pushes an image, else ``None``."""
    if call.tool not in BUILD_TOOLS:
        return None
    if call.tool in ("kaniko", "img", "buildctl"):
        return "build"
    words = subcommand_words(call.args)
    if not words:
        return None
    sub, sub2 = words[0], words[1] if len(words) > 1 else ""
    if sub in ("build", "bud") or (sub in _GROUPS and sub2 in ("build", "bake", "bud")):
        if any(a == "--push" or "type=registry" in a or a.startswith("--output=type=registry") for a in call.args):
            return "push"
        return "build"
    if sub == "push" or sub2 == "push":
        return "push"
    return None
