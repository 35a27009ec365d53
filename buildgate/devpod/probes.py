"""Probes: what the devpod is (root mount, the traces a guard can see) and what happens in it
(a throwaway container build; a script run behind PATH shims that record and run nothing).

Probes gather facts and raise from :mod:`buildgate.errors` when they can't; the verdicts are
made in :mod:`buildgate.devpod.checks`.
"""
from __future__ import annotations

import io
import posixpath
import re
import secrets
import shlex
import tarfile
from dataclasses import dataclass, field
from typing import Any, Sequence

from buildgate.devpod.host import DevpodHost, RunResult, _unescape_mount, argv_text
from buildgate.errors import CannotDecide, InputError, RemoteError, TargetError

# ------------------------------------------------------------------------------------------
# V1: the root mount
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RootMount:
    """The mount the devpod's processes see as ``/`` (the last ``/`` in mountinfo wins)."""

    fstype: str
    source: str
    options: str
    line: int  # line number in /proc/self/mountinfo

    def option(self, name: str) -> str | None:
        for opt in self.options.split(","):
            key, _, value = opt.partition("=")
            if key == name:
                return value
        return None


def parse_mountinfo(text: str) -> RootMount | None:
    """The root mount from ``/proc/self/mountinfo`` text (``None`` if there is none)."""
    found: RootMount | None = None
    for n, line in enumerate(text.splitlines(), 1):
        left, sep, right = line.partition(" - ")
        parts, tail = left.split(), right.split()
        if not sep or len(parts) < 5 or len(tail) < 2:
            continue
        if _unescape_mount(parts[4]) == "/":
            found = RootMount(tail[0], tail[1], tail[2] if len(tail) > 2 else "", n)
    return found


def root_mount(dh: DevpodHost) -> RootMount:
    """Read the devpod's root mount through the host."""
    res = dh.run(["cat", "/proc/self/mountinfo"], timeout=30)
    if res.rc != 0:
        raise RemoteError(f"cannot read /proc/self/mountinfo (exit {res.rc}): {res.last_line()}", dh.name)
    root = parse_mountinfo(res.stdout)
    if root is None:
        raise CannotDecide("no mount for / in /proc/self/mountinfo", dh.name)
    return root


# ------------------------------------------------------------------------------------------
# The traces a devpod guard can look for
# ------------------------------------------------------------------------------------------

# name -> (what it means, how a script's text reveals that it looks for it)
SIGNALS: dict[str, tuple[str, re.Pattern[str]]] = {
    "KUBERNETES_SERVICE_HOST": ("KUBERNETES_SERVICE_HOST", re.compile(r"KUBERNETES_(SERVICE_HOST|SERVICE_PORT|PORT)\b")),
    "service account": ("/var/run/secrets/kubernetes.io", re.compile(r"/run/secrets/kubernetes\.io")),
    "overlay root": ("overlay root", re.compile(
        r"(findmnt|/proc/(self/|1/)?mount(s|info)|stat\s+-f|df\s+-T)[^\n]*overlay|overlay[^\n]*(findmnt|/proc/(self/|1/)?mount(s|info))")),
    "/.dockerenv": ("/.dockerenv", re.compile(r"/\.dockerenv")),
    "/run/.containerenv": ("/run/.containerenv", re.compile(r"/run/\.containerenv")),
    "/proc/1/cgroup": ("/proc/1/cgroup", re.compile(r"/proc/(1|self)/cgroup")),
}


def signals_in_script(text: str) -> list[str]:
    """The devpod traces a script's text looks for (comments ignored)."""
    code = "\n".join(_strip_comment(line) for line in text.splitlines())
    return [name for name, (_label, rx) in SIGNALS.items() if rx.search(code)]


def _strip_comment(line: str) -> str:
    s = line.lstrip()
    return "" if s.startswith("#") else line


def signals_in_devpod(dh: DevpodHost, root: RootMount | None = None) -> list[str]:
    """The devpod traces this devpod actually shows."""
    present = []
    if dh.env_value("KUBERNETES_SERVICE_HOST"):
        present.append("KUBERNETES_SERVICE_HOST")
    if dh.is_dir("/var/run/secrets/kubernetes.io"):
        present.append("service account")
    try:
        root = root or root_mount(dh)
        if root.fstype == "overlay":
            present.append("overlay root")
    except (RemoteError, CannotDecide):
        pass
    if dh.exists("/.dockerenv"):
        present.append("/.dockerenv")
    if dh.exists("/run/.containerenv"):
        present.append("/run/.containerenv")
    cg = dh.run(["cat", "/proc/1/cgroup"], timeout=30)
    if cg.rc == 0 and re.search(r"docker|kubepods|containerd|libpod", cg.stdout):
        present.append("/proc/1/cgroup")
    return present


def label(signal: str) -> str:
    return SIGNALS[signal][0]


# ------------------------------------------------------------------------------------------
# V2: a throwaway build
# ------------------------------------------------------------------------------------------

OVERLAY_ERRORS = [re.compile(p, re.I) for p in (
    r"not supported over overlayfs",
    r"backing file system is unsupported for this graph driver",
    r"failed to mount overlay.*invalid argument",
    r"mount(ing)?( source)?:? ?\W*overlay.*invalid argument",
    r"overlay.*invalid argument",
    r"overlay.*not supported as upperdir",
    r"overlay2?.*driver not supported|driver not supported:? *overlay",
    r"error creating overlay mount",
)]
BUILDERS = ("podman", "buildah", "docker")
PROBE_DOCKERFILE = "FROM scratch\nCOPY probe.txt /probe.txt\n"


@dataclass
class BuildAttempt:
    """What a throwaway build in the devpod did."""

    builder: str
    argv: list[str]
    rc: int
    output: str
    matched: str | None  # the overlay error line, when one was printed
    storage_driver: str | None = None
    workdir_fs: str | None = None
    cleaned: bool = True
    leftovers: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.rc == 0

    def last_line(self) -> str:
        lines = [ln.strip() for ln in self.output.splitlines() if ln.strip()]
        return lines[-1][:300] if lines else "(no output)"


def match_overlay_error(output: str) -> str | None:
    """The first output line that is the nested-overlay refusal, trimmed; ``None`` if none is."""
    for line in output.splitlines():
        if any(rx.search(line) for rx in OVERLAY_ERRORS):
            return " ".join(line.split())[:300]
    return None


def pick_builder(dh: DevpodHost, wanted: str = "auto") -> str:
    """The build tool to use in the devpod: the configured one, or the first of podman, buildah, docker."""
    if wanted not in ("auto", *BUILDERS):
        raise TargetError(f"devpod.builder: unknown builder {wanted!r}")
    for name in (BUILDERS if wanted == "auto" else (wanted,)):
        if dh.which(name):
            return name
    raise CannotDecide(f"no container build tool in the devpod ({wanted if wanted != 'auto' else ', '.join(BUILDERS)} not on PATH)",
                       dh.name)


def build_probe(dh: DevpodHost, builder: str = "auto", storage_driver: str | None = "overlay",
                workdir_base: str = "/var/tmp", timeout: float = 180) -> BuildAttempt:
    """Build a two-line image (``FROM scratch``, one ``COPY``) in the devpod and clean up.

    podman/buildah get private storage in a temporary folder (``--root``/``--runroot``) with
    ``storage_driver`` (the overlay driver the claim is about; ``None``: the devpod's default).
    docker uses its daemon; the probe image is removed afterwards. Nothing is pushed.
    """
    tool = pick_builder(dh, builder)
    work = dh.mktemp_dir("buildgate-v2", base=workdir_base)
    tag = f"localhost/buildgate-v2-probe:{secrets.token_hex(4)}"
    attempt: BuildAttempt | None = None
    try:
        ctx = f"{work}/ctx"
        dh.check(["mkdir", "-p", ctx], "mkdir")
        dh.write_file(f"{ctx}/probe.txt", "buildgate devpod probe\n")
        dh.write_file(f"{ctx}/Dockerfile", PROBE_DOCKERFILE)
        fs = dh.run(["stat", "-f", "-c", "%T", work], timeout=30)
        storage: list[str] = []
        if tool in ("podman", "buildah"):
            storage = ["--root", f"{work}/storage", "--runroot", f"{work}/runroot"]
            if storage_driver:
                storage += ["--storage-driver", storage_driver]
        if tool == "podman":
            argv = ["podman", *storage, "build", "--network=none", "--pull=never", "-t", tag, "-f", f"{ctx}/Dockerfile", ctx]
        elif tool == "buildah":
            argv = ["buildah", *storage, "bud", "--network=none", "--pull-never", "-t", tag, "-f", f"{ctx}/Dockerfile", ctx]
        else:
            argv = ["docker", "build", "--network=none", "-t", tag, "-f", f"{ctx}/Dockerfile", ctx]
        res = dh.run(argv, timeout=timeout)
        if res.timed_out:
            raise CannotDecide(f"the probe build did not finish within {int(timeout)}s: {argv_text(argv)}", dh.name)
        driver = None
        if tool in ("podman", "buildah") and res.rc == 0:
            fmt = "{{.Store.GraphDriverName}} {{.Store.GraphOptions}}" if tool == "podman" else "{{.store.GraphDriverName}}"
            info = dh.run([tool, *storage, "info", "--format", fmt], timeout=60)
            driver = info.stdout.strip() or None if info.rc == 0 else None
        attempt = BuildAttempt(tool, argv, res.rc, res.output, match_overlay_error(res.output), driver,
                               fs.stdout.strip() or None if fs.rc == 0 else None)
        if tool in ("podman", "buildah"):
            dh.run([tool, *storage, "rmi", "-a", "-f"], timeout=120)
        else:
            dh.run(["docker", "rmi", "-f", tag], timeout=120)
    finally:
        gone = dh.remove_tree(work)
        if attempt is not None:
            attempt.cleaned = gone
            if not gone:
                attempt.leftovers.append(work)
    return attempt


def build_probe_sdk(base_url: str, timeout: float = 180) -> BuildAttempt:
    """The same probe through a Docker-compatible API (dockerd, or ``podman system service``)."""
    import docker  # imported late: only this probe needs it
    from docker import errors as derr

    tag = f"localhost/buildgate-v2-probe:{secrets.token_hex(4)}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("Dockerfile", PROBE_DOCKERFILE.encode()), ("probe.txt", b"buildgate devpod probe\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    try:
        client = docker.DockerClient(base_url=base_url, timeout=int(timeout))
        client.ping()
    except Exception as exc:  # the SDK raises requests/urllib3/docker errors for a dead socket
        raise RemoteError(f"cannot reach the devpod's container API: {type(exc).__name__}: {_one_line(exc)}", _safe_url(base_url)) from None
    argv = ["docker-api", "build", "-t", tag]
    try:
        try:
            image, logs = client.images.build(fileobj=buf, custom_context=True, tag=tag, rm=True, forcerm=True,
                                               network_mode="none", pull=False)
            output = "".join(str(chunk.get("stream", "")) for chunk in logs if isinstance(chunk, dict))
            driver = None
            try:
                driver = client.info().get("Driver")
            except Exception:  # info is only evidence
                pass
            attempt = BuildAttempt("docker-api", argv, 0, output, match_overlay_error(output), driver)
            try:
                client.images.remove(image.id, force=True)
            except derr.APIError:
                attempt.cleaned = False
                attempt.leftovers.append(tag)
            return attempt
        except derr.BuildError as exc:
            lines = [str(c.get("stream") or c.get("error") or c.get("message") or "") for c in exc.build_log
                     if isinstance(c, dict)]
            output = "\n".join([*lines, str(exc.msg)])
            return BuildAttempt("docker-api", argv, 1, output, match_overlay_error(output))
        except derr.APIError as exc:
            output = str(exc.explanation or exc)
            return BuildAttempt("docker-api", argv, 1, output, match_overlay_error(output))
    finally:
        client.close()


def _safe_url(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//", url)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


# ------------------------------------------------------------------------------------------
# V3/V4: a script behind PATH shims
# ------------------------------------------------------------------------------------------

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
    scan: "ScriptScan | None" = None  # the static scan for calls the PATH shims can't see
    images: list["ImageChange"] = field(default_factory=list)  # image stores compared before/after the run

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
                   refuse_unshadowed: Sequence["Bypass"] = (), watch_images: bool = False) -> ShimmedRun:
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


def command_words(args: Sequence[str]) -> list[str]:
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
    words = command_words(call.args)
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


# -- the static scan: calls the PATH shims can't see ---------------------------------------------
@dataclass(frozen=True)
class Bypass:
    """A build-tool call in a script that a PATH shim would not see: by absolute path, through
    ``command -p``/``env``/``sudo``/``exec``, after a ``PATH`` reset, or through a path looked up
    with ``command -v``."""

    line: int
    tool: str
    how: str
    text: str
    kind: str | None  # "build" | "push" | "unknown" (subcommand not known statically) | None (harmless)
    reach: bool | None = None  # True: runs before the guard's exit; False: only after it (or never); None: can't tell
    reach_note: str = ""

    @property
    def blocking(self) -> bool:
        """A build or push (or a call that may be one) that can run before the guard stops the script."""
        return self.kind is not None and self.reach is not False


@dataclass
class ScriptScan:
    """What :func:`scan_script` found: the calls the shims can't see, and the guard's exit."""

    bypasses: list[Bypass]
    guard_exit: int | None
    guard_note: str  # how the guard's exit was found, or why it wasn't

    def evidence(self, script: str) -> list[str]:
        if not self.bypasses:
            return ["static scan: no build tool called by absolute path, command -p, env, sudo, exec or after a PATH reset"]
        out = [f"static scan: `{b.text}` calls {b.tool} {b.how} at {script}:{b.line}"
               f" ({b.kind or 'not a build or push'}; {b.reach_note})" for b in self.bypasses]
        return out + [f"static scan: {self.guard_note}"]


_TOOL_LOOKUP = re.compile(r"(?:\bcommand\s+-[vV]|\bwhich|\btype\s+-[pP]|\bhash\s+-t)\s+[\"']?(%s)\b" % "|".join(BUILD_TOOLS))
_FUNC_DEF = re.compile(r"^\s*(?:function\s+([A-Za-z_][\w:.-]*)\s*(?:\(\s*\))?|([A-Za-z_][\w:.-]*)\s*\(\s*\))\s*(?:\{|\(|$)")
_SHELLS = ("sh", "bash", "dash", "ash", "ksh", "zsh", "busybox")


def _functions(text: str) -> dict[str, tuple[int, int]]:
    """``{name: (first line, last line)}`` of the functions a script defines (brace bodies)."""
    from buildgate.shell import split_commands

    lines = text.splitlines()
    cmds = split_commands(text).commands
    out: dict[str, tuple[int, int]] = {}
    for n, line in enumerate(lines, 1):
        m = _FUNC_DEF.match(line)
        if not m:
            continue
        name = m.group(1) or m.group(2)
        depth, end = 0, None
        for cmd in cmds:
            if cmd.line < n:
                continue
            words = [t.text for t in cmd.words if not t.op]
            for k, w in enumerate(words):
                if w == "{" and (k == 0 or words[k - 1] in ("then", "do", "else", name, "function")):
                    depth += 1
                elif w == "}" and k == 0:
                    depth -= 1
            if depth <= 0 and any(w == "}" for w in words[:1]):
                end = cmd.line
                break
            if depth == 0 and cmd.line > n:
                break  # not a brace body (a one-line or subshell body): read as top level
        out[name] = (n, end if end is not None else n)
    return out


def _status_nonzero(words: list[str]) -> bool:
    """``exit N`` with N not a literal 0 (an unknown status counts as non-zero; bare ``exit`` doesn't)."""
    return len(words) > 1 and words[1] != "0"


def scan_script(text: str, docs: str = "DOCKER_BUILD.md", path: str = "<script>") -> ScriptScan:
    """Find the build-tool calls a PATH shim would miss, and whether each can run before the
    guard's exit. The guard's exit is the first top-level ``exit N`` (N ≠ 0), or call of a
    function that exits so, with the docs named within the dozen lines before it (or in that
    function): the refusal V3 asks for. Reachability is read from the text: top-level calls by
    line, calls inside functions by the lines their top-level callers are on."""
    from buildgate import shell as sh

    script = sh.parse_shell(text, path)
    lines = text.splitlines()
    funcs = _functions(text)
    lookups = _lookup_vars(text)
    path_resets: list[int] = []
    found: list[tuple[int, str, str, list[str], str]] = []  # (line, tool, how, words after the tool, command)
    calls: dict[str, list[int]] = {}  # function name -> lines it is called on
    exits: list[int] = []
    for cmd in script.commands:
        words = [w.text for w in cmd]
        line = cmd[0].line
        _scan_command(words, line, script.variables, lookups, path_resets, found, 0)
        body = sh.command_words(cmd)
        names, k = sh.assignments([w.text for w in body])
        if k >= len(body):
            if any(n == "PATH" and not re.match(r"^\$\{?PATH\}?(?::|$)", v) for n, _op, v in names):
                path_resets.append(line)
            continue
        first = body[k].text
        if first in funcs and not (line == funcs[first][0] and len(body) == k + 1):  # not its own definition
            calls.setdefault(first, []).append(line)
        if first == "exit" and _status_nonzero([w.text for w in body[k:]]):
            exits.append(line)

    def inside(line: int) -> str | None:
        for name, (a, b) in funcs.items():
            if a < line <= b or (a == line == b):
                return name
        return None

    base = posixpath.basename(docs)
    code_lines = {n for n, ln in enumerate(lines, 1) if not ln.lstrip().startswith("#")}

    def names_docs(a: int, b: int) -> bool:
        return any(base in lines[n - 1] for n in range(max(1, a), min(b, len(lines)) + 1) if n in code_lines)

    exiting = {name for name, (a, b) in funcs.items() if any(a <= e <= b for e in exits)}
    guard_candidates: list[tuple[int, str]] = []
    for e in exits:
        if inside(e) is None and names_docs(e - 12, e):
            guard_candidates.append((e, f"`exit` at line {e}"))
    for name in exiting:
        a, b = funcs[name]
        for c in calls.get(name, []):
            if inside(c) is None and (names_docs(a, b) or names_docs(c - 12, c)):
                guard_candidates.append((c, f"call of {name} (which exits) at line {c}"))
    guard = min(guard_candidates) if guard_candidates else None
    if guard:
        guard_note = f"the guard's exit: {guard[1]}"
    else:
        guard_note = (f"no guard's exit found (no top-level `exit N` with {base} named just before it), "
                      "so buildgate can't tell what runs before it")

    def first_top_call(name: str, seen: frozenset[str] = frozenset()) -> tuple[int | None, bool]:
        """(earliest top-level line at which ``name`` runs, whether that is certain)."""
        best: int | None = None
        certain = True
        for c in calls.get(name, []):
            owner = inside(c)
            if owner is None:
                line_ = c
            elif owner in seen or owner == name:
                certain = False
                continue
            else:
                line_, ok = first_top_call(owner, seen | {name})
                certain = certain and ok
                if line_ is None:
                    continue
            best = line_ if best is None else min(best, line_)
        return best, certain

    bypasses = []
    seen: set[tuple[int, str]] = set()
    for line, tool, how, rest, shown in found:
        if (line, how) in seen:
            continue
        seen.add((line, how))
        kind = _bypass_kind(tool, rest, script.variables)
        owner = inside(line)
        if owner is None:
            at, certain = line, True
        else:
            at, certain = first_top_call(owner)
            if at is None and certain:
                bypasses.append(Bypass(line, tool, how, shown, kind, False,
                                       f"in {owner}, which is never called"))
                continue
        if guard is None or at is None or not certain:
            reach, note = None, "can't tell whether it runs before the guard exits"
        elif at < guard[0]:
            reach, note = True, f"runs before the guard's exit at line {guard[0]}" + (f" (through {owner}, called at line {at})" if owner else "")
        elif at == guard[0]:
            reach, note = None, f"on the guard's own line {guard[0]}: can't tell which runs first"
        else:
            reach, note = False, f"only after the guard's exit at line {guard[0]}" + (f" (through {owner}, called at line {at})" if owner else "")
        bypasses.append(Bypass(line, tool, how, shown, kind, reach, note))
    return ScriptScan(bypasses, guard[0] if guard else None, guard_note)


def _lookup_vars(text: str) -> dict[str, str]:
    """``{NAME: tool}`` for ``NAME=$(command -v docker)``-style assignments (a path resolved once)."""
    from buildgate.shell import assignments, split_commands

    out: dict[str, str] = {}
    for cmd in split_commands(text).commands:
        found, _k = assignments([t.text for t in cmd.words if not t.op])
        for name, _op, value in found:
            m = _TOOL_LOOKUP.search(value)
            if m:
                out[name] = m.group(1)
    return out


_VAR_REF = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")


def _scan_command(words: list[str], line: int, variables: dict[str, list[str]], lookups: dict[str, str],
                  path_resets: list[int], found: list[tuple[int, str, str, list[str], str]], depth: int) -> None:
    """Add the shim-bypassing build-tool call of one simple command (if any) to ``found``."""
    from buildgate import shell as sh

    i, how = 0, ""
    while i < len(words) and words[i] in sh.KEYWORDS:
        i += 1
    start = i
    names, k = sh.assignments(words[i:])
    i += k
    if any(n == "PATH" and not re.match(r"^\$\{?PATH\}?(?::|$)", v) for n, _op, v in names):
        how = "with PATH reset in front of it"
    while i < len(words):
        w = words[i]
        if w == "exec":
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] == "-a" else 1
        elif w == "command":
            i += 1
            opts = []
            while i < len(words) and words[i].startswith("-") and words[i] != "--":
                opts.append(words[i])
                i += 1
            if any("v" in o or "V" in o for o in opts):
                return  # a lookup, not a call
            if any("p" in o for o in opts):
                how = "through `command -p` (the default PATH)"
            if i < len(words) and words[i] == "--":
                i += 1
        elif w in ("builtin", "nohup", "time", "nice", "stdbuf", "setsid", "chronic"):
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-n", "-i", "-o", "-e") else 1
        elif w == "timeout":
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-s", "-k", "--signal", "--kill-after") else 1
            i += 1  # the duration
        elif w in ("env", "sudo", "doas"):
            if w == "env":
                how = how or "through `env`"
            else:
                how = f"through `{w}` (its own PATH)"
            i += 1
            while i < len(words) and (words[i].startswith("-") or sh.ASSIGN.match(words[i])):
                if words[i] in ("-u", "--unset", "-C", "--chdir", "-S", "--split-string", "-U", "--user", "-g", "--group"):
                    i += 1
                if words[i].startswith("-i") or words[i] == "--ignore-environment" or words[i].startswith("PATH="):
                    how = "through `env` with a replaced environment or PATH" if w == "env" else how
                i += 1
        elif w in _SHELLS and "-c" in words[i + 1:i + 3] and depth < 3:
            j = words.index("-c", i + 1)
            if j + 1 < len(words):
                for sub in sh.parse_shell(words[j + 1]).commands:
                    _scan_command([x.text for x in sub], line, variables, lookups, path_resets, found, depth + 1)
            return
        elif w == "eval" and depth < 3:
            for sub in sh.parse_shell(" ".join(words[i + 1:])).commands:
                _scan_command([x.text for x in sub], line, variables, lookups, path_resets, found, depth + 1)
            return
        else:
            break
    if i >= len(words):
        return
    word, rest = words[i], words[i + 1:]
    shown = " ".join(w for w in words[start:] if w)[:200]
    ref = _VAR_REF.match(word)
    if ref and ref.group(1) in lookups:
        found.append((line, lookups[ref.group(1)], f"through ${ref.group(1)}, a path looked up with command -v", rest, shown))
        return
    m = _TOOL_LOOKUP.search(word)
    if m:
        found.append((line, m.group(1), "through a path looked up with command -v", rest, shown))
        return
    for value in sh.expand(word, variables):
        tool = value.rsplit("/", 1)[-1]
        if tool not in BUILD_TOOLS:
            continue
        if "/" in value:
            found.append((line, tool, f"by absolute path {value}" if value.startswith("/") else f"by path {value}", rest, shown))
        elif how:
            found.append((line, tool, how, rest, shown))
        elif any(p < line for p in path_resets):
            reset = max(p for p in path_resets if p < line)
            found.append((line, tool, f"after PATH is reset at line {reset}", rest, shown))
        return


def _bypass_kind(tool: str, rest: Sequence[str], variables: dict[str, list[str]]) -> str | None:
    """build/push as :func:`build_or_push` reads the call; "unknown" when its subcommand can't be
    read statically (a variable, a substitution); ``None`` for a harmless call (info, version)."""
    from buildgate import shell as sh

    args = []
    for a in rest:
        values = sh.expand(a, variables)
        args.append(values[0] if len(values) == 1 and sh.is_resolved(values[0]) else sh.UNRESOLVED)
    kind = build_or_push(Call(tool, tuple(args)))
    if kind:
        return kind
    if any(sh.UNRESOLVED in w for w in command_words(args)):
        return "unknown"
    return None
