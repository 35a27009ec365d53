"""What the W-checks share: the probe events, the workflow a check reads, evidence first."""
from __future__ import annotations

from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.target import Target
from buildgate.workflow import events as E
from buildgate.workflow.builds import subject_workflow
from buildgate.workflow.model import Workflow

FEATURE_BRANCH = "feature/buildgate-probe"


def workflow_for(repo: Repo, target: Target, workflow: Workflow | None) -> Workflow:
    return workflow if workflow is not None else subject_workflow(repo, target)


def probe_events(target: Target, sha: str) -> dict[str, E.Event]:
    d = target.default_branch
    return {
        "push_main": E.push_to(d, sha, d),
        "push_feature": E.push_to(FEATURE_BRANCH, sha, d),
        "push_tag": E.push_tag("v1.2.3", sha, d),
        "pull_request": E.pull_request(7, FEATURE_BRANCH, d, sha, d),
        "dispatch_main": E.workflow_dispatch(d, sha, None, d),
        "dispatch_feature": E.workflow_dispatch(FEATURE_BRANCH, sha, None, d),
    }


def with_evidence(result: CheckResult, evidence: list[str]) -> CheckResult:
    result.evidence = evidence + result.evidence
    return result


def describe_images(target: Target) -> str:
    return ", ".join(f"{i.context} -> {i.name}" for i in target.images)
