"""Eventually: look at a state until it is done, Degraded for too long, or the budget runs out.

:func:`eventually` calls ``observe()`` (one look at the cluster, returning an
:class:`Observation`), and between looks calls ``wake(observation, seconds)``, which should
block at most ``seconds`` (a watch with ``timeoutSeconds``, or a sleep). It never waits past
the budget: the last pause is cut to what remains, and a Degraded state ends the wait as soon
as it has lasted ``degraded_grace`` seconds. The outcome says how many looks were taken, how
long it took and what the last look saw, so a failure message can show it.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from buildgate.cluster.config import WaitBudget

DONE, PENDING, DEGRADED = "done", "pending", "degraded"


@dataclass
class Observation:
    """One look: ``state`` is done, pending or degraded; ``summary`` is one line."""

    state: str
    summary: str
    resource_version: str | None = None
    facts: list[str] = field(default_factory=list)


@dataclass
class WaitOutcome:
    """How a wait ended: ``done``, ``timeout`` or ``degraded``."""

    end: str
    attempts: int
    elapsed: float
    last: Observation
    budget: WaitBudget

    @property
    def ok(self) -> bool:
        return self.end == DONE

    def describe(self) -> str:
        """``after 4 attempts in 2.0s (budget 2s)``."""
        word = "attempt" if self.attempts == 1 else "attempts"
        return f"after {self.attempts} {word} in {self.elapsed:.1f}s (budget {self.budget.timeout:g}s)"


def eventually(observe: Callable[[], Observation], budget: WaitBudget,
               wake: Callable[[Observation, float], object] | None = None,
               clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], object] = time.sleep) -> WaitOutcome:
    """Look until done; give up at the budget, or once Degraded has lasted the grace period."""
    start = clock()
    attempts = 0
    degraded_since: float | None = None
    while True:
        attempts += 1
        obs = observe()
        now = clock()
        elapsed = now - start
        if obs.state == DONE:
            return WaitOutcome(DONE, attempts, elapsed, obs, budget)
        if obs.state == DEGRADED:
            degraded_since = now if degraded_since is None else degraded_since
            if now - degraded_since >= budget.degraded_grace:
                return WaitOutcome(DEGRADED, attempts, elapsed, obs, budget)
        else:
            degraded_since = None
        remaining = budget.timeout - elapsed
        if remaining <= 0:
            return WaitOutcome(DEGRADED if obs.state == DEGRADED else "timeout", attempts, elapsed, obs, budget)
        pause = min(budget.interval, remaining)
        if degraded_since is not None:  # look again right when the grace period ends
            pause = min(pause, max(0.0, budget.degraded_grace - (now - degraded_since)))
        if pause > 0:
            if wake is not None:
                wake(obs, pause)
            else:
                sleep(pause)
