"""Failed sign-ins, rate-limited: after ``limit`` failures within ``window`` seconds for one
agent name or one client address, further attempts are refused until the oldest failure ages out.

Pure and deterministic: the caller passes ``now`` (monotonic seconds).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class SignInThrottle:
    limit: int = 5
    window: float = 300.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, keys: tuple[str, ...], now: float) -> float:
        """Seconds until any of ``keys`` (e.g. ``name:alice``, ``ip:10.0.0.1``) may try again; 0: now."""
        waits = [times[0] + self.window - now for key in keys
                 if len(times := self._recent(key, now)) >= self.limit]
        return max(waits, default=0.0)

    def failed(self, keys: tuple[str, ...], now: float) -> None:
        for key in keys:
            self._recent(key, now)
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, name_key: str) -> None:
        """A successful sign-in clears the name's failures (not the address's)."""
        self._failures.pop(name_key, None)
