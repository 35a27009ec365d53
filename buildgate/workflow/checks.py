"""W1-W11: the build workflow's claims, checked against a :class:`~.model.Workflow`.

Each check is ``(repo, target, workflow=None) -> CheckResult``. ``workflow`` is the parsed
subject workflow (see :func:`subject_workflow`); passing it avoids nothing but a cache lookup.
Failure messages read ``expected X; found Y (at file:line)``. Anything undecidable raises
:class:`CannotDecide`; an unusable file raises :class:`InputError`.

Helpers other layers use: :func:`find_build_workflows` (W1b, V4), :func:`built_commit` (the
newest commit whose push to a branch runs the build; registry layer) and
:func:`expected_tags` (the tags pushed for a commit; G2).
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

from buildgate.errors import BuildgateError, CannotDecide, InputError
from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.target import Image, Target
from buildgate.workflow import events as E
from buildgate.workflow import expressions as ex
from buildgate.shell import expanded_commands
from buildgate.workflow.buildargs import build_options, login_registry, parse_images_input, strip_tag
from buildgate.workflow.model import Build, Decision, Job, Step, Workflow, has_skip_marker, load_workflow
from buildgate.yamlfile import line_at

PLACEHOLDER_SHA = "0123456789abcdef0123456789abcdef01234567"
FEATURE_BRANCH = "feature/buildgate-probe"
GITHUB_TOKEN_REFS = ("secrets.github_token", "github.token")


# ----------------------------------------------------------------------------- basics
def _norm_ctx(context: str | None) -> str:
    """``./api/`` -> ``api``; None (the action's Git context) -> ``.``."""
    if context is None:
        return "."
    c = context.strip()
    if "://" in c or c.startswith("git@"):
        return c
    c = posixpath.normpath(c.replace("\\", "/")) if c else "."
    return c


def _sha(repo: Repo) -> str:
    try:
        sha = repo.head()
        return sha if re.fullmatch(r"[0-9a-f]{40}", sha) else PLACEHOLDER_SHA
    except BuildgateError:
        return PLACEHOLDER_SHA


def _changed_all(target: Target) -> list[str]:
    return [posixpath.join(i.context_path, "Dockerfile") if i.context_path != "." else "Dockerfile" for i in target.images]


def workflow_files(repo: Repo, target: Target) -> list[str]:
    return [p for p in repo.list_files(target.workflows_dir) if p.endswith((".yml", ".yaml"))]


def present(repo: Repo, path: str) -> bool:
    """Whether ``path`` is a readable file; a symlink out of the repository, a folder or an
    oversized file raises :class:`InputError` instead of counting as missing."""
    try:
        repo.read_bytes(path)
    except InputError as exc:
        if exc.reason.startswith("file not found"):
            return False
        raise
    return True


def subject_workflow(repo: Repo, target: Target) -> Workflow:
    """The claimed workflow; when it is missing, the one workflow that does the job instead."""
    if present(repo, target.workflow):
        return load_workflow(repo, target.workflow, target.github)
    found = find_build_workflows(repo, target)
    if len(found) == 1:
        return load_workflow(repo, found[0], target.github)
    if not found:
        raise InputError(f"no workflow at {target.workflow}, and none under {target.workflows_dir} builds and pushes "
                         f"{', '.join(i.name for i in target.images)}", target.workflow)
    raise CannotDecide(f"no workflow at {target.workflow}, and several build the images: {', '.join(found)}",
                       target.workflows_dir)


def _wf(repo: Repo, target: Target, workflow: Workflow | None) -> Workflow:
    return workflow if workflow is not None else subject_workflow(repo, target)


def _events(target: Target, sha: str) -> dict[str, E.Event]:
    d = target.default_branch
    return {
        "push_main": E.push_to(d, sha, d),
        "push_feature": E.push_to(FEATURE_BRANCH, sha, d),
        "push_tag": E.push_tag("v1.2.3", sha, d),
        "pull_request": E.pull_request(7, FEATURE_BRANCH, d, sha, d),
        "dispatch_main": E.workflow_dispatch(d, sha, None, d),
        "dispatch_feature": E.workflow_dispatch(FEATURE_BRANCH, sha, None, d),
    }


@dataclass
class ImageBuild:
    image: Image
    build: Build | None
    problem: str | None = None  # why no build matched
    where: str | None = None


def map_images(wf: Workflow, target: Target, event: E.Event) -> list[ImageBuild]:
    """For each target image, the build step that builds it (name and context both match)."""
    builds = wf.builds(event)
    out = []
    for img in target.images:
        named = [b for b in builds if any(n.lower() == img.name.lower() for n in b.images)]
        good = [b for b in named if _norm_ctx(b.context) == _norm_ctx(img.context)]
        if good:
            out.append(ImageBuild(img, good[0]))
        elif named:
            b = named[0]
            shown = b.context if b.context is not None else "the Git context (repository root)"
            out.append(ImageBuild(img, None, f"{img.name} built from {shown}", b.step.where("context")))
        else:
            ctx_only = [b for b in builds if _norm_ctx(b.context) == _norm_ctx(img.context)]
            if ctx_only:
                b = ctx_only[0]
                out.append(ImageBuild(img, None, f"{img.context} built as {', '.join(b.images) or 'no image name'}",
                                      b.step.where()))
            else:
                seen = "; ".join(f"{', '.join(b.images) or '?'} from {b.context}" for b in builds) or "no build step"
                out.append(ImageBuild(img, None, seen, wf.where()))
    return out


def _describe_images(target: Target) -> str:
    return ", ".join(f"{i.context} -> {i.name}" for i in target.images)


# ----------------------------------------------------------------------------- W1, W1b
def builds_and_pushes_both(repo: Repo, target: Target, path: str) -> tuple[bool, str]:
    """Whether the workflow at ``path`` builds and pushes every target image on push to main."""
    wf = load_workflow(repo, path, target.github)
    ev = E.push_to(target.default_branch, _sha(repo), target.default_branch)
    changed = _changed_all(target)
    reasons = []
    for ib in map_images(wf, target, ev):
        if ib.build is None:
            reasons.append(f"{ib.image.name}: {ib.problem}")
            continue
        d = wf.pushes(ib.build, ev, changed)
        if not d.ok:
            reasons.append(f"{ib.image.name} not pushed on push to {target.default_branch}: {d.reason}")
    return (not reasons, "; ".join(reasons) or "builds and pushes " + ", ".join(i.name for i in target.images))


def find_build_workflows(repo: Repo, target: Target) -> list[str]:
    """Repository-relative paths of the workflows that build and push every target image."""
    found = []
    for path in workflow_files(repo, target):
        try:
            ok, _why = builds_and_pushes_both(repo, target, path)
        except BuildgateError:
            continue
        if ok:
            found.append(path)
    return found


def w1_workflow_exists(repo: Repo, target: Target) -> CheckResult:
    """W1: the workflow file is at the claimed path."""
    path = target.workflow
    if present(repo, path):
        return CheckResult.passed(f"{path} exists", [f"workflow file: {path}"])
    others = find_build_workflows(repo, target)
    found = f"no such file; the images are built by {', '.join(others)} now" if others else "no such file"
    return CheckResult.failed(f"the workflow at {path}", found, target.workflows_dir,
                              [f"missing: {path}"] + [f"builds both images: {p}" for p in others])


def w1b_some_workflow_builds(repo: Repo, target: Target) -> CheckResult:
    """W1b: some workflow builds and pushes both images; several that push the same tags conflict."""
    evidence, good = [], []
    files = workflow_files(repo, target)
    undecided = []
    for path in files:
        try:
            ok, why = builds_and_pushes_both(repo, target, path)
        except InputError as exc:  # GitHub can't run a file it can't read: it builds nothing
            evidence.append(f"{path}: builds nothing: {exc}")
            continue
        except BuildgateError as exc:
            evidence.append(f"{path}: {exc.kind}: {exc}")
            undecided.append(str(exc))
            continue
        evidence.append(f"{path}: {why}")
        if ok:
            good.append(path)
    if not good:
        if undecided:
            raise CannotDecide(f"no workflow under {target.workflows_dir} is known to build both images; "
                               f"undecided: {'; '.join(undecided)}", target.workflows_dir)
        return CheckResult.failed(f"a workflow under {target.workflows_dir} that builds and pushes {_describe_images(target)}",
                                  f"none among {len(files)} file(s)", target.workflows_dir, evidence)
    where_note = "" if target.workflow in good else f" (not at the claimed {target.workflow}: {good[0]} does the job now)"
    if len(good) > 1:
        sha = _sha(repo)
        tagsets = {}
        for p in good:
            try:
                tagsets[p] = expected_tags(repo, target, p, sha, target.default_branch)
            except BuildgateError as exc:
                evidence.append(f"{p}: tags not computed: {exc}")
        clashes = []
        paths = list(tagsets)
        for i, a in enumerate(paths):
            for b in paths[i + 1:]:
                for img in target.images:
                    both = sorted(set(tagsets[a].get(img.name, [])) & set(tagsets[b].get(img.name, [])))
                    if both:
                        clashes.append(f"{a} and {b} both push {img.name}:{','.join(both)}")
        evidence.append(f"{len(good)} workflows push the images: {', '.join(good)}")
        if clashes:
            return CheckResult.failed("one workflow pushing each image tag", "; ".join(clashes),
                                      target.workflows_dir, evidence)
    return CheckResult.passed(f"{', '.join(good)} builds and pushes both images{where_note}", evidence)


# ----------------------------------------------------------------------------- W2
_SCHEMA_VALIDATOR: Any = None


def _schema_validator() -> Any:
    """check-jsonschema's vendored ``github-workflows`` schema, loaded once from the package."""
    global _SCHEMA_VALIDATOR
    if _SCHEMA_VALIDATOR is None:
        import importlib.util
        import json
        import os

        import jsonschema

        # Read the vendored file without importing check_jsonschema (its CLI, requests and click
        # cost ~100 ms); fall back to its API if the layout ever changes.
        spec = importlib.util.find_spec("check_jsonschema")
        folders = list(spec.submodule_search_locations or []) if spec else []
        path = os.path.join(folders[0], "builtin_schemas", "vendor", "github-workflows.json") if folders else ""
        if path and os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                schema = json.load(fh)
        else:
            from check_jsonschema.builtin_schemas import get_builtin_schema

            schema = get_builtin_schema("vendor.github-workflows")
        cls = jsonschema.validators.validator_for(schema)
        _SCHEMA_VALIDATOR = cls(schema)
    return _SCHEMA_VALIDATOR


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {("on" if k is True else str(k)): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def schema_errors(wf: Workflow) -> list[tuple[str, str]]:
    """(message, file:line) for every schema violation, most specific first."""
    validator = _schema_validator()
    data = wf.raw
    out = []
    for err in sorted(validator.iter_errors(_plain(data)), key=lambda e: list(map(str, e.absolute_path))):
        best = err
        if err.context:  # oneOf/anyOf: report the deepest sub-error
            best = max(err.context, key=lambda e: len(e.absolute_path))
        loc = ".".join(str(p) for p in best.absolute_path) or "(top level)"
        line = line_at(data, best.absolute_path)
        out.append((f"{loc}: {best.message.splitlines()[0][:160]}", wf.where(line)))
    return out


def w2_valid_workflow(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W2: valid YAML (the loader raises InputError otherwise), schema, and semantics."""
    try:
        wf = _wf(repo, target, workflow)
    except InputError as exc:
        if "invalid YAML" in exc.reason or "binary" in exc.reason or "not UTF-8" in exc.reason:
            return CheckResult.failed("a valid YAML workflow", exc.reason, exc.where or target.workflow)
        raise
    problems = schema_errors(wf) + wf.problems
    evidence = [f"triggers: {', '.join(wf.triggers) or 'none'}", f"jobs: {', '.join(wf.jobs) or 'none'}",
                "schema: check-jsonschema vendor.github-workflows"]
    if problems:
        msg, where = problems[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return CheckResult.failed("a valid GitHub Actions workflow", f"{msg}{more}", where,
                                  evidence + [f"{w}: {m}" for m, w in problems])
    return CheckResult.passed(f"{wf.path} is a valid workflow", evidence)


# ----------------------------------------------------------------------------- W3
def w3_triggers(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W3: push to the default branch, pull requests and manual runs; path filters cover each context."""
    wf = _wf(repo, target, workflow)
    ev = _events(target, _sha(repo))
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
        return _with_evidence(CheckResult.combine(uniq, ""), evidence)
    return CheckResult.passed(f"triggers on push to {target.default_branch}, pull requests and workflow_dispatch; "
                              "path filters cover " + ", ".join(i.context for i in target.images), evidence)


def _with_evidence(result: CheckResult, evidence: list[str]) -> CheckResult:
    result.evidence = evidence + result.evidence
    return result


# ----------------------------------------------------------------------------- W4
def w4_buildx(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W4: each image is built with Buildx from its context under its name."""
    wf = _wf(repo, target, workflow)
    event = _events(target, _sha(repo))["push_main"]
    fails, evidence = [], []
    for ib in map_images(wf, target, event):
        img = ib.image
        if ib.build is None:
            fails.append(CheckResult.failed(f"a build of {img.name} from {img.context}", ib.problem or "none", ib.where))
            continue
        b = ib.build
        evidence.append(f"{img.name}: {b.kind} at {b.where} ({b.describe()})")
        if b.kind == "build-push-action":
            setup = [s for s in b.job.steps[: b.step.index] if s.action == "docker/setup-buildx-action"]
            if not setup:
                fails.append(CheckResult.failed(f"docker/setup-buildx-action before the build of {img.name} in job {b.job.id}",
                                                "no setup-buildx-action step", b.step.where()))
            else:
                evidence.append(f"{img.name}: buildx set up at {setup[-1].where()}")
        elif b.kind != "buildx":
            fails.append(CheckResult.failed(f"{img.name} built with Buildx", f"`{' '.join((b.command or [])[:3])}` "
                                            "(the classic builder)", b.step.where("run")))
    if fails:
        return _with_evidence(CheckResult.combine(fails, ""), evidence)
    return CheckResult.passed("Buildx builds " + _describe_images(target), evidence)


# ----------------------------------------------------------------------------- W5
def _token_login(wf: Workflow, job: Job, step: Step, event: E.Event) -> tuple[str | None, str]:
    """(registry, secret reference) of a login step, or (None, why)."""
    if step.action == "docker/login-action":
        reg = wf.step_input(job, step, "registry", event)
        pw = step.with_.get("password")
        refs = [r.lower() for e in ex.expressions_in(pw) for r in ex.references(e)] if isinstance(pw, str) else []
        return (ex.to_str(reg) if reg is not None else "docker.io"), ", ".join(refs) or repr(pw)
    if step.run and "login" in step.run:
        env_refs = {}
        for layer in (wf.env, job.env, step.env):
            for k, v in (layer or {}).items():
                if isinstance(v, str):
                    env_refs[str(k)] = [r.lower() for e in ex.expressions_in(v) for r in ex.references(e)]
        for cmd in expanded_commands(step.run):
            reg = login_registry(cmd.words)
            if reg is not None:
                refs = [r.lower() for e in ex.expressions_in(step.run) for r in ex.references(e)]
                for var, vr in env_refs.items():
                    if f"${var}" in step.run or f"${{{var}}}" in step.run:
                        refs += vr
                return reg, ", ".join(refs) or "no token reference"
    return None, ""


def w5_push_ghcr(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W5: GHCR login with the workflow token, packages: write, pushes on push to main, never on PRs."""
    wf = _wf(repo, target, workflow)
    evs = _events(target, _sha(repo))
    main = evs["push_main"]
    changed = _changed_all(target)
    fails, evidence = [], []
    for ib in map_images(wf, target, main):
        img = ib.image
        if ib.build is None:
            fails.append(CheckResult.failed(f"a build of {img.name}", ib.problem or "none", ib.where))
            continue
        b, job = ib.build, ib.build.job
        d = wf.pushes(b, main, changed)
        evidence.append(f"{img.name} on {main.describe()}: {d.reason}")
        if not d.ok:
            fails.append(CheckResult.failed(f"{img.name} pushed on a push to {target.default_branch}", d.reason, d.where))
        # login to the image's registry with the workflow token, before the build, running on push to main
        logins = []
        for s in job.steps[: b.step.index]:
            reg, ref = _token_login(wf, job, s, main)
            if reg is not None:
                logins.append((s, reg, ref))
        ghcr = [(s, reg, ref) for s, reg, ref in logins if reg.lower().rstrip("/") == img.registry.lower()]
        if not ghcr:
            shown = "; ".join(f"{reg} at {s.where()}" for s, reg, _ in logins) or "no login step"
            fails.append(CheckResult.failed(f"a login to {img.registry} before the build of {img.name} in job {job.id}",
                                            shown, b.step.where()))
        else:
            s, reg, ref = ghcr[0]
            if not any(t in ref for t in GITHUB_TOKEN_REFS):
                fails.append(CheckResult.failed(f"the {img.registry} login to use secrets.GITHUB_TOKEN or github.token",
                                                ref, s.where("password")))
            else:
                runs = wf.step_runs(job, s, main)
                if not runs.ok:
                    fails.append(CheckResult.failed(f"the {img.registry} login to run on a push to {target.default_branch}",
                                                    runs.reason, runs.where))
                evidence.append(f"{img.name}: login to {reg} with {ref} at {s.where()}")
        perms = wf.effective_permissions(job)
        level = perms.level("packages")
        src = f"job {job.id}" if job.permissions is not None else "the workflow"
        if level != "write":
            found = (f"no permissions declared for job {job.id} or the workflow (the repository default applies, "
                     "read-only in current GitHub defaults)") if level is None else f"packages: {level} from {src}"
            where = job.where("permissions") if job.permissions is not None else wf.where(perms.line or job.line)
            fails.append(CheckResult.failed(f"packages: write for job {job.id}", found, where))
        else:
            evidence.append(f"{img.name}: packages: write from {src}")
        # never on pull requests
        for key in ("pull_request",) + (("pull_request_target",) if "pull_request_target" in wf.triggers else ()):
            ev = evs["pull_request"] if key == "pull_request" else E.pull_request(
                7, FEATURE_BRANCH, target.default_branch, main.sha, target.default_branch, name=key)
            if key not in wf.triggers:
                continue
            pr_build = _same_build(wf, b, ev)
            pd = wf.pushes(pr_build, ev, changed) if pr_build else Decision(False, "no such build for this event")
            evidence.append(f"{img.name} on {ev.describe()}: {pd.reason}")
            if pd.ok:
                fails.append(CheckResult.failed(f"no push of {img.name} on {key}", f"it pushes ({pd.reason})", pd.where))
    if fails:
        return _with_evidence(CheckResult.combine(fails, ""), evidence)
    return CheckResult.passed(f"pushes to {', '.join(sorted({i.registry for i in target.images}))} with the workflow "
                              f"token on push to {target.default_branch}, never on pull requests", evidence)


def _same_build(wf: Workflow, b: Build, event: E.Event) -> Build | None:
    for other in wf.builds(event):
        if other.job.id == b.job.id and other.step.index == b.step.index and other.matrix == b.matrix \
                and (b.command is None or other.images == b.images):
            return other
    return None


# ----------------------------------------------------------------------------- W7, W8
def _inputs_of(wf: Workflow, b: Build, event: E.Event) -> dict[str, list[str]]:
    """cache-from/cache-to/sbom/provenance/attest of a build, as lists of strings."""
    if b.kind == "build-push-action":
        out = {}
        for key in ("cache-from", "cache-to", "sbom", "provenance", "attests"):
            v = wf.step_input(b.job, b.step, key, event, b.matrix)
            if v is not None:
                out[key] = [ln.strip() for ln in ex.to_str(v).splitlines() if ln.strip()] or [ex.to_str(v)]
        return out
    opts = build_options(b.command or [])
    return {"cache-from": opts.get("--cache-from", []), "cache-to": opts.get("--cache-to", []),
            "sbom": opts.get("--sbom", []), "provenance": opts.get("--provenance", []),
            "attests": opts.get("--attest", [])}


def _attrs(entry: str) -> dict[str, str]:
    out = {}
    for kv in entry.split(","):
        if "=" in kv:
            k, v = kv.split("=", 1)
            out[k.strip().lower()] = v.strip()
        elif kv.strip():
            out.setdefault("type", kv.strip())
    return out


def _push_builds(repo: Repo, target: Target, workflow: Workflow | None, fails: list[CheckResult]):
    """Each image's build on a push to the default branch, with its evaluated inputs; an image
    with no build adds a failure to ``fails`` instead."""
    wf = _wf(repo, target, workflow)
    event = _events(target, _sha(repo))["push_main"]
    for ib in map_images(wf, target, event):
        if ib.build is None:
            fails.append(CheckResult.failed(f"a build of {ib.image.name}", ib.problem or "none", ib.where))
            continue
        yield ib, ib.build, _inputs_of(wf, ib.build, event)


def w7_gha_cache(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W7: every image build reads and writes the GitHub Actions cache."""
    fails, evidence = [], []
    for ib, b, inp in _push_builds(repo, target, workflow, fails):
        for key in ("cache-from", "cache-to"):
            entries = inp.get(key, [])
            if not any(_attrs(e).get("type") == "gha" for e in entries):
                found = ", ".join(entries) or f"no {key}"
                fails.append(CheckResult.failed(f"{key}: type=gha for {ib.image.name}", found,
                                                b.step.where(key) if b.kind == "build-push-action" else b.step.where("run")))
            else:
                evidence.append(f"{ib.image.name}: {key} {', '.join(entries)}")
    if fails:
        return _with_evidence(CheckResult.combine(fails, ""), evidence)
    return CheckResult.passed("every image build uses the GitHub Actions cache (type=gha)", evidence)


def _true(v: str) -> bool:
    return v.strip().lower() == "true"


def w8_attestations(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W8: SBOM and provenance attestations are enabled for every image build."""
    fails, evidence = [], []
    for ib, b, inp in _push_builds(repo, target, workflow, fails):
        attests = [_attrs(a) for a in inp.get("attests", [])]
        sbom = inp.get("sbom", [])
        prov = inp.get("provenance", [])
        sbom_ok = any(_true(s) or _attrs(s).get("generator") for s in sbom) or any(
            a.get("type") == "sbom" and a.get("disabled", "false") != "true" for a in attests)
        prov_ok = any(_true(p) or _attrs(p).get("mode") in ("min", "max") for p in prov) or any(
            a.get("type") == "provenance" and a.get("disabled", "false") != "true" for a in attests)
        where_s = b.step.where("sbom") if b.kind == "build-push-action" else b.step.where("run")
        where_p = b.step.where("provenance") if b.kind == "build-push-action" else b.step.where("run")
        if not sbom_ok:
            fails.append(CheckResult.failed(f"sbom: true for {ib.image.name}", f"sbom: {', '.join(sbom) or 'not set'}", where_s))
        if not prov_ok:
            fails.append(CheckResult.failed(f"provenance: true or mode=min|max for {ib.image.name}",
                                            f"provenance: {', '.join(prov) or 'not set'}", where_p))
        if sbom_ok and prov_ok:
            evidence.append(f"{ib.image.name}: sbom {', '.join(sbom) or 'via attests'}, provenance {', '.join(prov) or 'via attests'}")
    if fails:
        return _with_evidence(CheckResult.combine(fails, ""), evidence)
    return CheckResult.passed("SBOM and provenance attestations are enabled for every image build", evidence)


# ----------------------------------------------------------------------------- W9
def _edits_kustomization(wf: Workflow, job: Job, target: Target) -> list[Step]:
    kpath = target.kustomization
    kdir, kbase = posixpath.split(kpath)
    out = []
    for s in job.steps:
        text = s.run or ""
        if s.run is None:
            # actions that set images in a kustomization (e.g. imranismail/setup-kustomize + run)
            continue
        if kpath in text or (kbase in text and kdir and kdir in text) or re.search(r"\bkustomize\s+edit\s+set\s+image\b", text):
            out.append(s)
    return out


def find_update_job(wf: Workflow, target: Target) -> tuple[Job, list[Step]] | None:
    for job in wf.jobs.values():
        steps = _edits_kustomization(wf, job, target)
        if steps and any(re.search(r"\bgit\b.*\bcommit\b", s.run or "") for s in job.steps):
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


@dataclass
class Loop:
    kind: str  # for | while | until | c-for
    header: str
    line: int
    body: list[tuple[int, str]]


def _loops(script: str) -> list[Loop]:
    """Top-level and nested shell loops with their bodies (a line-based reader)."""
    lines = script.splitlines()
    loops: list[Loop] = []
    stack: list[Loop] = []
    for n, raw in enumerate(lines, 1):
        text = raw.strip()
        m = re.match(r"^(for|while|until)\b(.*)$", text)
        if m:
            header = text
            kind = "c-for" if text.startswith("for ((") or text.startswith("for((") else m.group(1)
            loop = Loop(kind, header, n, [])
            stack.append(loop)
            loops.append(loop)
            rest = re.split(r";\s*do\b", text, maxsplit=1)
            if len(rest) == 2 and re.search(r"\bdone\b", rest[1]):
                loop.body.append((n, rest[1]))
                stack.pop()
            continue
        for lp in stack:
            lp.body.append((n, text))
        if re.match(r"^done\b", text) or re.search(r";\s*done\b", text):
            if stack:
                stack.pop()
    return loops


def _bounded(loop: Loop) -> tuple[bool, str]:
    h = loop.header
    if loop.kind == "for":
        m = re.match(r"^for\s+\w+\s+in\s+(.*?)(;\s*do\b.*)?$", h)
        items = m.group(1) if m else ""
        if "$(" in items and not re.search(r"\$\(\s*seq\b", items):
            return False, f"`{h}` iterates over a command's output"
        return True, f"`{h}` has a fixed number of rounds"
    if loop.kind == "c-for":
        return (bool(re.search(r"<=?|-l[te]", h)), f"`{h}`")
    cond = re.sub(r";\s*do\b.*$", "", h)
    if re.search(r"-(lt|le|gt|ge)\b|\(\(.*[<>].*\)\)", cond):
        return True, f"`{h}` stops after a counter limit"
    body = " ".join(t for _, t in loop.body)
    if re.search(r"-(lt|le|gt|ge|eq)\b|\(\(.*(>=|>|==).*\)\)", body) and re.search(r"\b(exit|break)\b", body):
        return True, f"`{h}` breaks out at a counter limit"
    return False, f"`{h}` has no attempt limit"


def w9_update_job(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W9: a job edits the kustomization after both builds, only on push to main, contents: write,
    commits, and pushes with a bounded retry on a rejected push."""
    wf = _wf(repo, target, workflow)
    found = find_update_job(wf, target)
    if found is None:
        return CheckResult.failed(f"a job that edits {target.kustomization}", "none in jobs " + ", ".join(wf.jobs),
                                  wf.where())
    job, edit_steps = found
    evs = _events(target, _sha(repo))
    changed = _changed_all(target)
    fails = []
    evidence = [f"update job {job.id} at {job.where()}; edits at {', '.join(s.where() for s in edit_steps)}"]
    # needs every job that builds an image
    mapped = map_images(wf, target, evs["push_main"])
    unbuilt = [ib.image.name for ib in mapped if ib.build is None]
    if unbuilt:
        raise CannotDecide(f"no build of {', '.join(unbuilt)} found for a push to {target.default_branch}, so "
                           f"'after both builds' can't be decided (see W4)", wf.where())
    builders = {ib.build.job.id for ib in mapped if ib.build is not None}
    needs = _all_needs(wf, job.id)
    missing = sorted(builders - needs)
    if missing:
        fails.append(CheckResult.failed(f"job {job.id} to need the build job(s) {', '.join(sorted(builders))}",
                                        f"needs: {', '.join(job.needs) or 'nothing'}", job.where("needs") if job.needs else job.where()))
    else:
        evidence.append(f"needs {', '.join(sorted(needs))} (builds in {', '.join(sorted(builders))})")
    # runs only on push to the default branch
    for key, should in (("push_main", True), ("push_feature", False), ("push_tag", False),
                        ("pull_request", False), ("dispatch_main", False), ("dispatch_feature", False)):
        ev = evs[key]
        t = wf.trigger(ev, changed)
        if not t.ok:
            if should:
                fails.append(CheckResult.failed(f"the workflow to run on {ev.describe()}", t.reason, t.where))
            continue
        d = wf.job_runs(job.id, ev)
        evidence.append(f"job {job.id} on {ev.describe()}: {'runs' if d.ok else 'skipped'} ({d.reason})")
        if d.ok != should:
            fails.append(CheckResult.failed(f"job {job.id} to {'run' if should else 'not run'} on {ev.describe()}",
                                            f"it {'runs' if d.ok else 'is skipped'} ({d.reason})", d.where))
    # contents: write
    perms = wf.effective_permissions(job)
    level = perms.level("contents")
    if level != "write":
        found_p = "no permissions declared (repository default)" if level is None else f"contents: {level}"
        fails.append(CheckResult.failed(f"contents: write for job {job.id}", found_p,
                                        job.where("permissions") if job.permissions is not None else job.where()))
    # commits and pushes with a bounded retry
    scripts = [(s, s.run or "") for s in job.steps if s.run]
    commit = [s for s, t in scripts if re.search(r"\bgit\b[^\n]*\bcommit\b", t)]
    if not commit:
        fails.append(CheckResult.failed(f"job {job.id} to commit the kustomization change", "no git commit", job.where()))
    pushes = [(s, t) for s, t in scripts if re.search(r"\bgit\b[^\n]*\bpush\b", t)]
    if not pushes:
        fails.append(CheckResult.failed(f"job {job.id} to push the commit", "no git push", job.where()))
    else:
        s, text = pushes[0]
        loops = [lp for lp in _loops(text)
                 if any(re.search(r"\bgit\b.*\bpush\b", t) for _, t in lp.body) or re.search(r"\bgit\b.*\bpush\b", lp.header)]
        base = s.where("run")
        base_line = int(base.rsplit(":", 1)[1]) if base.rsplit(":", 1)[-1].isdigit() else None
        if not loops:
            fails.append(CheckResult.failed("git push retried in a bounded loop on rejection", "a single git push",
                                            f"{wf.path}:{base_line + _first_line(text, r'git.*push')}" if base_line else base))
        else:
            lp = loops[0]
            where = f"{wf.path}:{base_line + lp.line}" if base_line else base
            ok, why = _bounded(lp)
            body = " ".join(t for _, t in lp.body) + " " + lp.header
            rebase = re.search(r"git\s+pull\b[^\n]*--rebase|git\s+rebase\b|git\s+pull\b|git\s+fetch\b", body)
            if not ok:
                fails.append(CheckResult.failed("a bounded retry of git push", why, where))
            elif not rebase:
                fails.append(CheckResult.failed("the retry loop to rebase on the remote (git pull --rebase)",
                                                "no pull/rebase/fetch in the loop", where))
            else:
                evidence.append(f"retry: {why}, with `{rebase.group(0)}` at {where}")
    if fails:
        return _with_evidence(CheckResult.combine(fails, ""), evidence)
    return CheckResult.passed(f"job {job.id} updates {target.kustomization} after the builds, only on push to "
                              f"{target.default_branch}, and pushes with a bounded retry", evidence)


def _first_line(text: str, pattern: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if re.search(pattern, line):
            return n
    return 0


# ----------------------------------------------------------------------------- history
def _commits_with_paths(repo: Repo, branch: str, limit: int = 500) -> list[tuple[str, str, list[str]]]:
    """(sha, full message, changed paths vs first parent), newest first, along first parents."""
    rev = branch if repo.try_rev_parse(branch) else (f"origin/{branch}" if repo.try_rev_parse(f"origin/{branch}") else None)
    if rev is None:
        raise InputError(f"branch {branch!r} not found", str(repo.root))
    out = repo.git("-c", "core.quotepath=off", "log", "--first-parent", f"-n{limit}", "-m", "--name-only",
                   "--format=%x1e%H%x1f%B%x1f", rev, "--")
    commits = []
    for rec in out.split("\x1e"):
        if not rec.strip():
            continue
        sha, message, names = rec.split("\x1f", 2)
        paths = [p for p in names.splitlines() if p.strip()]
        commits.append((sha.strip(), message, paths))
    return commits


def built_commit(repo: Repo, workflow: str | Workflow, branch: str, repository: str = "ardenone/moltbook-org") -> str:
    """The newest commit on ``branch`` whose push runs the workflow (as the workflow stood at that
    commit): skip-ci markers and path filters are honoured. Raises CannotDecide if none."""
    path = workflow.path if isinstance(workflow, Workflow) else workflow
    for sha, message, paths in _commits_with_paths(repo, branch):
        at = repo.at(sha)
        if not at.exists(path):
            continue
        wf = load_workflow(at, path, repository)
        ev = E.push_to(branch, sha, branch)
        if has_skip_marker(message):
            continue
        if wf.trigger(ev, paths, message).ok:
            return sha
    raise CannotDecide(f"no commit on {branch} runs {path} (all skipped by [skip ci] or filters)", path)


def expected_tags(repo: Repo, target: Target, workflow_path: str, sha: str, branch: str) -> dict[str, list[str]]:
    """Image name -> the concrete tags pushed for a push of ``sha`` to ``branch``."""
    wf = load_workflow(repo, workflow_path, target.github)
    ev = E.push_to(branch, sha, target.default_branch)
    out: dict[str, list[str]] = {}
    for ib in map_images(wf, target, ev):
        if ib.build is None:
            raise CannotDecide(f"no build of {ib.image.name}: {ib.problem}", ib.where)
        for img, tags in build_tags(wf, ib.build, ev).items():
            if img.lower() == ib.image.name.lower():
                out[ib.image.name] = [t for t, _ in tags]
    return out


def build_tags(wf: Workflow, b: Build, event: E.Event) -> dict[str, list[tuple[str, str]]]:
    """Image name -> [(tag, where)] a build tags for ``event`` (whether or not it pushes)."""
    from buildgate.workflow.metadata import compute_tags

    out: dict[str, list[tuple[str, str]]] = {}
    if b.meta_step is not None:
        meta = b.meta_step
        ctx = wf.step_context(event, b.job, meta, b.matrix)
        env = {k: v for k, v in ctx["env"].items() if isinstance(v, str)}
        images = wf.step_input(b.job, meta, "images", event, b.matrix)
        names = [n for n, en in parse_images_input(images) if str(en).strip().lower() != "false"]
        tags_raw = meta.with_.get("tags")
        tline = int(meta.where("tags").rsplit(":", 1)[1]) if "tags" in meta.with_ else meta.line
        block = isinstance(tags_raw, str) and "\n" in tags_raw
        try:
            computed = compute_tags(meta.with_, event, env,
                                    context={"matrix": ctx["matrix"], "steps": ctx["steps"], "needs": ctx["needs"]})
        except CannotDecide as exc:
            raise type(exc)(exc.reason, exc.where or meta.where("tags")) from None
        for n in names:
            out[n] = [(c.tag, f"{wf.path}:{tline + 1 + c.line_offset if block and c.line_offset is not None else tline}")
                      for c in computed]
        return out
    same = _same_build(wf, b, event) or b
    for ref in same.literal_tags or []:
        name = strip_tag(ref)
        tag = ref[len(name) + 1:] if len(ref) > len(name) else "latest"
        out.setdefault(name, []).append((tag, same.step.where("tags") if same.kind == "build-push-action" else same.step.where("run")))
    return out


# ----------------------------------------------------------------------------- W6
def sha_tag_form(tag: str, sha: str) -> str | None:
    """How ``tag`` names commit ``sha`` (``7-hex``, ``sha- prefixed, 7 hex``...), or None."""
    m = re.search(r"(?:^|[-_.])([0-9a-f]{7,40})$", tag)
    if not m or not sha.startswith(m.group(1)):
        return None
    n = len(m.group(1))
    prefix = tag[: m.start(1)]
    return f"bare {n}-hex" if not prefix else f"prefixed {prefix!r}, {n} hex"


def _image_tags(wf: Workflow, target: Target, event: E.Event) -> list[tuple[Image, Build | None, list[tuple[str, str]], str | None]]:
    out = []
    for ib in map_images(wf, target, event):
        if ib.build is None:
            out.append((ib.image, None, [], f"no build of {ib.image.name}: {ib.problem}"))
            continue
        tags = build_tags(wf, ib.build, event)
        mine = next((v for k, v in tags.items() if k.lower() == ib.image.name.lower()), [])
        out.append((ib.image, ib.build, mine, None))
    return out


def w6_tags(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W6: a push to the default branch tags the branch name, the commit SHA and latest; latest
    is never pushed from another branch."""
    from buildgate.workflow.metadata import sanitize_tag

    wf = _wf(repo, target, workflow)
    sha = _sha(repo)
    evs = _events(target, sha)
    main = evs["push_main"]
    changed = _changed_all(target)
    fails, evidence = [], []
    branch_tag = sanitize_tag(target.default_branch)
    for img, b, tags, problem in _image_tags(wf, target, main):
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
        for img, b, tags, _problem in _image_tags(wf, target, ev):
            if b is None or "latest" not in [t for t, _ in tags]:
                continue
            d = wf.pushes(b, ev, changed)
            if d.ok:
                where = next(w for t, w in tags if t == "latest")
                fails.append(CheckResult.failed(f"no 'latest' for {img.name} on {ev.describe()}",
                                                f"'latest' pushed ({', '.join(t for t, _ in tags)})", where))
    if fails:
        return _with_evidence(CheckResult.combine(fails, ""), evidence)
    return CheckResult.passed(f"a push to {target.default_branch} tags the branch, the commit SHA and latest; "
                              "latest only from the default branch", evidence)


# ----------------------------------------------------------------------------- W11
def triggering_events(wf: Workflow, target: Target, sha: str) -> list[E.Event]:
    """One event per kind that runs the workflow (push main/branch/tag, PRs, dispatch, schedule)."""
    on = {name: dict(t.config) for name, t in wf.triggers.items()}
    changed = _changed_all(target)
    out = []
    for ev in E.representative_events(on, sha, target.default_branch):
        try:
            if wf.trigger(ev, changed).ok:
                out.append(ev)
        except CannotDecide:
            out.append(ev)
    return out


def w11_valid_tags(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W11: for every triggering event, every tag the build computes is a valid image tag."""
    from buildgate.workflow.metadata import ActionWouldFail, invalid_reason

    wf = _wf(repo, target, workflow)
    sha = _sha(repo)
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
        return _with_evidence(CheckResult.combine(fails, ""), evidence)
    unbuilt = [i.name for i in target.images if i.name not in evaluated]
    if unbuilt:
        raise CannotDecide(f"no build of {', '.join(unbuilt)} found for any triggering event, so its tags can't be "
                           f"checked (see W4)", wf.where())
    return CheckResult.passed(f"every computed tag is valid for {', '.join(e.describe() for e in events)}", evidence)


# ----------------------------------------------------------------------------- W10
def w10_written_tag_is_pushed(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W10: the tag the update job writes for a push to main is one the build pushes for it."""
    try:
        from buildgate.workflow import tagwrites
    except ImportError:
        raise CannotDecide("tag-write recognition (buildgate.workflow.tagwrites) is not available") from None
    return _w10(repo, target, _wf(repo, target, workflow), tagwrites)


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


def _w10(repo: Repo, target: Target, wf: Workflow, tagwrites: Any) -> CheckResult:
    found = find_update_job(wf, target)
    if found is None:
        raise CannotDecide(f"no job edits {target.kustomization}, so no written tag to compare (see W9)", wf.where())
    job, _steps = found
    event = _events(target, _sha(repo))["push_main"]
    pushed: dict[str, list[tuple[str, str]]] = {}
    for img, b, tags, problem in _image_tags(wf, target, event):
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
        return _with_evidence(CheckResult.combine(fails, ""), evidence)
    return CheckResult.passed(f"job {job.id} writes a tag the build pushes for every image", evidence)
