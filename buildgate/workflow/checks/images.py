"""W4, W5, W7, W8: how each image is built and pushed: Buildx, a GHCR push with the workflow
token (never on pull requests), the GitHub Actions cache, SBOM and provenance."""
from __future__ import annotations

from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.shell import expanded_commands
from buildgate.target import Target
from buildgate.workflow import events as E
from buildgate.workflow import expressions as ex
from buildgate.workflow.buildargs import build_options, login_registry
from buildgate.workflow.builds import changed_paths, head_sha, map_images, same_build
from buildgate.workflow.checks.common import FEATURE_BRANCH, describe_images, probe_events, with_evidence, workflow_for
from buildgate.workflow.model import Build, Decision, Job, Step, Workflow

GITHUB_TOKEN_REFS = ("secrets.github_token", "github.token")


def w4_buildx(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W4: each image is built with Buildx from its context under its name."""
    wf = workflow_for(repo, target, workflow)
    event = probe_events(target, head_sha(repo))["push_main"]
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
        return with_evidence(CheckResult.combine(fails, ""), evidence)
    return CheckResult.passed("Buildx builds " + describe_images(target), evidence)


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
    wf = workflow_for(repo, target, workflow)
    evs = probe_events(target, head_sha(repo))
    main = evs["push_main"]
    changed = changed_paths(target)
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
            pr_build = same_build(wf, b, ev)
            pd = wf.pushes(pr_build, ev, changed) if pr_build else Decision(False, "no such build for this event")
            evidence.append(f"{img.name} on {ev.describe()}: {pd.reason}")
            if pd.ok:
                fails.append(CheckResult.failed(f"no push of {img.name} on {key}", f"it pushes ({pd.reason})", pd.where))
    if fails:
        return with_evidence(CheckResult.combine(fails, ""), evidence)
    return CheckResult.passed(f"pushes to {', '.join(sorted({i.registry for i in target.images}))} with the workflow "
                              f"token on push to {target.default_branch}, never on pull requests", evidence)


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
    wf = workflow_for(repo, target, workflow)
    event = probe_events(target, head_sha(repo))["push_main"]
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
        return with_evidence(CheckResult.combine(fails, ""), evidence)
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
        return with_evidence(CheckResult.combine(fails, ""), evidence)
    return CheckResult.passed("SBOM and provenance attestations are enabled for every image build", evidence)
