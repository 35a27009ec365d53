"""W4, W5, W7, W8: how each image is built and pushed: Buildx from its context, a push to its
registry with credentials that registry accepts (on some event, never on pull requests), the
GitHub Actions cache, SBOM and provenance."""
from __future__ import annotations

from typing import Any

from buildgate import reference
from buildgate.errors import CannotDecide
from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.target import Image, Target
from buildgate.workflow import events as E
from buildgate.workflow import expressions as ex
from buildgate.workflow.buildargs import build_options, login_server
from buildgate.workflow.builds import ImageBuild, builds_of, changed_paths, head_sha, map_images, normalize_context
from buildgate.workflow.checks.common import (
    Judge, build_event, describe_images, probe_events, triggering, workflow_for,
)
from buildgate.workflow.discover import script_view
from buildgate.workflow.model import Build, Step, Workflow
from buildgate.workflow.refs import word_value
from buildgate.shell import expanded_commands

GITHUB_TOKEN_REFS = ("secrets.github_token", "github.token")
BUILDX_KINDS = ("build-push-action", "buildx", "bake")


def _describe_assumed(ib: ImageBuild) -> str:
    return ex.Unknown.describe(ib.assumed) if isinstance(ib.assumed, ex.Unknown) else str(ib.assumed)


def w4_buildx(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W4: each image is built with Buildx from its context under its name."""
    wf = workflow_for(repo, target, workflow)
    event = build_event(wf, target, head_sha(repo))
    j = Judge()
    for ib in map_images(wf, target, event):
        img = ib.image
        if ib.build is None:
            j.fail(f"a build of {img.name} from {img.context}", ib.problem or "none", ib.where)
            continue
        b = ib.build
        j.note(f"{img.name}: {b.kind} at {b.where} ({b.describe()})")
        if b.kind in ("build-push-action", "bake") and b.command is None:
            setup = [s for s in b.job.steps[: b.step.index] if s.action == "docker/setup-buildx-action"]
            if not setup:
                j.fail(f"docker/setup-buildx-action before the build of {img.name} in job {b.job.id}",
                       "no setup-buildx-action step", b.step.where())
            else:
                j.note(f"{img.name}: buildx set up at {setup[-1].where()}")
        elif b.kind == "build-push-action-v1":
            j.fail(f"{img.name} built with Buildx", f"docker/build-push-action@{b.step.uses.partition('@')[2]} "
                   "(v1 runs the classic `docker build`)", b.step.where("uses"))
            continue
        elif b.kind not in BUILDX_KINDS:
            j.fail(f"{img.name} built with Buildx", f"`{' '.join((b.command or [])[:3])}` (the classic builder)", b.where)
            continue
        if ib.assumed is not None:
            j.unknown(CannotDecide(f"cannot decide whether {b.describe()} builds {img.name} from {img.context}: it "
                                   f"depends on {_describe_assumed(ib)}", b.where))
    return j.result("Buildx builds " + describe_images(target))


# -- W5 ------------------------------------------------------------------------------------------
def _refs(text: Any) -> list[str]:
    if not isinstance(text, str):
        return []
    out = []
    for e in ex.expressions_in(text):
        try:
            out += [r.lower() for r in ex.references(e)]
        except ex.ExpressionSyntaxError:
            continue
    return out


def _login_of(wf: Workflow, b: Build, step: Step, event: E.Event) -> list[tuple[Any, str, str]]:
    """The logins a step makes: [(registry or Unknown, what the password reads, where)]."""
    owner = b.wf or wf
    if step.action == "docker/login-action":
        reg = owner.step_value(b.job, step, "registry", event, b.matrix, b.inputs)
        reg = "docker.io" if reg is None or (isinstance(reg, str) and not reg.strip()) else reg
        pw = step.with_.get("password")
        return [(reg, ", ".join(_refs(pw)) or repr(pw), step.where("registry") if "registry" in step.with_ else step.where())]
    if step.action in ("redhat-actions/podman-login", "azure/docker-login", "aws-actions/amazon-ecr-login"):
        reg = owner.step_value(b.job, step, "registry", event, b.matrix, b.inputs) or (
            # its output names the registry: an image named `${{ steps.<id>.outputs.registry }}/...` is on it
            ex.Unknown(f"steps.{step.id}.outputs.registry" if step.id else f"the registry {step.action} logs in to",
                       step.where()) if "ecr" in step.action else "docker.io")
        return [(reg, ", ".join(_refs(step.with_.get("password"))) or "a secret", step.where())]
    if not step.run or "login" not in step.run:
        return []
    script, env, unknowns = script_view(owner, b.job, step, b.matrix, event, b.inputs)
    out = []
    where = step.where("run")
    for cmd in expanded_commands(script, env):
        server = login_server(cmd.words)
        if server is None:
            continue
        value = word_value(server, unknowns, where) if server else "docker.io"
        refs = _refs(step.run)
        for k, v in list(step.env.items()) + list(b.job.env.items()) + list(owner.env.items()):
            if isinstance(v, str) and (f"${k}" in step.run or f"${{{k}}}" in step.run):
                refs += _refs(v)
        out.append((value, ", ".join(refs) or "no token reference", where))
    return out


def _registry_symbol(b: Build, img: Image) -> str | None:
    """When the build's name for ``img`` starts with an unknown (``${{ secrets.REGISTRY }}/app``),
    what that unknown is: a login to the same unknown goes to the image's registry."""
    from buildgate.workflow.refs import name_could_be

    for r in b.refs:
        if isinstance(r.name, ex.Unknown) and name_could_be(r.name, img.name) and r.name.parts \
                and isinstance(r.name.parts[0], ex.Unknown):
            return r.name.parts[0].origin.what
    return None


def _registry_matches(login: Any, registry: str) -> Any:
    """True/False, or the Unknown the login's registry is."""
    if isinstance(login, ex.Unknown):
        return login
    host = str(login).strip().lower()
    host = host.split("://", 1)[-1].split("/", 1)[0] if "://" in host or host.count("/") else host
    if host in ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com", ""):
        host = "docker.io"
    return host == registry


def _credentials(wf: Workflow, img: Image, b: Build, event: E.Event, j: Judge) -> None:
    """A login to the image's registry, before the build, running on ``event``, with credentials
    that registry accepts (ghcr.io: the workflow token with packages: write, or a token secret)."""
    registry = reference.registry_of(img.name)
    logins = []
    for s in b.job.steps[: b.step.index]:
        for reg, ref, where in _login_of(wf, b, s, event):
            logins.append((s, reg, ref, where))
    if b.kind == "build-push-action-v1" and "password" in b.step.with_:  # v1 logs in itself
        reg = b.value("registry", event) or "docker.io"
        logins.append((b.step, reg, ", ".join(_refs(b.step.with_.get("password"))) or "a password input", b.step.where()))
    symbol = _registry_symbol(b, img)
    matching = [(s, r, ref, w) for s, r, ref, w in logins if _registry_matches(r, registry) is True
                or (symbol is not None and isinstance(r, ex.Unknown) and r.origin.what == symbol)]
    unknown = [(s, r, ref, w) for s, r, ref, w in logins if isinstance(_registry_matches(r, registry), ex.Unknown)]
    if not matching:
        if unknown:
            s, r, _ref, w = unknown[0]
            j.unknown(ex.undecided(r, f"whether {b.describe()} logs in to {registry}", w))
            return
        shown = "; ".join(f"{r} at {s.where()}" for s, r, _ref, _w in logins) or "no login step"
        j.fail(f"a login to {registry} before the build of {img.name} in job {b.job.id}", shown, b.step.where())
        return
    runs = None
    for s, reg, ref, where in matching:
        try:
            d = (b.wf or wf).step_runs(b.job, s, event, b.matrix, b.inputs)
        except CannotDecide as exc:
            runs = runs or exc
            continue
        if not d.ok:
            runs = runs or d
            continue
        break
    else:
        if isinstance(runs, CannotDecide):
            j.unknown(runs)
        else:
            j.fail(f"the {registry} login to run on {event.describe()}, where {img.name} is pushed", runs.reason, runs.where)
        return
    j.note(f"{img.name}: login to {registry} with {ref} at {s.where()}")
    if registry != "ghcr.io" or not any(t in ref for t in GITHUB_TOKEN_REFS):
        return
    perms = wf.build_permissions(b)
    level = perms.level("packages")
    owner_job = b.job if b.caller is None or b.job.permissions is not None else b.caller[1]
    src = f"job {owner_job.id}" if owner_job.permissions is not None else "the workflow"
    if level is None:
        j.unknown(CannotDecide(f"cannot decide whether GITHUB_TOKEN may push {img.name}: no permissions: block for job "
                               f"{b.job.id} or the workflow, so the repository's default token permissions apply "
                               "(read-only for repositories created since 2023)", b.job.where()))
    elif level != "write":
        where = owner_job.where("permissions") if owner_job.permissions is not None else wf.where(perms.line or b.job.line)
        j.fail(f"packages: write for job {b.job.id}", f"packages: {level} from {src} (its {registry} login uses "
               "GITHUB_TOKEN)", where)
    else:
        j.note(f"{img.name}: packages: write from {src}")


def w5_push_ghcr(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W5: each image is pushed to its registry with credentials it accepts, on at least one
    triggering event, and never on a pull request."""
    wf = workflow_for(repo, target, workflow)
    sha = head_sha(repo)
    changed = changed_paths(target)
    events = [e for e in triggering(wf, target, sha)] or [probe_events(target, sha)["push_main"]]
    prs = triggering(wf, target, sha, pull_requests=True)
    j = Judge()
    for img in target.images:
        pushed_on: list[tuple[E.Event, Build]] = []
        not_pushed: list[tuple[str, str | None]] = []
        undecided: list[CannotDecide] = []
        found_build = False
        for ev in events:
            ib = next(x for x in map_images(wf, target, ev) if x.image is img)
            if ib.build is None:
                not_pushed.append((ib.problem or "no build", ib.where))
                continue
            found_build = True
            try:
                d = wf.pushes(ib.pusher, ev, changed)
            except CannotDecide as exc:
                undecided.append(exc)
                continue
            j.note(f"{img.name} on {ev.describe()}: {d.reason}")
            if d.ok:
                pushed_on.append((ev, ib.pusher))
            else:
                not_pushed.append((f"{ev.describe()}: {d.reason}", d.where))
        if not found_build:
            j.fail(f"a build of {img.name}", not_pushed[0][0] if not_pushed else "none", not_pushed[0][1] if not_pushed else wf.where())
            continue
        if not pushed_on:
            if undecided:
                for u in undecided:
                    j.unknown(u)
            else:
                j.fail(f"{img.name} pushed to {reference.registry_of(img.name)} on at least one triggering event",
                       "; ".join(r for r, _ in not_pushed[:3]) or "no push", next((w for _, w in not_pushed if w), wf.where()))
        else:
            ev, b = pushed_on[0]
            _credentials(wf, img, b, ev, j)
        # never on pull requests
        for ev in prs:
            for b in builds_of(wf, img, ev):
                try:
                    pd = wf.pushes(b, ev, changed)
                except CannotDecide as exc:
                    j.unknown(exc)
                    continue
                j.note(f"{img.name} on {ev.describe()}: {pd.reason}")
                if pd.ok:
                    j.fail(f"no push of {img.name} on {ev.name}", f"it pushes ({pd.reason})", pd.where)
    registries = ", ".join(sorted({reference.registry_of(i.name) for i in target.images}))
    return j.result(f"pushes to {registries} with credentials the registry accepts, on at least one triggering event, "
                    "never on pull requests")


# -- W7, W8 --------------------------------------------------------------------------------------
def _inputs_of(wf: Workflow, b: Build, event: E.Event) -> dict[str, list[Any]]:
    """cache-from/cache-to/sbom/provenance/attest of a build, as lists (items may be Unknown)."""
    if b.kind in ("build-push-action", "build-push-action-v1"):
        from buildgate.workflow.discover import split_items

        out: dict[str, list[Any]] = {}
        for key in ("cache-from", "cache-to", "sbom", "provenance", "attests"):
            v = b.value(key, event)
            if v is not None:
                out[key] = split_items(v, "\n") or [v if isinstance(v, ex.Unknown) else ex.to_str(v)]
        return out
    if b.kind == "bake":
        o = b.options
        attests = [a for a in o.get("attest", [])]
        return {"cache-from": o.get("cache-from", []), "cache-to": o.get("cache-to", []), "attests": attests}
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


def _where(b: Build, key: str) -> str:
    return b.step.where(key) if b.kind.startswith("build-push-action") and key in b.step.with_ else b.where


def _push_builds(repo: Repo, target: Target, workflow: Workflow | None, j: Judge):
    """Each image's build on a push to the default branch, with its evaluated inputs; an image
    with no build adds a failure instead."""
    wf = workflow_for(repo, target, workflow)
    event = build_event(wf, target, head_sha(repo))
    for ib in map_images(wf, target, event):
        if ib.build is None:
            j.fail(f"a build of {ib.image.name}", ib.problem or "none", ib.where)
            continue
        yield wf, event, ib, ib.build, _inputs_of(wf, ib.build, event)


def _gha(entries: list[Any], b: Build, key: str) -> Any:
    """True when an entry is type=gha, False when none is, or the Unknown an entry is."""
    unknown = None
    for e in entries:
        if isinstance(e, ex.Unknown):
            text = e.text("\x00")
            if "type=gha" in text.replace(" ", ""):
                return True
            unknown = unknown or e
        elif _attrs(str(e)).get("type") == "gha":
            return True
    return unknown if unknown is not None else False


def w7_gha_cache(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W7: every image's build reads the GitHub Actions cache, and a build of that image (the
    same one, or a test build of the same context) writes it."""
    j = Judge()
    for wf, event, ib, b, inp in _push_builds(repo, target, workflow, j):
        img = ib.image
        reads = _gha(inp.get("cache-from", []), b, "cache-from")
        writes = _gha(inp.get("cache-to", []), b, "cache-to")
        writer = b
        if writes is not True:  # a split cache: a test build of the same image/context writes it
            for other in wf.builds(event):
                if other is b or other.kind == "imagetools":
                    continue
                same = any(reference.same_name(n, img.name) for n in other.images) or (
                    isinstance(other.context, str) and isinstance(b.context, str)
                    and normalize_context(other.context) == normalize_context(b.context))
                if same and _gha(_inputs_of(wf, other, event).get("cache-to", []), other, "cache-to") is True:
                    writes, writer = True, other
                    break
        for key, got in (("cache-from", reads), ("cache-to", writes)):
            entries = inp.get(key, [])
            if isinstance(got, ex.Unknown):
                j.unknown(ex.undecided(got, f"whether the build of {img.name} uses the GitHub Actions cache", _where(b, key)))
            elif not got:
                shown = ", ".join(e.text("…") if isinstance(e, ex.Unknown) else str(e) for e in entries) or f"no {key}"
                j.fail(f"{key}: type=gha for {img.name}", shown, _where(b, key))
            else:
                by = "" if writer is b or key == "cache-from" else f" (written by {writer.describe()})"
                j.note(f"{img.name}: {key} type=gha{by}")
    return j.result("every image build uses the GitHub Actions cache (type=gha)")


def _true(v: Any) -> bool:
    return isinstance(v, str) and v.strip().lower() == "true" or v is True


def w8_attestations(repo: Repo, target: Target, workflow: Workflow | None = None) -> CheckResult:
    """W8: SBOM and provenance attestations are enabled for every image build."""
    j = Judge()
    for wf, event, ib, b, inp in _push_builds(repo, target, workflow, j):
        name = ib.image.name
        values = {k: inp.get(k, []) for k in ("sbom", "provenance", "attests")}
        unknown = next((v for vs in values.values() for v in vs if isinstance(v, ex.Unknown)), None)
        attests = [_attrs(a) for a in values["attests"] if isinstance(a, str)]
        sbom = [s for s in values["sbom"] if isinstance(s, str)]
        prov = [p for p in values["provenance"] if isinstance(p, str)]
        sbom_ok = any(_true(s) or _attrs(s).get("generator") for s in sbom) or any(
            a.get("type") == "sbom" and a.get("disabled", "false") != "true" for a in attests)
        prov_ok = any(_true(p) or _attrs(p).get("mode") in ("min", "max") for p in prov) or any(
            a.get("type") == "provenance" and a.get("disabled", "false") != "true" for a in attests)
        for ok, key, expected, shown in ((sbom_ok, "sbom", f"sbom: true for {name}", sbom),
                                         (prov_ok, "provenance", f"provenance: true or mode=min|max for {name}", prov)):
            if ok:
                continue
            if unknown is not None:
                j.unknown(ex.undecided(unknown, f"whether the build of {name} attaches {key}", _where(b, key)))
            else:
                j.fail(expected, f"{key}: {', '.join(shown) or 'not set'}", _where(b, key))
        if sbom_ok and prov_ok:
            j.note(f"{name}: sbom {', '.join(sbom) or 'via attests'}, provenance {', '.join(prov) or 'via attests'}")
    return j.result("SBOM and provenance attestations are enabled for every image build")
