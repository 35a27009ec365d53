"""The step vocabulary's checks: what a team's own scenarios can state, decided with the same
library the built-in criteria use (``docs/vocabulary.md`` lists every step).

Each function returns a :class:`~buildgate.result.CheckResult` (``expected …; found … (at
where)`` on failure, evidence either way) or raises what can't be decided
(:class:`~buildgate.errors.CannotDecide`, :class:`~buildgate.errors.InputError`, a
:class:`~buildgate.errors.RemoteError`). Nothing here is a second implementation: workflows go
through the workflow model (:mod:`buildgate.workflow`), tags through docker/metadata-action's
rules (:func:`buildgate.workflow.builds.build_tags`), the registry through the OCI client and
its attestation reader, the cluster through the read-only cluster reader, the devpod through
its host (argument lists only, never a shell string).

Events are written as text (:func:`event`): ``push`` (to the default branch), ``push to
BRANCH``, ``push of tag TAG``, ``pull_request`` (into the default branch), ``pull_request into
BRANCH``, ``pull_request_target``, ``workflow_dispatch`` (``on BRANCH``), ``schedule``, or any
other event name (``release``, ``workflow_run``: their ref is the default branch). The commit
is the repository's HEAD. Tags may hold ``{sha}`` (40 hex), ``{short_sha}`` (7) and ``{branch}``.
"""
from __future__ import annotations

import posixpath
import re
from typing import Any, Callable, Iterable

from buildgate.errors import CannotDecide, InputError
from buildgate.kustomize import Kustomization
from buildgate.reference import parse, same_name
from buildgate.reference import split as split_image
from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.target import Target
from buildgate.workflow import events as E
from buildgate.workflow import expressions as ex
from buildgate.workflow.builds import build_tags, head_sha, normalize_context, present, workflow_files
from buildgate.workflow.model import Build, Workflow, load_workflow

EVENT_FORMS = ("push", "push to BRANCH", "push of tag TAG", "pull_request", "pull_request into BRANCH",
               "pull_request_target", "workflow_dispatch", "workflow_dispatch on BRANCH", "schedule",
               "another event name (release, workflow_run, …)")
_NAME = r"[A-Za-z0-9._/+-]+"


# -- events and names ---------------------------------------------------------------------------
def event(text: str, default_branch: str, sha: str) -> E.Event:
    """The :class:`~buildgate.workflow.events.Event` a step's text names (see the module doc)."""
    t = " ".join(str(text).split())
    d = default_branch
    if t in ("push", "push to the default branch"):
        return E.push_to(d, sha, d)
    if m := re.fullmatch(rf"push to ({_NAME})", t):
        return E.push_to(m[1], sha, d)
    if m := re.fullmatch(rf"(?:push of (?:the )?tag|tag) ({_NAME})", t):
        return E.push_tag(m[1], sha, d)
    if m := re.fullmatch(rf"(pull_request|pull_request_target|pull request)(?: (?:into|to) ({_NAME}))?", t):
        name = "pull_request" if m[1] == "pull request" else m[1]
        return E.pull_request(7, "feature/buildgate-probe", m[2] or d, sha, d, name=name)
    if m := re.fullmatch(rf"(?:workflow_dispatch|manual run)(?: on ({_NAME}))?", t):
        return E.workflow_dispatch(m[1] or d, sha, None, d)
    if t == "schedule":
        return E.schedule(sha, d)
    if re.fullmatch(r"[a-z_]+", t):
        return E.Event(t, f"refs/heads/{d}", sha, d)
    raise InputError(f"unknown event {text!r}; write one of: {', '.join(EVENT_FORMS)}")


def fill(tag: str, sha: str, branch: str = "") -> str:
    """``{sha}`` (40 hex), ``{short_sha}`` (7) and ``{branch}`` in an expected tag."""
    return tag.replace("{sha}", sha).replace("{short_sha}", sha[:7]).replace("{branch}", branch)


def image_ref(ref: str, sha: str) -> tuple[str, str]:
    """``IMAGE:TAG`` of a step (placeholders filled with ``sha``) as ``(image, tag)``."""
    name, tag, digest = split_image(ref)
    if not tag or digest:
        raise InputError(f"{ref!r}: expected IMAGE:TAG (e.g. ghcr.io/acme/app:sha-{{short_sha}})")
    return name, fill(tag, sha)


def _context(b: Build) -> str:
    """The build's context folder; an unknown one is a CannotDecide naming its expression."""
    if b.context is not None and not isinstance(b.context, str):
        raise ex.undecided(b.context, f"the build context of {', '.join(b.images) or 'an image'}", b.where)
    return normalize_context(b.context)


def _dockerfile(b: Build) -> list[str]:
    ctx = _context(b)
    return ["Dockerfile" if ctx == "." else posixpath.join(ctx, "Dockerfile")]


def _open(repo: Repo, target: Target, path: str) -> Workflow | None:
    return load_workflow(repo, path, target.github) if present(repo, path) else None


# -- workflows: triggers, builds, pushes, tags ----------------------------------------------------
def workflow_runs_on(repo: Repo, target: Target, path: str, event_text: str, changed: Iterable[str] | None = None,
                     expect: bool = True) -> CheckResult:
    """The workflow at ``path`` runs (``expect``) or doesn't run on the event, for a change to
    ``changed`` (needed when the trigger has path filters)."""
    ev = event(event_text, target.default_branch, head_sha(repo))
    wf = _open(repo, target, path)
    want = f"{path} {'to run' if expect else 'not to run'} on {ev.describe()}"
    if wf is None:
        return CheckResult.failed(want, "no such file", path)
    try:
        d = wf.trigger(ev, list(changed) if changed is not None else None)
    except CannotDecide as exc:
        if changed is None and "path filters" in exc.reason:
            raise CannotDecide(f'{exc.reason}: name a changed file (runs on "…" changing "PATH")', exc.where) from None
        raise
    evidence = [f"{ev.describe()}: {d.reason} ({d.where})"]
    if d.ok == expect:
        return CheckResult.passed(f"{path} {'runs' if expect else 'does not run'} on {ev.describe()}", evidence)
    return CheckResult.failed(want, d.reason if expect else f"it runs: {d.reason}", d.where, evidence)


def _events_of(wf: Workflow, target: Target, sha: str) -> list[E.Event]:
    return E.representative_events({n: dict(t.config) for n, t in wf.triggers.items()}, sha, target.default_branch)


def workflow_builds(repo: Repo, target: Target, path: str, image: str, context: str) -> CheckResult:
    """The workflow builds ``image`` from ``context`` on some event it runs on."""
    wf = _open(repo, target, path)
    want = f"{path} to build {image} from {context}"
    if wf is None:
        return CheckResult.failed(want, "no such file", path)
    seen: dict[str, str] = {}
    undecided: CannotDecide | None = None
    for ev in _events_of(wf, target, head_sha(repo)):
        try:
            builds = wf.builds(ev)
        except CannotDecide as exc:
            undecided = undecided or exc
            continue
        for b in builds:
            for unknown in b.unknown_names:  # it might be the image: only a match elsewhere decides
                undecided = undecided or ex.undecided(unknown, "an image name", b.where)
            for name in b.images:
                try:
                    built_from = _context(b)
                except CannotDecide as exc:
                    undecided = undecided or exc
                    continue
                seen.setdefault(f"{parse(name).familiar} from {built_from}", b.where)
                if same_name(name, image) and built_from == normalize_context(context):
                    return CheckResult.passed(f"{path} builds {image} from {context}",
                                              [f"{b.describe()} builds {name} from {built_from} on {ev.describe()} "
                                               f"({b.where})"])
    if undecided is not None:
        raise undecided
    ours = {k: w for k, w in seen.items() if same_name(k.split(" from ")[0], image)}
    if ours:
        k, where = next(iter(ours.items()))
        return CheckResult.failed(want, k, where)
    return CheckResult.failed(want, "builds of " + ("; ".join(seen) or "nothing"), wf.where())


def _builds_of(wf: Workflow, image: str, ev: E.Event) -> list[Build]:
    return [b for b in wf.builds(ev) if any(same_name(n, image) for n in b.images)]


def workflow_pushes(repo: Repo, target: Target, path: str, image: str, event_text: str,
                    expect: bool = True) -> CheckResult:
    """The workflow pushes (``expect``) or never pushes ``image`` on the event."""
    ev = event(event_text, target.default_branch, head_sha(repo))
    wf = _open(repo, target, path)
    want = f"{path} {'to push' if expect else 'not to push'} {image} on {ev.describe()}"
    if wf is None:
        return CheckResult.failed(want, "no such file", path) if expect else CheckResult.passed(
            f"{path} does not exist, so it pushes nothing", [f"{path}: no such file"])
    builds = _builds_of(wf, image, ev)
    if not builds:
        found = f"no build of {image} in {path}"
        return CheckResult.failed(want, found, wf.where()) if expect else CheckResult.passed(found, [found])
    decisions = [(b, wf.pushes(b, ev, _dockerfile(b))) for b in builds]
    evidence = [f"{b.describe()}: {'pushes' if d.ok else 'does not push'}: {d.reason} ({d.where})"
                for b, d in decisions]
    pushing = [(b, d) for b, d in decisions if d.ok]
    if bool(pushing) == expect:
        return CheckResult.passed(f"{path} {'pushes' if expect else 'does not push'} {image} on {ev.describe()}",
                                  evidence)
    b, d = pushing[0] if pushing else decisions[0]
    return CheckResult.failed(want, d.reason if expect else f"{b.describe()} pushes it: {d.reason}", d.where, evidence)


def _pushing_builds(repo: Repo, target: Target, image: str, ev: E.Event
                    ) -> tuple[list[tuple[Workflow, Build]], list[str]]:
    """Every build of ``image`` that pushes on ``ev``, in any workflow; and why others don't."""
    pushing, why = [], []
    undecided: CannotDecide | None = None
    for path in workflow_files(repo, target.workflows_dir):
        try:
            wf = load_workflow(repo, path, target.github)
            builds = _builds_of(wf, image, ev)
            for b in builds:
                d = wf.pushes(b, ev, _dockerfile(b))
                if d.ok:
                    pushing.append((wf, b))
                else:
                    why.append(f"{path}: {d.reason} ({d.where})")
        except CannotDecide as exc:
            undecided = undecided or exc
        except InputError as exc:
            why.append(f"{path}: not read: {exc.reason}")
    if not pushing and undecided is not None:
        raise undecided
    return pushing, why


def pushed_on(repo: Repo, target: Target, image: str, event_text: str) -> CheckResult:
    """Some workflow under the target's ``workflows_dir`` pushes ``image`` on the event."""
    ev = event(event_text, target.default_branch, head_sha(repo))
    pushing, why = _pushing_builds(repo, target, image, ev)
    if pushing:
        return CheckResult.passed(f"{image} is pushed on {ev.describe()}",
                                  [f"{wf.path}: {b.describe()} pushes {image} on {ev.describe()} ({b.where})"
                                   for wf, b in pushing])
    return CheckResult.failed(f"a workflow under {target.workflows_dir} to push {image} on {ev.describe()}",
                              "; ".join(why) or "no workflow builds it", target.workflows_dir, why)


def tagged_with(repo: Repo, target: Target, event_text: str, image: str, tag: str) -> CheckResult:
    """A workflow pushes ``image`` on the event with ``tag`` among its tags (docker/metadata-action's
    rules, or the literal tags, computed for the event)."""
    ev = event(event_text, target.default_branch, head_sha(repo))
    want_tag = fill(tag, ev.sha, ev.branch or "")
    want = f"{image}:{want_tag} pushed on {ev.describe()}"
    pushing, why = _pushing_builds(repo, target, image, ev)
    if not pushing:
        return CheckResult.failed(want, f"no workflow pushes {image} then: " + ("; ".join(why) or "none builds it"),
                                  target.workflows_dir, why)
    found: list[tuple[str, str]] = []
    for wf, b in pushing:
        for name, tags in build_tags(wf, b, ev).items():
            if same_name(name, image):
                found += tags
    evidence = [f"{ev.describe()}: {image}:{t} ({where})" for t, where in found]
    if any(t == want_tag for t, _ in found):
        return CheckResult.passed(f"{image} is tagged {want_tag} on {ev.describe()}", evidence)
    where = found[0][1] if found else pushing[0][1].where
    return CheckResult.failed(want, "tags " + (", ".join(t for t, _ in found) or "none"), where, evidence)


def for_every_image(target: Target, check: Callable[[str], CheckResult], what: str) -> CheckResult:
    """``check`` for each of the target's images, combined (every one must hold)."""
    if not target.images:
        raise CannotDecide("the target names no images")
    results = [check(i.name) for i in target.images]
    return CheckResult.combine(results, f"{what} for {len(results)} image(s)")


# -- files ----------------------------------------------------------------------------------------
def file_exists(repo: Repo, path: str) -> CheckResult:
    if present(repo, path):
        return CheckResult.passed(f"{path} exists", [f"{path}: exists"])
    return CheckResult.failed(f"{path} to exist", "no such file", path)


def file_contains(repo: Repo, path: str, text: str) -> CheckResult:
    """The file holds ``text`` (as written, on one line or across lines)."""
    if not present(repo, path):
        return CheckResult.failed(f"{path} to contain {text!r}", "no such file", path)
    content = repo.read_text(path)
    at = content.find(text)
    if at < 0:
        lines = len(content.splitlines())
        return CheckResult.failed(f"{path} to contain {text!r}", f"no such text in its {lines} lines", path)
    line = content.count("\n", 0, at) + 1
    return CheckResult.passed(f"{path} contains {text!r}", [f"{path}:{line}: {text!r}"])


def file_is_executable(repo: Repo, path: str) -> CheckResult:
    """Git records the file as executable (mode 100755): what a checkout gets, whatever the disk says."""
    if not present(repo, path):
        return CheckResult.failed(f"{path} to be executable", "no such file", path)
    mode = repo.git_mode(path)
    if mode == "100755":
        return CheckResult.passed(f"{path} is executable", [f"{path}: mode 100755 in git"])
    return CheckResult.failed(f"{path} executable in git (mode 100755)",
                              f"mode {mode}" if mode else "a file git does not track", path)


# -- the kustomization ------------------------------------------------------------------------------
def kustomization_sets_commit(repo: Repo, path: str, image: str) -> CheckResult:
    """The kustomization at ``path`` sets ``image`` to a tag naming a commit of the history at or
    before HEAD (K2's check, for one image of one kustomization)."""
    from buildgate.tag_history import k2_newtags_in_history

    if not present(repo, path):
        return CheckResult.failed(f"{path} setting {image}", "no such file", path)
    k = Kustomization.load(repo, path)
    entries = [e for e in k.images if e.effective_name and same_name(e.effective_name, image)]
    if not entries:
        names = ", ".join(str(e.effective_name) for e in k.images) or "none"
        return CheckResult.failed(f"an images: entry for {image}", f"entries for {names}", k.where("images")
                                  if "images" in k.data else k.where())
    return k2_newtags_in_history(repo, k, [entries[0].effective_name])


# -- the registry -----------------------------------------------------------------------------------
def registry_has(client: Any, repo: Repo, ref: str) -> CheckResult:
    """``IMAGE:TAG`` exists in the registry (G1's check, for any tag; placeholders: HEAD)."""
    from buildgate.oci.checks import g1_tag_exists

    image, tag = image_ref(ref, head_sha(repo))
    return g1_tag_exists(client, [image], tag)


def same_digest(client: Any, repo: Repo, ref: str, other_ref: str) -> CheckResult:
    """Two tags of one image resolve to the same digest."""
    sha = head_sha(repo)
    (image, tag), (image2, other) = image_ref(ref, sha), image_ref(other_ref, sha)
    if not same_name(image, image2):
        raise InputError(f"{ref!r} and {other_ref!r} name two images; compare two tags of one image")
    a, b = client.resolve_tag(image, tag), client.resolve_tag(image, other)
    missing = [t for t, r in ((tag, a), (other, b)) if r is None]
    if missing:
        return CheckResult.failed(f"{image}:{tag} and {image}:{other} on one digest",
                                  f"{', '.join(missing)} missing (404)", image)
    evidence = [f"{image}:{tag}@{a.digest}", f"{image}:{other}@{b.digest}"]
    if a.digest != b.digest:
        return CheckResult.failed(f"{image}:{other} to resolve to {a.digest} like {image}:{tag}", b.digest,
                                  f"{image}:{other}@{b.digest}", evidence)
    return CheckResult.passed(f"{image}:{tag} and {image}:{other} are {a.digest}", evidence)


def attested(client: Any, repo: Repo, ref: str) -> CheckResult:
    """Every platform image of ``IMAGE:TAG`` carries an SPDX SBOM and a SLSA provenance (the
    attestation reader G4 uses, for any tag)."""
    from buildgate.oci.attestations import find_attestations

    image, tag = image_ref(ref, head_sha(repo))
    r = client.resolve_tag(image, tag)
    if r is None:
        return CheckResult.failed(f"{image}:{tag} to exist", "no such tag in the registry (404)", image)
    results = []
    for platform, pa in find_attestations(client, r).items():
        where = f"{image}@{pa.image_digest} ({platform}, tag {tag})"
        lacking = [n for n, found in (("an SPDX SBOM", pa.sbom), ("a SLSA provenance", pa.provenance)) if not found]
        if lacking:
            kinds = sorted({s.predicate_type for s in pa.statements}) or ["no attestation"]
            results.append(CheckResult.failed(" and ".join(lacking), ", ".join(kinds), where))
        else:
            results.append(CheckResult.passed("", [f"{where}: SBOM {pa.sbom[0].predicate_type}, "
                                                   f"provenance {pa.provenance[0].predicate_type}"]))
    if not results:
        return CheckResult.failed(f"{image}:{tag} to hold a platform image", "none", f"{image}@{r.digest}")
    return CheckResult.combine(results, f"{image}:{tag} carries an SBOM and a provenance for every platform")


# -- the cluster ------------------------------------------------------------------------------------
def deployment_runs(reader: Any, deployment: str, image: str) -> CheckResult:
    """A container of the live Deployment ``NAMESPACE/NAME`` runs ``image``: the same repository,
    and the same tag or digest when ``image`` names one."""
    from buildgate.cluster.k5 import _live_containers

    namespace, _, name = deployment.partition("/")
    if not namespace or not name or "/" in name:
        raise InputError(f"Deployment {deployment!r}: expected NAMESPACE/NAME")
    ref = f"{namespace}/Deployment/{name}"
    dep = reader.get_deployment(namespace, name)
    if dep is None:
        return CheckResult.failed(f"Deployment {namespace}/{name} running {image}", "no such Deployment", ref)
    live = _live_containers(dep, ref)
    evidence = [f"{ref} container {c}: {img}" for c, img in live.items()]
    _n, tag, digest = split_image(image)
    for container, running in live.items():
        _rn, rtag, rdigest = split_image(running)
        if same_name(running, image) and (not tag or tag == rtag) and (not digest or digest == rdigest):
            return CheckResult.passed(f"{ref} container {container} runs {running}", evidence)
    return CheckResult.failed(f"a container of {ref} running {image}",
                              ", ".join(f"{c}: {i}" for c, i in live.items()) or "no containers", ref, evidence)


# -- the devpod -------------------------------------------------------------------------------------
def command_argv(command: str) -> list[str]:
    """One command line as an argument list: words split and unquoted by the shell reader, every
    ``$`` expansion kept as written (no shell runs it). More than one command, a pipe or a
    redirection needs a shell: an :class:`InputError` says to write ``sh -c '…'``."""
    from buildgate.shell import dequote, split_commands

    commands = split_commands(command).commands
    if len(commands) != 1 or any(t.op for t in commands[0].words):
        raise InputError(f"devpod command {command!r}: one command only (no ;, |, &&, redirection); "
                         "write sh -c '…' for shell syntax")
    return [dequote(t.text) for t in commands[0].words]


def devpod_exits(host: Any, command: str, code: int) -> CheckResult:
    """``command`` (:func:`command_argv`: an argument list, never run by a shell) exits with
    ``code`` in the devpod, in the repository's checkout there when the target names one."""
    from buildgate.devpod.host import argv_text

    argv = command_argv(command)
    res = host.run(argv, cwd=getattr(host, "repo_dir", None))
    shown = argv_text(argv)
    evidence = [f"{host.name}: {shown} exited {res.rc}: {res.last_line()}"]
    if res.timed_out:
        raise CannotDecide(f"{shown} did not finish in time in the devpod", host.name)
    if res.rc == code:
        return CheckResult.passed(f"{shown} exits {code} in the devpod", evidence)
    return CheckResult.failed(f"{shown} to exit {code}", f"exit {res.rc}: {res.last_line()}", host.name, evidence)


__all__ = [
    "attested", "command_argv", "devpod_exits", "deployment_runs", "event", "file_contains", "file_exists",
    "file_is_executable", "fill", "for_every_image", "image_ref", "kustomization_sets_commit", "pushed_on",
    "registry_has",
    "same_digest", "tagged_with", "workflow_builds", "workflow_pushes", "workflow_runs_on",
]
