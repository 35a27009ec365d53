"""Steps for the registry layer (G1-G6, K4): each runs its criterion's registry entry and ``check``s it."""
from __future__ import annotations

from typing import Any

from pytest_bdd import given, then

from buildgate import criteria
from buildgate.context import Context
from steps.common import check, record


@given("the registry that holds the target's images")
def _registry(ctx: Context) -> Any:
    """The run's registry client (the sandbox registry for the sandbox; skipped with the reason
    when the target has no ``registry:`` section)."""
    return ctx.registry


@given("the commit the workflow built last on the default branch")
def _built(ctx: Context) -> None:
    built = criteria.observe("built commit", ctx)
    record([f"built: {built.commit[:12]} by {built.workflow}; tags "
            + "; ".join(f"{image}: {', '.join(tags)}" for image, tags in built.tags.items())])


@then('every image has the tag "latest"')
def _g1(ctx: Context) -> None:
    check(criteria.run("G1", ctx))


@then("every image has the commit tag the workflow pushes for that commit")
def _g2(ctx: Context) -> None:
    check(criteria.run("G2", ctx))


@then('"latest" and the commit tag resolve to the same digest for every image')
def _g3(ctx: Context) -> None:
    check(criteria.run("G3", ctx))


@then("every platform image of the commit tag carries an SPDX SBOM and a SLSA provenance")
def _g4(ctx: Context) -> None:
    check(criteria.run("G4", ctx))


@then("every provenance names the source repository and that commit")
def _g5(ctx: Context) -> None:
    check(criteria.run("G5", ctx))


@then("every image's OCI labels name the source repository and that commit")
def _g6(ctx: Context) -> None:
    check(criteria.run("G6", ctx))


@then("every newTag of the kustomization exists in the registry for its image")
def _k4(ctx: Context) -> None:
    check(criteria.run("K4", ctx))
