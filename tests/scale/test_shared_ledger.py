"""The campaign-wide abandon ledger, pure side: a node paces on its answers plus its peers',
falls back to progressive when the peers cannot be read, and stops after a while."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.pacing import AbandonCounts, AgentState, AgentView, LedgerCounts, LedgerHealth, Snapshot
from dialer.pacing.governor import PacingGovernor
from dialer.pacing.shared import STOP_AFTER, PeerCounts
from dialer.session import CountAnswer
from tests.session.helpers import T0, connect, hangup, lead, of, place, queued, session

counts = st.builds(AbandonCounts, st.integers(0, 500), st.integers(0, 20000))
windows = st.builds(LedgerCounts, counts, counts, counts)


@given(windows, windows)
def test_windows_add_field_by_field(a: LedgerCounts, b: LedgerCounts) -> None:
    total = a + b
    for name in ("hour", "day", "month"):
        x, y, z = getattr(a, name), getattr(b, name), getattr(total, name)
        assert (z.abandoned, z.connected) == (x.abandoned + y.abandoned, x.connected + y.connected)


@given(st.lists(st.tuples(st.floats(0, 3600), st.booleans()), max_size=40), windows)
def test_governor_counts_are_its_ledger_plus_the_peers(answers: list[tuple[float, bool]], peers: LedgerCounts) -> None:
    gov = PacingGovernor.for_mode("predictive")
    gov.ledger.extend(sorted(answers))
    gov.peers.read(peers, 3600.0)
    got = gov.counts(3600.0)
    assert got.day.abandoned == peers.day.abandoned + sum(1 for _, a in answers if a)
    assert got.day.connected == peers.day.connected + sum(1 for _, a in answers if not a)


@given(st.floats(0, 1e6), st.floats(0, 1e4))
def test_health_progressive_then_stopped_then_shared_again(t0: float, dt: float) -> None:
    peers = PeerCounts()
    assert peers.health(t0) is LedgerHealth.SHARED
    peers.failed(t0)
    peers.failed(t0 + dt / 2)  # failing since the first failure, not the last
    expected = LedgerHealth.PROGRESSIVE if dt < STOP_AFTER else LedgerHealth.STOPPED
    assert peers.health(t0 + dt) is expected
    peers.read(LedgerCounts(), t0 + dt)
    assert peers.health(t0 + dt) is LedgerHealth.SHARED


def _ready(n: int, now: float) -> Snapshot:
    return Snapshot(now=now, agents=[AgentView(AgentState.READY, 0.0)] * n)


def test_a_node_that_cannot_read_the_ledger_dials_progressive_then_nothing() -> None:
    gov = PacingGovernor.for_mode("ratio", ratio=3.0)
    assert gov.decide(_ready(4, 100.0)) == 12
    gov.peers.failed(100.0)
    assert gov.decide(_ready(4, 101.0)) == 4  # one line per ready agent: no abandons by design
    assert gov.decide(_ready(4, 100.0 + STOP_AFTER)) == 0
    gov.peers.read(LedgerCounts(), 200.0)
    assert gov.decide(_ready(4, 200.0)) == 12


def test_the_peers_abandons_stop_this_nodes_over_dialling() -> None:
    """Each node alone is under the limit; the campaign is not: ratio falls back to progressive."""
    s = session("ratio", "alice", "bob")
    assert s.plan_claim(1, T0).n == 6
    over = LedgerCounts(day=AbandonCounts(3, 50), month=AbandonCounts(3, 50))
    s.peers_read({1: over}, T0)
    assert s.plan_claim(1, T0).n == 2
    status = s.status(T0)["campaigns"][0]
    assert (status["abandoned_24h"], status["connected_24h"], status["node_24h"]) == (
        3, 50, {"abandoned": 0, "connected": 0})


def test_a_30_day_rate_over_target_stops_predictive_over_dialling() -> None:
    gov = PacingGovernor.for_mode("ratio", ratio=3.0)
    month = AbandonCounts(40, 1000)  # 3.8 % over 30 days, nothing in the last 24 h
    assert gov.decide(Snapshot(now=0.0, agents=[AgentView(AgentState.READY, 0.0)] * 2, month=month)) == 2


def test_session_reports_health_and_names_the_campaigns_that_change() -> None:
    s = session("predictive", "alice")
    assert s.peers_failed(T0) == ["e2e"]
    assert s.peers_failed(T0 + 1) == []  # already failing: told once
    assert s.status(T0 + 1)["campaigns"][0]["ledger"] == "progressive"
    assert s.status(T0 + STOP_AFTER)["campaigns"][0]["ledger"] == "stopped"
    assert s.plan_claim(1, T0 + STOP_AFTER) is None
    assert s.peers_read({}, T0 + 70) == ["e2e"]
    assert s.status(T0 + 70)["campaigns"][0]["ledger"] == "shared"


def test_every_live_answer_is_counted_for_the_shared_ledger_in_its_minute() -> None:
    s = session("progressive", "alice")
    place(s, lead(1), lead(2))
    queued(s, "dlr-1", T0 + 5)
    abandoned = hangup(s, "dlr-1", T0 + 9)
    connect(s, "dlr-2", "alice", T0 + 6)
    connected = hangup(s, "dlr-2", T0 + 130)
    [a] = of(abandoned, CountAnswer)
    [c] = of(connected, CountAnswer)
    assert (a.abandoned, c.abandoned, a.node, a.campaign_id) == (True, False, s.node, 1)
    assert a.minute.timestamp() == T0 + 9 - (T0 + 9) % 60 and c.minute.timestamp() == T0 + 130 - (T0 + 130) % 60


@given(st.integers(0, 5), st.integers(0, 300), st.floats(0.5, 4.0))
def test_cold_start_warmup_only_ever_lowers_the_budget_and_ends(a: int, c: int, warmup: float) -> None:
    from dialer.pacing.predictive import Predictive

    snap = Snapshot(now=0.0, day=AbandonCounts(a, c), abandon_target=0.03)
    cold, plain = Predictive(warmup=warmup, warmup_min_agents=0).alpha(snap), Predictive(warmup=0.0).alpha(snap)
    assert 0.0 <= cold <= plain
    if (a + c + 1) * 0.03 >= warmup:
        assert cold == plain
    else:
        assert cold == pytest.approx(plain * (a + c + 1) * 0.03 / warmup)



@given(st.integers(0, 20), st.integers(0, 400), st.integers(0, 20), st.integers(0, 400))
def test_every_site_gets_the_same_per_call_budget_from_the_campaigns_counts(a1: int, c1: int, a2: int, c2: int) -> None:
    """The allocation rule between sites (measured against the best split of the budget in
    benchmarks/sites_ceiling.py): one per-call risk budget from the campaign's counts, however they
    split between this site and the others; each site then spends it in proportion to its own
    live answers."""
    from dialer.pacing.predictive import Predictive

    def site_alpha(own: tuple[int, int], peers: tuple[int, int]) -> float:
        gov = PacingGovernor.for_mode("predictive")
        for k in range(own[0] + own[1]):
            gov.record_answer(0.0, k < own[0])
        peer = AbandonCounts(*peers)
        gov.peers.read(LedgerCounts(hour=peer, day=peer, month=peer), 0.0)
        c = gov.counts(0.0)
        assert isinstance(gov.policy, Predictive)
        return gov.policy.alpha(Snapshot(now=0.0, day=c.day, hour=c.hour, month=c.month, abandon_target=0.03))

    total = AbandonCounts(a1 + a2, c1 + c2)
    alone = Predictive().alpha(Snapshot(now=0.0, day=total, hour=total, month=total, abandon_target=0.03))
    assert site_alpha((a1, c1), (a2, c2)) == site_alpha((a2, c2), (a1, c1)) == pytest.approx(alone)
