"""Steps for K1-K3 and K7: the kustomization's image overrides, its newTags in history, the bot's
updates, and what deploys it."""
from __future__ import annotations

from pytest_bdd import then

from buildgate import criteria
from buildgate.context import Context
from steps.common import check


@then("the kustomization overrides every built image and the rendered manifests use it")
def _k1(ctx: Context) -> None:
    check(criteria.run("K1", ctx))


@then("every newTag names a commit of the repository's history")
def _k2(ctx: Context) -> None:
    check(criteria.run("K2", ctx))


@then("the history shows the automated tag-update commits")
def _k3(ctx: Context) -> None:
    check(criteria.run("K3", ctx))


@then("every GitOps object deploying the kustomization's folder applies its tags, from the default branch")
def _k7(ctx: Context) -> None:
    check(criteria.run("K7", ctx))
