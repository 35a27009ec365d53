"""Steps of the cluster layer (K5, K6): each runs its criterion's registry entry and ``check``s it."""
from __future__ import annotations

from pytest_bdd import given, then

from buildgate import criteria
from buildgate.context import Context
from steps.common import check


@given("the Deployments the kustomization renders")
def _rendered(ctx: Context) -> None:
    criteria.observe("rendered deployments", ctx)


@then("each Deployment's containers use the kustomization's images")
def _k5_containers(ctx: Context) -> None:
    check(criteria.run("K5.containers", ctx))


@then("each rollout completes within the rollout budget")
def _k5_rollouts(ctx: Context) -> None:
    check(criteria.run("K5.rollouts", ctx))


@then("each Deployment's pods run the registry digest of their tag")
def _k5_digests(ctx: Context) -> None:
    check(criteria.run("K5.digests", ctx))


@then("the Argo CD Application is Synced and Healthy at a revision containing the kustomization commit")
def _k6(ctx: Context) -> None:
    check(criteria.run("K6", ctx))
