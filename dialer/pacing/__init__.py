"""Pacing: how many calls to place now. A pure, synchronous, deterministic core.

The daemon keeps, per campaign, one :class:`~dialer.pacing.governor.PacingGovernor` (the
campaign's policy, its line caps and abandon limit, and the abandon ledger) and one
:class:`PacingStats`, and in its pacing loop (every ``policy.tick`` seconds or so) does::

    from dialer.pacing import AgentState, AgentView, CallState, CallView, Snapshot
    from dialer.pacing.governor import PacingGovernor

    governor = PacingGovernor.for_mode(campaign.dial_mode, ratio=campaign.ratio,
                                       max_lines_per_agent=campaign.max_lines_per_agent)
    counts = governor.counts(clock.now())  # its ledger + other nodes' (dialer.pacing.shared)
    n = governor.decide(Snapshot(
        now=clock.now(),
        agents=[AgentView(AgentState.TALKING, since=t_connected), ...],
        calls=[CallView(CallState.RINGING, placed_at=t_placed), ...],
        ring_timeout=campaign.ring_timeout,
        max_lines=campaign.max_lines,
        abandon_target=campaign.abandon_target,
        day=counts.day,
        hour=counts.hour,
        month=counts.month,
        stats=stats,
    ))

and feeds ``stats`` the call and agent events (``observe_attempt``, ``observe_talk``,
``observe_wrapup``) and ``governor.record_answer`` every live answer, persisting
``stats.to_dict()``. Nothing here reads a clock, sleeps or does I/O; the discrete-event
simulator in :mod:`dialer.pacing.sim` drives the very same objects in virtual time. See
``docs/pacing.md``.
"""

from dialer.pacing.policies import POLICIES, Policy, Progressive, Ratio, make_policy
from dialer.pacing.shared import LedgerHealth
from dialer.pacing.shared import Windows as LedgerCounts
from dialer.pacing.snapshot import (
    DROP_TIMEOUT,
    MAX_ABANDON_TARGET,
    AbandonCounts,
    AgentState,
    AgentView,
    CallState,
    CallView,
    Snapshot,
)
from dialer.pacing.stats import PacingStats

__all__ = [
    "DROP_TIMEOUT",
    "MAX_ABANDON_TARGET",
    "POLICIES",
    "AbandonCounts",
    "AgentState",
    "AgentView",
    "CallState",
    "CallView",
    "LedgerCounts",
    "LedgerHealth",
    "PacingStats",
    "Policy",
    "Progressive",
    "Ratio",
    "Snapshot",
    "make_policy",
]
