"""A VICIdial-style adaptive dial level: the benchmark's baseline (issue 6).

Implemented from this description of VICIdial's adaptive modes:

- every second, sample ready agents, answered calls waiting for an agent, logged-in agents;
- every 15 s, over the last 15 samples, ``diff = avg ready - avg waiting`` and
  ``level <- level * (1 + diff / avg logged-in)``, clamped to [1.0, 3.0];
- every 2.5 s place ``round(level * active agents) - calls in progress`` (ringing, waiting,
  connected), where active agents are those ready, reserved or talking (VICIdial shows its
  disposition screen as paused, so agents in wrap-up are not active);
- when the day's drop percentage (drops / human-answered, once over 50 calls) exceeds the
  target, the level is set to 1.0 ("hard limit").

The day's figures are the snapshot's ``day`` counts. Not meant for production campaigns.
"""

from __future__ import annotations

import math
from collections import deque

from dialer.pacing.snapshot import AgentState, CallState, Snapshot


class Vicidial:
    name = "vicidial"
    tick = 0.5

    def __init__(
        self,
        *,
        target: float = 0.03,
        start_level: float = 1.0,
        min_level: float = 1.0,
        max_level: float = 3.0,
        adjust_every: float = 15.0,
        samples: int = 15,
        place_every: float = 2.5,
        min_calls: int = 50,
    ) -> None:
        self.target = target
        self.level = start_level
        self.min_level = min_level
        self.max_level = max_level
        self.adjust_every = adjust_every
        self.place_every = place_every
        self.min_calls = min_calls
        self.samples: deque[tuple[int, int, int]] = deque(maxlen=samples)
        self._last_sample: float | None = None
        self._last_adjust: float | None = None
        self._last_place: float | None = None

    def _due(self, last: float | None, now: float, every: float) -> bool:
        return last is None or now - last >= every - 1e-9

    def decide(self, s: Snapshot) -> int:
        now = s.now
        if self._due(self._last_sample, now, 1.0):
            self._last_sample = now
            waiting = sum(1 for c in s.calls if c.state is CallState.WAITING)
            self.samples.append((s.ready, waiting, len(s.agents)))
        if self._last_adjust is None:
            self._last_adjust = now
        elif self._due(self._last_adjust, now, self.adjust_every):
            self._last_adjust = now
            n = len(self.samples)
            avg_ready = sum(x[0] for x in self.samples) / n
            avg_wait = sum(x[1] for x in self.samples) / n
            avg_logged = sum(x[2] for x in self.samples) / n
            if avg_logged > 0:
                self.level *= 1.0 + (avg_ready - avg_wait) / avg_logged
            self.level = min(self.max_level, max(self.min_level, self.level))
        if s.day.answered > self.min_calls and s.day.rate > min(self.target, s.target):
            self.level = 1.0
        if not self._due(self._last_place, now, self.place_every):
            return 0
        self._last_place = now
        active = s.count_agents(AgentState.READY, AgentState.RESERVED, AgentState.TALKING)
        in_progress = len(s.calls) + s.count_agents(AgentState.RESERVED, AgentState.TALKING)
        want = math.floor(self.level * active + 0.5) - in_progress
        return max(0, min(want, s.free_lines))
