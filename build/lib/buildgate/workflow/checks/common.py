"""What the W-checks share: the probe events, the workflow a check reads, evidence first, and
the :class:`Judge` that turns failures and undecided links into one verdict."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from buildgate.errors import CannotDecide
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


class Judge:
    """A check's failures, evidence and undecided links, turned into one verdict: fail when
    anything failed (the undecided are listed in the evidence), CannotDecide (the first
    undecided, naming its expression and ``file:line``) when nothing failed but something could
    not be decided, pass otherwise. This is the rule for unknown values: a verdict the unknowns
    can't change is given; an error only when it really depends on one."""

    def __init__(self) -> None:
        self.fails: list[CheckResult] = []
        self.evidence: list[str] = []
        self.undecided: list[CannotDecide] = []

    def fail(self, expected: str, found: str, where: str | None = None) -> None:
        self.fails.append(CheckResult.failed(expected, found, where))

    def note(self, line: str) -> None:
        self.evidence.append(line)

    def unknown(self, exc: CannotDecide) -> None:
        self.undecided.append(exc)

    @contextmanager
    def deciding(self) -> Iterator[None]:
        """Run a block; a CannotDecide it raises is recorded, not raised."""
        try:
            yield
        except CannotDecide as exc:
            self.unknown(exc)

    def result(self, ok_message: str) -> CheckResult:
        if self.fails:
            seen, uniq = set(), []
            for f in self.fails:
                if f.message not in seen:
                    seen.add(f.message)
                    uniq.append(f)
            extra = [f"cannot decide: {u}" for u in self.undecided]
            return with_evidence(CheckResult.combine(uniq, ""), self.evidence + extra)
        if self.undecided:
            first = self.undecided[0]
            more = f" (and {len(self.undecided) - 1} more undecided)" if len(self.undecided) > 1 else ""
            raise CannotDecide(first.reason + more, first.where)
        return CheckResult.passed(ok_message, self.evidence)


def triggering(wf: Workflow, target: Target, sha: str, *, pull_requests: bool = False) -> list[E.Event]:
    """The events that run the workflow (one per kind), without or only with pull requests."""
    from buildgate.workflow.builds import triggering_events

    return [ev for ev in triggering_events(wf, target, sha) if ev.is_pr_event == pull_requests]


def build_event(wf: Workflow, target: Target, sha: str) -> E.Event:
    """The event a build is read for (its context, name, cache, attestations): a push to the
    default branch when that runs the workflow, else the first event that does (a workflow that
    runs only on tags or pull requests is read as it runs there, not for a push it never sees)."""
    main = probe_events(target, sha)["push_main"]
    from buildgate.workflow.builds import changed_paths

    try:
        if wf.trigger(main, changed_paths(target)).ok:
            return main
    except CannotDecide:
        return main
    events = triggering(wf, target, sha) or triggering(wf, target, sha, pull_requests=True)
    return events[0] if events else main
