"""The pacing snapshot: everything a policy may look at, frozen at one instant.

All times are seconds on the *same* clock as :attr:`Snapshot.now` (monotonic, wall or
virtual; the policy never reads a clock itself). Views carry the instant they entered their
state, so "seconds in state" is ``now - since`` and "seconds since placed" is
``now - placed_at``; this lets the caller keep one view object per agent and call and
replace it only when its state changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialer.pacing.stats import PacingStats

#: The legal ceiling for the abandon rate; a campaign may ask for less, never more.
MAX_ABANDON_TARGET = 0.03
#: Seconds an answered call may wait for an agent before it counts as abandoned.
DROP_TIMEOUT = 2.0


class AgentState(StrEnum):
    """Agent states as the pacing policy sees them (logged-out agents are simply absent)."""

    READY = "ready"  # logged in, idle, can take a call now
    RESERVED = "reserved"  # a connected call is being bridged to the agent (ringing)
    TALKING = "talking"
    WRAPUP = "wrapup"  # after-call work; will be ready (or pause) when it ends
    PAUSED = "paused"


class CallState(StrEnum):
    """States of a dial attempt that has not reached an agent yet."""

    RINGING = "ringing"  # placed, not answered
    ANALYSING = "analysing"  # answered, answering-machine detection still running
    WAITING = "waiting"  # answered (and passed AMD), waiting in the queue for an agent


@dataclass(frozen=True, slots=True)
class AgentView:
    """One logged-in agent: its state and the instant it entered that state."""

    state: AgentState
    since: float

    def seconds_in_state(self, now: float) -> float:
        return max(0.0, now - self.since)


@dataclass(frozen=True, slots=True)
class CallView:
    """One dial attempt in flight that no agent has taken yet.

    ``answered_at`` is set for ANALYSING and WAITING calls.
    """

    state: CallState
    placed_at: float
    answered_at: float | None = None

    def seconds_since_placed(self, now: float) -> float:
        return max(0.0, now - self.placed_at)


@dataclass(frozen=True, slots=True)
class AbandonCounts:
    """Live-answered calls in a window: abandoned (no agent within 2 s) and connected."""

    abandoned: int = 0
    connected: int = 0

    @property
    def answered(self) -> int:
        return self.abandoned + self.connected

    @property
    def rate(self) -> float:
        """abandoned / (abandoned + connected); 0.0 when nothing was answered."""
        return self.abandoned / self.answered if self.answered else 0.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The input of :meth:`Policy.decide`.

    - ``agents``: every logged-in agent of the campaign (logged-out agents are left out).
    - ``calls``: dial attempts not yet connected to an agent (ringing, in AMD, waiting).
      Calls already connected are represented by their agent (RESERVED/TALKING).
    - ``ring_timeout``: seconds an unanswered call rings before the dialer gives up.
    - ``max_lines``: trunk/campaign line limit; ``lines_in_use`` defaults to
      ``len(calls)`` + agents RESERVED or TALKING (pass the real figure when calls hold
      lines for other reasons, e.g. the safe-harbour message playing).
    - ``abandon_target``: the campaign's target, clamped to :data:`MAX_ABANDON_TARGET`.
    - ``day`` / ``hour``: abandon counts over the rolling last 24 hours and last hour.
    - ``stats``: the campaign's learned :class:`~dialer.pacing.stats.PacingStats`
      (needed by ``predictive``; the other policies ignore it).
    """

    now: float
    agents: Sequence[AgentView] = ()
    calls: Sequence[CallView] = ()
    ring_timeout: float = 25.0
    max_lines: int = 1000
    abandon_target: float = MAX_ABANDON_TARGET
    day: AbandonCounts = field(default_factory=AbandonCounts)
    hour: AbandonCounts = field(default_factory=AbandonCounts)
    #: abandon counts over the rolling 30 days (the US rule's window)
    month: AbandonCounts = field(default_factory=AbandonCounts)
    stats: PacingStats | None = None
    lines_in_use: int | None = None
    drop_timeout: float = DROP_TIMEOUT

    @property
    def target(self) -> float:
        """The effective abandon target: never above 3 %, never negative."""
        return min(max(self.abandon_target, 0.0), MAX_ABANDON_TARGET)

    def count_agents(self, *states: AgentState) -> int:
        return sum(1 for a in self.agents if a.state in states)

    @property
    def ready(self) -> int:
        return self.count_agents(AgentState.READY)

    @property
    def lines_busy(self) -> int:
        if self.lines_in_use is not None:
            return self.lines_in_use
        return len(self.calls) + self.count_agents(AgentState.RESERVED, AgentState.TALKING)

    @property
    def free_lines(self) -> int:
        return max(0, self.max_lines - self.lines_busy)
