"""The criteria registry: every criterion id, its layer, its title and the check that decides it.

This is the one place a criterion is wired. Both the pytest side (a step calls
``criteria.run("W3", ctx)``) and ``buildgate history`` (every repository criterion at every
commit) call the entries below, with one :class:`~buildgate.context.Context`. Each entry is named
by its id and calls its library check (named by the id too: ``w3_triggers``, ``d3_…``, ``g3_…``).

A criterion can have **parts**, each decided by its own scenario or step (D3: ``paths`` and
``options``; K5: ``containers``, ``rollouts``, ``digests``). Its verdict combines all its parts:
it passes only when every part passes. A check run as a part of something a step observes first
(V3 runs the local build script once, then judges it twice) reads that through an
**observation**, made once per context.

Adding a criterion: its scenario (``features/<layer>/*.feature``, tagged ``@ID @layer``), one
entry here, and its check in the library. ``docs/criteria.md`` says what each criterion means.

Checks of the registry, cluster and devpod layers are imported inside their entries, so a
repository-only run never loads the registry client, the ``kubernetes`` client or testinfra.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from buildgate.context import Context
from buildgate.errors import BuildgateError, InputError
from buildgate.result import CheckResult
from buildgate.verdict import verdict_of

LAYERS = ("repo", "registry", "cluster", "devpod")

Check = Callable[[Context], CheckResult]


@dataclass
class Criterion:
    """One criterion: id, layer, title, and its parts (name -> check), in the order registered."""

    id: str
    layer: str
    title: str
    parts: dict[str, Check] = field(default_factory=dict)

    def check(self, ctx: Context, part: str | None = None) -> CheckResult:
        """Run one part, or every part combined (the criterion's own verdict).

        Combined, every part runs: a part that fails makes the criterion fail even when another
        part could not decide (fail > error > skipped); with no failure, the most severe part that
        could not decide is raised (an error before a skip); otherwise it passes.
        """
        if part is not None:
            return self.parts[part](ctx)
        results: list[CheckResult] = []
        raised: list[BuildgateError] = []
        for name, fn in self.parts.items():
            try:
                results.append(fn(ctx))
            except BuildgateError as exc:
                raised.append(exc)
        failed = [r for r in results if not r.ok]
        if failed:
            combined = CheckResult.combine(results, "")
            combined.evidence += [f"{self.id}: another part could not decide: {exc.kind}: {exc}" for exc in raised]
            return combined
        if raised:
            raise max(raised, key=lambda exc: verdict_of(exc)[0].rank)
        return results[0] if len(results) == 1 else CheckResult.combine(results, "; ".join(r.message for r in results))


CRITERIA: dict[str, Criterion] = {}
_OBSERVATIONS: dict[str, Callable[[Context], Any]] = {}


def check(cid: str, layer: str | None = None, title: str | None = None, part: str = "") -> Callable[[Check], Check]:
    """Register the decorated function as criterion ``cid`` (or as its part ``part``)."""

    def register(fn: Check) -> Check:
        crit = CRITERIA.get(cid)
        if crit is None:
            if layer is None or title is None:
                raise ValueError(f"criterion {cid}: its first entry needs a layer and a title")
            crit = CRITERIA[cid] = Criterion(cid, layer, title)
        if part in crit.parts:
            raise ValueError(f"criterion {cid}: part {part!r} registered twice")
        crit.parts[part] = fn
        return fn

    return register


def observation(name: str) -> Callable[[Callable[[Context], Any]], Callable[[Context], Any]]:
    """Register a probe whose result several parts judge; it runs once per context."""

    def register(fn: Callable[[Context], Any]) -> Callable[[Context], Any]:
        def observed(ctx: Context) -> Any:
            return ctx.memo(f"observation:{name}", lambda: fn(ctx))

        _OBSERVATIONS[name] = observed
        return observed

    return register


def run(key: str, ctx: Context) -> CheckResult:
    """Run ``"W3"`` (the whole criterion) or ``"D3.paths"`` (one part) with ``ctx``."""
    cid, _, part = key.partition(".")
    crit = CRITERIA.get(cid)
    if crit is None or (part and part not in crit.parts):
        raise InputError(f"no criterion check {key!r} in the registry")
    return crit.check(ctx, part or None)


def observe(name: str, ctx: Context) -> Any:
    """Make (once) the observation ``name``: a step that probes before others judge."""
    return _OBSERVATIONS[name](ctx)


def of_layer(layer: str) -> list[str]:
    """The ids of one layer's criteria, in catalogue order."""
    return [cid for cid, c in CRITERIA.items() if c.layer == layer]


def _with_evidence(result: CheckResult, evidence: list[str]) -> CheckResult:
    result.evidence[:0] = evidence
    return result


# -- the workflow (W) --------------------------------------------------------------------------
def _wc():
    from buildgate.workflow import checks

    return checks


@check("W1", "repo", "The workflow file exists at the claimed path")
def w1(c: Context) -> CheckResult:
    return _wc().w1_workflow_exists(c.repo, c.target)


@check("W1b", "repo", "Some workflow builds and pushes both images")
def w1b(c: Context) -> CheckResult:
    return _wc().w1b_some_workflow_builds(c.repo, c.target)


@check("W2", "repo", "The workflow is valid YAML and a valid workflow")
def w2(c: Context) -> CheckResult:
    # Not through c.workflow: a file that doesn't parse fails W2, it isn't an error.
    return _wc().w2_valid_workflow(c.repo, c.target)


@check("W3", "repo", "Triggers: push to main, pull requests, manual runs; path filters cover both contexts")
def w3(c: Context) -> CheckResult:
    return _wc().w3_triggers(c.repo, c.target, c.workflow)


@check("W4", "repo", "Builds both images with Buildx from their contexts")
def w4(c: Context) -> CheckResult:
    return _wc().w4_buildx(c.repo, c.target, c.workflow)


@check("W5", "repo", "Pushes each image to its registry with credentials it accepts, on some event, never on pull requests")
def w5(c: Context) -> CheckResult:
    return _wc().w5_push_ghcr(c.repo, c.target, c.workflow)


@check("W6", "repo", "Tags: branch name, commit SHA and latest (on the default branch only)")
def w6(c: Context) -> CheckResult:
    return _wc().w6_tags(c.repo, c.target, c.workflow)


@check("W7", "repo", "Layer cache in the GitHub Actions cache")
def w7(c: Context) -> CheckResult:
    return _wc().w7_gha_cache(c.repo, c.target, c.workflow)


@check("W8", "repo", "SBOM and provenance attestations enabled")
def w8(c: Context) -> CheckResult:
    return _wc().w8_attestations(c.repo, c.target, c.workflow)


# W9's parts, each its own step of the W9 scenario (claims can name them: "W9.retry").
@check("W9", "repo", "A job updates the kustomization after both builds, on push to main, with retry",
       part="after builds")
def w9_after_builds(c: Context) -> CheckResult:
    return _wc().w9_after_builds(c.repo, c.target, c.workflow)


@check("W9", part="push only")
def w9_push_only(c: Context) -> CheckResult:
    return _wc().w9_push_only(c.repo, c.target, c.workflow)


@check("W9", part="permissions")
def w9_permissions(c: Context) -> CheckResult:
    return _wc().w9_permissions(c.repo, c.target, c.workflow)


@check("W9", part="commits")
def w9_commits(c: Context) -> CheckResult:
    return _wc().w9_commits(c.repo, c.target, c.workflow)


@check("W9", part="retry")
def w9_retry(c: Context) -> CheckResult:
    return _wc().w9_retry(c.repo, c.target, c.workflow)


@check("W10", "repo", "The tag written to the kustomization is a tag the build pushes")
def w10(c: Context) -> CheckResult:
    return _wc().w10_written_tag_is_pushed(c.repo, c.target, c.workflow)


@check("W11", "repo", "Every computed tag is a valid image tag for every triggering event")
def w11(c: Context) -> CheckResult:
    return _wc().w11_valid_tags(c.repo, c.target, c.workflow)


@check("W12", "repo", "One workflow owns each image tag")
def w12(c: Context) -> CheckResult:
    # Not through c.workflow: W12 reads every workflow file.
    return _wc().w12_one_owner_per_tag(c.repo, c.target)


# -- docs and scripts (D, S) ---------------------------------------------------------------------
@check("D1", "repo", "DOCKER_BUILD.md covers the overlay error, Actions, devpod trigger, local build, troubleshooting")
def d1(c: Context) -> CheckResult:
    from buildgate.docs import topics

    return topics.d1_docs_cover_topics(c.repo, c.target.docs)


@check("D2", "repo", "README.md links DOCKER_BUILD.md")
def d2(c: Context) -> CheckResult:
    from buildgate.docs import links

    return links.d2_readme_links_docs(c.repo, c.target.readme, c.target.docs, c.target.github)


@check("D3", "repo", "Every workflow, script or doc path named in docs and scripts exists", part="paths")
def d3_paths(c: Context) -> CheckResult:
    from buildgate.docs import paths

    t = c.target
    return paths.d3_named_paths_exist(c.repo, t.docs, t.readme, t.scripts.values(), t.workflows_dir, t.github,
                                      t.docs_scope)


@check("D3", part="options")
def d3_options(c: Context) -> CheckResult:
    from buildgate.docs import options, paths

    t = c.target
    docs = paths.docs_in_scope(c.repo, t.docs, t.readme, t.docs_scope, t.workflows_dir)
    return options.d3_docs_show_accepted_options(c.repo, docs, t.scripts.values())


@check("S1", "repo", "Helper scripts exist, are executable in git, parse, and have no shellcheck errors")
def s1(c: Context) -> CheckResult:
    from buildgate import scripts

    return scripts.s1_helper_scripts(c.repo, c.target.scripts)


@check("S2", "repo", "The devpod trigger and status scripts name a workflow file that exists")
def s2(c: Context) -> CheckResult:
    from buildgate import scripts

    return scripts.s2_scripts_name_existing_workflow(c.repo, c.target.scripts, c.target.workflows_dir)


# -- the kustomization and its history (K1-K3) -------------------------------------------------
@check("K1", "repo", "The kustomization overrides each built image, and the rendered manifests use them")
def k1(c: Context) -> CheckResult:
    from buildgate import kustomize

    # Rendered only once the file is known to be a Kustomization (a wrong kind fails K1).
    return kustomize.k1_overrides_apply(c.kustomization, c.rendered, c.image_names)


@check("K2", "repo", "Each newTag names a commit of the repository's history")
def k2(c: Context) -> CheckResult:
    from buildgate import tag_history

    return tag_history.k2_newtags_in_history(c.repo, c.kustomization, c.image_names)


@check("K3", "repo", "History shows the automated tag-update commits")
def k3(c: Context) -> CheckResult:
    from buildgate import tag_history

    t = c.target
    return tag_history.k3_bot_updates(c.repo, t.kustomization, t.workflows_dir, t.bot_authors)


@check("K7", "repo", "What deploys the kustomization applies its tags: no GitOps image override, default branch, its folder")
def k7(c: Context) -> CheckResult:
    from buildgate import gitops

    t = c.target
    return gitops.k7_gitops_applies_tags(c.repo, t.kustomization, t.default_branch, t.github, c.image_names)


# -- the kustomization's tags in the registry (K4) ------------------------------------------------
def _g():
    from buildgate.oci import checks

    return checks


@check("K4", "registry", "Each newTag exists in the registry for its image")
def k4(c: Context) -> CheckResult:
    g = _g()
    return g.k4_newtags_exist(c.registry, g.kustomization_refs(c.repo, c.target.kustomization), c.image_names)


# -- the cluster (K5, K6) ----------------------------------------------------------------------------
@observation("rendered deployments")
def rendered_deployments(c: Context) -> Any:
    """The Deployments the kustomization renders, in the cluster's namespace."""
    from buildgate.cluster.expected import expected_deployments

    namespace = c.cluster_config.namespace or c.cluster.namespace
    return expected_deployments(c.repo, c.target.kustomization, namespace, tuple(c.image_names))


@check("K5", "cluster", "The cluster runs exactly the kustomization's images, rollouts complete", part="containers")
def k5_containers(c: Context) -> CheckResult:
    from buildgate.cluster import k5

    expected = rendered_deployments(c)
    evidence = [f"cluster: {c.cluster.source} ({c.cluster.host})"] + [
        f"rendered {d.ref}: " + ", ".join(f"{x.name}={x.image}" for x in d.containers) for d in expected]
    return _with_evidence(k5.k5_containers_use_images(c.cluster, expected), evidence)


@check("K5", part="rollouts")
def k5_rollouts(c: Context) -> CheckResult:
    from buildgate.cluster import k5

    return k5.k5_rollouts_complete(c.cluster, rendered_deployments(c), c.cluster_config.rollout)


@check("K5", part="digests")
def k5_digests(c: Context) -> CheckResult:
    from buildgate.cluster import k5

    return k5.k5_pods_run_registry_digests(c.cluster, rendered_deployments(c), c.registry.resolve_tag)


@check("K6", "cluster", "The Argo CD Application is Synced and Healthy at a revision with the change")
def k6(c: Context) -> CheckResult:
    from buildgate.cluster import k6 as k6_mod

    cfg = c.cluster_config
    t = c.target
    return k6_mod.k6_application_deployed(c.cluster, cfg.argocd_namespace, cfg.application, c.repo, t.kustomization,
                                          cfg.sync, github=t.github, default_branch=t.default_branch,
                                          images=c.image_names)


# -- the registry (G) ------------------------------------------------------------------------
@dataclass(frozen=True)
class BuiltCommit:
    """What the registry should hold: the built commit, its tags per image, the repository URL."""

    commit: str
    tags: dict[str, list[str]]
    repo_url: str
    workflow: str


@observation("built commit")
def built(c: Context) -> BuiltCommit:
    """The newest commit on the default branch the workflow built, and the tags its
    metadata-action rules compute for that push (no tag format is assumed here)."""
    from buildgate.workflow.builds import built_commit, expected_tags

    t, wf = c.target, c.workflow
    sha = built_commit(c.repo, wf, t.default_branch, t.github)
    return BuiltCommit(sha, expected_tags(c.repo, t, wf.path, sha, t.default_branch), _g().github_url(t.github), wf.path)


@check("G1", "registry", "latest exists for both images")
def g1(c: Context) -> CheckResult:
    return _g().g1_tag_exists(c.registry, c.image_names, "latest")


@check("G2", "registry", "The tag for the current main commit exists for both images")
def g2(c: Context) -> CheckResult:
    b = built(c)
    return _g().g2_commit_tags_exist(c.registry, c.image_names, b.tags, b.commit)


@check("G3", "registry", "latest and the commit tag resolve to the same digest")
def g3(c: Context) -> CheckResult:
    b = built(c)
    return _g().g3_same_digest(c.registry, c.image_names, b.tags, b.commit, moving_tag="latest")


@check("G4", "registry", "Each image index carries SBOM and provenance attestations for every platform")
def g4(c: Context) -> CheckResult:
    b = built(c)
    return _g().g4_attestations_present(c.registry, c.image_names, b.tags, b.commit)


@check("G5", "registry", "The provenance names the source repository and the commit")
def g5(c: Context) -> CheckResult:
    b = built(c)
    return _g().g5_provenance_matches(c.registry, c.image_names, b.tags, b.commit, b.repo_url)


@check("G6", "registry", "OCI labels source and revision match repo and commit")
def g6(c: Context) -> CheckResult:
    b = built(c)
    return _g().g6_labels_match(c.registry, c.image_names, b.tags, b.commit, b.repo_url)


# -- the devpod (V) ---------------------------------------------------------------------------------
def _v():
    from buildgate.devpod import api

    return api


@check("V1", "devpod", "The devpod's root filesystem is overlay")
def v1(c: Context) -> CheckResult:
    return _v().v1_overlay_root(c.devpod)


@observation("V2 build")
def v2_build(c: Context) -> Any:
    """A throwaway image built inside the devpod."""
    return _v().v2_build_attempt(c.devpod)


@check("V2", "devpod", "A container build inside the devpod fails with the overlay error")
def v2(c: Context) -> CheckResult:
    return _v().v2_build_fails(v2_build(c), c.devpod)


@observation("V3 run")
def v3_run(c: Context) -> Any:
    """The local build script run in the devpod with every build tool shimmed."""
    return _v().v3_run_local_build(c.devpod, c.repo, c.target)


@check("V3", "devpod", "The local build script stops in the devpod and names DOCKER_BUILD.md", part="stops")
def v3_stops(c: Context) -> CheckResult:
    return _v().v3_stops_before_build(v3_run(c), c.devpod, c.repo, c.target.docs)


@check("V3", part="names docs")
def v3_names_docs(c: Context) -> CheckResult:
    return _v().v3_names_docs(v3_run(c), c.target)


@observation("V4 run")
def v4_run(c: Context) -> Any:
    """The devpod trigger script run in the devpod with gh shimmed."""
    return _v().v4_run_trigger(c.devpod, c.repo, c.target)


@check("V4", "devpod", "The devpod trigger script asks for exactly the workflow that builds", part="asks")
def v4_asks(c: Context) -> CheckResult:
    return _v().v4_asks_for_build_workflows(v4_run(c), c.repo, c.target)


@check("V4", part="gh accepts")
def v4_gh_accepts(c: Context) -> CheckResult:
    return _v().v4_gh_accepts(v4_run(c), c.repo)


# -- criteria a target file declares -------------------------------------------------------------
# Everything above registers the built-in criteria; a target file may declare more
# (``criteria: {X1: {title: "...", layer: repo}}``). The pytest plugin declares them once the
# target is loaded, before features are collected, so tags, markers, reports, waivers, claim maps
# and the gate know them like the built-in ones. They have no check of their own: only the team's
# scenarios tagged with their id decide them.
BUILTIN: frozenset[str] = frozenset(CRITERIA)


@dataclass
class DeclaredCriterion(Criterion):
    """A criterion declared by a target file (``source``: its ``file:line``); no parts."""

    source: str = ""

    def check(self, ctx: Context, part: str | None = None) -> CheckResult:
        from buildgate.errors import CannotDecide

        raise CannotDecide(f"criterion {self.id} has no check of its own: only the scenarios tagged @{self.id} "
                           "decide it", self.source or None)


def declare(cid: str, layer: str, title: str, source: str = "") -> Criterion:
    """Register ``cid``, a criterion of the team's own, with its layer and title (no parts).

    A built-in id can't be declared again; declaring an id again replaces its declaration."""
    if cid in BUILTIN:
        raise InputError(f"criterion {cid} is built in; declare an id of your own (e.g. X1)", source or None)
    if layer not in LAYERS:
        raise InputError(f"criterion {cid}: layer {layer!r} is not one of {', '.join(LAYERS)}", source or None)
    crit = CRITERIA[cid] = DeclaredCriterion(cid, layer, title, source=source)
    return crit


def declared() -> list[str]:
    """The ids declared in this process (by :func:`declare`), in declaration order."""
    return [cid for cid, c in CRITERIA.items() if isinstance(c, DeclaredCriterion)]


def forget_declared() -> None:
    """Remove every declared criterion (the built-in ones stay)."""
    for cid in declared():
        del CRITERIA[cid]
