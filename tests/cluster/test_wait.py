"""eventually(): attempts, budget, Degraded grace, never past the budget."""
from __future__ import annotations

import time

from buildgate.cluster.config import WaitBudget
from buildgate.cluster.wait import DEGRADED, DONE, PENDING, Observation, eventually


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def _script(*states: str):
    seq = list(states)

    def observe() -> Observation:
        st = seq.pop(0) if len(seq) > 1 else seq[0]
        return Observation(st, f"state {st}")
    return observe


def test_done_at_once_takes_one_attempt_and_no_sleep():
    t = FakeTime()
    out = eventually(_script(DONE), WaitBudget(10, 1, 5), clock=t.clock, sleep=t.sleep)
    assert out.ok and out.attempts == 1 and t.sleeps == []


def test_pending_then_done_counts_attempts():
    t = FakeTime()
    out = eventually(_script(PENDING, PENDING, DONE), WaitBudget(10, 2, 5), clock=t.clock, sleep=t.sleep)
    assert out.ok and out.attempts == 3 and t.sleeps == [2, 2]
    assert "after 3 attempts in 4.0s (budget 10s)" == out.describe()


def test_timeout_cuts_the_last_pause_to_the_budget():
    t = FakeTime()
    out = eventually(_script(PENDING), WaitBudget(5, 2, 1), clock=t.clock, sleep=t.sleep)
    assert out.end == "timeout" and not out.ok
    assert t.sleeps == [2, 2, 1] and t.now == 5 and out.attempts == 4
    assert out.last.summary == "state pending"


def test_zero_timeout_looks_exactly_once():
    t = FakeTime()
    out = eventually(_script(PENDING), WaitBudget(0, 1, 0), clock=t.clock, sleep=t.sleep)
    assert out.end == "timeout" and out.attempts == 1 and t.sleeps == []


def test_degraded_fails_once_the_grace_has_passed_not_at_the_budget():
    t = FakeTime()
    out = eventually(_script(PENDING, DEGRADED), WaitBudget(100, 5, 3), clock=t.clock, sleep=t.sleep)
    assert out.end == DEGRADED
    assert t.now == 8  # 5 (pending pause) + 3 (grace): looked again right when the grace ended
    assert out.attempts == 3


def test_degraded_with_zero_grace_fails_immediately():
    t = FakeTime()
    out = eventually(_script(DEGRADED), WaitBudget(100, 5, 0), clock=t.clock, sleep=t.sleep)
    assert out.end == DEGRADED and out.attempts == 1 and t.now == 0


def test_degraded_that_recovers_within_the_grace_passes():
    t = FakeTime()
    out = eventually(_script(DEGRADED, PENDING, DONE), WaitBudget(100, 1, 10), clock=t.clock, sleep=t.sleep)
    assert out.ok and out.attempts == 3


def test_wake_is_used_instead_of_sleep_and_real_time_stays_within_budget():
    calls = []

    def wake(obs: Observation, seconds: float) -> None:
        calls.append(seconds)
        time.sleep(seconds)

    start = time.monotonic()
    out = eventually(lambda: Observation(PENDING, "x"), WaitBudget(0.5, 0.2, 1), wake)
    took = time.monotonic() - start
    assert out.end == "timeout" and calls and all(c <= 0.2 + 1e-9 for c in calls)
    assert took < 0.5 + 0.2
