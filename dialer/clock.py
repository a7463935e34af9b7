"""One injected clock for the daemon, the PBX simulator and the tests.

Everything that reads the time or waits takes a :class:`Clock` instead of calling
``datetime.now``, ``time.monotonic``, ``asyncio.sleep`` or ``loop.call_later``:

- ``now()`` — aware UTC wall-clock time: timestamps written to the database, calling windows,
  rules (a callback "tomorrow at 10"), the scheduler's cron moments.
- ``monotonic()`` — seconds on a steady clock, in the clock's own seconds: intervals,
  deadlines, timeouts (a ring timeout, the AMI ping interval and watchdog, the engine's pacing
  interval and drain deadline).  Only differences between two readings mean anything.
- ``await sleep(seconds)`` — wait that many clock seconds (the engine's loops, reconnect backoff).
- ``call_later(delay, fn, *args)`` — run ``fn(*args)`` after ``delay`` clock seconds, from the
  event loop; returns a :class:`Timer` with ``cancel()`` (the PBX simulator's call timers).
- ``speed`` — clock seconds per real second (1 for real time).

:func:`wait_for` bounds an awaitable by clock time (``asyncio.wait_for`` counts real seconds), so
an AMI action's response timeout runs on the same time as everything else.

Three clocks:

- :class:`RealClock` — production.
- :class:`ScaledClock` — ``ScaledClock(speed=20)`` makes one real second count as twenty:
  ring timeouts, wrap-up timers, pacing intervals and timestamps all follow it, so a campaign
  of a few simulated minutes runs in a few real seconds; ``leap(to)`` steps its wall-clock time
  over a night (tests of several days).  ``dialer demo`` gives the engine a
  ScaledClock and starts the PBX simulator at the same speed so both sides agree.
- :class:`ManualClock` — tests and virtual time: time moves only when the test calls
  ``advance(seconds)``, ``advance_to(monotonic)`` or ``set(datetime)``; timers and sleepers
  whose deadline passed run in deadline order (ties in the order they were scheduled), with
  no real sleeping.  ``await clock.wait_for_sleepers(n)`` waits until ``n`` tasks are blocked
  in ``sleep`` — "the loop has gone round and is idle again" — so a test never sleeps a fixed
  time to let something happen.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Timer(Protocol):
    """What ``call_later`` returns (``asyncio.TimerHandle`` is one)."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC wall-clock time."""

    def monotonic(self) -> float:
        """Seconds on a steady clock (same scale as ``now``)."""

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of this clock's time."""

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` after ``delay`` seconds of this clock's time."""

    @property
    def speed(self) -> float:
        """How many clock seconds pass per real second."""


async def wait_for(clock: Clock, aw: Awaitable[T], seconds: float) -> T:
    """``aw``'s result, or ``TimeoutError`` once ``seconds`` of ``clock`` time have passed
    (``aw`` is then cancelled, as ``asyncio.wait_for`` does on real time)."""
    task = asyncio.ensure_future(aw)
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    timer = clock.call_later(seconds, expire)
    try:
        return await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if expired and not (current is not None and current.cancelling()):
            raise TimeoutError(f"no result within {seconds:g} clock seconds") from None
        raise
    finally:
        timer.cancel()


class ScaledClock:
    """Real time multiplied by ``speed`` from a start moment; ``speed=1`` is plain real time."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = float(speed)
        self._start_wall = start or datetime.now(UTC)
        self._start_mono = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def monotonic(self) -> float:
        return (time.monotonic() - self._start_mono) * self._speed

    def now(self) -> datetime:
        return self._start_wall + timedelta(seconds=self.monotonic())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._speed)

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        return asyncio.get_running_loop().call_later(max(0.0, delay) / self._speed, fn, *args)

    def leap(self, to: datetime) -> None:
        """Step wall-clock time forward to ``to``, as an NTP step on a real machine would;
        ``monotonic`` (intervals, timers) goes on undisturbed.  Tests of several simulated days
        leap over the nights while nothing is in flight."""
        ahead = (to - self.now()).total_seconds()
        if ahead < 0:
            raise ValueError("the clock only leaps forward")
        self._start_wall += timedelta(seconds=ahead)


class RealClock(ScaledClock):
    def __init__(self) -> None:
        super().__init__(1.0)

    def now(self) -> datetime:
        return datetime.now(UTC)


#: Where a :class:`ManualClock` starts unless told: a Monday, 14:00 UTC (09:00 in New York,
#: 15:00 in Paris), inside the usual calling windows.
MANUAL_START = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)


class ManualTimer:
    """A timer of a :class:`ManualClock`; ``when`` is its deadline on the monotonic scale."""

    __slots__ = ("when", "fn", "args", "cancelled")

    def __init__(self, when: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.when = when
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that moves only when told; timers and sleepers run in deadline order.

    ``advance``/``advance_to``/``set`` run every timer due on the way, each at its own
    deadline (``monotonic()`` reads the deadline inside the callback), including timers those
    callbacks schedule, then leave the clock at the target.  Sleeping tasks are woken in
    deadline order and resume when the test next yields to the event loop, seeing the target
    time.  Timers and ``advance`` run synchronously: no event loop is needed unless something
    calls ``sleep``.  The clock never goes backwards.
    """

    def __init__(self, start: datetime = MANUAL_START) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        self._start = start
        self._now = 0.0
        self._heap: list[tuple[float, int, ManualTimer]] = []
        self._seq = itertools.count()
        self._sleeping: set[asyncio.Future[None]] = set()
        self._sleep_waiters: list[tuple[int, asyncio.Future[None]]] = []

    # --- the Clock protocol -----------------------------------------------------------------

    @property
    def speed(self) -> float:
        return 1.0

    def monotonic(self) -> float:
        return self._now

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._now)

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> ManualTimer:
        timer = ManualTimer(self._now + max(delay, 0.0), fn, args)
        heapq.heappush(self._heap, (timer.when, next(self._seq), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self.call_later(seconds, self._wake, fut)
        self._sleeping.add(fut)
        self._notify_sleep_waiters()
        try:
            await fut
        finally:
            timer.cancel()
            self._sleeping.discard(fut)

    # --- moving time ------------------------------------------------------------------------

    def advance(self, seconds: float) -> int:
        """Move ``seconds`` forward; returns how many timers ran (woken sleepers included)."""
        if seconds < 0:
            raise ValueError(f"a clock does not go backwards (advance({seconds:g}))")
        return self.advance_to(self._now + seconds)

    def advance_to(self, when: float) -> int:
        """Move to ``when`` on the monotonic scale (a moment already passed changes nothing)."""
        ran = 0
        while True:
            nxt = self.next_time()
            if nxt is None or nxt > when:
                break
            _, _, timer = heapq.heappop(self._heap)
            self._now = max(self._now, timer.when)
            timer.fn(*timer.args)
            ran += 1
        self._now = max(self._now, when)
        return ran

    def set(self, when: datetime) -> int:
        """Move to the wall-clock moment ``when`` (not earlier than ``now()``)."""
        seconds = (when - self._start).total_seconds()
        if seconds < self._now:
            raise ValueError(f"a clock does not go backwards ({when.isoformat()} < {self.now().isoformat()})")
        return self.advance_to(seconds)

    # --- looking ----------------------------------------------------------------------------

    def next_time(self) -> float | None:
        """The monotonic deadline of the next timer, or ``None``."""
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def pending(self) -> int:
        """Timers not yet run nor cancelled (sleepers included)."""
        return sum(1 for _, _, t in self._heap if not t.cancelled)

    @property
    def sleepers(self) -> int:
        """Tasks blocked in :meth:`sleep` and not yet woken."""
        return len(self._sleeping)

    async def wait_for_sleepers(self, count: int = 1) -> None:
        """Return once at least ``count`` tasks are blocked in :meth:`sleep` (not yet woken).

        Bound it with ``asyncio.timeout`` in a test: it waits on real time for tasks to get there.
        """
        if len(self._sleeping) >= count:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleep_waiters.append((count, fut))
        try:
            await fut
        finally:
            self._sleep_waiters = [(n, f) for n, f in self._sleep_waiters if f is not fut]

    def _wake(self, fut: asyncio.Future[None]) -> None:
        self._sleeping.discard(fut)
        if not fut.done():
            fut.set_result(None)

    def _notify_sleep_waiters(self) -> None:
        for count, fut in self._sleep_waiters:
            if len(self._sleeping) >= count and not fut.done():
                fut.set_result(None)


__all__ = [
    "MANUAL_START",
    "Clock",
    "ManualClock",
    "ManualTimer",
    "RealClock",
    "ScaledClock",
    "Timer",
    "wait_for",
]
