"""The devpod layer in one call per step: probe the devpod, then decide V1–V4."""
from __future__ import annotations

from typing import Any

from buildgate.devpod import checks, gh, probes, scan, shims
from buildgate.devpod.host import DevpodHost
from buildgate.devpod.shims import ShimmedRun
from buildgate.result import CheckResult

SHELL_TIMEOUT = 120


def v1_overlay_root(dh: DevpodHost) -> CheckResult:
    """V1: the devpod's root filesystem is overlay."""
    return checks.overlay_root(probes.root_mount(dh), dh.name)


def v2_build_attempt(dh: DevpodHost) -> probes.BuildAttempt:
    """V2's probe: a throwaway build in the devpod (docker SDK if ``docker_host`` is set, else a CLI)."""
    s = dh.settings
    if s.get("docker_host"):
        return probes.build_probe_sdk(s["docker_host"], timeout=float(s.get("timeout") or 180))
    driver = s.get("storage_driver", "overlay")
    return probes.build_probe(dh, builder=s.get("builder", "auto"), storage_driver=driver or None,
                              workdir_base=s.get("workdir", "/var/tmp"), timeout=float(s.get("timeout") or 180))


def v2_build_fails(attempt: probes.BuildAttempt, dh: DevpodHost) -> CheckResult:
    """V2: the build failed with the nested-overlay error."""
    return checks.build_fails_with_overlay_error(attempt, dh.name)


def v3_run_local_build(dh: DevpodHost, repo: Any, target: Any) -> ShimmedRun:
    """V3's probe: the local build script in the devpod, contained and watched (unprivileged, the
    build tools replaced by recording shims, no network, an allow-listed environment, traced; see
    :mod:`buildgate.devpod.isolate`). The script is also read for calls the PATH shims can't see.
    A devpod that can't contain the run runs nothing (``not_run``)."""
    script = target.scripts["local_build"]
    found = scan.scan_script(repo.read_text(script), target.docs, script)
    run = shims.run_with_shims(dh, repo, script, shims.BUILD_TOOLS, timeout=SHELL_TIMEOUT)
    run.scan = found
    return run


def v3_stops_before_build(run: ShimmedRun, dh: DevpodHost, repo: Any, docs: str = "DOCKER_BUILD.md") -> CheckResult:
    """V3: exits non-zero before any build or push (naming the guard's blind spot if not); the
    guard's refusal is the exit that names ``docs``."""
    text = repo.read_text(run.script)
    return checks.stops_before_build(run, text, probes.signals_in_devpod(dh), dh.name, docs)


def v3_names_docs(run: ShimmedRun, target: Any) -> CheckResult:
    """V3: the output names the build docs (``target.docs``)."""
    return checks.names_docs(run, target.docs)


def v4_run_trigger(dh: DevpodHost, repo: Any, target: Any) -> ShimmedRun:
    """V4's probe: the devpod trigger script with ``gh`` (and the build tools) shimmed, contained
    as V3's is (its network namespace has only loopback; every connect attempt is traced)."""
    return shims.run_with_shims(dh, repo, target.scripts["devpod_trigger"], ("gh", *shims.BUILD_TOOLS),
                                 timeout=SHELL_TIMEOUT)


def v4_asks_for_build_workflows(run: ShimmedRun, repo: Any, target: Any) -> CheckResult:
    """V4: it asks gh for exactly the workflow(s) W1b finds."""
    from buildgate.workflow.builds import workflow_names  # late: the workflow layer is heavy

    names, _ = workflow_names(repo, target.workflows_dir)
    expected = {p: names.get(p) for p in checks.build_workflows(repo, target)}
    return checks.asks_for_build_workflows(run.calls, expected, run, repo.read_text(run.script), target.github)


def v4_gh_accepts(run: ShimmedRun, repo: Any) -> CheckResult:
    """V4: the real gh accepts every recorded call, validated offline."""
    verdicts = gh.validate([c for c in run.calls if c.tool == "gh"])
    return checks.gh_accepts_calls(verdicts, run, repo.read_text(run.script))
