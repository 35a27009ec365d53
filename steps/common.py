"""What every step module shares.

- :func:`check` / :func:`record`: assert a ``CheckResult`` with its evidence (``pytest_buildgate``).
- :func:`criterion_steps`: one ``Then`` step per Gherkin line, each running its criterion (or
  part) through the registry with the scenario's :class:`~buildgate.context.Context`. A step
  module is then a table from the feature's words to the criterion ids they decide.
- :func:`observation_step`: a ``Given``/``When`` line that makes an observation of the registry
  (a probe the following ``Then`` lines judge), once per run.
"""
from __future__ import annotations

from typing import Callable, Literal

from pytest_bdd import given, then, when

from buildgate import criteria
from buildgate.context import Context
from buildgate.errors import BuildgateError
from pytest_buildgate.verdicts import check, record

__all__ = ["check", "record", "criterion_steps", "observation_step"]

_KINDS = {"given": given, "when": when, "then": then}


def _runs(key: str) -> Callable[[Context], None]:
    cid, _, part = key.partition(".")

    def run(ctx: Context) -> None:
        try:
            result = criteria.run(key, ctx)
        except BuildgateError:
            if not part:
                raise
            # A part that can't decide ends its scenario here; it must not hide another part that
            # fails (fail > error > skipped): the whole criterion decides then.
            whole = criteria.run(cid, ctx)  # raises the most severe "can't decide" unless one fails
            if whole.ok:
                raise
            result = whole
        check(result)

    run.__doc__ = f"Decide {key} (buildgate.criteria)."
    return run


def criterion_steps(table: dict[str, str]) -> None:
    """Register, in the calling step module, ``Then <line>`` for each ``line: "ID"`` or
    ``line: "ID.part"`` of ``table``."""
    for line, key in table.items():
        if key.partition(".")[0] not in criteria.CRITERIA:
            raise ValueError(f"step {line!r}: no criterion {key!r} in the registry")
        then(line, stacklevel=2)(_runs(key))


def observation_step(kind: Literal["given", "when"], line: str, name: str) -> None:
    """Register, in the calling step module, ``<kind> <line>`` making the observation ``name``."""

    def observe(ctx: Context) -> None:
        criteria.observe(name, ctx)

    observe.__doc__ = f"Make the observation {name!r} (buildgate.criteria)."
    _KINDS[kind](line, stacklevel=2)(observe)
