"""W6, W11: the tags each build computes: branch, SHA and latest on the default branch (latest
from nowhere else), and only valid image tags for every event that runs the workflow."""
from __future__ import annotations

import re

from buildgate.errors import CannotDecide
from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.target import Target
from buildgate.workflow.builds import build_tags, changed_paths, head_sha, image_tags, map_images, triggering_events
from buildgate.workflow.checks.common import probe_events, with_evidence, workflow_for
from buildgate.workflow.metadata import ActionWouldFail, invalid_reason, sanitize_tag
from buildgate.workflow.model import Workflow


def sha_tag_form(tag: str, sha: str) -> str | None:
    """How ``tag`` names commit ``sha`` (``7-hex``, ``sha- prefixed, 7 hex``...), or None."""
    m = re.search(r"(?:^|[-_.])([0-9a-f]{7,40})$", tag)
    if not m or not sha.startswith(m.group(1)):
        return None
    n = len(m.group(1))
    prefix = tag[: m.start(1)]
    return f"bare {n}-hex" if not prefix else f"prefixed {prefix!r}, {n} hex"


def w6_tags(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W6: a push to the default branch tags the branch name, the commit SHA and latest; latest
    is never pushed from another branch."""
    wf = workflow_for(repo, target, workflow)
    sha = head_sha(repo)
    evs = probe_events(target, sha)
    main = evs["push_main"]
    changed = changed_paths(target)
    fails, evidence = [], []
    branch_tag = sanitize_tag(target.default_branch)
    for img, b, tags, problem in image_tags(wf, target, main):
        if b is None:
            fails.append(CheckResult.failed(f"a build of {img.name}", problem or "none", wf.where()))
            continue
        names = [t for t, _ in tags]
        where = tags[0][1] if tags else b.step.where("tags")
        evidence.append(f"{img.name} on {main.describe()} at {sha[:12]}: {', '.join(names) or 'no tags'}")
        if branch_tag not in names:
            fails.append(CheckResult.failed(f"tag {branch_tag!r} for {img.name} on {main.describe()}",
                                            f"tags {names}", where))
        forms = [(t, sha_tag_form(t, sha)) for t in names]
        forms = [(t, f) for t, f in forms if f]
        if not forms:
            fails.append(CheckResult.failed(f"a commit SHA tag ({sha[:7]} or sha-{sha[:7]}) for {img.name}",
                                            f"tags {names}", where))
        else:
            evidence.append(f"{img.name}: SHA tag {forms[0][0]} ({forms[0][1]})")
        if "latest" not in names:
            fails.append(CheckResult.failed(f"tag 'latest' for {img.name} on {main.describe()}", f"tags {names}", where))
    # latest only from the default branch
    for key in ("push_feature", "dispatch_feature"):
        ev = evs[key]
        if not wf.trigger(ev, changed).ok:
            continue
        for img, b, tags, _problem in image_tags(wf, target, ev):
            if b is None or "latest" not in [t for t, _ in tags]:
                continue
            d = wf.pushes(b, ev, changed)
            if d.ok:
                where = next(w for t, w in tags if t == "latest")
                fails.append(CheckResult.failed(f"no 'latest' for {img.name} on {ev.describe()}",
                                                f"'latest' pushed ({', '.join(t for t, _ in tags)})", where))
    if fails:
        return with_evidence(CheckResult.combine(fails, ""), evidence)
    return CheckResult.passed(f"a push to {target.default_branch} tags the branch, the commit SHA and latest; "
                              "latest only from the default branch", evidence)


def w11_valid_tags(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W11: for every triggering event, every tag the build computes is a valid image tag."""
    wf = workflow_for(repo, target, workflow)
    sha = head_sha(repo)
    fails, evidence = [], []
    events = triggering_events(wf, target, sha)
    if not events:
        raise CannotDecide("no event triggers the workflow, so no tag it computes can be checked", wf.where(wf.on_line))
    evaluated: set[str] = set()
    for ev in events:
        for ib in map_images(wf, target, ev):
            if ib.build is None:
                continue
            evaluated.add(ib.image.name)
            b = ib.build
            if not wf.job_runs(b.job.id, ev).ok:
                evidence.append(f"{ib.image.name} on {ev.describe()}: job {b.job.id} does not run")
                continue
            step = b.meta_step or b.step
            if not wf.step_runs(b.job, step, ev, b.matrix).ok:
                evidence.append(f"{ib.image.name} on {ev.describe()}: step '{step.label}' does not run")
                continue
            try:
                tags = next((v for k, v in build_tags(wf, b, ev).items() if k.lower() == ib.image.name.lower()), [])
            except ActionWouldFail as exc:
                fails.append(CheckResult.failed(f"docker/metadata-action to succeed on {ev.describe()}", exc.reason,
                                                exc.where or step.where()))
                continue
            bad = [(t, w, invalid_reason(t)) for t, w in tags if invalid_reason(t)]
            evidence.append(f"{ib.image.name} on {ev.describe()}: {', '.join(t for t, _ in tags) or 'no tags'}")
            for t, w, why in bad:
                fails.append(CheckResult.failed(f"valid image tags for {ib.image.name} on {ev.describe()}",
                                                f"{t!r} ({why})", w))
            if not tags:
                fails.append(CheckResult.failed(f"at least one tag for {ib.image.name} on {ev.describe()}",
                                                "no tags (the build fails without one)", step.where("tags")))
    if fails:  # an invalid tag is a failure even when another image's build is missing
        return with_evidence(CheckResult.combine(fails, ""), evidence)
    unbuilt = [i.name for i in target.images if i.name not in evaluated]
    if unbuilt:
        raise CannotDecide(f"no build of {', '.join(unbuilt)} found for any triggering event, so its tags can't be "
                           f"checked (see W4)", wf.where())
    return CheckResult.passed(f"every computed tag is valid for {', '.join(e.describe() for e in events)}", evidence)
