"""The clock protocol: the manual clock moves only when told, wakes sleepers and timers in
deadline order; wait_for bounds by clock time; the scaled clock's timers follow its speed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from dialer.clock import MANUAL_START, Clock, ManualClock, RealClock, ScaledClock, wait_for


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock()
    assert clock.now() == MANUAL_START and clock.monotonic() == 0.0 and clock.speed == 1.0
    clock.advance(90)
    assert clock.monotonic() == 90.0
    assert clock.now() == MANUAL_START + timedelta(seconds=90)
    clock.set(MANUAL_START + timedelta(hours=1))
    assert clock.monotonic() == 3600.0
    with pytest.raises(ValueError, match="backwards"):
        clock.set(MANUAL_START)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="aware"):
        ManualClock(datetime(2026, 1, 1))


def test_timers_run_in_deadline_order_at_their_deadline() -> None:
    clock = ManualClock()
    seen: list[tuple[str, float]] = []

    def note(name: str) -> None:
        seen.append((name, clock.monotonic()))

    clock.call_later(5, note, "c")
    clock.call_later(2, note, "a")
    clock.call_later(2, note, "b")  # same deadline: scheduling order
    dropped = clock.call_later(3, note, "dropped")
    dropped.cancel()
    clock.call_later(1, lambda: clock.call_later(1.5, note, "chained"))  # due at 2.5, scheduled during advance
    assert clock.pending() == 4 and clock.next_time() == 1
    assert clock.advance(4) == 4
    assert seen == [("a", 2.0), ("b", 2.0), ("chained", 2.5)]
    assert clock.monotonic() == 4.0
    assert clock.advance(10) == 1 and seen[-1] == ("c", 5.0)
    assert clock.pending() == 0 and clock.next_time() is None


async def test_sleepers_wake_in_deadline_order_without_real_time() -> None:
    clock = ManualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("late", 30), ("early", 10), ("mid", 20))]
    await asyncio.wait_for(clock.wait_for_sleepers(3), 5)
    assert clock.sleepers == 3
    clock.advance(15)
    assert clock.sleepers == 2  # woken at once, though the task has not run yet
    await tasks[1]
    assert woke == [("early", 15.0)]
    clock.advance(100)
    await asyncio.gather(*tasks)
    assert [name for name, _ in woke] == ["early", "mid", "late"]
    assert clock.sleepers == 0 and clock.pending() == 0


async def test_a_loop_driven_step_by_step() -> None:
    """The pattern for engine and client tests: advance, then wait until the loop sleeps again."""
    clock = ManualClock()
    ticks: list[float] = []

    async def loop() -> None:
        while True:
            ticks.append(clock.monotonic())
            await clock.sleep(2)

    task = asyncio.create_task(loop())
    for _ in range(3):
        await asyncio.wait_for(clock.wait_for_sleepers(1), 5)
        clock.advance(2)
    await asyncio.wait_for(clock.wait_for_sleepers(1), 5)
    assert ticks == [0.0, 2.0, 4.0, 6.0]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleepers == 0 and clock.pending() == 0  # a cancelled sleep leaves no timer


async def test_zero_sleep_only_yields() -> None:
    clock = ManualClock()
    await asyncio.wait_for(clock.sleep(0), 5)
    await asyncio.wait_for(clock.sleep(-3), 5)
    assert clock.pending() == 0 and clock.monotonic() == 0.0


async def test_wait_for_times_out_on_clock_time() -> None:
    clock = ManualClock()
    never: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    progress: list[str] = []

    async def stuck() -> int:
        clock.advance(4.9)
        await asyncio.sleep(0)
        progress.append("not yet")
        clock.advance(0.1)  # the deadline: this task is cancelled at its next await
        return await never

    with pytest.raises(TimeoutError):
        await wait_for(clock, stuck(), 5)
    assert progress == ["not yet"] and never.cancelled()
    assert clock.pending() == 0


async def test_wait_for_returns_the_result_and_passes_errors() -> None:
    clock = ManualClock()

    async def answer() -> int:
        return 42

    async def fail() -> int:
        raise LookupError("no such action")

    assert await wait_for(clock, answer(), 5) == 42
    with pytest.raises(LookupError):
        await wait_for(clock, fail(), 5)
    assert clock.pending() == 0  # the timeout's sleeper is gone


async def test_wait_for_cancelled_from_outside_is_not_a_timeout() -> None:
    clock = ManualClock()
    never: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    started = asyncio.Event()

    async def stuck() -> int:
        started.set()
        return await never

    waiting = asyncio.create_task(wait_for(clock, stuck(), 5))
    await asyncio.wait_for(started.wait(), 5)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert never.cancelled() and clock.pending() == 0


async def test_scaled_clock_timers_and_sleep_follow_the_speed() -> None:
    clock = ScaledClock(speed=1000, start=MANUAL_START)
    fired = asyncio.Event()
    started = clock.monotonic()
    clock.call_later(50, fired.set)  # 50 clock seconds: 0.05 s real
    await asyncio.wait_for(fired.wait(), 5)
    assert clock.monotonic() - started >= 50
    cancelled = clock.call_later(0, fired.clear)
    cancelled.cancel()
    await clock.sleep(20)  # 0.02 s real
    assert fired.is_set()
    assert clock.now() >= MANUAL_START + timedelta(seconds=70)
    assert await wait_for(clock, asyncio.sleep(0, result="ok"), 10) == "ok"


def test_a_scaled_clock_leaps_its_wall_time_forward_only() -> None:
    clock = ScaledClock(speed=1, start=MANUAL_START)
    mono = clock.monotonic()
    clock.leap(MANUAL_START + timedelta(hours=11))
    assert MANUAL_START + timedelta(hours=11) <= clock.now() < MANUAL_START + timedelta(hours=11, seconds=5)
    assert clock.monotonic() - mono < 5  # intervals and timers are not disturbed
    with pytest.raises(ValueError):
        clock.leap(MANUAL_START)


def test_every_clock_has_the_protocol() -> None:
    def use(clock: Clock) -> datetime:
        return clock.now()

    for clock in (RealClock(), ScaledClock(2.0), ManualClock()):
        assert use(clock).tzinfo is not None
        for name in ("monotonic", "sleep", "call_later", "speed"):
            assert hasattr(clock, name)
    assert abs(RealClock().now() - datetime.now(UTC)) < timedelta(seconds=5)
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(0)
