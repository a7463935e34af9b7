"""A :class:`~dialer.clock.Clock` that moves only when a test says so, for driving the AMI
client's ping interval, timeouts and backoff without real waits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class StepClock:
    speed = 1.0

    def __init__(self) -> None:
        self._now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []
        self._changed = asyncio.Event()

    def monotonic(self) -> float:
        return self._now

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self._now)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._now + max(0.0, seconds), fut)
        self._sleepers.append(entry)
        self._changed.set()
        try:
            await fut
        finally:
            self._sleepers.remove(entry)
            self._changed.set()

    def deadlines(self) -> list[float]:
        return sorted(t for t, fut in self._sleepers if not fut.done())

    def advance(self, seconds: float) -> None:
        """Move time on and wake every sleeper now due."""
        self._now += seconds
        for when, fut in self._sleepers:
            if when <= self._now + 1e-9 and not fut.done():
                fut.set_result(None)

    async def sleeping_until(self, when: float, timeout: float = 3.0) -> None:
        """Wait until some task sleeps until ``when`` (``now + its delay``)."""

        async def until() -> None:
            while not any(abs(t - when) < 1e-9 for t in self.deadlines()):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout)
