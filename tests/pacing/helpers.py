"""Builders for pacing tests: trained statistics and snapshots."""

from __future__ import annotations

import random

from dialer.pacing import AgentState, AgentView, CallState, CallView, PacingStats


def trained_stats(
    *,
    p_live: float = 0.3,
    ring_mean: float = 8.0,
    ring_timeout: float = 25.0,
    talk_mean: float = 180.0,
    wrap_mean: float = 20.0,
    attempts: int = 3000,
    talks: int = 500,
    seed: int = 1,
) -> PacingStats:
    """Stats that have seen ``attempts`` dials and ``talks`` calls, all matured by t=0."""
    rng = random.Random(seed)
    stats = PacingStats(ring_timeout=ring_timeout)
    t0 = -10_000.0
    for i in range(attempts):
        placed = t0 + i * 0.5
        if rng.random() < p_live:
            ring = min(rng.expovariate(1 / ring_mean), ring_timeout - 1)
            stats.observe_attempt(placed_at=placed, ring_seconds=ring, answered=True, live=True, now=placed + ring)
        else:
            stats.observe_attempt(
                placed_at=placed, ring_seconds=ring_timeout, answered=False, live=False, now=placed + ring_timeout
            )
    for _ in range(talks):
        stats.observe_talk(rng.expovariate(1 / talk_mean))
        stats.observe_wrapup(rng.uniform(0.5, 1.5) * wrap_mean, ready=True)
    stats.advance(0.0)
    return stats


def agents(now: float = 0.0, **counts: object) -> list[AgentView]:
    """``agents(ready=2, talking=[30, 200], wrapup=[5])``: counts, or lists of elapsed seconds."""
    out: list[AgentView] = []
    for name, spec in counts.items():
        state = AgentState(name)
        elapsed = [0.0] * spec if isinstance(spec, int) else list(spec)  # type: ignore[arg-type]
        out += [AgentView(state, now - e) for e in elapsed]
    return out


def ringing(now: float, *elapsed: float) -> list[CallView]:
    return [CallView(CallState.RINGING, now - e) for e in elapsed]


def waiting(now: float, n: int) -> list[CallView]:
    return [CallView(CallState.WAITING, now - 10, now - 0.5) for _ in range(n)]
