"""Steps for W1-W11: the build workflow. One library call and ``check()`` per step."""
from __future__ import annotations

from pytest_bdd import given, then

from buildgate.repo import Repo
from buildgate.target import Target
from buildgate.workflow import checks as wc
from buildgate.workflow.model import Workflow
from steps.common import check


@given("the build workflow of the target", target_fixture="workflow")
def _build_workflow(workflow_model: Workflow) -> Workflow:
    """The claimed workflow, or the one doing the job when it was renamed (parsed once per run)."""
    return workflow_model


@then("the workflow file exists at the claimed path")
def _w1(repo: Repo, target: Target) -> None:
    check(wc.w1_workflow_exists(repo, target))


@then("some workflow builds and pushes both images")
def _w1b(repo: Repo, target: Target) -> None:
    check(wc.w1b_some_workflow_builds(repo, target))


@then("the workflow is valid YAML and a valid workflow")
def _w2(repo: Repo, target: Target) -> None:
    # Not through the parsed-workflow fixture: a file that doesn't parse fails W2, it isn't an error.
    check(wc.w2_valid_workflow(repo, target))


@then("it triggers on pushes to the default branch, pull requests and manual runs, for changes to either image")
def _w3(repo: Repo, target: Target, workflow: Workflow) -> None:
    check(wc.w3_triggers(repo, target, workflow))


@then("it builds both images with Buildx from their contexts")
def _w4(repo: Repo, target: Target, workflow: Workflow) -> None:
    check(wc.w4_buildx(repo, target, workflow))


@then("it pushes to GHCR with the workflow token, and never on a pull request")
def _w5(repo: Repo, target: Target, workflow: Workflow) -> None:
    check(wc.w5_push_ghcr(repo, target, workflow))


@then("a push to the default branch is tagged with the branch name, the commit SHA and latest")
def _w6(repo: Repo, target: Target, workflow: Workflow) -> None:
    check(wc.w6_tags(repo, target, workflow))


@then("the builds use the GitHub Actions layer cache")
def _w7(repo: Repo, target: Target, workflow: Workflow) -> None:
    check(wc.w7_gha_cache(repo, target, workflow))


@then("the builds attach SBOM and provenance attestations")
def _w8(repo: Repo, target: Target, workflow: Workflow) -> None:
    check(wc.w8_attestations(repo, target, workflow))


@then("a job updates the kustomization after both builds, only on push to the default branch, with a bounded push retry")
def _w9(repo: Repo, target: Target, workflow: Workflow) -> None:
    check(wc.w9_update_job(repo, target, workflow))


@then("the tag that job writes is a tag the build pushes")
def _w10(repo: Repo, target: Target, workflow: Workflow) -> None:
    check(wc.w10_written_tag_is_pushed(repo, target, workflow))


@then("every tag computed for every triggering event is a valid image tag")
def _w11(repo: Repo, target: Target, workflow: Workflow) -> None:
    check(wc.w11_valid_tags(repo, target, workflow))
