"""Unit tests of the devpod layer's parsing and verdict logic (no devpod, no root needed)."""
from __future__ import annotations

import pytest

from buildgate.devpod import checks, gh, host, probes, shims
from buildgate.devpod.scan import scan_script
from buildgate.devpod.probes import BuildAttempt
from buildgate.devpod.effects import Effect
from buildgate.devpod.shims import Call, ShimmedRun
from buildgate.errors import CannotDecide, NotApplicable, TargetError
from buildgate.target import from_dict

OVERLAY_INFO = (
    "22 1 0:21 / /proc rw - proc proc rw\n"
    "65 43 0:39 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n"
    "66 65 0:6 / /dev rw - devtmpfs devtmpfs rw\n"
)
EXT4_INFO = "29 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n30 29 0:5 / /dev rw - devtmpfs udev rw\n"


def _run(script: str = "scripts/build-images.sh", rc: int = 1, output: str = "", calls: list[Call] | None = None,
         effects: list[Effect] | None = None, traced: bool = True) -> ShimmedRun:
    """A contained, traced run (no effects unless given)."""
    return ShimmedRun(script, [f"./{script}"], rc, output, calls or [], False, False, effects=effects or [], traced=traced,
                      trace_note="" if traced else "strace is not installed in the devpod")


# -- V1 --------------------------------------------------------------------------------------
def test_mountinfo_root_is_the_last_slash_mount() -> None:
    info = "1 0 0:1 / / rw - rootfs rootfs rw\n" + OVERLAY_INFO
    root = probes.parse_mountinfo(info)
    assert root is not None and (root.fstype, root.line, root.option("upperdir")) == ("overlay", 3, "/u")
    assert probes.parse_mountinfo("garbage\n") is None


def test_v1_passes_on_overlay_and_fails_on_ext4_naming_where() -> None:
    assert checks.overlay_root(probes.parse_mountinfo(OVERLAY_INFO), "kubectl://dev-0").ok
    res = checks.overlay_root(probes.parse_mountinfo(EXT4_INFO), "kubectl://dev-0")
    assert not res.ok
    assert res.message == ("expected the devpod's root filesystem to be overlay; found ext4 (source /dev/vda) "
                           "(at kubectl://dev-0:/proc/self/mountinfo:1)")


def test_mount_escapes_are_decoded() -> None:
    assert host.unescape_mount(r"/a\040b\134c") == "/a b\\c"


# -- V2 --------------------------------------------------------------------------------------
@pytest.mark.parametrize("line", [
    "Error: 'overlay' is not supported over overlayfs, a mount_program is required: backing file system is unsupported for this graph driver",
    'level=error msg="failed to mount overlay: invalid argument" storage-driver=overlay2',
    "error mounting source: overlay ... invalid argument",
    "Error starting daemon: error initializing graphdriver: driver not supported: overlay2",
])
def test_overlay_error_lines_match(line: str) -> None:
    assert probes.match_overlay_error(f"STEP 1/2: FROM scratch\n{line}\n") == " ".join(line.split())


def test_other_build_errors_do_not_match() -> None:
    assert probes.match_overlay_error("Cannot connect to the Docker daemon at unix:///var/run/docker.sock") is None


def test_v2_verdicts() -> None:
    err = "Error: 'overlay' is not supported over overlayfs, a mount_program is required"
    ok = checks.build_fails_with_overlay_error(BuildAttempt("podman", ["podman", "build", "."], 125, err, err), "pod")
    assert ok.ok and err in ok.message
    worked = checks.build_fails_with_overlay_error(
        BuildAttempt("podman", ["podman", "build", "."], 0, "COMMIT", None, storage_driver="overlay"), "pod")
    assert not worked.ok and "did not reproduce" in worked.message and worked.message.endswith("(at pod)")
    with pytest.raises(CannotDecide, match="another reason"):
        checks.build_fails_with_overlay_error(
            BuildAttempt("docker", ["docker", "build", "."], 1, "Cannot connect to the Docker daemon", None), "pod")


# -- shims -----------------------------------------------------------------------------------
XFS_DTYPE = ("Error: 'overlay' is not supported over xfs at \"/var/lib/containers/storage/overlay\": backing file system "
             "is unsupported for this graph driver")
NO_DTYPE = ("overlay: the backing xfs filesystem is formatted without d_type support, which leads to incorrect behavior. "
            "Reformat the filesystem with ftype=1 to enable d_type support.: driver not supported")


def _failed(output: str, fs: str | None, tool: str = "podman") -> BuildAttempt:
    return BuildAttempt(tool, [tool, "build", "."], 125, output, probes.match_overlay_error(output), workdir_fs=fs)


def test_v2_passes_only_on_the_nested_overlay_cause() -> None:
    nested = "Error: 'overlay' is not supported over overlayfs, a mount_program is required: backing file system is " \
             "unsupported for this graph driver"
    einval = 'level=error msg="failed to mount overlay: invalid argument" storage-driver=overlay2'
    for output, fs in ((nested, "overlayfs"), (nested, None), (einval, "overlayfs")):
        res = checks.build_fails_with_overlay_error(_failed(output, fs), "pod")
        assert res.ok, (output, fs)
        assert res.message.startswith("`podman build` fails in the devpod with the nested-overlay error")
    # another cause: never a pass, and the reason names it
    for output, fs, why in (
        (XFS_DTYPE, "xfs", "the storage's filesystem is xfs, not overlayfs"),
        (NO_DTYPE, "xfs", "the storage's filesystem lacks d_type"),
        (NO_DTYPE, "overlayfs", "the storage's filesystem lacks d_type"),  # the error wins over the folder
        (einval, "tmpfs", "the storage folder is on tmpfs, not overlayfs"),
        (nested, "ext2/ext3", "the storage folder is on ext2/ext3, not overlayfs, yet the error names overlayfs"),
    ):
        with pytest.raises(CannotDecide, match="overlay-driver error of another cause: " + why.replace("(", "\\(")):
            checks.build_fails_with_overlay_error(_failed(output, fs), "pod")
    with pytest.raises(CannotDecide, match="the storage's filesystem is unknown and the error does not name it"):
        checks.build_fails_with_overlay_error(_failed(einval, None, "docker"), "pod")


def test_docker_info_storage() -> None:
    assert probes._docker_storage('overlay2\t[["Backing Filesystem","xfs"],["Supports d_type","false"]]') == ("overlay2", "xfs")
    assert probes._docker_storage('overlay2\t[["Backing Filesystem","extfs"]]') == ("overlay2", "ext2/ext3")
    assert probes._docker_storage("vfs\tnull") == ("vfs", None)
    assert probes._docker_storage("") == (None, None)


def test_shim_log_parses_empty_and_odd_arguments() -> None:
    mark = "\x01buildgate-call\x01\x00"
    raw = (mark + "docker\x00build\x00-t\x00a b\x00\x00" + mark + "gh\x00workflow\x00run\x00x\ny.yml\x00").encode()
    assert shims.parse_calls(raw) == [Call("docker", ("build", "-t", "a b", "")), Call("gh", ("workflow", "run", "x\ny.yml"))]
    assert shims.parse_calls(b"") == []
    cut = shims.parse_calls(b"\x01buildgate-call\x01\x00gh\x00workflow\x00\x01buildgate-cut\x00")
    assert cut == [Call("gh", ("workflow",), cut=True)]


@pytest.mark.parametrize("tool,args,kind", [
    ("docker", ("build", "-t", "x", "."), "build"),
    ("docker", ("--context", "remote", "image", "build", "."), "build"),
    ("docker", ("buildx", "build", "--push", "."), "push"),
    ("podman", ("--root", "/r", "push", "img"), "push"),
    ("buildah", ("bud", "."), "build"),
    ("docker", ("info",), None),
    ("docker", ("version", "--format", "build"), None),
    ("docker", ("run", "--rm", "alpine", "echo", "build"), None),
    ("gh", ("workflow", "run", "build"), None),
])
def test_build_or_push(tool: str, args: tuple[str, ...], kind: str | None) -> None:
    assert shims.build_or_push(Call(tool, args)) == kind


# -- V3 --------------------------------------------------------------------------------------
DOCKERENV_ONLY = """#!/bin/sh
# a guard that only knows Docker
if [ -f /.dockerenv ]; then
  echo "in a container: see DOCKER_BUILD.md" >&2
  exit 1
fi
docker build -t ghcr.io/ardenone/moltbook-api api
"""
DEVPOD_SIGNALS = ["KUBERNETES_SERVICE_HOST", "service account", "overlay root"]


def test_signals_in_script_ignore_comments() -> None:
    assert probes.signals_in_script(DOCKERENV_ONLY) == ["/.dockerenv"]
    assert probes.signals_in_script("# KUBERNETES_SERVICE_HOST\nfindmnt -n -o FSTYPE / | grep -q overlay\n") == ["overlay root"]


def test_v3_names_the_missing_check_and_the_line() -> None:
    run = _run(rc=0, calls=[Call("docker", ("build", "-t", "ghcr.io/ardenone/moltbook-api", "api"))])
    res = checks.stops_before_build(run, DOCKERENV_ONLY, DEVPOD_SIGNALS, "sandbox")
    assert not res.ok
    assert "detects /.dockerenv only" in res.message
    assert "docker build -t ghcr.io/ardenone/moltbook-api api" in res.message
    assert res.message.endswith("(at scripts/build-images.sh:7)")


def test_v3_exit_zero_without_build_fails_and_no_guard_is_named() -> None:
    res = checks.stops_before_build(_run(rc=0), "echo hello\n", DEVPOD_SIGNALS, "sandbox")
    assert not res.ok and "exit 0" in res.message and "no devpod guard" in res.message


def test_v3_stops_passes_with_info_calls_only() -> None:
    res = checks.stops_before_build(_run(rc=1, calls=[Call("docker", ("info",))]), "", DEVPOD_SIGNALS, "sandbox")
    assert res.ok and "recorded: docker info" in res.evidence


def test_v3_docs() -> None:
    assert checks.names_docs(_run(output="error: see DOCKER_BUILD.md\n"), "DOCKER_BUILD.md").ok
    assert checks.names_docs(_run(output="see docs/DOCKER_BUILD.md\n"), "docs/DOCKER_BUILD.md").ok
    other = checks.names_docs(_run(output="error: read BUILDING.md first\n"), "DOCKER_BUILD.md")
    assert not other.ok and "names BUILDING.md instead" in other.message and "(at scripts/build-images.sh)" in other.message
    dressed = checks.names_docs(_run(output="\x1b[2J\x1b[32mGate: open\x1b[0m token ghp_0123456789abcdefghijklmnopqrstuvwxyz0 "
                                         "see DOCKER_BUILD.md\n"), "DOCKER_BUILD.md")
    assert dressed.ok and "\x1b" not in dressed.message + "".join(dressed.evidence)
    assert "ghp_0123456789" not in dressed.message + "".join(dressed.evidence)
    none = checks.names_docs(_run(output="nope\n"), "DOCKER_BUILD.md")
    assert not none.ok and "no docs named" in none.message


# -- V4 --------------------------------------------------------------------------------------
def test_workflows_in_call_and_repo() -> None:
    assert gh.workflows_in_call(Call("gh", ("workflow", "run", "--ref", "main", "build-push.yml"))) == [("build-push.yml", "run")]
    assert gh.workflows_in_call(Call("gh", ("run", "list", "--workflow=build-push.yml", "-L", "1"))) == [("build-push.yml", "filter")]
    assert gh.workflows_in_call(Call("gh", ("run", "list", "-w", "Build and Push"))) == [("Build and Push", "filter")]
    assert gh.repo_of(Call("gh", ("workflow", "run", "x.yml", "-R", "a/b"))) == "a/b"
    assert gh.repo_of(Call("gh", ("workflow", "run", "x.yml", "--repo=a/b"))) == "a/b"
    assert gh.repo_of(Call("gh", ("workflow", "run", "x.yml"))) is None


def test_replay_never_keeps_the_scripts_repository() -> None:
    argv = gh.replay_argv(Call("gh", ("workflow", "run", "x.yml", "--repo", "ardenone/moltbook-org", "-Rother/x")))
    assert argv == ["workflow", "run", "-R", "127.0.0.1:9/owner/repo", "x.yml"]
    assert gh.replay_argv(Call("gh", ("auth", "status"))) == ["auth", "status"]
    files = gh.replay_argv(Call("gh", ("workflow", "run", "x.yml", "-F", "a=@/dev/zero", "--field=b=@/root/.ssh/id_rsa",
                                       "-Fc=@/etc/shadow", "-f", "d=@literal", "-F", "e=plain")))
    assert files == ["workflow", "run", "-R", "127.0.0.1:9/owner/repo", "x.yml", "-F", "a=@/dev/null",
                     "--field=b=@/dev/null", "-Fc=@/dev/null", "-f", "d=@literal", "-F", "e=plain"]
    assert gh.replay_argv(Call("gh", ("api", "x", "--input", "/dev/zero"))) == ["api", "x", "--input", "/dev/null"]


def test_gh_classify() -> None:
    c = Call("gh", ("workflow", "run", "x.yml"))
    assert gh.classify(c, 1, 'Get "https://127.0.0.1:9/api/v3/x": dial tcp 127.0.0.1:9: connect: connection refused', "2.23.0").accepted
    rej = gh.classify(c, 1, "unknown flag: --jq\n\nUsage:  gh workflow run [flags]\n", "2.23.0")
    assert not rej.accepted and rej.reason == "unknown flag: --jq"
    with pytest.raises(CannotDecide):
        gh.classify(c, 1, "something unexpected", "2.23.0")


EXPECTED = {".github/workflows/build-push.yml": "Build and Push"}


def _trigger(*calls: Call, rc: int = 0) -> ShimmedRun:
    return _run("scripts/build-images-devpod.sh", rc=rc, calls=list(calls))


def test_v4_exact_workflow_by_file_or_name() -> None:
    for w in ("build-push.yml", "Build and Push", "build and push"):
        run = _trigger(Call("gh", ("workflow", "run", w)))
        assert checks.asks_for_build_workflows(run.calls, EXPECTED, run, "", "ardenone/moltbook-org").ok, w
    path = _trigger(Call("gh", ("workflow", "run", ".github/workflows/build-push.yml")))
    res = checks.asks_for_build_workflows(path.calls, EXPECTED, path, "", "ardenone/moltbook-org")
    assert not res.ok and "not a path" in res.message


def test_v4_renamed_workflow_fails_with_line() -> None:
    text = "#!/bin/sh\nset -e\ngh workflow run build-images.yml --ref main\n"
    run = _trigger(Call("gh", ("workflow", "run", "build-images.yml", "--ref", "main")))
    res = checks.asks_for_build_workflows(run.calls, EXPECTED, run, text, "ardenone/moltbook-org")
    assert not res.ok
    assert "asks for build-images.yml" in res.message and "(at scripts/build-images-devpod.sh:3)" in res.message
    assert res.message.startswith("expected scripts/build-images-devpod.sh to ask gh for exactly build-push.yml")


def test_v4_no_trigger_wrong_repo_and_missing_workflow() -> None:
    none = _trigger(Call("gh", ("run", "list")), rc=1)
    assert "no `gh workflow run` call" in checks.asks_for_build_workflows(none.calls, EXPECTED, none, "", "a/b").message
    wrong = _trigger(Call("gh", ("workflow", "run", "build-push.yml", "-R", "someone/else")))
    res = checks.asks_for_build_workflows(wrong.calls, EXPECTED, wrong, "", "ardenone/moltbook-org")
    assert not res.ok and "names repository someone/else, not ardenone/moltbook-org" in res.message
    two = {**EXPECTED, ".github/workflows/other.yml": None}
    one = _trigger(Call("gh", ("workflow", "run", "build-push.yml")))
    res = checks.asks_for_build_workflows(one.calls, two, one, "", "ardenone/moltbook-org")
    assert not res.ok and "other.yml is never triggered" in res.message
    with pytest.raises(CannotDecide):
        checks.asks_for_build_workflows(one.calls, {}, one, "", "ardenone/moltbook-org")


def test_v4_gh_rejection_names_the_line() -> None:
    text = "#!/bin/sh\ngh workflow run build-push.yml --json databaseId --jq .databaseId\n"
    c = Call("gh", ("workflow", "run", "build-push.yml", "--json", "databaseId", "--jq", ".databaseId"))
    run = _trigger(c)
    res = checks.gh_accepts_calls([gh.GhVerdict(c, False, "unknown flag: --jq", "2.23.0")], run, text)
    assert not res.ok
    assert res.message == ("expected gh 2.23.0 to accept `gh workflow run build-push.yml --json databaseId --jq "
                           ".databaseId`; found unknown flag: --jq (at scripts/build-images-devpod.sh:2)")
    assert not checks.gh_accepts_calls([], run, text).ok


# -- host and target -------------------------------------------------------------------------
def test_host_specs() -> None:
    assert host.describe_spec("ssh://user:secret@dev.example:2222?ssh_config=/x") == "ssh://dev.example:2222"
    with pytest.raises(TargetError, match="unsupported scheme"):
        host.open_host("ftp://x")
    with pytest.raises(TargetError):
        host.open_host("just-a-name")
    with pytest.raises(NotApplicable, match="no devpod configured"):
        host.from_target_section({})


def test_target_schema_for_the_devpod_section() -> None:
    t = from_dict({"devpod": {"host": "kubectl://dev-0?namespace=dev&container=main", "builder": "podman",
                              "repo_path": "/workspace/moltbook-org", "docker_host": "unix:///run/podman/podman.sock"}})
    assert t.devpod["builder"] == "podman"
    for bad in ({"host": "ftp://x"}, {"builder": "kaniko"}, {"repo_path": "relative"}, {"surprise": 1}):
        with pytest.raises(TargetError):
            from_dict({"devpod": bad})


def test_sandbox_needs_root_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_buildgate.fixtures.devpod_sandbox import sandbox as sbmod

    monkeypatch.setattr(sbmod.os, "geteuid", lambda: 1000)
    with pytest.raises(NotApplicable, match=r"the sandbox devpod needs root \(running as uid 1000\)"):
        sbmod.preconditions()


# -- V3: the static scan for calls the PATH shims can't see ----------------------------------
GUARD = 'if [ -n "${KUBERNETES_SERVICE_HOST:-}" ]; then\n  echo "see DOCKER_BUILD.md" >&2\n  exit 1\nfi\n'


@pytest.mark.parametrize("before,after,how,reach", [
    ("/usr/bin/podman build -t x .\n", "", "by absolute path /usr/bin/podman", True),
    ("", "/usr/bin/podman build -t x .\n", "by absolute path /usr/bin/podman", False),
    ("unset CONTAINER_HOST\n/usr/bin/podman build -t x .\n", "", "by absolute path /usr/bin/podman", True),
    ("command -p docker build -t x .\n", "", "through `command -p` (the default PATH)", True),
    ("env -i podman build .\n", "", "through `env` with a replaced environment or PATH", True),
    ("exec /usr/bin/docker push x\n", "", "by absolute path /usr/bin/docker", True),
    ('d="$(command -v docker)"\n"$d" build .\n', "", "through $d, a path looked up with command -v", True),
    ("PATH=/usr/bin:/bin\ndocker build .\n", "", "after PATH is reset at line 3", True),
    ("sudo docker push x\n", "", "through `sudo` (its own PATH)", True),
    ("sh -c '/usr/bin/buildah bud .'\n", "", "by absolute path /usr/bin/buildah", True),
    ('b() { /usr/bin/podman build "$@"; }\nb .\n', "", "by absolute path /usr/bin/podman", True),
    ('b() { /usr/bin/podman build "$@"; }\n', "b .\n", "by absolute path /usr/bin/podman", False),
    # the shell reader's function forms: subshell bodies, `function` with a dash in the name
    ('b() (\n  /usr/bin/podman build .\n)\n', "b\n", "by absolute path /usr/bin/podman", False),
    ("function do-build {\n  /usr/bin/podman build .\n}\ndo-build\n", "", "by absolute path /usr/bin/podman", True),
    ('D=`which docker`\n$D build .\n', "", "through $D, a path looked up with command -v", True),
])
def test_scan_finds_calls_the_shims_cannot_see(before: str, after: str, how: str, reach: bool) -> None:
    text = "#!/bin/bash\nset -e\n" + before + GUARD + after
    scan = scan_script(text, "DOCKER_BUILD.md", "s.sh")
    assert len(scan.bypasses) == 1, scan.bypasses
    b = scan.bypasses[0]
    assert (b.how, b.reach, b.blocking) == (how, reach, reach)
    assert scan.guard_exit == text.splitlines().index("  exit 1") + 1


def test_scan_ignores_plain_calls_and_lookups_and_reads_guard_functions() -> None:
    assert scan_script("docker build .\ncommand -v docker\nexec docker push x\n").bypasses == []
    assert scan_script('PATH="${PATH:-/bin}:/opt/x"\nexport PATH=$PATH:/y\ndocker build .\n').bypasses == []
    assert [b.how for b in scan_script("PATH=/opt/x:$PATH\ndocker build .\n").bypasses] == ["after PATH is reset at line 1"]
    die = 'die() { echo "$1; see DOCKER_BUILD.md" >&2; exit 1; }\n[ -n "$KUBERNETES_SERVICE_HOST" ] && die devpod\n' \
          "/usr/bin/podman build .\n/usr/bin/docker info\n"
    scan = scan_script(die)
    assert scan.guard_exit == 2 and "call of die (which exits) at line 2" in scan.guard_note
    assert [(b.line, b.kind, b.reach) for b in scan.bypasses] == [(3, "build", False), (4, None, False)]


def test_v3_fails_on_an_absolute_build_it_cannot_place_naming_file_line() -> None:
    text = "#!/bin/sh\nunset CONTAINER_HOST\n/usr/bin/podman build -t x .\n"
    res = checks.stops_before_build(_run(rc=1), text, DEVPOD_SIGNALS, "pod")
    assert not res.ok
    assert res.message == (
        "expected the local build script to stop in the devpod before any build or push; found the script calls a "
        "build tool by absolute path, which the shims can't intercept: `/usr/bin/podman build -t x .` (podman by "
        "absolute path /usr/bin/podman; build), and can't tell whether it runs before the guard exits (no guard's "
        "exit found (no top-level `exit N` with DOCKER_BUILD.md named just before it), so buildgate can't tell what "
        "runs before it) (at scripts/build-images.sh:3)")


def test_v3_fails_on_each_effect_and_names_it() -> None:
    cases = [
        (Effect("exec-tool", "ran podman at /opt/podman, not the recording shim", 7), "found it ran podman at /opt/podman, "
         "not the recording shim: a build by a route the shims don't cover"),
        (Effect("tamper", "umount2('/usr/bin/podman') (EPERM)", 7), "found it tried umount2('/usr/bin/podman') (EPERM): "
         "what removing the shims or building by hand needs"),
        (Effect("network", "connect to 140.82.112.6:443 (ENETUNREACH)", 7), "found it tried to reach the network "
         "(connect to 140.82.112.6:443 (ENETUNREACH)), which a push needs"),
    ]
    for effect, found in cases:
        res = checks.stops_before_build(_run(rc=1, effects=[effect]), "#!/bin/sh\nexit 1\n", DEVPOD_SIGNALS, "pod")
        assert not res.ok and found in res.message, res.message
        assert f"trace: {effect.text}" in res.evidence
    loop = checks.stops_before_build(_run(rc=1, effects=[Effect("network", "connect to 127.0.0.1:5000 (ECONNREFUSED)", 7,
                                                                loopback=True)]), "exit 1\n", DEVPOD_SIGNALS, "pod")
    assert not loop.ok and "connect to 127.0.0.1:5000" in loop.message  # a registry may listen on loopback
    run = _run(rc=1)
    run.artefacts = ["/tmp/s/overlay-images/images.json"]
    res = checks.stops_before_build(run, "exit 1\n", DEVPOD_SIGNALS, "pod")
    assert not res.ok and "left an image store or layout in its scratch space: /tmp/s/overlay-images/images.json" in res.message


def test_v3_and_v4_never_pass_untraced_or_unrun() -> None:
    untraced = _run(rc=1, traced=False)
    with pytest.raises(CannotDecide, match="not traced \\(strace is not installed in the devpod\\)"):
        checks.stops_before_build(untraced, "exit 1\n", DEVPOD_SIGNALS, "pod")
    # a recorded build still fails without a trace: failing evidence needs no trace
    built = _run(rc=1, traced=False, calls=[Call("podman", ("build", "."))])
    assert not checks.stops_before_build(built, "podman build .\n", DEVPOD_SIGNALS, "pod").ok
    unrun = _run(rc=-1, traced=False)
    unrun.not_run = "cannot contain a script run in the devpod: unshare: Operation not permitted"
    with pytest.raises(CannotDecide, match="was not run: cannot contain"):
        checks.stops_before_build(unrun, "exit 1\n", DEVPOD_SIGNALS, "pod")
    with pytest.raises(CannotDecide):
        checks.names_docs(unrun, "DOCKER_BUILD.md")
    trig = _trigger(Call("gh", ("workflow", "run", "build-push.yml")))
    trig.traced, trig.trace_note = False, "strace is not installed in the devpod"
    with pytest.raises(CannotDecide, match="not traced"):
        checks.asks_for_build_workflows(trig.calls, EXPECTED, trig, "", "ardenone/moltbook-org")


def test_v4_fails_on_any_network_attempt_loopback_included() -> None:
    for eff in (Effect("network", "connect to 140.82.112.6:443 (ENETUNREACH)", 9),
                Effect("network", "connect to 127.0.0.1:8443 (ECONNREFUSED)", 9, loopback=True)):
        run = _trigger(Call("gh", ("workflow", "run", "build-push.yml")))
        run.effects = [eff]
        res = checks.asks_for_build_workflows(run.calls, EXPECTED, run, "", "ardenone/moltbook-org")
        assert not res.ok and f"found it tried to reach the network itself: {eff.text}" in res.message


TRACE = "\n".join([
    '10    execve("' + "".join(f"\\x{b:02x}" for b in b"/usr/bin/unshare") + '", [], 0x1 /* 3 vars */) = 0',
    '10    unshare(CLONE_NEWUSER)            = 0',
    '10    execve("' + "".join(f"\\x{b:02x}" for b in b"/tmp/.buildgate/start") + '", ["\\x73"], 0x1 /* 3 vars */) = 0',
    '10    clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x1) = 11',
    '11    execve("' + "".join(f"\\x{b:02x}" for b in b"/opt/x/podman") + '", ["' + "".join(f"\\x{b:02x}" for b in b"podman")
    + '", "\\x62"], 0x1 /* 3 vars */ <unfinished ...>',
    '10    connect(3, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("'
    + "".join(f"\\x{b:02x}" for b in b"140.82.112.6") + '")}, 16) = -1 ENETUNREACH (Network is unreachable)',
    '11    <... execve resumed>)              = 0',
    '10    umount2("' + "".join(f"\\x{b:02x}" for b in b"/usr/bin/podman") + '", 0) = -1 EPERM (Operation not permitted)',
    '10    unshare(CLONE_NEWUSER|CLONE_NEWNS) = -1 ENOSPC (No space left on device)',
    '10    clone3({flags=CLONE_VM|CLONE_UNTRACED, exit_signal=SIGCHLD}, 88) = 12',
    '10    execveat(3, "", ["\\x78"], 0x1 /* 0 vars */, AT_EMPTY_PATH) = 0',
    '12    connect(4, {sa_family=AF_UNIX, sun_path="' + "".join(f"\\x{b:02x}" for b in b"/run/podman/podman.sock")
    + '"}, 110) = -1 ENOENT (No such file or directory)',
    '12    connect(4, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "'
    + "".join(f"\\x{b:02x}" for b in b"::1") + '", &sin6_addr), sin6_scope_id=0}, 28) = -1 ECONNREFUSED (Connection refused)',
    '12    connect(5, {sa_family=AF_UNIX, sun_path="' + "".join(f"\\x{b:02x}" for b in b"/var/run/nscd/socket")
    + '"}, 110) = -1 ENOENT (No such file or directory)',
    '12    connect(5, {sa_family=AF_UNIX, sun_path=@"' + "".join(f"\\x{b:02x}" for b in b"/tmp/.X11-unix/X0")
    + '"}, 110) = -1 ECONNREFUSED (Connection refused)',
    '12    connect(5, {sa_family=AF_UNIX, sun_path="' + "".join(f"\\x{b:02x}" for b in b"/run/egress/proxy.sock")
    + '"}, 110) = 0',
    '12    execve("' + "".join(f"\\x{b:02x}" for b in b"/usr/bin/podman") + '", ["\\x70"], 0x1 /* 0 vars */) = 0',
    "12    +++ exited with 0 +++",
])


def test_trace_parsing_keeps_only_the_scripts_calls_and_names_each_effect() -> None:
    from buildgate.devpod import effects as fx

    calls = fx.parse_trace(TRACE)
    mine = fx.script_calls(calls, "/tmp/.buildgate/start")
    assert mine is not None and fx.script_calls(calls[:2], "/tmp/.buildgate/start") is None
    found = fx.effects(mine, ["/usr/bin/podman"], shims.BUILD_TOOLS)
    assert [(e.kind, e.text) for e in found] == [
        ("network", "connect to 140.82.112.6:443 (ENETUNREACH)"),
        ("exec-tool", "ran podman at /opt/x/podman, not the recording shim (podman b)"),
        ("tamper", "umount2('/usr/bin/podman') (EPERM)"),
        ("tamper", "unshare CLONE_NEWNS|CLONE_NEWUSER (ENOSPC)"),
        ("tamper", "clone3 with CLONE_UNTRACED, to escape the trace (ok)"),
        ("exec-anon", "ran a binary from an open file descriptor (execveat), which no path names"),
        ("engine-socket", "tried to connect to the engine socket /run/podman/podman.sock (ENOENT)"),
        ("network", "connect to [::1]:80 (ECONNREFUSED)"),
        ("socket", "tried to connect to the unix socket /run/egress/proxy.sock (ok), a way out of its sandbox"),
    ]
    assert [e.loopback for e in found if e.kind == "network"] == [False, True]
    # the launcher's own unshare(CLONE_NEWUSER), before the start wrapper, is not the script's


def _hex(text: str) -> str:
    return "".join(f"\\x{b:02x}" for b in text.encode())


def test_relative_execs_are_placed_through_chdir_and_fork() -> None:
    from buildgate.devpod import effects as fx

    trace = "\n".join([
        f'20    chdir("{_hex("/opt")}") = 0',
        '20    clone(child_stack=NULL, flags=SIGCHLD) = 21',
        f'21    chdir("{_hex("x")}") = 0',
        f'21    execve("{_hex("./pbuild")}", ["{_hex("pbuild")}"], 0x1 /* 0 vars */) = 0',
        f'20    execve("{_hex("bin/podman")}", ["{_hex("podman")}"], 0x1 /* 0 vars */) = 0',
        '20    fchdir(3) = 0',
        f'20    execve("{_hex("./docker")}", ["{_hex("docker")}"], 0x1 /* 0 vars */) = 0',
    ])
    calls = fx.parse_trace(trace)
    ran = fx.execs(calls, "/workspace/repo")
    assert [(x.prog, x.placed) for x in ran] == [("/opt/x/pbuild", True), ("/opt/bin/podman", True), ("./docker", False)]
    assert fx.exec_paths(ran) == ["/opt/x/pbuild", "/opt/bin/podman"]
    found = [(e.kind, e.text) for e in fx.effects(calls, [], shims.BUILD_TOOLS, "/workspace/repo")]
    assert found == [("exec-tool", "ran podman at /opt/bin/podman, not the recording shim (podman)"),
                     ("exec-anon", "ran ./docker from a folder the trace can't name (after fchdir)")]


def test_allowed_env_keeps_pod_variables_and_drops_secrets() -> None:
    from buildgate.devpod.isolate import allowed_env

    keep, dropped = allowed_env({
        "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C", "TERM": "xterm", "HOSTNAME": "devpod-0",
        "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443", "KUBERNETES_PORT": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1", "REDIS_SERVICE_PORT_CLIENT": "6379",
        "GHCR_TOKEN": "ghp_0123456789abcdefghijklmnopqrstuvwxyz", "AWS_SECRET_ACCESS_KEY": "x", "GH_TOKEN": "t",
        "LD_PRELOAD": "/tmp/x.so", "BASH_ENV": "/tmp/rc", "SECRET_PORT": "hunter2", "API_SERVICE_HOST": "10.0.0.1;id",
        "REGISTRY_PASSWORD": "pw", "SSH_AUTH_SOCK": "/tmp/ssh",
    })
    assert sorted(keep) == ["HOSTNAME", "KUBERNETES_PORT", "KUBERNETES_PORT_443_TCP_ADDR", "KUBERNETES_SERVICE_HOST",
                            "KUBERNETES_SERVICE_PORT", "LANG", "LC_ALL", "PATH", "REDIS_SERVICE_PORT_CLIENT", "TERM"]
    assert "GHCR_TOKEN" in dropped and "SECRET_PORT" in dropped and "API_SERVICE_HOST" in dropped


def test_launcher_report_sections_and_shellcheck() -> None:
    import subprocess

    from buildgate.devpod import isolate
    from buildgate.devpod.launcher import LAUNCHER
    from buildgate.scripts import find_shellcheck

    out = b"noise\n@@buildgate meta 9 9\nrc=1\nx=y\n\n@@buildgate out 3 10\nabc\n@@buildgate bad"
    assert isolate.parse_report(out) == {"meta": (b"rc=1\nx=y\n", 9), "out": (b"abc", 10)}
    sc = find_shellcheck()
    if sc is None:
        pytest.skip("shellcheck is not installed")
    proc = subprocess.run([sc, "-s", "sh", "-S", "warning", "-"], input=LAUNCHER, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
