"""The repository-layer criteria as plain functions, for runs outside pytest (history timeline).

Each entry calls the same library check the criterion's step calls, with the same arguments;
``tests/test_timeline.py`` checks that both agree. A :class:`RevisionContext` parses the
workflow and the kustomization once per revision and shares them between checks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from buildgate import gitops, kustomize, scripts, tag_history
from buildgate.docs import links, options, paths, topics
from buildgate.errors import BuildgateError
from buildgate.repo import Repo
from buildgate.result import CheckResult
from buildgate.target import Target
from buildgate.workflow import builds
from buildgate.workflow import checks as wc


@dataclass
class RevisionContext:
    """One revision of the target repository, with lazily parsed shared inputs."""

    repo: Repo
    target: Target
    _cache: dict[str, Any] = field(default_factory=dict)
    _reads: dict[str, set] = field(default_factory=dict)

    def _get(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            with self.repo.recording() as reads:
                try:
                    self._cache[key] = make()
                except BuildgateError as exc:
                    self._cache[key] = exc
            self._reads[key] = reads
        else:  # what building it read counts as read by every check that uses it
            for fact in self._reads[key]:
                self.repo._record(fact)
        value = self._cache[key]
        if isinstance(value, BuildgateError):
            raise value
        return value

    @property
    def workflow(self):
        return self._get("workflow", lambda: builds.subject_workflow(self.repo, self.target))

    @property
    def kustomization(self) -> kustomize.Kustomization:
        return self._get("kustomization", lambda: kustomize.Kustomization.load(self.repo, self.target.kustomization))

    def rendered(self) -> kustomize.Rendered:
        return self._get("rendered", lambda: kustomize.render(self.repo, self.target.kustomization))

    @property
    def image_names(self) -> list[str]:
        return [i.name for i in self.target.images]


Check = Callable[[RevisionContext], CheckResult]

REPO_CHECKS: dict[str, Check] = {
    "W1": lambda c: wc.w1_workflow_exists(c.repo, c.target),
    "W1b": lambda c: wc.w1b_some_workflow_builds(c.repo, c.target),
    "W2": lambda c: wc.w2_valid_workflow(c.repo, c.target, c.workflow),
    "W3": lambda c: wc.w3_triggers(c.repo, c.target, c.workflow),
    "W4": lambda c: wc.w4_buildx(c.repo, c.target, c.workflow),
    "W5": lambda c: wc.w5_push_ghcr(c.repo, c.target, c.workflow),
    "W6": lambda c: wc.w6_tags(c.repo, c.target, c.workflow),
    "W7": lambda c: wc.w7_gha_cache(c.repo, c.target, c.workflow),
    "W8": lambda c: wc.w8_attestations(c.repo, c.target, c.workflow),
    "W9": lambda c: wc.w9_update_job(c.repo, c.target, c.workflow),
    "W10": lambda c: wc.w10_written_tag_is_pushed(c.repo, c.target, c.workflow),
    "W11": lambda c: wc.w11_valid_tags(c.repo, c.target, c.workflow),
    "W12": lambda c: wc.w12_one_owner_per_tag(c.repo, c.target),
    "D1": lambda c: topics.d1_docs_cover_topics(c.repo, c.target.docs),
    "D2": lambda c: links.d2_readme_links_docs(c.repo, c.target.readme, c.target.docs, c.target.github),
    "D3": lambda c: CheckResult.combine(
        [
            paths.d3_named_paths_exist(
                c.repo, c.target.docs, c.target.readme, c.target.scripts.values(), c.target.workflows_dir, c.target.github
            ),
            options.d3_docs_show_accepted_options(c.repo, [c.target.docs, c.target.readme], c.target.scripts.values()),
        ],
        "every path and script option the docs and scripts name exists",
    ),
    "S1": lambda c: scripts.s1_helper_scripts(c.repo, c.target.scripts),
    "S2": lambda c: scripts.s2_scripts_name_existing_workflow(c.repo, c.target.scripts, c.target.workflows_dir),
    "K1": lambda c: kustomize.k1_overrides_apply(c.kustomization, c.rendered, c.image_names),
    "K2": lambda c: tag_history.k2_newtags_in_history(c.repo, c.kustomization, c.image_names),
    "K7": lambda c: gitops.k7_gitops_applies_tags(
        c.repo, c.target.kustomization, c.target.default_branch, c.target.github, c.image_names),
    "K3": lambda c: tag_history.k3_bot_updates(
        c.repo, c.target.kustomization, c.target.workflows_dir, c.target.bot_authors
    ),
}


@dataclass(frozen=True)
class Outcome:
    """A criterion's verdict at one revision (``pass``, ``fail`` or ``error``) and its message.

    ``reads`` are the repository facts the check read (see ``Repo.recording``): at another
    revision where all of them are unchanged, the outcome is the same.
    """

    verdict: str
    message: str
    reads: frozenset = frozenset()


def run_check(cid: str, ctx: RevisionContext) -> Outcome:
    """Run one criterion's check; a buildgate error is an ``error`` outcome, never a pass."""
    with ctx.repo.recording() as reads:
        try:
            result = REPO_CHECKS[cid](ctx)
        except BuildgateError as exc:
            return Outcome("error", f"{exc.kind}: {exc}", frozenset(reads))
    return Outcome("pass" if result.ok else "fail", result.message, frozenset(reads))
