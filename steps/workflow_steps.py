"""Steps for W1-W12: the build workflow. Each runs its criterion's registry entry and ``check``s it."""
from __future__ import annotations

from pytest_bdd import given, then

from buildgate import criteria
from buildgate.context import Context
from buildgate.workflow.model import Workflow
from steps.common import check


@given("the build workflow of the target")
def _build_workflow(ctx: Context) -> Workflow:
    """The claimed workflow, or the one doing the job when it was renamed (parsed once per run)."""
    return ctx.workflow


@then("the workflow file exists at the claimed path")
def _w1(ctx: Context) -> None:
    check(criteria.run("W1", ctx))


@then("some workflow builds and pushes both images")
def _w1b(ctx: Context) -> None:
    check(criteria.run("W1b", ctx))


@then("the workflow is valid YAML and a valid workflow")
def _w2(ctx: Context) -> None:
    check(criteria.run("W2", ctx))


@then("it triggers on pushes to the default branch, pull requests and manual runs, for changes to either image")
def _w3(ctx: Context) -> None:
    check(criteria.run("W3", ctx))


@then("it builds both images with Buildx from their contexts")
def _w4(ctx: Context) -> None:
    check(criteria.run("W4", ctx))


@then("it pushes each image to its registry with credentials that registry accepts, and never on a pull request")
def _w5(ctx: Context) -> None:
    check(criteria.run("W5", ctx))


@then("a push to the default branch is tagged with the branch name, the commit SHA and latest")
def _w6(ctx: Context) -> None:
    check(criteria.run("W6", ctx))


@then("the builds use the GitHub Actions layer cache")
def _w7(ctx: Context) -> None:
    check(criteria.run("W7", ctx))


@then("the builds attach SBOM and provenance attestations")
def _w8(ctx: Context) -> None:
    check(criteria.run("W8", ctx))


@then("a job updates the kustomization after both builds")
def _w9_after_builds(ctx: Context) -> None:
    check(criteria.run("W9.after builds", ctx))


@then("that job runs only on a push to the default branch")
def _w9_push_only(ctx: Context) -> None:
    check(criteria.run("W9.push only", ctx))


@then("that job may write the repository's contents")
def _w9_permissions(ctx: Context) -> None:
    check(criteria.run("W9.permissions", ctx))


@then("that job commits the kustomization change")
def _w9_commits(ctx: Context) -> None:
    check(criteria.run("W9.commits", ctx))


@then("that job retries a rejected push a bounded number of times")
def _w9_retry(ctx: Context) -> None:
    check(criteria.run("W9.retry", ctx))


@then("the tag that job writes is a tag the build pushes")
def _w10(ctx: Context) -> None:
    check(criteria.run("W10", ctx))


@then("every tag computed for every triggering event is a valid image tag")
def _w11(ctx: Context) -> None:
    check(criteria.run("W11", ctx))


@then("no two workflows or jobs push the same image tag on the same event")
def _w12(ctx: Context) -> None:
    check(criteria.run("W12", ctx))
