"""Steps for V1-V4 (the devpod): each probes or judges through its criterion's registry entry."""
from __future__ import annotations

from typing import Any

from pytest_bdd import given, then, when

from buildgate import criteria
from buildgate.context import Context
from steps.common import check


@given("the devpod")
def _devpod(ctx: Context) -> Any:
    """Reach the devpod (skipped with a reason when there is none)."""
    return ctx.devpod


@then("the devpod's root filesystem is overlay")
def _v1(ctx: Context) -> None:
    check(criteria.run("V1", ctx))


@when("a throwaway image is built inside the devpod")
def _v2_build(ctx: Context) -> None:
    criteria.observe("V2 build", ctx)


@then("the build fails with the nested-overlay error")
def _v2(ctx: Context) -> None:
    check(criteria.run("V2", ctx))


@when("the local build script runs in the devpod with every build tool shimmed")
def _v3_run(ctx: Context) -> None:
    criteria.observe("V3 run", ctx)


@then("the script exits non-zero before any build or push")
def _v3_stops(ctx: Context) -> None:
    check(criteria.run("V3.stops", ctx))


@then("its output names the build docs")
def _v3_names_docs(ctx: Context) -> None:
    check(criteria.run("V3.names docs", ctx))


@when("the devpod trigger script runs in the devpod with gh shimmed")
def _v4_run(ctx: Context) -> None:
    criteria.observe("V4 run", ctx)


@then("it asks gh for exactly the workflows that build both images")
def _v4_asks(ctx: Context) -> None:
    check(criteria.run("V4.asks", ctx))


@then("the real gh accepts every call it made")
def _v4_gh_accepts(ctx: Context) -> None:
    check(criteria.run("V4.gh accepts", ctx))
