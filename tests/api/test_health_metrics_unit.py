"""The metrics' counting and the readiness rule, without sockets: commands in, counters out."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from dialer.api.health import readiness
from dialer.metrics import DaemonMetrics
from dialer.session.commands import Emit, EndCall, Originate, WriteCallStatus
from dialer.vocabulary import CallStatus

T = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def originate(call_id: int, campaign: str = "spring") -> Originate:
    return Originate(call_id, f"a{call_id}", channel="PJSIP/1@c", context="dialer-connect", exten="q", timeout=20,
                     caller_id=None, variables={"CAMPAIGN": campaign})


def status(call_id: int, answered: bool, connected: bool) -> WriteCallStatus:
    return WriteCallStatus(call_id, CallStatus.CONNECTED if connected else CallStatus.ANSWERED,
                           T if answered else None, T if connected else None, None)


def scrape(m: DaemonMetrics) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for f in text_string_to_metric_families(m.render().decode()) for s in f.samples}


def count(m: DaemonMetrics, name: str, campaign: str = "spring", **extra: str) -> float:
    labels = frozenset({"campaign": campaign, "node": "n1", **extra}.items())
    return scrape(m).get((name, labels), 0.0)


def test_each_call_counts_once_per_fact() -> None:
    m = DaemonMetrics("n1")
    for cmd in (originate(1), status(1, True, False), status(1, True, False), status(1, True, True),
                status(1, True, True), EndCall(1, {"outcome": "CONNECTED", "answered_at": T, "connected_at": T}),
                originate(2), status(2, True, False), EndCall(2, {"outcome": "ABANDONED", "answered_at": T}),
                originate(3), EndCall(3, {"outcome": "NO_ANSWER"}),
                originate(4, "autumn"), EndCall(4, {"outcome": "BUSY"})):
        m.observe(cmd)
    assert count(m, "dialer_calls_placed_total") == 3
    assert count(m, "dialer_calls_answered_total") == 2
    assert count(m, "dialer_calls_connected_total") == 1
    assert count(m, "dialer_calls_abandoned_total") == 1
    assert count(m, "dialer_calls_ended_total", outcome="NO_ANSWER") == 1
    assert count(m, "dialer_calls_ended_total", "autumn", outcome="BUSY") == 1
    assert count(m, "dialer_calls_placed_total", "autumn") == 1


def test_a_call_adopted_after_a_restart_counts_when_its_campaign_is_seen() -> None:
    """No Originate in this run: the end comes before the call's campaign is known."""
    m = DaemonMetrics("n1")
    m.observe(EndCall(9, {"outcome": "CONNECTED", "connected_at": T}))
    assert count(m, "dialer_calls_connected_total") == 0
    m.observe(Emit("call", {"call_id": 9, "state": "ended", "campaign": "spring", "agent": "ann"}))
    assert count(m, "dialer_calls_connected_total") == 1
    assert count(m, "dialer_calls_answered_total") == 1
    assert count(m, "dialer_calls_placed_total") == 0  # placed by the previous run


def test_claims_and_writes_are_timed() -> None:
    m = DaemonMetrics("n1")
    m.claimed("spring", asked=4, got=3, seconds=0.01)
    m.db_written(0.002, 5)
    assert count(m, "dialer_pacing_calls_asked_total") == 4
    assert count(m, "dialer_pacing_leads_claimed_total") == 3
    assert scrape(m)[("dialer_claim_seconds_count", frozenset({"node": "n1"}.items()))] == 1
    assert scrape(m)[("dialer_db_writes_total", frozenset({"node": "n1"}.items()))] == 5


@given(st.booleans(), st.booleans(), st.booleans())
def test_ready_only_when_every_check_passes(ami: bool, writable: bool, flowing: bool) -> None:
    ready, checks = readiness(ami, writable, flowing)
    assert ready == (ami and writable and flowing)
    assert (checks["ami"] == "logged in") == ami
    assert (checks["database"] == "writable") == (writable and flowing)


OUTCOMES = {  # outcome -> (answered, connected) at the end
    "CONNECTED": (True, True), "ABANDONED": (True, False), "MACHINE": (True, False), "NO_ANSWER": (False, False),
    "BUSY": (False, False), "FAILED": (False, False),
}


@st.composite
def interleaved_calls(draw):
    """Calls with their commands (Originate, status writes, EndCall), interleaved at random."""
    n = draw(st.integers(1, 8))
    outcomes = [draw(st.sampled_from(sorted(OUTCOMES))) for _ in range(n)]
    queues = []
    for call_id, outcome in enumerate(outcomes, 1):
        answered, connected = OUTCOMES[outcome]
        cmds: list = [originate(call_id, draw(st.sampled_from(["spring", "autumn"])))]
        if answered:
            cmds += [status(call_id, True, False)] * draw(st.integers(0, 2))
        if connected:
            cmds += [status(call_id, True, True)] * draw(st.integers(0, 2))
        cmds.append(EndCall(call_id, {"outcome": outcome, "answered_at": T if answered else None,
                                      "connected_at": T if connected else None}))
        queues.append(cmds)
    order = []
    while any(queues):
        i = draw(st.sampled_from([k for k, q in enumerate(queues) if q]))
        order.append(queues[i].pop(0))
    return outcomes, order


@given(interleaved_calls())
def test_counters_equal_the_calls_final_facts(case) -> None:
    outcomes, cmds = case
    m = DaemonMetrics("n1")
    for cmd in cmds:
        m.observe(cmd)
    campaigns = {c.call_id: c.variables["CAMPAIGN"] for c in cmds if isinstance(c, Originate)}
    for camp in ("spring", "autumn"):
        mine = [o for i, o in enumerate(outcomes, 1) if campaigns[i] == camp]
        assert count(m, "dialer_calls_placed_total", camp) == len(mine)
        assert count(m, "dialer_calls_answered_total", camp) == sum(OUTCOMES[o][0] for o in mine)
        assert count(m, "dialer_calls_connected_total", camp) == sum(OUTCOMES[o][1] for o in mine)
        assert count(m, "dialer_calls_abandoned_total", camp) == mine.count("ABANDONED")
        for outcome in set(mine):
            assert count(m, "dialer_calls_ended_total", camp, outcome=outcome) == mine.count(outcome)
    assert not m._campaign and not m._ending  # nothing kept for calls that ended
