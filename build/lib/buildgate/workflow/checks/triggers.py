"""W3: the workflow runs on a push to the default branch, on pull requests and by hand, and its
path filters cover every image's context."""
from __future__ import annotations

import posixpath

from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.target import Target
from buildgate.workflow.builds import head_sha
from buildgate.workflow.checks.common import probe_events, with_evidence, workflow_for
from buildgate.workflow.model import Workflow


def w3_triggers(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W3: push to the default branch, pull requests and manual runs; path filters cover each context."""
    wf = workflow_for(repo, target, workflow)
    ev = probe_events(target, head_sha(repo))
    fails, evidence = [], []
    for key, label in (("push_main", f"a push to {target.default_branch}"), ("pull_request", "a pull request")):
        event = ev[key]
        for img in target.images:
            changed = [posixpath.join(img.context_path, "x") if img.context_path != "." else "x"]
            d = wf.trigger(event, changed)
            evidence.append(f"{event.describe()} changing {changed[0]}: {'runs' if d.ok else 'skipped: ' + d.reason}")
            if not d.ok:
                fails.append(CheckResult.failed(f"{label} changing {changed[0]} to run the workflow", d.reason, d.where))
    if "workflow_dispatch" not in wf.triggers:
        fails.append(CheckResult.failed("a workflow_dispatch trigger (manual runs)",
                                        f"triggers {', '.join(wf.triggers) or 'none'}", wf.where(wf.on_line)))
    else:
        evidence.append("workflow_dispatch: declared")
    # one failure per missing trigger is enough: dedupe identical messages
    seen, uniq = set(), []
    for f in fails:
        if f.message not in seen:
            seen.add(f.message)
            uniq.append(f)
    if uniq:
        return with_evidence(CheckResult.combine(uniq, ""), evidence)
    return CheckResult.passed(f"triggers on push to {target.default_branch}, pull requests and workflow_dispatch; "
                              "path filters cover " + ", ".join(i.context for i in target.images), evidence)
