"""Steps for W1-W12, the build workflow: each line runs its criterion through the registry."""
from __future__ import annotations

from pytest_bdd import given

from buildgate.context import Context
from buildgate.workflow.model import Workflow
from pytest_buildgate.steps.common import criterion_steps


@given("the build workflow of the target")
def _build_workflow(ctx: Context) -> Workflow:
    """The claimed workflow, or the one doing the job when it was renamed (parsed once per run)."""
    return ctx.workflow


criterion_steps({
    "the workflow file exists at the claimed path": "W1",
    "some workflow builds and pushes both images": "W1b",
    "the workflow is valid YAML and a valid workflow": "W2",
    "it triggers on pushes to the default branch, pull requests and manual runs, for changes to either image": "W3",
    "it builds both images with Buildx from their contexts": "W4",
    "it pushes each image to its registry with credentials that registry accepts, and never on a pull request": "W5",
    "a push to the default branch is tagged with the branch name, the commit SHA and latest": "W6",
    "the builds use the GitHub Actions layer cache": "W7",
    "the builds attach SBOM and provenance attestations": "W8",
    "a job updates the kustomization after both builds": "W9.after builds",
    "that job runs only on a push to the default branch": "W9.push only",
    "that job may write the repository's contents": "W9.permissions",
    "that job commits the kustomization change": "W9.commits",
    "that job retries a rejected push a bounded number of times": "W9.retry",
    "the tag that job writes is a tag the build pushes": "W10",
    "every tag computed for every triggering event is a valid image tag": "W11",
    "no two workflows or jobs push the same image tag on the same event": "W12",
})
