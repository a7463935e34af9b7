"""The policy protocol and the policies without a forecast: progressive and ratio.

Every policy is a small object with a ``name``, a recommended decision interval ``tick``
(seconds; the daemon's pacing loop may run more often, never much less) and
``decide(snapshot)``. ``decide`` never returns more than the snapshot's free lines, and never
a negative number. Policies may keep private state between calls (``vicidial`` does), so
use one policy object per campaign.

This module imports no other policy: :mod:`dialer.pacing.predictive` builds on
:func:`uncovered_ready`, and the registry :mod:`dialer.pacing.policies` imports them all.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

from dialer.pacing.snapshot import Snapshot


@runtime_checkable
class Policy(Protocol):
    name: str
    tick: float

    def decide(self, snapshot: Snapshot) -> int: ...


def uncovered_ready(s: Snapshot) -> int:
    """Ready agents not already covered by a call in flight (the progressive count)."""
    return max(0, s.ready - len(s.calls))


class Progressive:
    """One call per ready agent not already covered by a call in flight."""

    name = "progressive"
    tick = 1.0

    def decide(self, snapshot: Snapshot) -> int:
        return min(uncovered_ready(snapshot), snapshot.free_lines)


class Ratio:
    """A fixed number of lines per ready agent: ``round(ratio * ready) - calls in flight``."""

    name = "ratio"
    tick = 1.0

    def __init__(self, ratio: float = 2.0) -> None:
        if ratio <= 0:
            raise ValueError("ratio must be positive")
        self.ratio = ratio

    def decide(self, snapshot: Snapshot) -> int:
        want = math.floor(self.ratio * snapshot.ready + 0.5) - len(snapshot.calls)
        return max(0, min(want, snapshot.free_lines))
