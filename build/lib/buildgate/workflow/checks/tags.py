"""W6, W11, W12: the tags each build computes: branch, SHA and latest on the default branch
(latest from nowhere else); only valid image tags for every event that runs the workflow; and
one workflow (one job) owning each image tag."""
from __future__ import annotations

import re

from buildgate.errors import BuildgateError, CannotDecide
from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.target import Target
from buildgate.workflow import events as E
from buildgate.workflow import expressions as ex
from buildgate.workflow.builds import (
    build_tags, changed_paths, head_sha, image_tags, load_workflow, map_images, pushed_tags, tagging_builds,
    triggering_events, workflow_files,
)
from buildgate.workflow.checks.common import FEATURE_BRANCH, Judge, probe_events, workflow_for
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
    j = Judge()
    branch_tag = sanitize_tag(target.default_branch)
    try:
        rows = image_tags(wf, target, main, unknown_ok=True)
    except CannotDecide as exc:
        # the rules are judged for a push to main (which events run the workflow is W3's); when
        # they can't be evaluated there and the workflow never runs there, it tags nothing there
        runs = None
        try:
            runs = wf.trigger(main, changed)
        except CannotDecide:
            pass
        if runs is not None and not runs.ok:
            return CheckResult.failed(f"tags {branch_tag!r}, a commit SHA and 'latest' on {main.describe()}",
                                      f"the workflow does not run on it ({runs.reason})", runs.where)
        rows = []
        j.unknown(exc)
    for img, b, tags, problem in rows:
        if b is None:
            j.fail(f"a build of {img.name}", problem or "none", wf.where())
            continue
        names = [t for t, _ in tags if isinstance(t, str)]
        unknown = [t for t, _ in tags if isinstance(t, ex.Unknown)]
        where = tags[0][1] if tags else b.step.where("tags")
        shown = names + [f"<{u.origin.what}>" for u in unknown]
        j.note(f"{img.name} on {main.describe()} at {sha[:12]}: {', '.join(shown) or 'no tags'}")
        forms = [(t, sha_tag_form(t, sha)) for t in names]
        forms = [(t, f) for t, f in forms if f]
        missing = []
        if branch_tag not in names:
            missing.append((f"tag {branch_tag!r} for {img.name} on {main.describe()}", f"tags {shown}"))
        if not forms:
            missing.append((f"a commit SHA tag ({sha[:7]} or sha-{sha[:7]}) for {img.name}", f"tags {shown}"))
        else:
            j.note(f"{img.name}: SHA tag {forms[0][0]} ({forms[0][1]})")
        if "latest" not in names:
            missing.append((f"tag 'latest' for {img.name} on {main.describe()}", f"tags {shown}"))
        if len(missing) > len(unknown):  # the unknown tags can't be all the missing ones
            for expected, found in missing:
                j.fail(expected, found, where)
        elif missing:
            j.unknown(ex.undecided(unknown[0], f"whether {img.name} gets {missing[0][0].split(' for ')[0]}", where))
    # latest only from the default branch
    for key in ("push_feature", "dispatch_feature"):
        ev = evs[key]
        with j.deciding():
            if not wf.trigger(ev, changed).ok:
                continue
        for img in target.images:
            with j.deciding():
                ib = next(x for x in map_images(wf, target, ev) if x.image is img)
                if ib.build is None:
                    continue
                for tb in tagging_builds(wf, img, ib.build, ev):
                    tags = [t for v in build_tags(wf, tb, ev, img.name).values() for t in v]
                    if "latest" not in [t for t, _ in tags]:
                        continue
                    d = wf.pushes(tb, ev, changed)
                    if d.ok:
                        where = next(w for t, w in tags if t == "latest")
                        j.fail(f"no 'latest' for {img.name} on {ev.describe()}",
                               f"'latest' pushed ({', '.join(t for t, _ in tags)})", where)
    return j.result(f"a push to {target.default_branch} tags the branch, the commit SHA and latest; "
                    "latest only from the default branch")


def w11_valid_tags(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W11: for every triggering event, every tag the build computes is a valid image tag; a
    build that does not push needs no tag."""
    wf = workflow_for(repo, target, workflow)
    sha = head_sha(repo)
    changed = changed_paths(target)
    j = Judge()
    events = triggering_events(wf, target, sha)
    if not events:
        raise CannotDecide("no event triggers the workflow, so no tag it computes can be checked", wf.where(wf.on_line))
    evaluated: set[str] = set()
    for ev in events:
        try:
            mapped = map_images(wf, target, ev)
        except CannotDecide as exc:
            j.unknown(exc)
            continue
        for ib in mapped:
            if ib.build is None:
                continue
            evaluated.add(ib.image.name)
            b = ib.build
            with j.deciding():
                if not wf.trigger(ev, changed).ok:
                    continue
                if not b.wf.job_runs(b.job.id, ev, b.job_inputs).ok:
                    j.note(f"{ib.image.name} on {ev.describe()}: job {b.job.id} does not run")
                    continue
                for tb in tagging_builds(wf, ib.image, b, ev):
                    step = tb.meta_step or tb.step
                    if not tb.wf.step_runs(tb.tags_job, step, ev, tb.matrix, tb.inputs).ok:
                        j.note(f"{ib.image.name} on {ev.describe()}: step '{step.label}' does not run")
                        continue
                    try:
                        tags = [t for v in build_tags(wf, tb, ev, ib.image.name, unknown_ok=True).values() for t in v]
                    except ActionWouldFail as exc:
                        j.fail(f"docker/metadata-action to succeed on {ev.describe()}", exc.reason,
                               exc.where or step.where())
                        continue
                    shown = [t if isinstance(t, str) else t.text("…") for t, _ in tags]
                    j.note(f"{ib.image.name} on {ev.describe()}: {', '.join(shown) or 'no tags'}")
                    for t, w in tags:
                        why = invalid_reason(t) if isinstance(t, str) else known_invalid(t)
                        if why:
                            j.fail(f"valid image tags for {ib.image.name} on {ev.describe()}",
                                   f"{t if isinstance(t, str) else t.text('…')!r} ({why})", w)
                        elif not isinstance(t, str):
                            j.unknown(ex.undecided(t, f"whether the tag {t.text('…')!r} of {ib.image.name} is valid", w))
                    if not tags and not tb.by_digest and tb.kind != "imagetools":
                        d = wf.pushes(tb, ev, changed)
                        if d.ok:
                            j.fail(f"at least one tag for {ib.image.name} on {ev.describe()}, where it is pushed",
                                   "no tags (the push fails without one)", step.where("tags"))
                        else:
                            j.note(f"{ib.image.name} on {ev.describe()}: no tag, and none needed ({d.reason})")
    if j.fails:
        return j.result("")
    unbuilt = [i.name for i in target.images if i.name not in evaluated]
    if unbuilt and not j.undecided:
        raise CannotDecide(f"no build of {', '.join(unbuilt)} found for any triggering event, so its tags can't be "
                           f"checked (see W4)", wf.where())
    return j.result(f"every computed tag is valid for {', '.join(e.describe() for e in events)}")


def known_invalid(tag: ex.Unknown) -> str | None:
    """Why a tag known in part is invalid whatever its unknown pieces hold, or None."""
    parts = tag.parts or (tag,)
    first = parts[0]
    if isinstance(first, str) and first[:1] in ("-", "."):
        return f"starts with {first[0]!r}"
    for piece in parts:
        if isinstance(piece, str):
            bad = sorted({c for c in piece if not re.match(r"[A-Za-z0-9._-]", c)})
            if bad:
                return "contains " + ", ".join(repr(c) for c in bad[:5])
    known = sum(len(p) for p in parts if isinstance(p, str))
    return f"longer than 128 characters ({known} known)" if known > 128 else None


def w12_one_owner_per_tag(repo: Repo, target: Target) -> CheckResult:
    """W12: no two workflows (or two jobs) push the same image:tag on the same event."""
    sha = head_sha(repo)
    d = target.default_branch
    events = [E.push_to(d, sha, d), E.push_tag("v1.2.3", sha, d), E.pull_request(7, FEATURE_BRANCH, d, sha, d),
              E.workflow_dispatch(d, sha, None, d), E.schedule(sha, d), E.release("v1.2.3", sha, d),
              E.create_tag("v1.2.3", sha, d)]
    changed = changed_paths(target)
    j = Judge()
    owners: dict[tuple[str, str, str], list[str]] = {}
    undecided: dict[str, list[tuple[str, CannotDecide]]] = {}  # event -> (workflow, why)
    files = workflow_files(repo, target.workflows_dir)
    for path in files:
        try:
            wf = load_workflow(repo, path, target.github)
        except BuildgateError as exc:
            j.note(f"{path}: not read ({exc})")
            continue
        for ev in events:
            try:
                pushed, unknown = pushed_tags(wf, target, ev, changed)
            except CannotDecide as exc:
                pushed, unknown = {}, [exc]
            for u in unknown:
                j.note(f"{path} on {ev.describe()}: cannot decide: {u}")
                undecided.setdefault(ev.describe(), []).append((path, u))
            for (image, tag), who in pushed.items():
                owners.setdefault((ev.describe(), image, tag), []).extend(who)
    # an unknown can hide a clash only where another workflow pushes on the same event too
    for ev, items in undecided.items():
        others = {w.split(" job ", 1)[0] for (e, _i, _t), who in owners.items() if e == ev for w in who}
        paths = {p for p, _u in items}
        if len(paths) > 1 or others - paths:
            j.unknown(items[0][1])
    clashes = {k: v for k, v in owners.items() if len(set(v)) > 1}
    for (ev, image, tag), who in sorted(clashes.items()):
        j.fail(f"one workflow job pushing {image}:{tag} on {ev}", f"{' and '.join(sorted(set(who)))} all push it",
               target.workflows_dir)
    pushed_any = sorted({f"{img}:{tag}" for (_e, img, tag) in owners})
    j.note(f"{len(files)} workflow file(s); tags pushed: {', '.join(pushed_any[:12]) or 'none'}"
           + (" …" if len(pushed_any) > 12 else ""))
    return j.result("every image tag is pushed by one workflow job per event")
