"""Property tests over random snapshots."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.pacing import (
    AbandonCounts,
    AgentState,
    AgentView,
    CallState,
    CallView,
    PacingStats,
    Snapshot,
    make_policy,
)
from dialer.pacing.predictive import Predictive

from .helpers import trained_stats

STATS = trained_stats(p_live=0.25)
NOW = 1000.0

agent_st = st.builds(
    lambda state, e: AgentView(state, NOW - e),
    st.sampled_from(list(AgentState)),
    st.floats(0, 2000),
)
call_st = st.one_of(
    st.builds(lambda e: CallView(CallState.RINGING, NOW - e), st.floats(0, 30)),
    st.builds(lambda e: CallView(CallState.ANALYSING, NOW - 10 - e, NOW - e), st.floats(0, 2)),
    st.builds(lambda e: CallView(CallState.WAITING, NOW - 10 - e, NOW - e), st.floats(0, 2)),
)
counts_st = st.builds(AbandonCounts, st.integers(0, 100), st.integers(0, 3000))


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    return Snapshot(
        now=NOW,
        agents=draw(st.lists(agent_st, max_size=60)),
        calls=draw(st.lists(call_st, max_size=80)),
        ring_timeout=draw(st.floats(15, 60)),
        max_lines=draw(st.integers(0, 300)),
        abandon_target=draw(st.floats(0, 0.1)),
        day=draw(counts_st),
        hour=draw(counts_st),
        stats=STATS,
    )


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(snapshots(), st.sampled_from(["progressive", "ratio", "predictive", "vicidial"]))
def test_never_more_lines_than_the_limit(s: Snapshot, mode: str) -> None:
    n = make_policy(mode).decide(s)
    assert 0 <= n <= s.free_lines
    assert s.lines_busy + n <= max(s.max_lines, s.lines_busy)


@FAST
@given(snapshots())
def test_progressive_never_over_dials(s: Snapshot) -> None:
    n = make_policy("progressive").decide(s)
    assert len(s.calls) + n <= max(s.ready, len(s.calls))


@FAST
@given(snapshots())
def test_predictive_never_below_progressive(s: Snapshot) -> None:
    assert Predictive().decide(s) >= make_policy("progressive").decide(s)


@FAST
@given(snapshots(), st.integers(0, 3000))
def test_predictive_only_progressive_when_budget_exhausted(s: Snapshot, connected: int) -> None:
    target = s.target
    # the fewest abandons for which one more would put the day over the target:
    # (a + 1) / (a + connected + 1) > target  (the share of connected calls stays as drawn)
    abandoned = max(1, math.floor((target * (connected + 1) - 1) / (1 - target)))
    while abandoned + 1 <= target * (abandoned + connected + 1):
        abandoned += 1
    s = Snapshot(**{**_fields(s), "day": AbandonCounts(abandoned, connected)})
    assert Predictive().decide(s) == make_policy("progressive").decide(s)


def _fields(s: Snapshot) -> dict:
    return {name: getattr(s, name) for name in s.__dataclass_fields__}


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 30), st.booleans(), st.booleans(), st.floats(0, 900), st.floats(0, 120)),
        max_size=60,
    )
)
def test_stats_round_trip_through_json(events: list) -> None:
    stats = PacingStats(ring_timeout=25)
    t = 0.0
    for ring, answered, live, talk, wrap in events:
        t += 7.0
        stats.observe_attempt(placed_at=t, ring_seconds=ring, answered=answered, live=live, now=t + 5)
        stats.observe_talk(talk)
        stats.observe_wrapup(wrap, ready=live)
    data = json.loads(json.dumps(stats.to_dict()))
    back = PacingStats.from_dict(data)
    assert back.to_dict() == stats.to_dict()
    # and they keep learning identically
    for s in (stats, back):
        s.observe_attempt(placed_at=t + 1, ring_seconds=5, answered=True, live=True, now=t + 400)
    assert back.to_dict() == stats.to_dict()
    assert back.summary() == stats.summary()
