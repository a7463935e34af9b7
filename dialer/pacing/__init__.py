"""Pacing: how many calls to place now. A pure, synchronous, deterministic core.

The daemon keeps, per campaign, one policy and one :class:`PacingStats`, and in its pacing
loop (every ``policy.tick`` seconds or so) does::

    from dialer.pacing import (AbandonCounts, AgentState, AgentView, CallState, CallView,
                               Snapshot, make_policy)

    policy = make_policy(campaign.dial_mode, **campaign.pacing_params)
    n = policy.decide(Snapshot(
        now=clock.now(),
        agents=[AgentView(AgentState.TALKING, since=t_connected), ...],
        calls=[CallView(CallState.RINGING, placed_at=t_placed), ...],
        ring_timeout=campaign.ring_timeout,
        max_lines=campaign.max_lines,
        abandon_target=campaign.abandon_target,
        day=AbandonCounts(abandoned=a24, connected=c24),
        hour=AbandonCounts(abandoned=a1, connected=c1),
        stats=stats,
    ))

and feeds ``stats`` the call and agent events (``observe_attempt``, ``observe_talk``,
``observe_wrapup``), persisting ``stats.to_dict()``. Nothing here reads a clock, sleeps or
does I/O; the discrete-event simulator in :mod:`dialer.pacing.sim` drives the very same
objects in virtual time. See ``docs/pacing.md``.
"""

from dialer.pacing.policies import POLICIES, Policy, Progressive, Ratio, make_policy
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
    "PacingStats",
    "Policy",
    "Progressive",
    "Ratio",
    "Snapshot",
    "make_policy",
]
