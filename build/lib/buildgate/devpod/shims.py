"""A script run in the devpod behind recording shims (V3, V4): every build tool (and ``gh``) is
a shim that records its call and runs nothing. The run is contained and watched by
:mod:`buildgate.devpod.isolate` (unprivileged, shims over the real tools, no network, an
allow-listed environment); :mod:`buildgate.devpod.effects` reads what it did from its trace.
Also: which recorded calls build or push an image.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from buildgate.devpod import effects as fx
from buildgate.devpod import isolate
from buildgate.devpod.host import DevpodHost, argv_text
from buildgate.errors import CannotDecide, InputError

if TYPE_CHECKING:
    from buildgate.devpod.scan import ScriptScan


BUILD_TOOLS = ("docker", "podman", "buildah", "nerdctl", "buildctl", "kaniko", "img")
_MARK = "\x01buildgate-call\x01"


_CUT = "\x01buildgate-cut"  # the shim's last argument when it cut a call's arguments at 4000 bytes


@dataclass(frozen=True)
class Call:
    """One recorded invocation of a shimmed program (its name is the shim's own, not ``$0``).
    ``cut``: the shim recorded only the first 4000 bytes of its arguments."""

    tool: str
    args: tuple[str, ...]
    cut: bool = False

    @property
    def text(self) -> str:
        return argv_text([self.tool, *self.args])


@dataclass
class ShimmedRun:
    """A script run inside the devpod behind the shims, contained (see :mod:`buildgate.devpod.isolate`)."""

    script: str
    argv: list[str]
    rc: int
    output: str
    calls: list[Call]
    timed_out: bool
    staged: bool  # True: the script was copied into a temporary folder (no repo in the devpod)
    cleaned: bool = True
    shadowed: list[str] = field(default_factory=list)  # real tool paths the shims were bound over
    not_run: str | None = None  # why the script was not run at all (the devpod can't contain it)
    scan: ScriptScan | None = None  # the static scan for calls the PATH shims can't see
    effects: list[fx.Effect] = field(default_factory=list)  # what the trace shows it did (see effects)
    traced: bool = False  # the run was traced, and the whole trace was read
    trace_note: str = ""  # why the run was not traced, or the trace is partial
    artefacts: list[str] = field(default_factory=list)  # image stores or layouts left in its scratch space
    scratch_files: int = 0  # entries in its scratch space (/tmp, /var/tmp, /dev/shm) when it ended
    env_names: list[str] = field(default_factory=list)  # the devpod variables it saw
    env_dropped: list[str] = field(default_factory=list)  # the devpod variables withheld from it
    isolation: list[str] = field(default_factory=list)  # how it was contained, one phrase each

    def last_line(self) -> str:
        lines = [ln.strip() for ln in self.output.splitlines() if ln.strip()]
        return lines[-1][:300] if lines else "(no output)"

    def effects_of(self, *kinds: str) -> list[fx.Effect]:
        return [e for e in self.effects if e.kind in kinds]


def parse_calls(raw: bytes) -> list[Call]:
    """Parse the shims' log (records start with a marker; fields are NUL-terminated)."""
    text = raw.decode("utf-8", errors="replace")
    calls = []
    for rec in text.split(_MARK + "\x00")[1:]:
        fields = rec.split("\x00")
        if fields and fields[-1] == "":
            fields = fields[:-1]
        if fields:
            cut = fields[-1] == _CUT
            calls.append(Call(fields[0], tuple(fields[1:-1] if cut else fields[1:]), cut))
    return calls


def run_with_shims(dh: DevpodHost, repo: Any, script: str, shims: Sequence[str], args: Sequence[str] = (),
                   timeout: float = 120, env: dict[str, str] | None = None) -> ShimmedRun:
    """Run ``script`` (repository-relative) in the devpod with ``shims`` standing in for the tools.

    It runs from the devpod's checkout (``dh.repo_dir``) when there is one, else from a staged
    copy, contained by :func:`buildgate.devpod.isolate.run_isolated`. Where the devpod can't
    contain it, nothing runs: ``not_run`` says why (on the sandbox devpod that is an error).
    """
    text = repo.read_text(script)  # InputError when the script is missing: an error verdict
    run_dir = dh.mktemp_dir("buildgate-shim")
    staged = dh.repo_dir is None
    argv = [f"./{script}", *args]
    try:
        if staged:
            parent = script.rsplit("/", 1)[0] if "/" in script else ""
            dh.check(["mkdir", "-p", f"{run_dir}/repo/{parent}" if parent else f"{run_dir}/repo"], "mkdir")
            dh.write_file(f"{run_dir}/repo/{script}", text, "0755")
            cwd = None
        else:
            cwd = dh.repo_dir
            if not dh.exists(f"{cwd}/{script}"):
                raise InputError(f"{script} is not in the devpod's checkout at {cwd}", dh.name)
        run_env, names, dropped = isolate.script_env(dh, env)
        try:
            iso = isolate.run_isolated(dh, argv, cwd=cwd, run_dir=run_dir, tools=shims, env=run_env, limit=timeout)
        except isolate.IsolationUnavailable as exc:
            if dh.sandbox:
                raise
            run = ShimmedRun(script, argv, -1, "", [], False, staged, not_run=exc.reason)
        else:
            run = _read_run(script, argv, staged, iso, shims, names, dropped, dh, cwd)
    finally:
        gone = dh.remove_tree(run_dir)
    run.cleaned = gone
    return run


def _read_run(script: str, argv: list[str], staged: bool, iso: isolate.IsolatedRun, shims: Sequence[str], names: list[str],
              dropped: list[str], dh: DevpodHost, cwd: str | None) -> ShimmedRun:
    """A :class:`ShimmedRun` from the launcher's report (the trace read into effects)."""
    if iso.rc == 126 and "ermission denied" in iso.output:
        mode = dh.run(["stat", "-L", "-c", "%a", f"{cwd}/{script}"], timeout=30).stdout.strip() if cwd else ""
        if mode and int(mode[-1], 8) & 1 == 0 and int(mode, 8) & 0o111:
            raise CannotDecide(f"{script} is executable only by its owner or group (mode {mode}), not by the "
                               f"unprivileged user buildgate runs it as", dh.name)
        raise CannotDecide(f"{script} is not executable in the devpod (exit 126; see S1)", dh.name)
    run = ShimmedRun(script, argv, iso.rc, iso.output, parse_calls(iso.calls_raw), iso.timed_out, staged,
                     shadowed=iso.shadowed, artefacts=iso.artefacts, scratch_files=iso.scratch_files, env_names=names,
                     env_dropped=dropped)
    run.isolation = [f"uid {isolate.RUN_UID}, no capabilities, no_new_privs",
                     "in a user namespace allowed no nested one" if iso.userns
                     else "user namespaces unavailable here (to the script as well)",
                     "network namespace with loopback only" + ("" if iso.loopback else " (down)"),
                     "every mount read-only but a private /tmp, /var/tmp, /dev/shm"]
    if iso.trace is None:
        run.trace_note = "strace is not installed in the devpod"
        return run
    calls = fx.parse_trace(iso.trace)
    mine = fx.script_calls(calls, isolate.START)
    if mine is None:
        raise isolate.IsolationUnavailable(f"the contained script never started: {run.last_line()}", dh.name)
    shim_paths = [*iso.shadowed, *(f"{isolate.SHIM_DIR}/{n}" for n in (*shims, "git"))]
    start = cwd or f"{isolate.BASE}/repo"
    copies = [fx.Effect("exec-tool", f"ran a copy of {real} at {path}, not the recording shim", 0)
              for path, real in isolate.tool_copies(dh, fx.exec_paths(fx.execs(mine, start)), iso.shadowed)]
    run.effects = copies + fx.effects(mine, shim_paths, shims, start)
    run.traced = iso.trace_complete
    if not iso.trace_complete:
        run.trace_note = "the trace was cut short (the script flooded the record folder)"
    return run


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
