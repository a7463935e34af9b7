"""One injected clock for the daemon: real time in production, scaled time for demos and tests.

``ScaledClock(speed=20)`` makes one real second count as twenty: ring timeouts, wrap-up timers,
pacing intervals and timestamps written to the database all follow it, so a campaign of a few
simulated minutes runs in a few real seconds.  The built-in PBX simulator is started with the
same speed so that both sides agree on how long things take.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC wall-clock time."""

    def monotonic(self) -> float:
        """Seconds on a steady clock (same scale as ``now``)."""

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of this clock's time."""

    @property
    def speed(self) -> float:
        """How many clock seconds pass per real second."""


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


class RealClock(ScaledClock):
    def __init__(self) -> None:
        super().__init__(1.0)

    def now(self) -> datetime:
        return datetime.now(UTC)
