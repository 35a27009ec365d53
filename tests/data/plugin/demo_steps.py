"""Steps for tests/data/plugin/demo.feature: each ends a scenario one way."""
from __future__ import annotations

from pytest_bdd import given, then

from buildgate.errors import CannotDecide, NotApplicable
from buildgate.result import CheckResult
from pytest_buildgate.steps.common import check


@given("a demo check that holds", target_fixture="demo")
def _holds():
    return CheckResult.passed("holds", ["demo.txt:1 says yes"])


@given("a demo check that does not hold", target_fixture="demo")
def _fails():
    return CheckResult.failed("yes", "no", "demo.txt:2", ["demo.txt:2 says no"])


@given("a demo check that cannot be decided", target_fixture="demo")
def _undecided():
    raise CannotDecide("expression `${{ vars.X }}` can't be evaluated", "demo.yml:3")


@given("a demo check that does not apply", target_fixture="demo")
def _not_applicable():
    raise NotApplicable("no devpod configured in the target")


@given("a demo check that crashes", target_fixture="demo")
def _crash():
    return {}["missing"]


@then("the demo check passes")
def _passes(demo):
    check(demo)


@given("a demo check that takes its time", target_fixture="demo")
def _slow():
    import os
    import time

    open(os.environ["DEMO_STARTED"], "w").close()
    time.sleep(120)
    return CheckResult.passed("slow but fine")
