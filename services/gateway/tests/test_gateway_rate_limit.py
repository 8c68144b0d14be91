"""The in-memory moving window: the rule of the ``limits`` library's moving window."""

from __future__ import annotations

import asyncio

import pytest

from lfi_gateway.rate_limit import ClientRateLimiter, MemoryMovingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_amount_hits_per_window_and_waits_for_the_oldest_to_leave() -> None:
    clock = Clock()
    window = MemoryMovingWindow(3, 60, clock=clock)
    assert [window.hit("alice") for _ in range(2)] == [None, None]
    clock.now += 20
    assert window.hit("alice") is None
    clock.now += 10
    assert window.hit("alice") == pytest.approx(30)  # the first two leave at +60
    assert window.hit("bob") is None  # counted apart
    clock.now += 30  # exactly a window after the first two: still inside it
    assert window.hit("alice") == pytest.approx(0)
    clock.now += 0.001
    assert window.hit("alice") is None
    assert window.hit("alice") is None  # the second of the first two left with it
    assert window.hit("alice") == pytest.approx(20 - 0.001)  # refused hits are not counted


def test_keys_idle_for_a_window_are_dropped() -> None:
    clock = Clock()
    window = MemoryMovingWindow(5, 1, clock=clock)
    for number in range(100):
        window.hit(f"addr:10.0.0.{number}")
    assert len(window) == 100
    clock.now += 1.5
    window.hit("alice")
    assert len(window) == 1


def test_a_zero_limit_refuses_everything_for_a_whole_window() -> None:
    window = MemoryMovingWindow(0, 60, clock=Clock())
    assert window.hit("alice") == 60


def test_the_limiter_gives_whole_seconds_to_wait() -> None:
    limiter = ClientRateLimiter("2/minute")
    assert limiter.description == "2 per 1 minute"

    async def hits() -> list[int | None]:
        return [await limiter.hit("sub:alice") for _ in range(3)]

    first, second, third = asyncio.run(hits())
    assert (first, second) == (None, None)
    assert third == 60
