"""V1–V4: the devpod limitation is real, and the scripts stop a developer and send them on.

Each check returns a :class:`~buildgate.result.CheckResult`; what can't be decided raises from
:mod:`buildgate.errors`. Messages are one line: ``expected X; found Y (at WHERE)``.
"""
from __future__ import annotations

import posixpath
import re
from typing import Any, Sequence

from buildgate.devpod import gh as ghmod
from buildgate.devpod.probes import BuildAttempt, RootMount, label, overlay_cause, signals_in_script
from buildgate.devpod.scan import scan_script
from buildgate.devpod.shims import Call, ShimmedRun, build_or_push
from buildgate.errors import CannotDecide
from buildgate.redact import redact
from buildgate.result import CheckResult

# ------------------------------------------------------------------------------------------
# V1
# ------------------------------------------------------------------------------------------


def overlay_root(root: RootMount, where: str) -> CheckResult:
    """V1: the devpod's ``/`` is an overlay mount."""
    at = f"{where}:/proc/self/mountinfo:{root.line}"
    evidence = [f"root mount: type {root.fstype}, source {root.source} ({at})"]
    if root.option("upperdir"):
        evidence.append(f"overlay upperdir {root.option('upperdir')}")
    if root.fstype != "overlay":
        return CheckResult.failed("the devpod's root filesystem to be overlay", f"{root.fstype} (source {root.source})",
                                  at, evidence)
    return CheckResult.passed(f"the devpod's root filesystem is overlay ({at})", evidence)


# ------------------------------------------------------------------------------------------
# V2
# ------------------------------------------------------------------------------------------


def build_fails_with_overlay_error(attempt: BuildAttempt, where: str) -> CheckResult:
    """V2: the throwaway build failed, and its output carries the nested-overlay refusal."""
    cmd = " ".join(attempt.argv[:1] + [a for a in attempt.argv[1:] if a in ("build", "bud")])
    evidence = [f"build: {' '.join(attempt.argv)} -> exit {attempt.rc}"]
    if attempt.workdir_fs:
        evidence.append(f"storage filesystem: {attempt.workdir_fs}")
    if attempt.storage_driver:
        evidence.append(f"storage driver used: {attempt.storage_driver}")
    evidence.append("probe cleaned up" if attempt.cleaned else f"probe left behind: {', '.join(attempt.leftovers)}")
    if attempt.succeeded:
        how = f" (storage {attempt.storage_driver})" if attempt.storage_driver else ""
        return CheckResult.failed(
            "a container build in the devpod to fail with the nested-overlay error",
            f"`{cmd}` succeeded{how}: the limitation did not reproduce", where, evidence)
    if attempt.matched is None:
        raise CannotDecide(f"the probe build failed for another reason than overlay (exit {attempt.rc}): "
                           f"{attempt.last_line()}", where)
    evidence.append(f"matched: {attempt.matched}")
    nested, why = overlay_cause(attempt.output, attempt.workdir_fs)
    evidence.append(f"cause: {why}")
    if nested is None:
        raise CannotDecide(f"`{cmd}` failed with an overlay-driver error ({attempt.matched!r}), but {why}, so buildgate "
                           f"can't tie it to nested overlay", where)
    if not nested:
        raise CannotDecide(f"`{cmd}` failed with an overlay-driver error of another cause: {why} ({attempt.matched!r}); "
                           f"the nested-overlay limitation was not shown (put the probe's folder, devpod.workdir, on the "
                           f"devpod's root overlay)", where)
    return CheckResult.passed(f"`{cmd}` fails in the devpod with the nested-overlay error: {attempt.matched!r} ({why}; "
                              f"{where})", evidence)


# ------------------------------------------------------------------------------------------
# V3
# ------------------------------------------------------------------------------------------


def _line_of(text: str, pattern: re.Pattern[str]) -> int | None:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.lstrip().startswith("#") and pattern.search(line):
            return n
    return None


def _call_line(script_text: str, call: Call) -> int | None:
    """The script line most likely to have made ``call`` (tool and subcommand on one line)."""
    kind = build_or_push(call) or ""
    words = [w for w in call.args if not w.startswith("-")][:2]
    for needles in ([call.tool, *words], [call.tool, kind], [call.tool]):
        rx = re.compile(".*".join(re.escape(n) for n in needles if n))
        n = _line_of(script_text, rx)
        if n:
            return n
    return None


def guard_diagnosis(script_text: str, devpod_signals: Sequence[str]) -> str:
    """Why a guard missed this devpod: what the script looks for vs what the devpod shows."""
    looks = signals_in_script(script_text)
    shows = ", ".join(label(s) for s in devpod_signals) or "none of the usual traces"
    if not looks:
        return f"the script has no devpod guard (this devpod shows {shows})"
    hit = [s for s in looks if s in devpod_signals]
    looked = ", ".join(label(s) for s in looks)
    if not hit:
        return f"the guard detects {looked} only; this devpod shows {shows}"
    return f"the guard looks for {looked} and this devpod shows {', '.join(label(s) for s in hit)}, yet it went on"


def run_evidence(run: ShimmedRun, where: str) -> list[str]:
    """How a script run was contained and what it did (shared by V3 and V4)."""
    if run.not_run is not None:
        return [f"did not run ./{run.script} in {where}: {run.not_run}"]
    out = [f"ran ./{run.script} in {where} -> exit {run.rc}" + (" (staged copy)" if run.staged else "")]
    out.append("contained: " + "; ".join(run.isolation))
    if run.shadowed:
        out.append("real tools covered by the recording shim: " + ", ".join(run.shadowed))
    shown = ", ".join(run.env_names) or "none"
    withheld = f"; {len(run.env_dropped)} withheld" + (f" ({', '.join(run.env_dropped[:12])}"
                                                        f"{', …' if len(run.env_dropped) > 12 else ''})" if run.env_dropped else "")
    out.append(f"environment: the devpod's {shown}{withheld}; HOME, PATH and GitHub settings buildgate's own")
    if run.traced:
        out += [f"trace: {e.text}" for e in run.effects] or ["trace: no build tool run outside the shims, no mount, "
                                                            "namespace, network or unix-socket attempt"]
    else:
        out.append(f"not traced: {run.trace_note}")
    out.append(f"scratch space afterwards: {run.scratch_files} entries" + (
        "; image stores or layouts: " + ", ".join(run.artefacts[:5]) if run.artefacts else "; no image store or layout"))
    return out


def stops_before_build(run: ShimmedRun, script_text: str, devpod_signals: Sequence[str], where: str,
                       docs: str = "DOCKER_BUILD.md") -> CheckResult:
    """V3a: the local build script exits non-zero before any build or push: no build or push
    call was recorded by the shims, the trace shows no build tool run by another route, no
    mount, namespace, network or unix-socket attempt, no image store was left behind, and no
    call the shims can't see runs before the guard exits (static scan)."""
    expected = "the local build script to stop in the devpod before any build or push"
    scan = run.scan or scan_script(script_text, docs, run.script)
    evidence = run_evidence(run, where)
    evidence += [f"recorded: {c.text}" for c in run.calls] or ["recorded: no docker/podman/buildah call"]
    evidence.append("devpod shows: " + (", ".join(label(s) for s in devpod_signals) or "no devpod traces"))
    evidence += scan.evidence(run.script)
    if run.timed_out:
        raise CannotDecide(f"{run.script} did not finish in the devpod (timed out)", where)
    builds = [(c, build_or_push(c)) for c in run.calls if build_or_push(c)]
    if builds:
        call, kind = builds[0]
        line = _call_line(script_text, call)
        at = f"{run.script}:{line}" if line else run.script
        why = guard_diagnosis(script_text, devpod_signals)
        return CheckResult.failed(expected, f"it ran `{call.text}` ({kind}); {why}", at, evidence)
    routes = run.effects_of("exec-tool", "exec-anon", "engine-socket")
    if routes:
        return CheckResult.failed(expected, f"it {routes[0].text}: a build by a route the shims don't cover"
                                  + _more(routes), run.script, evidence)
    tamper = run.effects_of("tamper")
    if tamper:
        return CheckResult.failed(expected, f"it tried {tamper[0].text}: what removing the shims or building by hand "
                                  f"needs" + _more(tamper), run.script, evidence)
    net = run.effects_of("network")  # loopback too: a registry or an engine may listen there
    if net:
        return CheckResult.failed(expected, f"it tried to reach the network ({net[0].text}), which a push needs"
                                  + _more(net), run.script, evidence)
    out = run.effects_of("socket")
    if out:
        return CheckResult.failed(expected, f"it {out[0].text}" + _more(out), run.script, evidence)
    if run.artefacts:
        return CheckResult.failed(expected, f"it left an image store or layout in its scratch space: {run.artefacts[0]}"
                                  + _more(run.artefacts), run.script, evidence)
    blocking = [b for b in scan.bypasses if b.blocking]
    if blocking:
        b = blocking[0]
        at = f"{run.script}:{b.line}"
        what = f"{b.kind}" if b.kind != "unknown" else "a subcommand buildgate can't read, maybe a build"
        if b.reach is None:
            found = (f"the script calls a build tool by absolute path, which the shims can't intercept: `{b.text}` "
                     f"({b.tool} {b.how}; {what}), and {b.reach_note} ({scan.guard_note})")
        else:
            found = (f"it calls `{b.text}` ({b.tool} {b.how}; {what}), which PATH shims can't intercept, and it "
                     f"{b.reach_note}")
        return CheckResult.failed(expected, found, at, evidence)
    if run.not_run is not None:
        raise CannotDecide(f"{run.script} was not run: {run.not_run}; run outside such a sandbox it could build or push "
                           f"for real", where)
    if run.rc == 0:
        why = guard_diagnosis(script_text, devpod_signals)
        return CheckResult.failed("the local build script to exit non-zero in the devpod",
                                  f"exit 0 (no build call); {why}", run.script, evidence)
    if not run.traced:
        raise CannotDecide(f"{run.script} exits {run.rc} with no build call recorded, but the run was not traced "
                           f"({run.trace_note}): a build attempt by a route the shims don't cover would go unseen", where)
    return CheckResult.passed(f"{run.script} stops in the devpod with exit {run.rc} before any build or push", evidence)


def _more(items: Sequence[Any]) -> str:
    return f" (and {len(items) - 1} more)" if len(items) > 1 else ""


def _shown(text: str) -> str:
    """A line of a script's output fit for a report: credentials masked, control characters escaped."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in redact(text))


_DOC_RX = re.compile(r"[\w./-]+\.(?:md|markdown|rst|txt|adoc)\b", re.I)


def names_docs(run: ShimmedRun, docs: str) -> CheckResult:
    """V3b: the script's output (stdout and stderr) names the build docs."""
    if run.not_run is not None:
        raise CannotDecide(f"{run.script} was not run: {run.not_run}", run.script)
    base = posixpath.basename(docs)
    for line in run.output.splitlines():
        if docs in line or base in line:
            quoted = _shown(line)[:200]
            return CheckResult.passed(f"{run.script} names {base} in the devpod: {quoted!r}", [f"output line: {quoted}"])
    others = sorted({m.group(0) for m in _DOC_RX.finditer(run.output)})
    last = _shown(run.last_line())
    found = f"it names {', '.join(others)} instead" if others else f"no docs named (last line: {last!r})"
    return CheckResult.failed(f"the output of {run.script} in the devpod to name {base}", found, run.script,
                              [f"exit {run.rc}", f"last line: {last}"])


# ------------------------------------------------------------------------------------------
# V4
# ------------------------------------------------------------------------------------------


def build_workflows(repo: Any, target: Any) -> list[str]:
    """The workflow files W1b finds that build and push both images."""
    from buildgate.workflow.builds import find_build_workflows  # late: the workflow layer is heavy

    return list(find_build_workflows(repo, target))


def _gh_workflow(value: str, expected: dict[str, str | None]) -> str | None:
    from buildgate.workflow.builds import gh_workflow  # late: the workflow layer is heavy

    try:
        return gh_workflow(value, expected)
    except CannotDecide:  # a numeric id: not one of the expected files as far as anyone can tell
        return None


def asks_for_build_workflows(calls: Sequence[Call], expected: dict[str, str | None], run: ShimmedRun,
                             script_text: str, repo_slug: str) -> CheckResult:
    """V4a: the trigger script runs exactly the workflow(s) W1b found, for the target's repository."""
    gh_calls = [c for c in calls if c.tool == "gh"]
    evidence = run_evidence(run, "the devpod") + [f"recorded: {c.text}" for c in gh_calls]
    exp_text = ", ".join(posixpath.basename(p) for p in expected) or "none"
    evidence.append(f"workflows that build and push both images (W1b): {exp_text}")
    if not expected:
        raise CannotDecide("no workflow builds and pushes both images (W1b), so there is nothing V4 can expect",
                           run.script)
    if run.not_run is not None:
        raise CannotDecide(f"{run.script} was not run: {run.not_run}; run outside such a sandbox it could reach "
                           f"GitHub for real", run.script)
    if run.timed_out:
        raise CannotDecide(f"{run.script} did not finish in the devpod (timed out)", run.script)
    net = run.effects_of("network", "engine-socket", "socket")
    if net:
        return CheckResult.failed(f"{run.script} to ask gh for {exp_text} and reach no network itself",
                                  f"it tried to reach the network itself: {net[0].text}{_more(net)}", run.script, evidence)
    tamper = run.effects_of("tamper", "exec-anon")
    if tamper:
        return CheckResult.failed(f"{run.script} to ask gh for {exp_text} and nothing else",
                                  f"it tried {tamper[0].text}{_more(tamper)}", run.script, evidence)
    named = [(c, w, role) for c in gh_calls for (w, role) in ghmod.workflows_in_call(c)]
    triggered = [(c, w) for c, w, role in named if role == "run"]
    if not triggered:
        found = f"no `gh workflow run` call (exit {run.rc}; last line {run.last_line()!r})"
        return CheckResult.failed(f"{run.script} to run `gh workflow run {exp_text}`", found, run.script, evidence)
    problems = []
    hit: set[str] = set()
    for c, w, role in named:
        paths = [p for p in [_gh_workflow(w, expected)] if p is not None]
        if not paths:
            line = _line_of(script_text, re.compile(re.escape(w))) or _line_of(script_text, re.compile(r"\bgh\b.*\bworkflow"))
            at = f"{run.script}:{line}" if line else run.script
            hint = " (gh takes a workflow file name or name:, not a path)" if "/" in w else ""
            problems.append(f"`{c.text}` asks for {w}, not a workflow that builds the images ({exp_text}){hint} (at {at})")
        elif role == "run":
            hit.update(paths)
    for c in gh_calls:
        repo_arg = ghmod.repo_of(c)
        if repo_arg is not None and repo_arg.lower() != repo_slug.lower():
            problems.append(f"`{c.text}` names repository {repo_arg}, not {repo_slug}")
    missing = [posixpath.basename(p) for p in expected if p not in hit]
    if missing and not problems:
        problems.append(f"{', '.join(missing)} is never triggered")
    if problems:
        return CheckResult.failed(f"{run.script} to ask gh for exactly {exp_text}", "; ".join(problems), None, evidence)
    if not run.traced:
        raise CannotDecide(f"{run.script} asks gh for {exp_text}, but the run was not traced ({run.trace_note}): an "
                           f"attempt to reach the network by itself would go unseen", run.script)
    return CheckResult.passed(f"{run.script} triggers exactly {exp_text} and reaches no network itself", evidence)


def gh_accepts_calls(verdicts: Sequence[ghmod.GhVerdict], run: ShimmedRun, script_text: str) -> CheckResult:
    """V4b: the real ``gh`` accepts every recorded call (flags and arguments parse)."""
    if run.not_run is not None:
        raise CannotDecide(f"{run.script} was not run: {run.not_run}", run.script)
    evidence = [f"{v.call.text}: {'accepted' if v.accepted else 'rejected'} ({v.reason})" for v in verdicts]
    if not verdicts:
        return CheckResult.failed(f"{run.script} to call gh", "no gh call recorded", run.script, evidence)
    bad = [v for v in verdicts if not v.accepted]
    if bad:
        v = bad[0]
        words = [a for a in v.call.args if not a.startswith("-")][:2]
        line = _line_of(script_text, re.compile(r"\bgh\b.*" + ".*".join(re.escape(w) for w in words)))
        at = f"{run.script}:{line}" if line else run.script
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        return CheckResult.failed(f"gh {v.gh_version} to accept `{v.call.text}`", f"{v.reason}{more}", at, evidence)
    return CheckResult.passed(f"gh {verdicts[0].gh_version} accepts all {len(verdicts)} call(s) of {run.script}", evidence)
