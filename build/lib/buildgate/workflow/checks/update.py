"""W9, W10: the job that writes the new tags into the kustomization: it runs after both builds,
only on a push to the default branch, commits and pushes with a bounded retry (W9), and the tag
it writes is one the build pushes (W10)."""
from __future__ import annotations

import posixpath
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from buildgate.errors import CannotDecide
from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.shell import Arith, Loop, Node, Script, Simple, dequote, parse, substitutions, walk
from buildgate.target import Target
from buildgate.workflow import expressions as ex
from buildgate.workflow import tagwrites
from buildgate.workflow.builds import changed_paths, head_sha, image_tags, map_images
from buildgate.workflow.checks.common import Judge, probe_events, with_evidence, workflow_for
from buildgate.workflow.model import Job, Step, Workflow

_GIT_VALUE_OPTS = {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"}
_SYNC = ("pull", "rebase", "fetch")  # what brings the remote's commits in before the next push


@lru_cache(maxsize=256)
def _script(run: str) -> Script:
    return parse(run)


def git_subcommand(argv: list[str]) -> str | None:
    """``commit`` for ``git [-C dir] [-c k=v] [--no-pager] commit ...`` (unquoted words); None
    when the command is not git."""
    if not argv or argv[0].rsplit("/", 1)[-1] != "git":
        return None
    k = 1
    while k < len(argv) and argv[k].startswith("-"):
        k += 2 if argv[k] in _GIT_VALUE_OPTS else 1
    return argv[k] if k < len(argv) else None


def git_commands(nodes: list[Node], sub: str | tuple[str, ...]) -> list[list[str]]:
    """The unquoted words of every ``git SUB`` command under ``nodes``, in script order."""
    subs = (sub,) if isinstance(sub, str) else sub
    out = []
    for node, _up in walk(nodes):
        if isinstance(node, Simple):
            argv = [dequote(w) for w in node.argv]
            if git_subcommand(argv) in subs:
                out.append(argv)
    return out


def _runs(step: Step, *words: str) -> bool:
    """The step's ``run:`` script has a command starting with ``words`` (``git commit``: git with
    that subcommand)."""
    if not step.run:
        return False
    nodes = _script(step.run).body
    if words[0] == "git":
        return bool(git_commands(nodes, words[1]))
    return any(isinstance(n, Simple) and [dequote(w) for w in n.argv[:len(words)]] == list(words)
               for n, _up in walk(nodes))


def _edits_kustomization(wf: Workflow, job: Job, target: Target) -> list[Step]:
    kpath = target.kustomization
    kdir, kbase = posixpath.split(kpath)
    out = []
    for s in job.steps:
        text = s.run or ""
        if s.run is None:
            # actions that set images in a kustomization (e.g. imranismail/setup-kustomize + run)
            continue
        if kpath in text or (kbase in text and kdir and kdir in text) or _runs(s, "kustomize", "edit", "set", "image"):
            out.append(s)
    return out


def find_update_job(wf: Workflow, target: Target) -> tuple[Job, list[Step]] | None:
    for job in wf.jobs.values():
        steps = _edits_kustomization(wf, job, target)
        if steps and any(_runs(s, "git", "commit") for s in job.steps):
            return job, steps
    for job in wf.jobs.values():
        steps = _edits_kustomization(wf, job, target)
        if steps:
            return job, steps
    return None


def _all_needs(wf: Workflow, job_id: str, seen: set[str] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    for n in wf.jobs[job_id].needs if job_id in wf.jobs else []:
        if n not in seen:
            seen.add(n)
            _all_needs(wf, n, seen)
    return seen


@dataclass(frozen=True)
class PushRetry:
    """The loop that retries ``git push`` in a script, and whether it is bounded."""

    line: int  # the loop's line in the script (1-based)
    bounded: bool
    why: str
    rebase: str | None  # the pull/rebase/fetch in the loop, as `git pull --rebase`


def push_retry(run: str) -> PushRetry | None:
    """The first loop of ``run`` with a ``git push`` in it (in its test or body), or None."""
    for loop in _script(run).loops():
        inside = [*loop.condition, *loop.body]
        if not git_commands(inside, "push"):
            continue
        bounded, why = _bounded(loop)
        sync = git_commands(loop.body, _SYNC) or git_commands(loop.condition, _SYNC)
        rebase = None
        if sync:
            argv = sync[0]
            sub = git_subcommand(argv)
            rebase = "git pull --rebase" if sub == "pull" and ("--rebase" in argv or "-r" in argv) else f"git {sub}"
        return PushRetry(loop.line, bounded, why, rebase)
    return None


def _counter_test(nodes: list[Node], ops: tuple[str, ...], arith: tuple[str, ...]) -> bool:
    """A ``[ $n -lt 5 ]``-style test (one of ``ops``) or an ``(( ))`` comparison (one of ``arith``)."""
    for node, _up in walk(nodes):
        if isinstance(node, Simple) and any(w in ops for w in node.argv):
            return True
        if isinstance(node, Arith) and any(op in node.text for op in arith):
            return True
    return False


def _bounded(loop: Loop) -> tuple[bool, str]:
    h = loop.header
    if loop.kind in ("for", "select"):
        for item in loop.items or []:
            for sub in substitutions(item.text):
                first = next((c.argv[:1] for c, _ in parse(sub).simple_commands()), [])
                if first != ["seq"]:
                    return False, f"`{h}` iterates over a command's output"
        return True, f"`{h}` has a fixed number of rounds"
    if loop.kind == "c-for":
        return "<" in (loop.arith or ""), f"`{h}`"
    if _counter_test(loop.condition, ("-lt", "-le", "-gt", "-ge"), ("<", ">")):
        return True, f"`{h}` stops after a counter limit"
    exits = any(isinstance(n, Simple) and n.argv[:1] in (["exit"], ["break"]) for n, _up in walk(loop.body))
    if exits and _counter_test(loop.body, ("-lt", "-le", "-gt", "-ge", "-eq"), (">=", ">", "==")):
        return True, f"`{h}` breaks out at a counter limit"
    return False, f"`{h}` has no attempt limit"


@dataclass
class _Update:
    """What every W9 part reads: the workflow, the update job and the steps that edit."""

    wf: Workflow
    job: Job | None
    edits: list[Step]
    missing: CheckResult | None  # the failure when no job edits the kustomization


def _update(repo: Repo, target: Target, workflow: Workflow | None) -> _Update:
    wf = workflow_for(repo, target, workflow)
    found = find_update_job(wf, target)
    if found is None:
        return _Update(wf, None, [], CheckResult.failed(f"a job that edits {target.kustomization}",
                                                        "none in jobs " + ", ".join(wf.jobs), wf.where()))
    return _Update(wf, found[0], found[1], None)


def _no_job(u: _Update, what: str, target: Target) -> CheckResult:
    return CheckResult.failed(f"a job that edits {target.kustomization} {what}", "no such job in jobs "
                              + ", ".join(u.wf.jobs), u.wf.where())


def w9_after_builds(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W9 part ``after builds``: the update job needs every job that builds an image."""
    u = _update(repo, target, workflow)
    if u.job is None:
        return u.missing  # type: ignore[return-value]
    wf, job = u.wf, u.job
    evidence = [f"update job {job.id} at {job.where()}; edits at {', '.join(s.where() for s in u.edits)}"]
    mapped = map_images(wf, target, probe_events(target, head_sha(repo))["push_main"])
    unbuilt = [ib.image.name for ib in mapped if ib.build is None]
    if unbuilt:
        raise CannotDecide(f"no build of {', '.join(unbuilt)} found for a push to {target.default_branch}, so "
                           f"'after both builds' can't be decided (see W4)", wf.where())
    builders = {(ib.build.caller[1].id if ib.build.caller else ib.build.job.id) for ib in mapped if ib.build is not None}
    needs = _all_needs(wf, job.id)
    missing = sorted(builders - needs)
    if missing:
        return CheckResult.failed(f"job {job.id} to need the build job(s) {', '.join(sorted(builders))}",
                                  f"needs: {', '.join(job.needs) or 'nothing'}",
                                  job.where("needs") if job.needs else job.where(), evidence)
    evidence.append(f"needs {', '.join(sorted(needs))} (builds in {', '.join(sorted(builders))})")
    return CheckResult.passed(f"job {job.id} runs after the builds ({', '.join(sorted(builders))})", evidence)


def w9_push_only(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W9 part ``push only``: the update job runs on a push to the default branch and on no other event."""
    u = _update(repo, target, workflow)
    if u.job is None:
        return _no_job(u, f"that runs only on push to {target.default_branch}", target)
    wf, job = u.wf, u.job
    evs = probe_events(target, head_sha(repo))
    changed = changed_paths(target)
    j = Judge()
    for key, should in (("push_main", True), ("push_feature", False), ("push_tag", False),
                        ("pull_request", False), ("dispatch_main", False), ("dispatch_feature", False)):
        ev = evs[key]
        with j.deciding():
            t = wf.trigger(ev, changed)
            if not t.ok:
                if should:
                    j.fail(f"the workflow to run on {ev.describe()}", t.reason, t.where)
                continue
            d = wf.job_runs(job.id, ev)
            j.note(f"job {job.id} on {ev.describe()}: {'runs' if d.ok else 'skipped'} ({d.reason})")
            if d.ok != should:
                j.fail(f"job {job.id} to {'run' if should else 'not run'} on {ev.describe()}",
                       f"it {'runs' if d.ok else 'is skipped'} ({d.reason})", d.where)
    return j.result(f"job {job.id} runs only on push to {target.default_branch}")


def w9_permissions(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W9 part ``permissions``: the update job's token has ``contents: write``."""
    u = _update(repo, target, workflow)
    if u.job is None:
        return _no_job(u, "with contents: write", target)
    wf, job = u.wf, u.job
    level = wf.effective_permissions(job).level("contents")
    if level != "write":
        found_p = "no permissions declared (repository default)" if level is None else f"contents: {level}"
        return CheckResult.failed(f"contents: write for job {job.id}", found_p,
                                  job.where("permissions") if job.permissions is not None else job.where())
    src = f"job {job.id}" if job.permissions is not None else "the workflow"
    return CheckResult.passed(f"job {job.id} has contents: write", [f"contents: write from {src}"])


def w9_commits(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W9 part ``commits``: the update job commits the kustomization change."""
    u = _update(repo, target, workflow)
    if u.job is None:
        return _no_job(u, "and commits it", target)
    job = u.job
    commits = [s for s in job.steps if s.run and _runs(s, "git", "commit")]
    if not commits:
        return CheckResult.failed(f"job {job.id} to commit the kustomization change", "no git commit", job.where())
    return CheckResult.passed(f"job {job.id} commits the change", [f"git commit at {commits[0].where('run')}"])


def w9_retry(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W9 part ``retry``: the update job pushes, retrying a rejected push in a bounded loop that
    rebases on the remote."""
    u = _update(repo, target, workflow)
    if u.job is None:
        return _no_job(u, "and pushes it with a bounded retry", target)
    wf, job = u.wf, u.job
    pushes = [s for s in job.steps if s.run and _runs(s, "git", "push")]
    if not pushes:
        return CheckResult.failed(f"job {job.id} to push the commit", "no git push", job.where())
    s = pushes[0]
    retry = push_retry(s.run or "")
    base = s.where("run")
    base_line = int(base.rsplit(":", 1)[1]) if base.rsplit(":", 1)[-1].isdigit() else None
    if retry is None:
        first = next(c.line for c, _ in _script(s.run or "").simple_commands()
                     if git_subcommand([dequote(w) for w in c.argv]) == "push")
        return CheckResult.failed("git push retried in a bounded loop on rejection", "a single git push",
                                  f"{wf.path}:{base_line + first}" if base_line else base)
    where = f"{wf.path}:{base_line + retry.line}" if base_line else base
    if not retry.bounded:
        return CheckResult.failed("a bounded retry of git push", retry.why, where)
    if not retry.rebase:
        return CheckResult.failed("the retry loop to rebase on the remote (git pull --rebase)",
                                  "no pull/rebase/fetch in the loop", where)
    return CheckResult.passed(f"job {job.id} retries a rejected push, bounded", [f"retry: {retry.why}, with "
                                                                                  f"`{retry.rebase}` at {where}"])


W9_PARTS = {"after builds": w9_after_builds, "push only": w9_push_only, "permissions": w9_permissions,
            "commits": w9_commits, "retry": w9_retry}


def w9_update_job(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W9, all parts: a job edits the kustomization after both builds, only on push to main,
    contents: write, commits, and pushes with a bounded retry on a rejected push. The verdict
    combines the parts as the criteria registry does (a part that can't decide raises)."""
    results = [fn(repo, target, workflow) for fn in W9_PARTS.values()]
    return CheckResult.combine(results, "; ".join(r.message for r in results))


def w10_written_tag_is_pushed(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W10: the tag the update job writes for a push to main is one the build pushes for it."""
    return _w10(repo, target, workflow_for(repo, target, workflow))


def _script_line(step: Step, line: int | None) -> str:
    """``file:line`` of line ``line`` of a step's ``run:`` script (block scalars start below the key)."""
    where = step.where("run")
    base = where.rsplit(":", 1)
    if line is None or len(base) != 2 or not base[1].isdigit():
        return where
    block = isinstance(step.run, str) and "\n" in step.run.rstrip("\n")
    return f"{base[0]}:{int(base[1]) + line if block else int(base[1])}"


def _raw_env(*layers: Any) -> dict[str, str]:
    env: dict[str, str] = {}
    for layer in layers:
        for k, v in (layer or {}).items():
            env[str(k)] = "" if v is None else (v if isinstance(v, str) else ex.to_str(v))
    return env


def _w10(repo: Repo, target: Target, wf: Workflow) -> CheckResult:
    found = find_update_job(wf, target)
    if found is None:  # nothing writes the pushed tag: the kustomization never gets it
        return CheckResult.failed(f"a job that writes a tag the build pushes into {target.kustomization}",
                                  f"no job edits it (jobs {', '.join(wf.jobs)}; see W9)", wf.where())
    job, _steps = found
    event = probe_events(target, head_sha(repo))["push_main"]
    pushed: dict[str, list[tuple[str, str]]] = {}
    for img, b, tags, problem in image_tags(wf, target, event):
        if b is None:
            raise CannotDecide(problem or f"no build of {img.name}", wf.where())
        pushed[img.name] = tags
    # what earlier steps and the needed jobs hand to the update job
    outputs: dict[str, str] = {}
    for n in _all_needs(wf, job.id):
        jo = wf.jobs[n].raw.get("outputs")
        if isinstance(jo, dict):
            for k, v in jo.items():
                outputs[f"needs.{n}.outputs.{k}"] = ex.to_str(v)
    env_extra: dict[str, str] = {}
    writes: list[tuple[Step, Any]] = []
    for step in job.steps:
        if not step.run:
            continue
        env = {**_raw_env(wf.env, job.env), **env_extra, **_raw_env(step.env)}
        for w in tagwrites.find_tag_writes(step.run, env, outputs):
            writes.append((step, w))
        if step.id:
            handed = tagwrites.find_step_outputs(step.run, step.id, env, outputs)
            outputs.update(handed["outputs"])
            env_extra.update(handed["env"])
        else:
            env_extra.update(tagwrites.find_step_outputs(step.run, "_", env, outputs)["env"])
    if not writes:
        raise CannotDecide(f"job {job.id} edits {target.kustomization}, but no tag write in it is recognised", job.where())
    fails, evidence = [], []
    names = {i.name.lower(): i.name for i in target.images}
    for step, w in writes:
        where = _script_line(step, w.line)
        imgs = [names[w.image.lower()]] if w.image and w.image.lower() in names else (
            list(names.values()) if w.image is None else [])
        if not imgs:
            evidence.append(f"{where}: writes a tag for {w.image}, not a target image")
            continue
        for img in imgs:
            tags = [t for t, _ in pushed[img]]
            rendered = w.render(event, tags, None, images=[img])
            if not rendered:
                raise CannotDecide(f"job {job.id} writes a digest, not a tag, for {img} ({w.describe})", where)
            evidence.append(f"{img}: {job.id} writes {w.describe} -> {', '.join(rendered)}; build pushes {', '.join(tags)}")
            missing = [r for r in rendered if r not in tags]
            if missing:
                shown = " or ".join(rendered)
                fails.append(CheckResult.failed(
                    f"the tag written for {img} on {event.describe()} to be one the build pushes ({', '.join(tags)})",
                    f"{w.describe} = {shown}" + (f" ({', '.join(missing)} never pushed)" if len(rendered) > 1 else ""),
                    where))
    if fails:
        return with_evidence(CheckResult.combine(fails, ""), evidence)
    return CheckResult.passed(f"job {job.id} writes a tag the build pushes for every image", evidence)
