"""V1–V4 against a real overlay-root sandbox devpod, with good and broken script variants.

One sandbox per module (plus one with fuse-overlayfs for the V2 negative); each test asserts
what it left behind. Skips, naming the reason, without root or overlay support.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildgate.devpod import DevpodHost, api, gh
from buildgate.devpod.shims import Call
from buildgate.errors import CannotDecide, NotApplicable
from pytest_buildgate.fixtures.devpod_sandbox import DevpodSandbox
from pytest_buildgate.fixtures.sandbox_repo import SandboxRepo, make_sandbox_repo
from tests.devpod.helpers import track

LOCAL = "scripts/build-images.sh"
TRIGGER = "scripts/build-images-devpod.sh"
_n = itertools.count()


def _sandbox(**kw: object) -> DevpodSandbox:
    try:
        return DevpodSandbox(**kw)  # type: ignore[arg-type]
    except NotApplicable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[DevpodSandbox]:
    sb = _sandbox()
    yield sb
    sb.close()
    assert sb.leftovers() == []


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> SandboxRepo:
    return make_sandbox_repo(tmp_path_factory.mktemp("devpod-good") / "moltbook-org")


def _devpod_for(sb: DevpodSandbox, sr: SandboxRepo) -> DevpodHost:
    path = f"/workspace/repo-{next(_n)}"
    sb.put_repo(sr.path, path)
    return track(sb.devpod_host(path))


@pytest.fixture()
def variant(sandbox: DevpodSandbox, tmp_path: Path):
    """Build a sandbox repository with some files replaced, copied into the devpod."""
    def make(files: dict[str, str]) -> tuple[DevpodHost, SandboxRepo]:
        sr = make_sandbox_repo(tmp_path / "moltbook-org", files=files, modes={p: 0o755 for p in files})
        return _devpod_for(sandbox, sr), sr
    return make


def _no_probe_leftovers(dh: DevpodHost) -> None:
    assert getattr(dh, "made", None) is not None, "track() the devpod host first"
    assert [d for d in dh.made if dh.exists(d)] == []  # type: ignore[attr-defined]
    assert dh.mounts_under("/var/tmp") == [] and dh.mounts_under("/tmp") == []
    for d in ("/usr", "/bin", "/sbin"):  # the shims bound over the real tools lived only as long as the run
        assert dh.mounts_under(d) == [], d
    assert not [ln for ln in _host_processes() if _BG_MARK in ln]


def _host_processes() -> list[str]:
    """Every process's command line on the harness machine (the devpod's processes included)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                out.append(entry.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                pass
    return out


# -- the sandbox looks like a containerd pod -------------------------------------------------
def test_sandbox_looks_like_a_kubernetes_devpod(sandbox: DevpodSandbox) -> None:
    dh = sandbox.devpod_host()
    assert dh.env_value("KUBERNETES_SERVICE_HOST")
    assert dh.is_dir("/var/run/secrets/kubernetes.io/serviceaccount")
    assert not dh.exists("/.dockerenv")
    assert dh.which("fuse-overlayfs") is None
    assert Path("/usr/bin/fuse-overlayfs").exists() == bool(__import__("shutil").which("fuse-overlayfs"))


def test_commands_are_argument_lists(sandbox: DevpodSandbox, tmp_path: Path) -> None:
    dh = sandbox.devpod_host()
    marker = "/tmp/pwned-by-buildgate-test"
    res = dh.run(["printf", "%s|", f"$(touch {marker})", "a b", "'q'", ";ls"], env={"X": "$(id)"})
    assert res.stdout == f"$(touch {marker})|a b|'q'|;ls|"
    assert not dh.exists(marker)
    d = dh.mktemp_dir()
    body = "line 1\n'quoted' \"double\" $HOME `id` \\ back\n" + "x" * 70_000
    dh.write_file(f"{d}/f", body)
    assert dh.read_bytes(f"{d}/f").decode() == body
    assert dh.run(["sh", "-c", 'printf %s "$X"'], env={"X": "a b"}, cwd=d).stdout == "a b"
    assert dh.remove_tree(d)


# -- V1, V2 ----------------------------------------------------------------------------------
def test_v1_overlay_root(sandbox: DevpodSandbox) -> None:
    res = api.v1_overlay_root(sandbox.devpod_host())
    assert res.ok, res.message


def test_v2_build_fails_with_the_overlay_error_and_cleans_up(sandbox: DevpodSandbox) -> None:
    dh = track(sandbox.devpod_host())
    attempt = api.v2_build_attempt(dh)
    res = api.v2_build_fails(attempt, dh)
    assert res.ok, res.message
    assert "not supported over overlayfs" in res.message  # the verdict quotes the matched line
    assert attempt.cleaned and "probe cleaned up" in res.evidence
    _no_probe_leftovers(dh)


def test_v2_fails_when_fuse_overlayfs_makes_builds_work() -> None:
    if not __import__("shutil").which("fuse-overlayfs"):
        pytest.skip("fuse-overlayfs is not installed on this machine")
    sb = _sandbox(fuse_overlayfs=True)
    try:
        dh = track(sb.devpod_host())
        res = api.v2_build_fails(api.v2_build_attempt(dh), dh)
        assert not res.ok
        assert res.message.startswith("expected a container build in the devpod to fail with the nested-overlay error; "
                                      "found `podman build` succeeded")
        assert "the limitation did not reproduce (at sandbox devpod)" in res.message
        _no_probe_leftovers(dh)
    finally:
        sb.close()
    assert sb.leftovers() == []


# -- V3 --------------------------------------------------------------------------------------
def test_v3_good_script_passes(sandbox: DevpodSandbox, good: SandboxRepo) -> None:
    dh = _devpod_for(sandbox, good)
    run = api.v3_run_local_build(dh, good.target.repo(), good.target)
    assert api.v3_stops_before_build(run, dh, good.target.repo()).ok
    assert api.v3_names_docs(run, good.target).ok
    _no_probe_leftovers(dh)


DOCKERENV_ONLY = """#!/usr/bin/env bash
set -euo pipefail
if [ -f /.dockerenv ]; then
  echo "error: can't build inside a container; see DOCKER_BUILD.md" >&2
  exit 1
fi
docker build -t ghcr.io/ardenone/moltbook-api:dev api
docker build -t ghcr.io/ardenone/moltbook-frontend:dev moltbook-frontend
"""
OTHER_DOC = """#!/usr/bin/env bash
if [ -n "${KUBERNETES_SERVICE_HOST:-}" ]; then
  echo "error: this is the devpod; see docs/BUILDING.md" >&2
  exit 1
fi
docker build -t ghcr.io/ardenone/moltbook-api:dev api
"""
BUILDS_ANYWAY = """#!/usr/bin/env bash
set -e
echo "building (see DOCKER_BUILD.md)"
docker build -t ghcr.io/ardenone/moltbook-api:dev api
"""
PUSHES_ANYWAY = """#!/usr/bin/env bash
set -e
echo "pushing the last build (see DOCKER_BUILD.md)"
docker push ghcr.io/ardenone/moltbook-api:latest
"""
WARNS_ONLY = """#!/bin/sh
echo "warning: builds may fail in the devpod; see DOCKER_BUILD.md"
exit 0
"""


def _v3(variant, script: str):
    dh, sr = variant({LOCAL: script})
    repo = sr.target.repo()
    run = api.v3_run_local_build(dh, repo, sr.target)
    _no_probe_leftovers(dh)
    return api.v3_stops_before_build(run, dh, repo), api.v3_names_docs(run, sr.target)


def test_v3_dockerenv_only_guard_fails_saying_why(variant) -> None:
    stops, docs = _v3(variant, DOCKERENV_ONLY)
    assert not stops.ok
    assert "the guard detects /.dockerenv only" in stops.message
    assert "this devpod shows KUBERNETES_SERVICE_HOST, /var/run/secrets/kubernetes.io, overlay root" in stops.message
    assert "ran `docker build -t ghcr.io/ardenone/moltbook-api:dev api` (build)" in stops.message
    assert stops.message.endswith(f"(at {LOCAL}:7)")
    assert "recorded: docker build -t ghcr.io/ardenone/moltbook-frontend:dev moltbook-frontend" in stops.evidence


def test_v3_other_doc_fails(variant) -> None:
    stops, docs = _v3(variant, OTHER_DOC)
    assert stops.ok, stops.message
    assert not docs.ok
    assert docs.message == (f"expected the output of {LOCAL} in the devpod to name DOCKER_BUILD.md; "
                            f"found it names docs/BUILDING.md instead (at {LOCAL})")


def test_v3_builds_anyway_fails(variant) -> None:
    stops, docs = _v3(variant, BUILDS_ANYWAY)
    assert not stops.ok and "(build)" in stops.message and "the script has no devpod guard" in stops.message
    assert stops.message.endswith(f"(at {LOCAL}:4)")
    assert docs.ok  # it names the docs, but it built: V3 fails on the first step


def test_v3_pushes_anyway_fails(variant) -> None:
    stops, _ = _v3(variant, PUSHES_ANYWAY)
    assert not stops.ok and "ran `docker push ghcr.io/ardenone/moltbook-api:latest` (push)" in stops.message


def test_v3_exit_zero_fails(variant) -> None:
    stops, docs = _v3(variant, WARNS_ONLY)
    assert not stops.ok and "expected the local build script to exit non-zero in the devpod; found exit 0" in stops.message


# -- V3: calls the PATH shims can't see ------------------------------------------------------
ABSOLUTE = """#!/usr/bin/env bash
set -euo pipefail
if [ -f /.dockerenv ]; then
  echo "error: can't build inside a container; see DOCKER_BUILD.md" >&2
  exit 1
fi
/usr/bin/podman build -t ghcr.io/ardenone/moltbook-api:dev api
"""
UNSET_HOST = """#!/usr/bin/env bash
unset CONTAINER_HOST
/usr/bin/podman build -t ghcr.io/ardenone/moltbook-api:dev api
echo "error: this is the devpod; see DOCKER_BUILD.md" >&2
exit 1
"""
COMMAND_P = """#!/usr/bin/env bash
command -p docker build -t ghcr.io/ardenone/moltbook-api:dev api || true
if [ -n "${KUBERNETES_SERVICE_HOST:-}" ]; then
  echo "error: this is the devpod; see DOCKER_BUILD.md" >&2
  exit 1
fi
"""
_BG_MARK = f"buildgate-bg-{__import__('secrets').token_hex(6)}"  # unique to this run of the tests
LEAVES_A_PROCESS = f"""#!/usr/bin/env bash
sh -c 'sleep 300; :' {_BG_MARK} &
sleep 0.5
echo "error: this is the devpod; see DOCKER_BUILD.md" >&2
exit 1
"""
GOOD_GUARD_THEN_ABSOLUTE = """#!/usr/bin/env bash
set -euo pipefail
if [ -n "${KUBERNETES_SERVICE_HOST:-}" ]; then
  echo "error: refusing to build in the devpod; see DOCKER_BUILD.md" >&2
  exit 1
fi
/usr/bin/podman build -t ghcr.io/ardenone/moltbook-api:dev api
"""


def _v3_run(variant, script: str):
    dh, sr = variant({LOCAL: script})
    repo = sr.target.repo()
    run = api.v3_run_local_build(dh, repo, sr.target)
    _no_probe_leftovers(dh)
    return run, api.v3_stops_before_build(run, dh, repo)


def test_v3_build_by_absolute_path_is_recorded_and_runs_nothing(variant) -> None:
    run, stops = _v3_run(variant, ABSOLUTE)
    assert [c.text for c in run.calls] == ["podman build -t ghcr.io/ardenone/moltbook-api:dev api"]
    assert run.rc == 0  # the shim ran, not podman (which fails with the overlay error here)
    assert "/usr/bin/podman" in run.shadowed
    assert not stops.ok
    assert "found it ran `podman build -t ghcr.io/ardenone/moltbook-api:dev api` (build); the guard detects " \
           "/.dockerenv only" in stops.message
    assert stops.message.endswith(f"(at {LOCAL}:7)")
    assert f"static scan: `/usr/bin/podman build -t ghcr.io/ardenone/moltbook-api:dev api` calls podman by absolute " \
           f"path /usr/bin/podman at {LOCAL}:7 (build; only after the guard's exit at line 5)" in stops.evidence


def test_v3_unset_container_host_then_absolute_podman_fails(variant) -> None:
    run, stops = _v3_run(variant, UNSET_HOST)
    assert run.rc == 1 and [c.text for c in run.calls] == ["podman build -t ghcr.io/ardenone/moltbook-api:dev api"]
    assert not stops.ok
    assert "it ran `podman build -t ghcr.io/ardenone/moltbook-api:dev api` (build)" in stops.message
    assert stops.message.endswith(f"(at {LOCAL}:3)")
    assert any("runs before the guard's exit at line 5" in e for e in stops.evidence)


def test_v3_command_p_docker_build_fails(variant) -> None:
    run, stops = _v3_run(variant, COMMAND_P)
    assert not stops.ok
    # docker is recorded when it is on the default PATH (/usr/bin:/bin); else the static scan names it
    assert ("it ran `docker build -t ghcr.io/ardenone/moltbook-api:dev api` (build)" in stops.message
            or "it calls `command -p docker build -t ghcr.io/ardenone/moltbook-api:dev api` (docker through "
               "`command -p` (the default PATH); build), which PATH shims can't intercept, and it runs before the "
               "guard's exit at line 5" in stops.message), stops.message
    assert stops.message.endswith(f"(at {LOCAL}:2)")
    assert any(e.startswith("static scan: `command -p docker build") for e in stops.evidence)


def test_v3_processes_a_script_leaves_die_with_it(variant) -> None:
    run, stops = _v3_run(variant, LEAVES_A_PROCESS)  # _no_probe_leftovers: no process with the mark is left
    assert stops.ok, stops.message
    assert run.rc == 1


def _uncontainable(sandbox: DevpodSandbox, sr: SandboxRepo, monkeypatch: pytest.MonkeyPatch) -> DevpodHost:
    """The sandbox seen as a real devpod where the harness isn't root: ``unshare`` is refused."""
    from buildgate.devpod import isolate

    monkeypatch.setattr(isolate, "UNSHARE", ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                                             *isolate.UNSHARE])
    dh = _devpod_for(sandbox, sr)
    return track(DevpodHost(dh.host, "emulated devpod", repo_dir=dh.repo_dir, timeout=dh.timeout, sandbox=False))


def test_v3_uncontainable_devpod_runs_nothing_and_fails_on_what_the_script_says(sandbox, tmp_path, monkeypatch) -> None:
    sr = make_sandbox_repo(tmp_path / "moltbook-org", files={LOCAL: UNSET_HOST}, modes={LOCAL: 0o755})
    dh = _uncontainable(sandbox, sr, monkeypatch)
    repo = sr.target.repo()
    run = api.v3_run_local_build(dh, repo, sr.target)
    assert run.not_run and "unshare failed: Operation not permitted" in run.not_run
    assert run.calls == [] and run.rc == -1
    stops = api.v3_stops_before_build(run, dh, repo)
    assert not stops.ok  # decided without running: the static scan sees the build before the guard
    assert stops.message == (
        "expected the local build script to stop in the devpod before any build or push; found it calls "
        "`/usr/bin/podman build -t ghcr.io/ardenone/moltbook-api:dev api` (podman by absolute path /usr/bin/podman; "
        f"build), which PATH shims can't intercept, and it runs before the guard's exit at line 5 (at {LOCAL}:3)")
    assert any(e.startswith(f"did not run ./{LOCAL} in emulated devpod: cannot contain a script run") for e in stops.evidence)
    _no_probe_leftovers(dh)


def test_uncontainable_devpod_cannot_decide_v3_or_v4(sandbox, tmp_path, monkeypatch) -> None:
    sr = make_sandbox_repo(tmp_path / "moltbook-org", files={LOCAL: GOOD_GUARD_THEN_ABSOLUTE}, modes={LOCAL: 0o755})
    dh = _uncontainable(sandbox, sr, monkeypatch)
    repo = sr.target.repo()
    run = api.v3_run_local_build(dh, repo, sr.target)
    with pytest.raises(CannotDecide, match="was not run: cannot contain a script run in the devpod: .*could build or push "
                                           "for real"):
        api.v3_stops_before_build(run, dh, repo)
    with pytest.raises(CannotDecide):
        api.v3_names_docs(run, sr.target)
    trig = api.v4_run_trigger(dh, repo, sr.target)
    with pytest.raises(CannotDecide, match="could reach GitHub for real"):
        api.v4_asks_for_build_workflows(trig, repo, sr.target)
    with pytest.raises(CannotDecide):
        api.v4_gh_accepts(trig, repo)
    _no_probe_leftovers(dh)


def test_the_sandbox_must_contain_its_runs(sandbox, good, monkeypatch) -> None:
    """On the sandbox devpod a run that can't be contained is an error, never a skipped check."""
    from buildgate.devpod import isolate

    monkeypatch.setattr(isolate, "UNSHARE", ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                                             *isolate.UNSHARE])
    dh = _devpod_for(sandbox, good)
    with pytest.raises(isolate.IsolationUnavailable, match="unshare failed"):
        api.v3_run_local_build(dh, good.target.repo(), good.target)
    _no_probe_leftovers(dh)


# -- V4 --------------------------------------------------------------------------------------
def test_v4_good_trigger_passes(sandbox: DevpodSandbox, good: SandboxRepo) -> None:
    dh = _devpod_for(sandbox, good)
    repo = good.target.repo()
    run = api.v4_run_trigger(dh, repo, good.target)
    assert [c.text for c in run.calls] == ["gh workflow run build-push.yml --ref main"]
    res = api.v4_asks_for_build_workflows(run, repo, good.target)
    assert res.ok, res.message
    res = api.v4_gh_accepts(run, repo)
    assert res.ok, res.message
    _no_probe_leftovers(dh)


BAD_FLAG = """#!/usr/bin/env bash
set -euo pipefail
# start the build and print its run id
gh workflow run build-push.yml --ref main --json databaseId --jq .databaseId
"""
RENAMED = """#!/usr/bin/env bash
set -euo pipefail
gh workflow run build-images.yml --ref main
gh run list --workflow=build-images.yml --limit 1
"""


def test_v4_rejected_flag_fails(variant) -> None:
    dh, sr = variant({TRIGGER: BAD_FLAG})
    repo = sr.target.repo()
    run = api.v4_run_trigger(dh, repo, sr.target)
    assert api.v4_asks_for_build_workflows(run, repo, sr.target).ok
    res = api.v4_gh_accepts(run, repo)
    assert not res.ok
    assert re.fullmatch(r"expected gh \S+ to accept `gh workflow run build-push.yml --ref main --json databaseId "
                        rf"--jq .databaseId`; found unknown flag: --jq \(at {TRIGGER}:4\)", res.message), res.message


def test_v4_renamed_workflow_fails(variant) -> None:
    dh, sr = variant({TRIGGER: RENAMED})
    repo = sr.target.repo()
    run = api.v4_run_trigger(dh, repo, sr.target)
    res = api.v4_asks_for_build_workflows(run, repo, sr.target)
    assert not res.ok
    assert "`gh workflow run build-images.yml --ref main` asks for build-images.yml, not a workflow that builds " \
           f"the images (build-push.yml) (at {TRIGGER}:3)" in res.message
    assert api.v4_gh_accepts(run, repo).ok  # the flags are fine; the workflow is wrong


def test_gh_validation_is_offline() -> None:
    """The real gh never leaves the machine: the replay runs with no network and a dead port."""
    if gh.isolation() == ():
        pytest.skip("no network namespace available; the dead-port -R is the only guard here")
    verdicts = gh.validate([Call("gh", ("api", "https://api.github.com/user")), Call("gh", ("auth", "status"))])
    assert all(v.accepted for v in verdicts)
    assert all("network" in v.reason for v in verdicts)


# -- lifecycle -------------------------------------------------------------------------------
def test_sandbox_leaves_nothing_behind() -> None:
    sb = _sandbox()
    dh = sb.devpod_host()
    # a process that would keep the namespace alive, and a mount inside the devpod
    dh.run(["sh", "-c", "sleep 600 >/dev/null 2>&1 & mkdir -p /mnt/x && mount -t tmpfs t /mnt/x"], timeout=10)
    assert len(sb.processes()) >= 2
    base = sb.base
    sb.close()
    assert sb.leftovers() == []
    assert not base.exists()
    assert str(base) not in Path("/proc/self/mountinfo").read_text()


def test_v2_through_the_docker_api_of_a_devpod_whose_daemon_builds() -> None:
    """A Docker-compatible socket in the devpod (podman system service on vfs): the SDK build
    works, so V2 must fail saying the limitation did not reproduce."""
    import time

    sb = _sandbox()
    try:
        dh = sb.devpod_host()
        work = dh.mktemp_dir("buildgate-v2", base="/var/tmp")
        dh.run(["sh", "-c", 'podman --root "$1/s" --runroot "$1/r" --storage-driver vfs system service --time=0 '
                'unix:///run/buildgate-test.sock >"$1/log" 2>&1 &', "sh", work], timeout=10)
        sock = f"/proc/{sb.keeper.pid}/root/run/buildgate-test.sock"
        for _ in range(100):
            if Path(sock).exists():
                break
            time.sleep(0.05)
        dh.settings["docker_host"] = f"unix://{sock}"
        attempt = api.v2_build_attempt(dh)
        res = api.v2_build_fails(attempt, dh)
        assert not res.ok and "`docker-api build` succeeded (storage vfs): the limitation did not reproduce" in res.message
        assert attempt.cleaned
    finally:
        sb.close()
    assert sb.leftovers() == []


def test_v2_docker_api_unreachable_is_an_error() -> None:
    from buildgate.devpod import probes
    from buildgate.errors import RemoteError

    with pytest.raises(RemoteError, match="cannot reach the devpod's container API"):
        probes.build_probe_sdk("unix:///nonexistent/buildgate.sock", timeout=5)


PUSH_THEN_TRIGGER = """#!/usr/bin/env bash
set -euo pipefail
ref="$(git rev-parse --abbrev-ref HEAD)"
git push origin "$ref"
gh workflow run build-push.yml --ref "$ref"
"""


def test_scripts_run_git_but_never_reach_a_remote(variant) -> None:
    dh, sr = variant({TRIGGER: PUSH_THEN_TRIGGER})
    repo = sr.target.repo()
    run = api.v4_run_trigger(dh, repo, sr.target)
    texts = [c.text for c in run.calls]
    assert texts == ["git rev-parse --abbrev-ref HEAD", "git push origin main", "gh workflow run build-push.yml --ref main"]
    assert run.rc == 0, run.output  # the push was recorded and skipped (there is no remote to push to)
    assert api.v4_asks_for_build_workflows(run, repo, sr.target).ok


def test_a_checkout_an_unprivileged_user_cannot_read_is_named(sandbox: DevpodSandbox, good: SandboxRepo) -> None:
    dh = _devpod_for(sandbox, good)
    dh.check(["chmod", "0700", dh.repo_dir], "chmod")
    with pytest.raises(CannotDecide, match="can't be read by an unprivileged user"):
        api.v3_run_local_build(dh, good.target.repo(), good.target)
    dh.check(["chmod", "0755", dh.repo_dir], "chmod")
    dh.check(["chmod", "0744", f"{dh.repo_dir}/{LOCAL}"], "chmod")
    with pytest.raises(CannotDecide, match=r"executable only by its owner or group \(mode 744\)"):
        api.v3_run_local_build(dh, good.target.repo(), good.target)
    _no_probe_leftovers(dh)
