"""Probes: what the devpod is (its root mount, the traces a guard can see) and whether a
throwaway container build fails in it (V1, V2).

Probes gather facts and raise from :mod:`buildgate.errors` when they can't; the verdicts are
made in :mod:`buildgate.devpod.checks`. Scripts run behind PATH shims (V3, V4) are
:mod:`buildgate.devpod.shims`; the static scan of a script for calls the shims can't see is
:mod:`buildgate.devpod.scan`.
"""
from __future__ import annotations

import io
import re
import secrets
import tarfile
from dataclasses import dataclass, field

from buildgate.devpod.host import DevpodHost, argv_text, unescape_mount
from buildgate.errors import CannotDecide, RemoteError, TargetError

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
        if unescape_mount(parts[4]) == "/":
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
    r"overlay.*without d_type|d_type support",
    r"'overlay' is not supported over",
)]
# An overlay-driver error that names overlayfs itself as what the storage sits on: the nested case.
NESTED_OVERLAY = [re.compile(p, re.I) for p in (
    r"not supported over overlayfs",
    r"backing overlayfs",
    r"overlay: filesystem on .* not supported as upperdir",
)]
# An overlay-driver error with another cause: another backing filesystem, no d_type, no kernel support.
OTHER_CAUSES = [(re.compile(p, re.I), why) for p, why in (
    (r"without d_type|d_type support|ftype=1", "the storage's filesystem lacks d_type (xfs formatted with ftype=0)"),
    (r"kernel does not support overlay|overlay.*no such device|unknown filesystem type .?overlay",
     "the kernel has no overlay support"),
    (r"not supported over (?!overlayfs\b)([\w-]+)", "the storage's filesystem is {0}, not overlayfs"),
    (r"backing (?!overlayfs\b)([\w-]+) filesystem", "the storage's filesystem is {0}, not overlayfs"),
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
    workdir_fs: str | None = None  # the filesystem the build's storage sits on (``stat -f``), if known
    cleaned: bool = True
    leftovers: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.rc == 0

    def last_line(self) -> str:
        lines = [ln.strip() for ln in self.output.splitlines() if ln.strip()]
        return lines[-1][:300] if lines else "(no output)"


def match_overlay_error(output: str) -> str | None:
    """The first output line that is an overlay-driver refusal, trimmed; ``None`` if none is."""
    for line in output.splitlines():
        if any(rx.search(line) for rx in OVERLAY_ERRORS):
            return " ".join(line.split())[:300]
    return None


def overlay_cause(output: str, storage_fs: str | None) -> tuple[bool | None, str]:
    """Whether an overlay-driver error is the nested-overlay one: ``(True, why)`` when the error
    names overlayfs as the backing filesystem, or is an overlay mount failure with the storage on
    overlayfs; ``(False, why)`` when it has another cause (another backing filesystem, no
    d_type, no overlay in the kernel, or storage that isn't on overlayfs); ``(None, why)`` when
    the storage's filesystem is unknown and the error doesn't say."""
    for rx, why in OTHER_CAUSES:
        m = rx.search(output)
        if m:
            return False, why.format(*m.groups())
    named = any(rx.search(output) for rx in NESTED_OVERLAY)
    if storage_fs is not None and storage_fs != "overlayfs":
        return False, f"the storage folder is on {storage_fs}, not overlayfs" + (
            ", yet the error names overlayfs" if named else "")
    if named:
        return True, "the error names overlayfs as the storage's backing filesystem"
    if storage_fs == "overlayfs":
        return True, "the storage folder is on overlayfs and the overlay mount failed"
    return None, "the storage's filesystem is unknown and the error does not name it"


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
        storage_fs = fs.stdout.strip() or None if fs.rc == 0 else None
        if tool in ("podman", "buildah") and res.rc == 0:
            fmt = "{{.Store.GraphDriverName}} {{.Store.GraphOptions}}" if tool == "podman" else "{{.store.GraphDriverName}}"
            info = dh.run([tool, *storage, "info", "--format", fmt], timeout=60)
            driver = info.stdout.strip() or None if info.rc == 0 else None
        elif tool == "docker":  # the daemon's storage, not the probe folder
            info = dh.run(["docker", "info", "--format", "{{.Driver}}\t{{json .DriverStatus}}"], timeout=60)
            driver, storage_fs = _docker_storage(info.stdout) if info.rc == 0 else (None, None)
        attempt = BuildAttempt(tool, argv, res.rc, res.output, match_overlay_error(res.output), driver, storage_fs)
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
            driver, backing = _sdk_storage(client)
            attempt = BuildAttempt("docker-api", argv, 0, output, match_overlay_error(output), driver, backing)
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
            return BuildAttempt("docker-api", argv, 1, output, match_overlay_error(output), *_sdk_storage(client))
        except derr.APIError as exc:
            output = str(exc.explanation or exc)
            return BuildAttempt("docker-api", argv, 1, output, match_overlay_error(output), *_sdk_storage(client))
    finally:
        client.close()


def _sdk_storage(client: object) -> tuple[str | None, str | None]:
    """``(driver, backing filesystem)`` of a Docker-compatible API (``None``s when it won't say)."""
    import json

    try:
        info = client.info()  # type: ignore[attr-defined]
    except Exception:  # info is only evidence; the SDK raises assorted errors
        return None, None
    return _docker_storage(f"{info.get('Driver') or ''}\t{json.dumps(info.get('DriverStatus') or [])}")


def _docker_storage(info: str) -> tuple[str | None, str | None]:
    """``(driver, backing filesystem)`` from ``docker info`` (``Driver<TAB>DriverStatus json``)."""
    import json

    driver, _, status = info.strip().partition("\t")
    try:
        pairs = json.loads(status) if status else []
    except ValueError:
        pairs = []
    if not isinstance(pairs, list):
        pairs = []
    backing = next((str(v) for k, v in (p for p in pairs if isinstance(p, list) and len(p) == 2)
                    if k == "Backing Filesystem"), None)
    return driver or None, {"extfs": "ext2/ext3"}.get(backing or "", backing)


def _safe_url(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//", url)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
