"""The soak's time: the harness's clock and the workers' clocks move only when told, and concurrent invocations'
calls go through in simulated-time order, so a seed replays the same run on any machine."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from local.soak import SimClock, Turnstile
from local.soak_worker import SerialExecutor, SimulatedClock

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_the_harness_clock_stands_still_until_moved_and_never_goes_back():
    clock = SimClock(START)

    assert clock.now() == START
    clock.advance_to(START + timedelta(minutes=5))
    clock.advance_to(START + timedelta(minutes=1))

    assert clock.now() == START + timedelta(minutes=5)


def test_a_workers_clock_moves_only_by_what_it_is_advanced_and_starts_each_invocation_at_its_moment():
    clock = SimulatedClock()
    clock.start_invocation(START.timestamp(), timeout=60)
    first_monotonic = clock.monotonic()

    clock.advance(2.5)
    assert clock.wall() == START.timestamp() + 2.5

    clock.start_invocation(START.timestamp() + 300, timeout=60)
    assert clock.wall() == START.timestamp() + 300
    assert clock.monotonic() == first_monotonic + 2.5  # the monotonic clock never goes back
    assert clock.deadline == clock.monotonic() + 60


def calls_in_order(turnstile: Turnstile, plans: dict[str, list[float]], start_order: list[str]) -> list[str]:
    """Runs each slot's calls (simulated times) in a thread of its own, started in `start_order`; returns the
    order the turnstile let them through."""
    served: list[str] = []
    turnstile.begin(list(plans))
    gates = {name: threading.Event() for name in plans}

    def run(name: str) -> None:
        gates[name].wait()
        for at in plans[name]:
            with turnstile.turn(name, at):
                served.append(f"{name}@{at:g}")
        turnstile.end(name)

    threads = [threading.Thread(target=run, args=(name,)) for name in plans]
    for thread in threads:
        thread.start()
    for name in start_order:  # a slot that starts late still gets its earlier calls first
        gates[name].set()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return served


@pytest.mark.parametrize("start_order", [["a", "b"], ["b", "a"]])
def test_concurrent_invocations_calls_go_through_in_simulated_time_order_whoever_starts_first(start_order):
    plans = {"a": [1.0, 4.0, 5.0], "b": [2.0, 3.0, 6.0]}

    served = calls_in_order(Turnstile(), plans, start_order)

    assert served == ["a@1", "b@2", "b@3", "a@4", "a@5", "b@6"]


def test_calls_at_the_same_simulated_moment_go_through_in_slot_order():
    served = calls_in_order(Turnstile(), {"b": [1.0], "a": [1.0]}, ["b", "a"])

    assert served == ["a@1", "b@1"]


def test_the_serial_pool_runs_tasks_in_order_and_hands_back_each_failure_in_its_place():
    ran: list[int] = []

    def task(n: int) -> int:
        ran.append(n)
        if n == 2:
            raise ValueError("two")
        return n * 10

    with SerialExecutor(max_workers=8) as pool:
        results = pool.map(task, [1, 2, 3])
        assert ran == [1, 2, 3]  # every task ran, in order, before the results are read
        assert next(results) == 10
        with pytest.raises(ValueError, match="two"):
            next(results)
