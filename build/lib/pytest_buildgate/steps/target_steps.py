"""Steps every layer shares: naming the target's parts."""
from __future__ import annotations

from pytest_bdd import given

from buildgate.context import Context
from buildgate.repo import Repo


@given("the target repository")
def _target_repository(ctx: Context) -> Repo:
    """Open the target repository (an error verdict if it can't be opened)."""
    return ctx.repo
