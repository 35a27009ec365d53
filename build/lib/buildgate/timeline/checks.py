"""The one place the history touches the criteria: the registry's repository-layer entries.

Each revision gets one :class:`~buildgate.context.Context` opened on that revision's
:class:`~buildgate.repo.Repo` (no layer providers: the history reads only git objects), and
each criterion runs through :func:`buildgate.criteria.run`, exactly as a step does. What a check
read is recorded with its outcome, so the engine can reuse the outcome at a commit where all of
it is unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass

from buildgate import criteria as registry
from buildgate.context import Context
from buildgate.errors import BuildgateError
from buildgate.repo import Repo
from buildgate.target import Target
from buildgate.verdict import Verdict, verdict_of

__all__ = ["Outcome", "criteria", "context", "outcome"]


@dataclass(frozen=True)
class Outcome:
    """A criterion's verdict at one revision, its message, and the repository facts it read
    (see ``Repo.recording``): at another revision where all of them are unchanged, the outcome
    is the same."""

    verdict: Verdict
    message: str
    reads: frozenset = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Verdict(self.verdict))


def criteria() -> list[str]:
    """The repository criteria, in their report order."""
    return registry.of_layer("repo")


def context(repo: Repo, target: Target) -> Context:
    """One revision's context: its shared inputs (workflow model, kustomization) parsed once."""
    return Context(target, repo)


def outcome(cid: str, ctx: Context) -> Outcome:
    """A criterion's outcome at the context's revision, with what it read (for reuse)."""
    with ctx.repo.recording() as reads:
        try:
            result = registry.run(cid, ctx)
        except BuildgateError as exc:
            result = exc
    verdict, message = verdict_of(result)
    return Outcome(verdict, message, frozenset(reads))
