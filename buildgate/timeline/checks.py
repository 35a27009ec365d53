"""The one place the history touches the repository criteria (:mod:`buildgate.repochecks`).

When the criteria registry replaces ``REPO_CHECKS``, this module is what changes. D3 runs with
the target's ``repo.docs_scope`` (:func:`buildgate.docs.paths.d3_for_target`): without a scope
it is the same check as ``REPO_CHECKS["D3"]``, which does not pass the scope yet.
"""
from __future__ import annotations

from typing import Callable

from buildgate.docs import paths
from buildgate.errors import BuildgateError
from buildgate.repo import Repo
from buildgate.repochecks import REPO_CHECKS, Outcome, RevisionContext, run_check
from buildgate.result import CheckResult
from buildgate.target import Target

__all__ = ["Outcome", "criteria", "context", "outcome"]


def criteria() -> list[str]:
    """The repository criteria, in their report order."""
    return list(REPO_CHECKS)


def context(repo: Repo, target: Target) -> RevisionContext:
    """One revision's shared inputs (workflow model, kustomization), parsed once for all checks."""
    return RevisionContext(repo, target)


def _with_scope(ctx: RevisionContext) -> CheckResult:
    return paths.d3_for_target(ctx.repo, ctx.target)


_OVERRIDES: dict[str, Callable[[RevisionContext], CheckResult]] = {"D3": _with_scope}


def outcome(cid: str, ctx: RevisionContext) -> Outcome:
    """A criterion's outcome at the context's revision, with what it read (for reuse)."""
    check = _OVERRIDES.get(cid) if ctx.target.docs_scope else None
    if check is None:
        return run_check(cid, ctx)
    with ctx.repo.recording() as reads:  # as run_check does, for the override
        try:
            result = check(ctx)
        except BuildgateError as exc:
            return Outcome("error", f"{exc.kind}: {exc}", frozenset(reads))
    return Outcome("pass" if result.ok else "fail", result.message, frozenset(reads))
