"""Time sources for the simulator: the event loop scaled by a speed factor, or a manual clock.

The PBX model only ever calls ``now()`` and ``call_later(delay, fn, *args)`` (simulated
seconds); handles returned by ``call_later`` have ``cancel()``.  ``LoopClock`` maps simulated
time onto ``loop.call_at`` (one heap-scheduled timer per pending step, no task per call);
``ManualClock`` advances only when a test tells it to, so scenarios of minutes run in
milliseconds and in a reproducible order.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Any, Protocol


class Handle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> float:
        """Simulated seconds since the clock started."""

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Handle:
        """Run ``fn(*args)`` after ``delay`` simulated seconds."""


class LoopClock:
    """Simulated time = (loop time - start) x ``speed``; timers are ``loop.call_at``."""

    def __init__(self, speed: float = 1.0, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)
        self._loop = loop
        self._t0: float | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _start(self) -> float:
        if self._t0 is None:
            self._t0 = self.loop.time()
        return self._t0

    def now(self) -> float:
        if self._t0 is None and self._loop is None:
            try:
                self._loop = asyncio.get_running_loop()
            except RuntimeError:
                return 0.0  # not started yet: time begins when the loop first asks
        return (self.loop.time() - self._start()) * self.speed

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Handle:
        t0 = self._start()
        when = t0 + (self.now() + max(delay, 0.0)) / self.speed
        return self.loop.call_at(when, fn, *args)


class _ManualHandle:
    __slots__ = ("when", "fn", "args", "cancelled")

    def __init__(self, when: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.when = when
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that moves only on ``advance``/``advance_to``; timers fire in time order.

    Timers due at the same instant run in the order they were scheduled.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._heap: list[tuple[float, int, _ManualHandle]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> _ManualHandle:
        handle = _ManualHandle(self._now + max(delay, 0.0), fn, args)
        heapq.heappush(self._heap, (handle.when, next(self._seq), handle))
        return handle

    def pending(self) -> int:
        return sum(1 for _, _, h in self._heap if not h.cancelled)

    def next_time(self) -> float | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def advance_to(self, when: float) -> int:
        """Run every timer due up to ``when`` (including ones they schedule); return the count."""
        ran = 0
        while True:
            nxt = self.next_time()
            if nxt is None or nxt > when:
                break
            _, _, handle = heapq.heappop(self._heap)
            self._now = max(self._now, handle.when)
            handle.fn(*handle.args)
            ran += 1
        self._now = max(self._now, when)
        return ran

    def advance(self, seconds: float) -> int:
        return self.advance_to(self._now + seconds)
