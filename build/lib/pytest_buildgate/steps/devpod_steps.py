"""Steps for V1-V4 (the devpod): each probes or judges through its criterion's registry entry."""
from __future__ import annotations

from typing import Any

from pytest_bdd import given

from buildgate.context import Context
from pytest_buildgate.steps.common import criterion_steps, observation_step


@given("the devpod")
def _devpod(ctx: Context) -> Any:
    """Reach the devpod (skipped with a reason when there is none)."""
    return ctx.devpod


observation_step("when", "a throwaway image is built inside the devpod", "V2 build")
observation_step("when", "the local build script runs in the devpod with every build tool shimmed", "V3 run")
observation_step("when", "the devpod trigger script runs in the devpod with gh shimmed", "V4 run")

criterion_steps({
    "the devpod's root filesystem is overlay": "V1",
    "the build fails with the nested-overlay error": "V2",
    "the script exits non-zero before any build or push": "V3.stops",
    "its output names the build docs": "V3.names docs",
    "it asks gh for exactly the workflows that build both images": "V4.asks",
    "the real gh accepts every call it made": "V4.gh accepts",
})
