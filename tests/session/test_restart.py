"""Restarts and PBX faults in the session: calls adopted with their stored facts, agents adopted
as the PBX's queue members say, dispositions owed across a restart, reconciliation states."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from campaigns.rules import CallResult, Finish, LeadHistory, Retry
from dialer import pacing
from dialer.ami.events import parse_event
from dialer.errors import Conflict
from dialer.session import (
    EndCall,
    ExpireDisposition,
    QueueAdd,
    QueuePause,
    Session,
    SetAgentCampaign,
    dt,
)
from dialer.session.runtime import MAX_WRAPUP
from dialer.session.unknown import after_unknown
from dialer.vocabulary import WRAPUP_PAUSE, AgentStatus, Outcome
from tests.session.helpers import (
    T0,
    campaign,
    channel,
    connect,
    feed,
    hangup,
    lead,
    member,
    of,
    place,
    who,
)


def restarted(*, node: str = "t") -> Session:
    s = Session(node=node)
    s.add_campaign(campaign())
    return s


def agent_row(name: str = "alice", *, node: str | None = "t", state: str = AgentStatus.READY,
              code: str | None = None, agent_id: int = 1) -> SimpleNamespace:
    return SimpleNamespace(id=agent_id, name=name, interface=f"PJSIP/{name}", campaign_id=1, state=state,
                           pause_code=code, node=node)


def queue_member(name: str = "alice", paused: bool = False, reason: str = "") -> object:
    return parse_event({**member("QueueMember", name, paused=paused, reason=reason), "Event": "QueueMember"})


def adopt(s: Session, call_id: int = 1, **facts: object) -> None:
    s.adopt_call(s.campaigns[1], call_id, f"dlr-{call_id}", call_id, f"+1212555{call_id:04d}", 1, T0, **facts)


# ---------------------------------------------------------------------- calls


def test_a_call_that_reached_an_agent_before_the_crash_stays_connected_and_owed() -> None:
    s = restarted()
    adopt(s, answered=T0 + 8, connected=T0 + 9, agent="alice")
    s.reconcile_pending()
    assert s.plan_claim(1, T0 + 100) is None  # not before the PBX's channels are known
    cmds = s.reconciled([], T0 + 100)  # gone from the PBX: it ended while we were down
    [end] = of(cmds, EndCall)
    assert end.values["outcome"] is Outcome.CONNECTED and end.values["agent"] == "alice"
    assert end.rules is None  # the agent's disposition decides, not a failure rule
    assert end.values["connected_at"] == dt(T0 + 9)  # as stored, not unlearnt
    assert s.owed_since[1] == ("alice", T0 + 100)
    assert s.synced


def test_an_answered_call_lost_in_a_crash_is_unknown_not_failed() -> None:
    s = restarted()
    adopt(s, answered=T0 + 8)
    [end] = of(s.reconciled([], T0 + 100), EndCall)
    assert end.values["outcome"] is Outcome.UNKNOWN
    assert end.rules is not None and end.rules.result.outcome == Outcome.UNKNOWN


def test_an_adopted_call_still_live_keeps_its_agent_when_it_ends() -> None:
    s = restarted()
    adopt(s, answered=T0 + 8, connected=T0 + 9, agent="alice")
    chan = channel("dlr-1")
    s.reconciled([parse_event({"Event": "CoreShowChannel", **chan})], T0 + 100)
    assert "dlr-1" in s.live
    cmds = hangup(s, "dlr-1", T0 + 200) + s.tick(T0 + 300)
    [end] = of(cmds, EndCall)
    assert end.values["outcome"] is Outcome.CONNECTED and end.values["agent"] == "alice"


def test_a_call_the_dialplan_noted_as_connected_is_connected_and_owed() -> None:
    """Adopted with no fact stored (placed, then the crash), gone from the PBX; the dialplan's
    AstDB note says it reached alice: CONNECTED, alice owes it and is paused until she
    disposes — never UNKNOWN (which would dial the customer again after the gap)."""
    s = restarted()
    s.restore_agent(agent_row(), [], queue_member(), T0 + 1)
    adopt(s, call_id=7)
    adopt(s, call_id=8)
    assert s.vanished([]) == [7, 8]
    cmds = s.noted_while_blind({7: "PJSIP/alice"}, T0 + 100)
    assert [(c.paused, c.reason) for c in of(cmds, QueuePause)] == [(True, WRAPUP_PAUSE)]
    ends = {e.call_id: e for e in of(s.reconciled([], T0 + 100), EndCall)}
    assert ends[7].values["outcome"] is Outcome.CONNECTED and ends[7].values["agent"] == "alice"
    assert ends[7].rules is None and s.owed_since[7] == ("alice", T0 + 100)
    assert ends[8].values["outcome"] is Outcome.UNKNOWN  # no note: unknown, as before
    assert 7 in s.agent_by_name("alice").owed  # type: ignore[union-attr]


def test_a_call_the_dialplan_noted_as_dropped_counts_as_abandoned() -> None:
    """Dropped by the safe-harbour path while no one watched: ABANDONED (in the abandon rate,
    its own rule path), never UNKNOWN."""
    s = restarted()
    adopt(s, call_id=5)
    assert s.noted_while_blind({5: "abandoned"}, T0 + 60) == []
    [end] = of(s.reconciled([], T0 + 60), EndCall)
    assert end.values["outcome"] is Outcome.ABANDONED and end.rules is not None
    assert s.campaigns[1].governor.ledger.day(T0 + 61).abandoned == 1


def test_a_noted_call_of_an_agent_of_no_node_here_still_reached_an_agent() -> None:
    s = restarted()
    adopt(s, call_id=3)
    assert s.noted_while_blind({3: "PJSIP/bob"}, T0 + 50) == []
    [end] = of(s.reconciled([], T0 + 50), EndCall)
    assert end.values["outcome"] is Outcome.CONNECTED and end.rules is None


def test_only_calls_lost_and_gone_are_looked_up() -> None:
    s = restarted()
    adopt(s, call_id=1)
    adopt(s, call_id=2)
    alive = parse_event({"Event": "CoreShowChannel", **channel("dlr-2")})
    assert s.vanished([alive]) == [1]


def test_unknown_outcome_retries_no_sooner_than_the_recall_gap() -> None:
    base = campaign().definition
    definition = dataclasses.replace(base, limits=dataclasses.replace(base.limits, max_attempts=5))
    now = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    action = after_unknown(definition, LeadHistory(), CallResult(Outcome.UNKNOWN, attempt=1, placed_at=now),
                           now=now, zones=["America/New_York"])
    assert isinstance(action, Retry) and action.rule == "unknown:after-recall-gap"
    assert action.at - now >= definition.limits.gap_after_abandoned  # never "failed, 1 h"


def test_unknown_outcome_at_the_maximum_attempts_finishes() -> None:
    definition = campaign().definition
    now = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    limit = definition.limits.max_attempts
    assert limit
    assert isinstance(after_unknown(definition, LeadHistory(), CallResult(Outcome.UNKNOWN, attempt=limit),
                                    now=now), Finish)


# ---------------------------------------------------------------------- agents


def test_an_agent_still_in_the_queue_is_adopted_as_the_pbx_says() -> None:
    s = restarted()
    cmds = s.restore_agent(agent_row(), [], queue_member(paused=True, reason="LUNCH"), T0)
    assert of(cmds, QueueAdd) == []  # a member already: nothing added
    agent = s.agents["PJSIP/alice"]
    assert agent.paused == "LUNCH"
    assert s.snapshot(s.campaigns[1], T0).count_agents(pacing.AgentState.PAUSED) == 1


def test_an_agent_the_pbx_lost_is_added_back_paused_as_stored() -> None:
    s = restarted()
    cmds = s.restore_agent(agent_row(state=AgentStatus.PAUSED, code="BREAK"), [], None, T0)
    assert of(cmds, QueueAdd) == [QueueAdd("e2e", "PJSIP/alice", "alice", paused=True, reason="BREAK",
                                           on_error="resync")]


def test_another_nodes_agent_is_never_added_and_a_nodeless_member_is_adopted() -> None:
    s = restarted()
    assert s.restore_agent(agent_row(node=None), [], None, T0) == []
    assert s.restore_agent(agent_row(node="other"), [], None, T0) == []
    assert "PJSIP/alice" not in s.agents
    cmds = s.restore_agent(agent_row(node=None), [], queue_member(), T0)
    assert of(cmds, SetAgentCampaign) == [SetAgentCampaign(1, 1, "t")]  # now this node's
    assert of(cmds, QueueAdd) == []


def test_an_agent_owing_a_disposition_is_paused_cannot_go_ready_and_can_dispose() -> None:
    s = restarted()
    cmds = s.restore_agent(agent_row(), [7], queue_member(), T0)
    assert of(cmds, QueuePause) == [QueuePause("alice", "e2e", "PJSIP/alice", True, WRAPUP_PAUSE)]
    with pytest.raises(Conflict, match="must dispose call 7 first"):
        s.ready(who("alice"), T0 + 1)
    assert s.pause(who("alice"), "LUNCH") == []  # after the disposition
    cmds = s.disposed(7, T0 + 2)
    assert of(cmds, QueuePause) == [QueuePause("alice", "e2e", "PJSIP/alice", True, "LUNCH")]
    assert s.agents["PJSIP/alice"].owed == []


def test_a_restored_agents_owed_call_is_decided_by_rule_at_the_wrapup_limit() -> None:
    s = restarted()
    s.restore_agent(agent_row(), [7], queue_member(paused=True, reason=WRAPUP_PAUSE), T0)
    s.owe({"bob": [8]}, T0)  # bob is not logged in here any more
    assert of(s.tick(T0 + MAX_WRAPUP - 1), ExpireDisposition) == []
    cmds = s.tick(T0 + MAX_WRAPUP)
    assert sorted((c.call_id, c.agent) for c in of(cmds, ExpireDisposition)) == [(7, "alice"), (8, "bob")]
    assert of(cmds, QueuePause) == [QueuePause("alice", "e2e", "PJSIP/alice", False, "")]


def test_a_second_call_given_before_the_wrapup_pause_is_owed_too() -> None:
    s = restarted()
    s.login(who("alice"), "e2e")
    feed(s, member("QueueMemberAdded", "alice"), T0)
    place(s, lead(1), lead(2))
    connect(s, "dlr-1", "alice", T0 + 5)
    hangup(s, "dlr-1", T0 + 20)
    connect(s, "dlr-2", "alice", T0 + 21)  # the queue was faster than our pause
    assert s.agents["PJSIP/alice"].owed == [1, 2]
    s.disposed(1, T0 + 30)
    assert s.agents["PJSIP/alice"].owed == [2]
    with pytest.raises(Conflict):
        s.ready(who("alice"), T0 + 31)


def test_login_of_an_agent_owing_a_disposition_keeps_it_paused() -> None:
    s = restarted()
    s.restore_agent(agent_row(), [7], queue_member(), T0)
    [add] = of(s.login(who("alice"), "e2e"), QueueAdd)
    assert add.paused and add.reason == WRAPUP_PAUSE


# ---------------------------------------------------------------------- the link


def test_reconciliation_failures_are_not_a_link_loss() -> None:
    s = restarted()
    s.login(who("alice"), "e2e")
    feed(s, member("QueueMemberAdded", "alice"), T0)
    s.link_lost(T0)
    s.link_restored()
    s.reconcile_failed("AMI CoreShowChannels got no response within 10 s", 1, 0.4)
    status = s.status(T0 + 1)
    assert status["link_up"] is True and status["link"].startswith("reconciling (attempt 1")
    assert s.plan_claim(1, T0 + 1) is None  # the PBX's state is not known yet
    s.reconciled([], T0 + 2)
    assert s.status(T0 + 2)["synced"] and "link" not in s.status(T0 + 2)
    assert s.plan_claim(1, T0 + 2) is not None


def test_an_adopted_call_the_pbx_shows_bridged_to_our_agent_reached_that_agent() -> None:
    s = restarted()
    s.restore_agent(agent_row(), [], queue_member(), T0)
    adopt(s)  # connected while no daemon ran: the row knows nothing
    chan = channel("dlr-1")
    agent_leg = {"Event": "CoreShowChannel", "Channel": "PJSIP/alice-00000009", "Uniqueid": "a-9",
                 "Linkedid": chan["Linkedid"]}
    s.reconciled([parse_event({"Event": "CoreShowChannel", **chan}), parse_event(agent_leg)], T0 + 100)
    assert s.agents["PJSIP/alice"].owed == [1]
    [end] = of(hangup(s, "dlr-1", T0 + 200) + s.tick(T0 + 300), EndCall)
    assert end.values["outcome"] is Outcome.CONNECTED and end.values["agent"] == "alice"
    assert end.values["connected_at"] == dt(T0 + 100)
