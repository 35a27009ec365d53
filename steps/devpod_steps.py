"""Steps for V1-V4 (the devpod): one library call each, then ``check``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_bdd import given, then, when

from steps.common import check

if TYPE_CHECKING:  # pragma: no cover
    from buildgate.devpod import DevpodHost
    from buildgate.devpod.probes import BuildAttempt
    from buildgate.devpod.shims import ShimmedRun
    from buildgate.repo import Repo
    from buildgate.target import Target


def _api():
    """:mod:`buildgate.devpod.api`, imported when a devpod step runs, not at collection."""
    from buildgate.devpod import api

    return api


@given("the devpod", target_fixture="devpod")
def _the_devpod(devpod_host: DevpodHost) -> DevpodHost:
    """Reach the devpod (skipped with a reason when there is none)."""
    return devpod_host


@then("the devpod's root filesystem is overlay")
def _overlay_root(devpod: DevpodHost) -> None:
    check(_api().v1_overlay_root(devpod))


@when("a throwaway image is built inside the devpod", target_fixture="devpod_build")
def _build(devpod: DevpodHost) -> BuildAttempt:
    return _api().v2_build_attempt(devpod)


@then("the build fails with the nested-overlay error")
def _build_fails(devpod_build: BuildAttempt, devpod: DevpodHost) -> None:
    check(_api().v2_build_fails(devpod_build, devpod))


@when("the local build script runs in the devpod with every build tool shimmed", target_fixture="local_build_run")
def _run_local_build(devpod: DevpodHost, repo: Repo, target: Target) -> ShimmedRun:
    return _api().v3_run_local_build(devpod, repo, target)


@then("the script exits non-zero before any build or push")
def _stops(local_build_run: ShimmedRun, devpod: DevpodHost, repo: Repo) -> None:
    check(_api().v3_stops_before_build(local_build_run, devpod, repo))


@then("its output names the build docs")
def _names_docs(local_build_run: ShimmedRun, target: Target) -> None:
    check(_api().v3_names_docs(local_build_run, target))


@when("the devpod trigger script runs in the devpod with gh shimmed", target_fixture="trigger_run")
def _run_trigger(devpod: DevpodHost, repo: Repo, target: Target) -> ShimmedRun:
    return _api().v4_run_trigger(devpod, repo, target)


@then("it asks gh for exactly the workflows that build both images")
def _asks_exactly(trigger_run: ShimmedRun, repo: Repo, target: Target) -> None:
    check(_api().v4_asks_for_build_workflows(trigger_run, repo, target))


@then("the real gh accepts every call it made")
def _gh_accepts(trigger_run: ShimmedRun, repo: Repo) -> None:
    check(_api().v4_gh_accepts(trigger_run, repo))
