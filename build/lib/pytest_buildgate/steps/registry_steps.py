"""Steps for the registry layer (G1-G6, K4): each line runs its criterion through the registry."""
from __future__ import annotations

from typing import Any

from pytest_bdd import given

from buildgate import criteria
from buildgate.context import Context
from pytest_buildgate.steps.common import criterion_steps, record


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


criterion_steps({
    'every image has the tag "latest"': "G1",
    "every image has the commit tag the workflow pushes for that commit": "G2",
    '"latest" and the commit tag resolve to the same digest for every image': "G3",
    "every platform image of the commit tag carries an SPDX SBOM and a SLSA provenance": "G4",
    "every provenance names the source repository and that commit": "G5",
    "every image's OCI labels name the source repository and that commit": "G6",
    "every newTag of the kustomization exists in the registry for its image": "K4",
})
