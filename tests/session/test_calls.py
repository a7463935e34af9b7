"""Calls in the session: stored status writes, outcomes as stored and as the rules know them,
the rules' time, abandon accounting, the link lost and reconciled, and pacing decisions."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.definition import parse_definition
from dialer.ami.events import parse_event
from dialer.session import (
    CampaignRuntime,
    Diagnose,
    EndCall,
    GiveBack,
    Originate,
    QueueAdd,
    Session,
    WriteCallStatus,
    dt,
)
from dialer.session.amd import AmdEstimate
from dialer.session.commands import CountAnswer
from dialer.vocabulary import CallStatus, Outcome
from tests.e2e.conftest import E2E_CAMPAIGN
from tests.session.helpers import (
    T0,
    answered,
    channel,
    connect,
    feed,
    hangup,
    lead,
    login,
    of,
    place,
    queued,
    refused,
    session,
    who,
)


def test_one_status_write_per_stored_status() -> None:
    s = session("progressive", "alice")
    cmds = place(s, lead(1))
    cmds += feed(s, {"Event": "Newstate", "ChannelState": "5", **channel("dlr-1")}, T0 + 1)
    cmds += feed(s, {"Event": "DialState", "DialStatus": "RINGING", "DestUniqueid": channel("dlr-1")["Uniqueid"]},
                 T0 + 2)
    cmds += s.originate_accepted("dlr-1", T0 + 1)
    cmds += queued(s, "dlr-1", T0 + 8)  # answered, then queued: both stored as "answered"
    assert [c.status for c in of(cmds, WriteCallStatus)] == [CallStatus.RINGING, CallStatus.ANSWERED]
    [answer] = of(cmds, WriteCallStatus, status=CallStatus.ANSWERED)
    assert answer.answered_at == dt(T0 + 8)


@pytest.mark.parametrize(
    ("how", "stored", "rules"),
    [
        ("busy", Outcome.BUSY, "BUSY"),
        ("no_answer", Outcome.NO_ANSWER, "NO_ANSWER"),
        ("answered", Outcome.ANSWERED, "NO_ANSWER"),  # hung up before the queue: judged as a no-answer
        ("abandoned", Outcome.ABANDONED, "ABANDONED"),
        ("lost", Outcome.UNKNOWN, "UNKNOWN"),  # lost with the link: not a failure (its own rule path)
    ],
)
def test_outcome_stored_and_as_the_rules_know_it_at_the_time_the_call_ended(how: str, stored: Outcome,
                                                                             rules: str) -> None:
    s = session("progressive", "alice")
    place(s, lead(1))
    end = T0 + 30
    if how == "busy":
        cmds = refused(s, "dlr-1", 5, end)
    elif how == "no_answer":
        cmds = refused(s, "dlr-1", 3, end)
    elif how == "answered":
        answered(s, "dlr-1", T0 + 10)
        cmds = hangup(s, "dlr-1", end)
    elif how == "abandoned":
        queued(s, "dlr-1", T0 + 10)
        cmds = hangup(s, "dlr-1", end)
    else:
        s.link_lost(T0 + 10)
        cmds = s.reconciled([], end)
    [call] = of(cmds, EndCall)
    assert call.values["outcome"] is stored and call.values["status"] is CallStatus.ENDED
    assert call.values["ended_at"] == dt(end)
    assert call.rules is not None and call.rules.result.outcome == rules
    assert call.rules.at == dt(end)  # not whenever the writer gets to it
    assert call.rules.result.placed_at == dt(T0) and call.rules.last_outcome is stored
    assert call.rules.lead_id == 1 and call.rules.campaign.name == "e2e"


def test_abandons_and_connections_go_to_the_governors_ledger() -> None:
    s = session("progressive", "alice", answers=[(T0 - 86400 * 2, True)])  # read back from storage
    ledger = s.campaigns[1].governor.ledger
    assert (ledger.day(T0).abandoned, ledger.month(T0).abandoned) == (0, 1)
    place(s, lead(1), lead(2), lead(3))
    queued(s, "dlr-1", T0 + 5)
    hangup(s, "dlr-1", T0 + 9)  # abandoned
    connect(s, "dlr-2", "alice", T0 + 6)
    hangup(s, "dlr-2", T0 + 60)  # connected
    refused(s, "dlr-3", 5, T0 + 3)  # busy: not a live answer
    day = ledger.day(T0 + 60)
    assert (day.abandoned, day.connected) == (1, 1)
    assert ledger.month(T0 + 60).abandoned == 2
    assert s.counters == {"placed": 3, "answered": 2, "connected": 1, "abandoned": 1, "ended": 3}
    status = s.status(T0 + 60)["campaigns"][0]
    assert (status["abandoned_24h"], status["connected_24h"], status["abandon_rate_24h"]) == (1, 1, 0.5)
    assert ledger.day(T0 + 60 + 86401).answered == 0  # both out of the rolling day


def test_link_lost_then_reconciled() -> None:
    s = session("progressive", "alice", "bob")
    s.pause(who("bob", 2), "BREAK")
    place(s, lead(1), lead(2))
    cmds = s.link_lost(T0 + 3)
    assert [c.status for c in of(cmds, WriteCallStatus)] == [CallStatus.UNKNOWN, CallStatus.UNKNOWN]
    assert s.plan_claim(1, T0 + 4) is None  # no pacing while blind
    alive = parse_event({"Event": "CoreShowChannel", **channel("dlr-2"), "ChannelState": "6", "Application": "Queue"})
    cmds = s.reconciled([alive], T0 + 10)
    [gone] = of(cmds, EndCall)
    assert gone.call_id == 1 and gone.values["outcome"] is Outcome.UNKNOWN
    assert "dlr-2" in s.live and s.link_up
    # The agents are added back to their queues (a restarted PBX forgot them), as last paused.
    assert of(cmds, QueueAdd) == [
        QueueAdd("e2e", "PJSIP/alice", "alice", paused=False, reason="", on_error="resync"),
        QueueAdd("e2e", "PJSIP/bob", "bob", paused=True, reason="BREAK", on_error="resync"),
    ]


def test_pacing_asks_the_governor_and_a_short_claim_is_diagnosed_once() -> None:
    s = session("progressive", "alice", "bob")
    plan = s.plan_claim(1, T0)
    assert plan is not None and (plan.n, plan.ready, plan.idle_if_short) == (2, 2, True)
    cmds = s.leads_claimed(plan, [], T0)
    assert of(cmds, Diagnose) == [Diagnose(1, "e2e", "idle: no callable leads", 2)]
    s.idle_diagnosed(1, "idle: no callable leads — top reason: done")
    assert of(s.leads_claimed(plan, [], T0 + 1), Diagnose) == []  # already told
    assert s.campaigns[1].exhausted_at == T0
    cmds = s.leads_claimed(dataclasses.replace(plan, n=1), [lead(1)], T0 + 2)
    assert len(of(cmds, Originate)) == 1 and s.campaigns[1].idle_reason == ""
    plan = s.plan_claim(1, T0 + 3)
    assert plan is not None and plan.n == 1  # one ready agent not covered by the call in flight


def test_ratio_dialling_falls_back_to_progressive_at_the_abandon_limit() -> None:
    s = session("ratio", "alice", "bob")  # ratio 3.0: six lines for two ready agents
    assert s.plan_claim(1, T0).n == 6
    s.campaigns[1].governor.record_answer(T0 - 10, True)  # one abandon in the last 24 h, nothing else
    assert s.plan_claim(1, T0).n == 2


def test_a_campaign_dropped_meanwhile_gets_its_claim_back() -> None:
    s = session("progressive", "alice")
    plan = s.plan_claim(1, T0)
    s.drop_campaign(1)
    assert s.leads_claimed(plan, [lead(1)], T0) == [GiveBack((lead(1),))]


def _uk(accuracy: str) -> CampaignRuntime:
    data = tomllib.loads(E2E_CAMPAIGN.replace("MODE", "progressive"))
    data["jurisdiction"] = "UK"
    data["dial"]["amd"] = True
    data["compliance"] = {"seller": "acme", **({"amd_accuracy": float(accuracy)} if accuracy else {})}
    return CampaignRuntime.create(1, "e2e", parse_definition(data, "test"))


@pytest.mark.parametrize(("accuracy", "abandons"), [("0.8", 2), ("", 10), ("1.0", 0)])
def test_under_the_uk_pack_machine_verdicts_count_their_false_positive_estimate_as_abandons(
        accuracy: str, abandons: int) -> None:
    """Ofcom: the abandon rate includes an estimate of AMD false positives; the governor paces
    against it: each machine verdict adds 1 - amd_accuracy (1 without one) of an abandon."""
    s = Session(node="t")
    s.add_campaign(_uk(accuracy), [])
    login(s, "alice")
    cmds: list = []
    for i in range(1, 11):
        place(s, lead(i), now=T0 + i)
        answered(s, f"dlr-{i}", T0 + i + 3)
        feed(s, {"Event": "UserEvent", "UserEvent": "DialerMachine", **channel(f"dlr-{i}")}, T0 + i + 4)
        cmds += hangup(s, f"dlr-{i}", T0 + i + 5)
    assert [c.values["outcome"] for c in of(cmds, EndCall)] == [Outcome.MACHINE] * 10
    day = s.campaigns[1].governor.ledger.day(T0 + 20)
    assert (day.abandoned, day.connected) == (abandons, 0)
    assert len(of(cmds, CountAnswer, abandoned=True)) == abandons  # the campaign-wide ledger too


def test_without_such_a_pack_machine_verdicts_are_not_in_the_abandon_rate() -> None:
    s = session("progressive", "alice")
    place(s, lead(1))
    answered(s, "dlr-1", T0 + 3)
    feed(s, {"Event": "UserEvent", "UserEvent": "DialerMachine", **channel("dlr-1")}, T0 + 4)
    cmds = hangup(s, "dlr-1", T0 + 5)
    assert of(cmds, EndCall)[0].values["outcome"] is Outcome.MACHINE and not of(cmds, CountAnswer)
    assert s.campaigns[1].governor.ledger.day(T0 + 6).answered == 0


@given(st.floats(0.0, 1.0), st.integers(0, 200))
def test_the_estimate_counts_whole_false_positives_as_they_accrue(accuracy: float, verdicts: int) -> None:
    est = AmdEstimate(1.0 - accuracy)
    counted = sum(est.machine_verdict() for _ in range(verdicts))
    expected = verdicts * (1.0 - accuracy)
    assert expected - 1.0 < counted <= expected + 1e-6  # never more than accrued, never a whole one behind
    assert 0.0 <= est.owed < 1.0
