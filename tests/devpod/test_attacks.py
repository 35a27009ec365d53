"""Hostile scripts in the sandbox devpod (and on ``local://``): one per attack on V2, V3 and V4.

Each V3 attack ends like a good script (a guard that exits 1 naming DOCKER_BUILD.md), and each
V4 attack like a good trigger (``gh workflow run build-push.yml``), so a missed attack would be
a pass. Every case asserts its verdict (never a pass), what the verdict names, that no secret
reached the script's output or the verdict, that nothing was left behind (files, mounts,
processes) and that nothing hung. ``CASES`` counts them.
"""
from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from buildgate.devpod import DevpodHost, api, open_host, shims
from buildgate.errors import CannotDecide, NotApplicable
from buildgate.result import CheckResult
from pytest_buildgate.fixtures.devpod_sandbox import DevpodSandbox, preconditions
from pytest_buildgate.fixtures.sandbox_repo import make_sandbox_repo
from tests.devpod.helpers import track

LOCAL = "scripts/build-images.sh"
TRIGGER = "scripts/build-images-devpod.sh"
GUARD = 'echo "error: this is the devpod; see DOCKER_BUILD.md" >&2\nexit 1\n'
ASK = "gh workflow run build-push.yml --ref main\n"
# Secrets in the devpod's environment (as on local://, where the devpod is the harness machine)
# and in its service account: none may reach a script.
SECRETS = {
    "GHCR_TOKEN": "ghp_" + secrets.token_hex(18),
    "AWS_SECRET_ACCESS_KEY": "aws" + secrets.token_hex(16),
    "REGISTRY_PASSWORD": "pw-" + secrets.token_hex(12),
    "GITHUB_TOKEN": "ghs_" + secrets.token_hex(18),
}
SA_TOKEN = "eyJhbGciOiJSUzI1NiJ9." + secrets.token_hex(24) + "." + secrets.token_hex(24)
WALL = 90  # seconds any one attack may take, setup and all (the script's limit is 120 s; none needs it)
_n = itertools.count()
CASES: list[str] = []


def _case(name: str) -> str:
    CASES.append(name)
    return name


@pytest.fixture(scope="module")
def sandbox() -> Iterator[DevpodSandbox]:
    try:
        sb = DevpodSandbox(env=SECRETS)
    except NotApplicable as exc:
        pytest.skip(str(exc))
    dh = sb.devpod_host()
    sa = "/var/run/secrets/kubernetes.io/serviceaccount"
    dh.write_file(f"{sa}/token", SA_TOKEN)
    # A second, real podman where no shim covers it: a devpod image may ship one.
    dh.check(["sh", "-c", "mkdir -p /opt/devtools && cp /usr/bin/podman /opt/devtools/podman "
              "&& cp /usr/bin/podman /opt/devtools/pbuild"], "copy podman")
    yield sb
    sb.close()
    assert sb.leftovers() == []


@pytest.fixture(scope="module")
def standin() -> Iterator[tuple[str, list[str]]]:
    """A stand-in for api.github.com on the harness's loopback: records every request."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def _any(self) -> None:
            seen.append(f"{self.command} {self.path}")
            self.send_response(204)
            self.end_headers()

        do_GET = do_POST = do_PUT = _any

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{srv.server_address[1]}", seen
    srv.shutdown()
    srv.server_close()


def _needs(dh: DevpodHost, body: str) -> None:
    """Skip an attack whose program the devpod lacks (it would not be an attack, just a typo)."""
    for prog in ("python3", "curl", "strace"):
        if prog in body and not dh.which(prog):
            pytest.skip(f"{prog} is not installed in the sandbox devpod")


def _devpod(sandbox: DevpodSandbox, tmp_path: Path, files: dict[str, str]) -> tuple[DevpodHost, object]:
    _needs(sandbox.devpod_host(), "".join(files.values()))
    sr = make_sandbox_repo(tmp_path / "moltbook-org", files=files, modes={p: 0o755 for p in files})
    path = f"/workspace/attack-{next(_n)}"
    sandbox.put_repo(sr.path, path)
    return track(sandbox.devpod_host(path)), sr.target


def _hostile(body: str, shebang: str = "#!/usr/bin/env bash") -> tuple[str, str]:
    """An attack script that also leaves a daemon behind, carrying a mark unique to this case."""
    mark = f"buildgate-attack-{secrets.token_hex(6)}"
    return f"{shebang}\nsh -c 'sleep 300; :' {mark} >/dev/null 2>&1 &\n{body}", mark


def _marked(mark: str) -> list[str]:
    """Processes anywhere on this machine whose command line carries ``mark`` (none may outlive a run)."""
    out = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if mark.encode() in cmdline.read_bytes():
                out.append(cmdline.parent.name)
        except OSError:
            continue
    return out


def _assert_clean(dh: DevpodHost, run: shims.ShimmedRun, verdicts: list[CheckResult | Exception], started: float,
                  mark: str) -> None:
    """No secret anywhere, nothing left behind (files, mounts, the marked daemon), nothing hung."""
    texts = [run.output, *(str(v) for v in verdicts)]
    for v in verdicts:
        if isinstance(v, CheckResult):
            texts += [v.message, *v.evidence]
    for value in [*SECRETS.values(), SA_TOKEN]:
        assert not any(value in t for t in texts), "a secret reached the script or the verdict"
    assert run.cleaned and not run.timed_out
    assert time.monotonic() - started < WALL
    assert [d for d in dh.made if dh.exists(d)] == []  # type: ignore[attr-defined]
    for d in ("/tmp", "/var/tmp", "/usr", "/bin", "/sbin", "/opt", "/run"):
        assert [m for m in dh.mounts_under(d) if m != "/run"] == [], d
    assert not dh.exists("/usr/local/bin/podman-planted")  # the devpod's files stayed read-only to the script
    assert _marked(mark) == []


def _judged(dh: DevpodHost, target: object, mark: str, probe, judge) -> tuple[shims.ShimmedRun, CheckResult | CannotDecide]:
    """Run ``probe`` (V3's or V4's), judge it, check that the run left nothing and leaked nothing."""
    repo = target.repo()  # type: ignore[attr-defined]
    started = time.monotonic()
    run = probe(dh, repo, target)
    try:
        verdict: CheckResult | CannotDecide = judge(run, repo)
    except CannotDecide as exc:
        verdict = exc
    _assert_clean(dh, run, [verdict], started, mark)
    return run, verdict


def _v3(dh: DevpodHost, target: object, mark: str) -> tuple[shims.ShimmedRun, CheckResult | CannotDecide]:
    return _judged(dh, target, mark, api.v3_run_local_build, lambda run, repo: api.v3_stops_before_build(run, dh, repo))


def _v4(dh: DevpodHost, target: object, mark: str) -> tuple[shims.ShimmedRun, CheckResult | CannotDecide]:
    return _judged(dh, target, mark, api.v4_run_trigger,
                   lambda run, repo: api.v4_asks_for_build_workflows(run, repo, target))


def _fails(verdict: CheckResult | CannotDecide, *needles: str) -> str:
    """The verdict is a failure (never a pass) whose message names every needle."""
    assert isinstance(verdict, CheckResult) and not verdict.ok, verdict
    for needle in needles:
        assert needle in verdict.message, verdict.message
    return verdict.message


# -- V3: removing the shims, or reaching a real build tool ------------------------------------
V3_ATTACKS = {
    _case("unmount the shim, then build"): (
        "if umount /usr/bin/podman 2>/dev/null || umount -l /usr/bin/podman 2>/dev/null; then\n"
        "  /usr/bin/podman --root /tmp/s --storage-driver vfs build -t x api\nfi\n",
        ["found it tried umount2('/usr/bin/podman') (EPERM)"]),
    _case("a new mount namespace (unshare -rm), unmount, build"): (
        "unshare -rm sh -c 'umount /usr/bin/podman && /usr/bin/podman build -t x api' 2>/dev/null || true\n",
        ["found it tried unshare CLONE_NEWNS|CLONE_NEWUSER (ENOSPC)"]),
    _case("absolute path"): ("/usr/bin/podman build -t x api >/dev/null 2>&1 || true\n",
                             ["found it ran `podman build -t x api` (build)"]),
    _case("a copy of the tool"): ("cp /usr/bin/podman /tmp/p && /tmp/p build -t x api\n",
                                  ["found it ran `podman build -t x api` (build)"]),
    _case("through /proc/self/root"): ("/proc/self/root/usr/bin/buildah bud -t x api\n",
                                       ["found it ran `buildah bud -t x api` (build)"]),
    _case("a multi-call symlink"): ("ln -s /usr/bin/podman /tmp/docker && /tmp/docker build -t x api\n",
                                    ["found it ran `podman build -t x api` (build)"]),
    _case("exec -a"): ("(exec -a sh /usr/bin/podman build -t x api)\n", ["found it ran `podman build -t x api` (build)"]),
    _case("python subprocess"): (
        "python3 -c 'import subprocess; subprocess.run([\"/usr/bin/podman\", \"build\", \"-t\", \"x\", \"api\"])'\n",
        ["found it ran `podman build -t x api` (build)"]),
    _case("a path built by printf, run by eval"): (
        'eval "$(printf /usr/bin/%s podman) build -t x api" >/dev/null 2>&1 || true\n',
        ["found it ran `podman build -t x api` (build)"]),
    _case("exec through an open file descriptor"): (
        "exec 3</usr/bin/podman\n/proc/self/fd/3 build -t x api || true\n",
        ["found it ran `podman build -t x api` (build)"]),
    _case("a real podman the shims don't cover"): (
        "/opt/devtools/podman --root /tmp/s --runroot /tmp/r --storage-driver vfs build -t x api >/dev/null 2>&1 || true\n",
        ["found it ran a copy of /usr/bin/podman at /opt/devtools/podman, not the recording shim",
         "a build by a route the shims don't cover"]),
    _case("a real podman under another name"): (
        "/opt/devtools/pbuild build -t x api >/dev/null 2>&1 || true\n",
        ["found it ran a copy of /usr/bin/podman at /opt/devtools/pbuild, not the recording shim"]),
    _case("a real podman under another name, run relative to its folder"): (
        "(cd /opt/devtools && ./pbuild --version >/dev/null 2>&1) || true\n",
        ["found it ran a copy of /usr/bin/podman at /opt/devtools/pbuild, not the recording shim"]),
    _case("a hand-made image layout"): (
        "mkdir -p /tmp/img/blobs/sha256 && printf '{\"imageLayoutVersion\":\"1.0.0\"}' > /tmp/img/oci-layout\n",
        ["found it left an image store or layout in its scratch space: /tmp/img/oci-layout"]),
    _case("a build through an engine's API socket"): (
        "curl -s --unix-socket /run/podman/podman.sock -X POST http://d/v4.0.0/libpod/build >/dev/null 2>&1 || true\n",
        ["found it tried to connect to the engine socket /run/podman/podman.sock (ENOENT)"]),
    _case("a push through another process's unix socket (an egress proxy)"): (
        "python3 -c 'import socket, sys\ns = socket.socket(socket.AF_UNIX)\ntry: s.connect(\"/run/egress.sock\")\n"
        "except OSError: pass' || true\n",
        ["found it tried to connect to the unix socket /run/egress.sock (ENOENT), a way out of its sandbox"]),
    _case("a push with curl, no proxy"): (
        "curl --noproxy '*' -s -m 5 -X PUT http://140.82.112.6/v2/o/r/manifests/dev >/dev/null 2>&1 || true\n",
        ["found it tried to reach the network (connect to 140.82.112.6:80 (ENETUNREACH)), which a push needs"]),
    _case("a clone that escapes the trace"): (
        "python3 -c 'import ctypes, os\nlibc = ctypes.CDLL(None)\npid = libc.syscall(56, 0x00800000 | 17, 0, 0, 0, 0)\n"
        "os._exit(0) if pid == 0 else os.waitpid(pid, 0)'\n",
        ["found it tried clone with CLONE_UNTRACED, to escape the trace (ok)"]),
    _case("ptrace (its own strace)"): ("strace -f -o /dev/null true 2>/dev/null || true\n", ["found it tried ptrace"]),
    _case("split the shims' records by writing markers into their FIFO"): (
        "(while :; do printf '\\001buildgate-call\\001\\000' > /tmp/.buildgate/calls.fifo; done) 2>/dev/null &\n"
        "for i in 1 2 3 4 5 6; do /usr/bin/podman build -t x api; done\nkill $! 2>/dev/null\n",
        ["found it ran `podman build -t x api` (build)"]),
    _case("plant a tool in the devpod for later runs"): (
        "cp /usr/bin/true /usr/local/bin/podman-planted 2>/dev/null\n/usr/local/bin/podman-planted || podman build -t x api\n",
        ["found it ran `podman build -t x api` (build)"]),
}


@pytest.mark.parametrize("name", list(V3_ATTACKS))
def test_v3_attack_never_passes(name: str, sandbox: DevpodSandbox, tmp_path: Path) -> None:
    body, needles = V3_ATTACKS[name]
    text, mark = _hostile(body + GUARD)
    dh, target = _devpod(sandbox, tmp_path, {LOCAL: text})
    run, verdict = _v3(dh, target, mark)
    _fails(verdict, *needles)
    assert run.traced and run.shadowed


def test_v3_flooding_the_records_buys_no_pass(sandbox: DevpodSandbox, tmp_path: Path) -> None:
    _case("flood the record folder to cut the trace short")
    body = "head -c 80000000 /dev/zero > /tmp/.buildgate/calls.fifo 2>/dev/null\n"
    text, mark = _hostile(body + GUARD)
    dh, target = _devpod(sandbox, tmp_path, {LOCAL: text})
    run, verdict = _v3(dh, target, mark)
    assert isinstance(verdict, CannotDecide), verdict
    assert "the trace was cut short" in str(verdict)


def test_v3_a_script_that_hangs_is_cut_off(sandbox: DevpodSandbox, tmp_path: Path) -> None:
    _case("hang (and leave a daemon behind)")
    text, mark = _hostile("sleep 600\n" + GUARD, "#!/bin/sh")
    dh, target = _devpod(sandbox, tmp_path, {LOCAL: text})
    started = time.monotonic()
    run = shims.run_with_shims(dh, target.repo(), LOCAL, shims.BUILD_TOOLS, timeout=3)  # type: ignore[attr-defined]
    assert run.timed_out and time.monotonic() - started < 60
    with pytest.raises(CannotDecide, match="did not finish in the devpod"):
        api.v3_stops_before_build(run, dh, target.repo())  # type: ignore[attr-defined]
    assert _marked(mark) == [] and run.cleaned


def test_v4_a_gh_call_too_long_to_record_whole_is_not_judged(sandbox: DevpodSandbox, tmp_path: Path) -> None:
    _case("a gh call longer than one atomic record (its tail would be judged unseen)")
    body = 'gh workflow run build-push.yml --ref main -f notes="$(head -c 5000 /dev/zero | tr "\\0" x)" --bogus-flag\n'
    text, mark = _hostile(body)
    dh, target = _devpod(sandbox, tmp_path, {TRIGGER: text})
    run = api.v4_run_trigger(dh, target.repo(), target)  # type: ignore[attr-defined]
    assert [c.cut for c in run.calls] == [True]
    with pytest.raises(CannotDecide, match="longer than the shim records"):
        api.v4_gh_accepts(run, target.repo())  # type: ignore[attr-defined]
    assert run.cleaned and _marked(mark) == []


def test_v4_gh_arguments_never_make_the_harness_read_its_files(sandbox: DevpodSandbox, tmp_path: Path) -> None:
    _case("gh arguments that make the replaying gh read /dev/zero or the harness's credentials")
    body = ("gh workflow run build-push.yml --ref main -F notes=@/dev/zero -F token=@/root/.config/gh/hosts.yml\n"
            "gh api repos/o/r/dispatches --input /dev/zero\n")
    text, mark = _hostile(body)
    dh, target = _devpod(sandbox, tmp_path, {TRIGGER: text})
    started = time.monotonic()
    run = api.v4_run_trigger(dh, target.repo(), target)  # type: ignore[attr-defined]
    res = api.v4_gh_accepts(run, target.repo())  # type: ignore[attr-defined]
    assert res.ok, res.message  # the flags parse; what matters is that replaying them read nothing and hung not
    assert time.monotonic() - started < WALL and run.cleaned and _marked(mark) == []


# -- secrets ----------------------------------------------------------------------------------
SNOOP = ("env\nprintenv GHCR_TOKEN AWS_SECRET_ACCESS_KEY REGISTRY_PASSWORD\n"
         "cat /proc/1/environ /proc/*/environ 2>/dev/null | tr '\\0' '\\n'\n"
         "cat /var/run/secrets/kubernetes.io/serviceaccount/token\n"
         "grep -rsh -e ghp_ -e ghs_ /tmp /var/tmp /root /run 2>/dev/null | head -c 2000\n")


def test_secrets_never_reach_a_script(sandbox: DevpodSandbox, tmp_path: Path) -> None:
    _case("read and print secret-shaped variables, /proc/*/environ, the service-account token")
    text, mark = _hostile(SNOOP + GUARD)
    dh, target = _devpod(sandbox, tmp_path, {LOCAL: text})
    run, verdict = _v3(dh, target, mark)  # _assert_clean: no secret in the output or the verdict
    assert isinstance(verdict, CheckResult) and verdict.ok, verdict  # snooping is no build: V3 holds
    assert "KUBERNETES_SERVICE_HOST=10.96.0.1" in run.output and "HOME=/tmp/home" in run.output
    assert "GHCR_TOKEN" not in run.output  # not even the name
    assert set(SECRETS) <= set(run.env_dropped) and "KUBERNETES_SERVICE_HOST" in run.env_names
    assert any(e.startswith("environment: the devpod's ") and "withheld (" in e for e in verdict.evidence)


def test_secrets_on_local_never_reach_a_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """local://: the devpod is the harness machine itself, its environment and files included."""
    _case("local://: read the harness's environment and its /tmp")
    try:
        preconditions()  # the same as the sandbox's: root and namespaces
    except NotApplicable as exc:
        pytest.skip(str(exc))
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    secret_file = Path("/tmp") / f"buildgate-attack-{secrets.token_hex(4)}"
    secret_file.write_text(SECRETS["GHCR_TOKEN"])
    secret_file.chmod(0o644)
    try:
        text, mark = _hostile(SNOOP + GUARD)
        sr = make_sandbox_repo(tmp_path / "moltbook-org", files={LOCAL: text}, modes={LOCAL: 0o755})
        dh = track(open_host("local://"))
        started = time.monotonic()
        run = api.v3_run_local_build(dh, sr.target.repo(), sr.target)
        verdict = api.v3_stops_before_build(run, dh, sr.target.repo())
        assert verdict.ok, verdict.message
        for value in SECRETS.values():
            assert value not in run.output and value not in verdict.message
        assert run.cleaned and time.monotonic() - started < WALL and _marked(mark) == []
    finally:
        secret_file.unlink()


# -- V4: reaching the network ------------------------------------------------------------------
def _v4_attacks(standin: str) -> dict[str, tuple[str, list[str]]]:
    port = standin.rsplit(":", 1)[1]
    return {
        _case("curl --noproxy '*' to api.github.com (name lookup)"): (
            "curl --noproxy '*' -s -m 5 -X POST https://api.github.com/repos/ardenone/moltbook-org/actions/workflows/"
            "build-push.yml/dispatches -d '{\"ref\":\"main\"}' || true\n",
            ["found it tried to reach the network itself: connect to ", ":53 ("]),  # the name lookup
        _case("curl --noproxy '*' to an address"): (
            "curl --noproxy '*' -s -m 5 -X POST https://140.82.112.6/repos/o/r/dispatches || true\n",
            ["found it tried to reach the network itself: connect to 140.82.112.6:443 (ENETUNREACH)"]),
        _case("bash /dev/tcp"): ("exec 3<>/dev/tcp/140.82.112.6/443 || true\n",
                                 ["found it tried to reach the network itself: connect to 140.82.112.6:443 (ENETUNREACH)"]),
        _case("python socket to an address"): (
            "python3 -c 'import socket; socket.create_connection((\"140.82.112.6\", 443), 3)' 2>/dev/null || true\n",
            ["found it tried to reach the network itself: connect to 140.82.112.6:443 (ENETUNREACH)"]),
        _case("python UDP send to a resolver"): (
            "python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b\"x\", (\"8.8.8.8\", 53))' "
            "2>/dev/null || true\n",
            ["found it tried to reach the network itself: send to 8.8.8.8:53 (ENETUNREACH)"]),
        _case("IPv6"): ("curl --noproxy '*' -s -m 5 'http://[2606:50c0:8000::154]/' || true\n",
                        ["found it tried to reach the network itself: connect to [2606:50c0:8000::154]:80 (ENETUNREACH)"]),
        _case("curl through a unix-socket proxy"): (
            "curl -s -m 5 --unix-socket /run/egress.sock http://api.github.com/repos/o/r/dispatches || true\n",
            ["found it tried to reach the network itself: tried to connect to the unix socket /run/egress.sock (ENOENT)"]),
        _case("curl to a loopback stand-in for api.github.com"): (
            f"curl --noproxy '*' -s -m 5 -H 'Host: api.github.com' -X POST http://{standin}/repos/o/r/actions/"
            "workflows/build-push.yml/dispatches || true\n",
            [f"found it tried to reach the network itself: connect to 127.0.0.1:{port} ("]),
        _case("python socket to the loopback stand-in"): (
            f"python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), 3)' 2>/dev/null || true\n",
            [f"found it tried to reach the network itself: connect to 127.0.0.1:{port} ("]),
    }


@pytest.mark.parametrize("index", range(9))
def test_v4_network_attack_never_passes(index: int, sandbox: DevpodSandbox, standin: tuple[str, list[str]],
                                        tmp_path: Path) -> None:
    addr, seen = standin
    name, (body, needles) = list(_v4_attacks(addr).items())[index]
    text, mark = _hostile(body + ASK)
    dh, target = _devpod(sandbox, tmp_path, {TRIGGER: text})
    run, verdict = _v4(dh, target, mark)
    _fails(verdict, *needles)
    assert [c.text for c in run.calls] == ["gh workflow run build-push.yml --ref main"]  # it asked gh too
    assert seen == [], "a request reached the stand-in"


def test_v4_on_local_reaches_no_loopback_service(tmp_path: Path, standin: tuple[str, list[str]]) -> None:
    """local://: the stand-in listens on this very machine's loopback; the script's namespace has its own."""
    _case("local://: curl the harness's own loopback stand-in")
    try:
        preconditions()
    except NotApplicable as exc:
        pytest.skip(str(exc))
    addr, seen = standin
    body = f"curl --noproxy '*' -s -m 5 -X POST http://{addr}/repos/o/r/actions/workflows/build-push.yml/dispatches || true\n"
    text, mark = _hostile(body + ASK)
    sr = make_sandbox_repo(tmp_path / "moltbook-org", files={TRIGGER: text}, modes={TRIGGER: 0o755})
    dh = track(open_host("local://"))
    _needs(dh, body)
    run = api.v4_run_trigger(dh, sr.target.repo(), sr.target)
    verdict = api.v4_asks_for_build_workflows(run, sr.target.repo(), sr.target)
    _fails(verdict, f"found it tried to reach the network itself: connect to {addr} (")
    assert seen == [] and run.cleaned and _marked(mark) == []


# -- V2: an overlay-driver error with another cause ------------------------------------------
FAKE_PODMAN = """#!/bin/sh
# stands in for podman on a devpod whose storage is xfs without d_type
case "$*" in *build*) ;; *) exit 0 ;; esac
echo "Error: %s" >&2
exit 125
"""


@pytest.mark.parametrize("error,workdir,why", [
    ("overlay: the backing xfs filesystem is formatted without d_type support, which leads to incorrect behavior. "
     "Reformat the filesystem with ftype=1 to enable d_type support. Running without d_type is not supported.: "
     "driver not supported", "/var/tmp", "the storage's filesystem lacks d_type"),
    ("failed to mount overlay: invalid argument", "/dev/shm", "the storage folder is on tmpfs, not overlayfs"),
    ("'overlay' is not supported over xfs at \\\"/var/lib/containers/storage/overlay\\\": backing file system is "
     "unsupported for this graph driver", "/var/tmp", "the storage's filesystem is xfs, not overlayfs"),
])
def test_v2_an_overlay_error_with_another_cause_never_passes(error: str, workdir: str, why: str) -> None:
    _case(f"V2: {why}")
    try:
        sb = DevpodSandbox()
    except NotApplicable as exc:
        pytest.skip(str(exc))
    try:
        dh = track(sb.devpod_host())
        dh.write_file("/usr/local/bin/podman", FAKE_PODMAN % error, "0755")
        dh.settings["workdir"] = workdir
        attempt = api.v2_build_attempt(dh)
        with pytest.raises(CannotDecide, match="overlay-driver error of another cause: " + why):
            api.v2_build_fails(attempt, dh)
        assert attempt.cleaned and [d for d in dh.made if dh.exists(d)] == []  # type: ignore[attr-defined]
    finally:
        sb.close()
    assert sb.leftovers() == []


def test_the_attack_count_is_known() -> None:
    """The report counts these: update the number when an attack is added."""
    v4 = len(_v4_attacks("127.0.0.1:1"))
    assert len(V3_ATTACKS) == 21 and v4 == 9
