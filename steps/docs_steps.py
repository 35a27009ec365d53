"""Steps for D1-D3 (build docs, README link, dangling paths and options) and S1-S2 (helper scripts)."""
from __future__ import annotations

from pytest_bdd import then

from buildgate import criteria
from buildgate.context import Context
from steps.common import check


@then("the build docs cover the overlay error, GitHub Actions, devpod triggers, local builds and troubleshooting")
def _d1(ctx: Context) -> None:
    check(criteria.run("D1", ctx))


@then("the README links the build docs")
def _d2(ctx: Context) -> None:
    check(criteria.run("D2", ctx))


@then("every path the docs and scripts name exists")
def _d3_paths(ctx: Context) -> None:
    check(criteria.run("D3.paths", ctx))


@then("every helper-script option the docs show is one the script accepts")
def _d3_options(ctx: Context) -> None:
    check(criteria.run("D3.options", ctx))


@then("the helper scripts exist, are executable, parse and pass shellcheck")
def _s1(ctx: Context) -> None:
    check(criteria.run("S1", ctx))


@then("the devpod trigger and status scripts name an existing workflow")
def _s2(ctx: Context) -> None:
    check(criteria.run("S2", ctx))
