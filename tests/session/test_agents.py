"""Agents in the session: wrap-up, its time limit, pauses asked for on a call, typed refusals."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from dialer.errors import Conflict
from dialer.session import (
    MAX_WRAPUP,
    AgentRef,
    Emit,
    EndCall,
    ExpireDisposition,
    LogAgentState,
    QueueAdd,
    QueuePause,
    QueueRemove,
    SetAgentCampaign,
    SetAgentState,
)
from dialer.tracking.agents import AgentState
from dialer.vocabulary import WRAPUP_PAUSE, AgentStatus
from tests.session.helpers import (
    T0,
    channel,
    connect,
    feed,
    hangup,
    lead,
    member,
    of,
    place,
    session,
    who,
)

TALK_END = T0 + 45


@dataclass(frozen=True)
class StoredAgent(AgentRef):
    """An agent's row: with the campaign and node it was logged in to."""

    campaign_id: int | None = None
    node: str | None = None


def talked(s, name: str = "alice", call_id: int = 1) -> list:
    """``name`` takes call ``call_id`` at T0+5 and the customer hangs up at TALK_END: wrap-up."""
    place(s, lead(call_id))
    attempt = f"dlr-{call_id}"
    cmds = connect(s, attempt, name, T0 + 5)
    cmds += feed(s, {"Event": "AgentComplete", "Queue": "e2e", "Interface": f"PJSIP/{name}", "MemberName": name,
                     **channel(attempt), "HoldTime": "1", "TalkTime": "40", "Reason": "caller"}, TALK_END)
    return cmds + hangup(s, attempt, TALK_END)


def test_after_a_call_wrapup_pauses_the_member_and_the_disposition_is_due() -> None:
    s = session("progressive", "alice")
    cmds = talked(s)
    assert s.agent_tracker.get("PJSIP/alice").state is AgentState.WRAP_UP
    assert of(cmds, QueuePause) == [QueuePause("alice", "e2e", "PJSIP/alice", True, WRAPUP_PAUSE)]
    [end] = of(cmds, EndCall)
    assert end.rules is None  # a connected call: the agent's disposition decides the lead's next step
    assert of(cmds, Emit, kind="disposition_due")[0].data == {"call_id": 1, "agent": "alice", "campaign": "e2e"}
    spans = [(c.state, c.ended.timestamp() - c.started.timestamp()) for c in of(cmds, LogAgentState)]
    assert spans == [(AgentStatus.READY, 5.0), (AgentStatus.TALKING, 40.0)]
    assert of(cmds, SetAgentState)[-1].state is AgentStatus.WRAPUP


def test_wrapup_limit_lets_the_rules_decide_and_makes_the_agent_ready() -> None:
    s = session("progressive", "alice")
    talked(s)
    feed(s, member("QueueMemberPause", "alice", paused=True, reason=WRAPUP_PAUSE), TALK_END + 1)
    assert s.tick(TALK_END + MAX_WRAPUP - 1) == []
    cmds = s.tick(TALK_END + MAX_WRAPUP + 1)
    assert of(cmds, QueuePause) == [QueuePause("alice", "e2e", "PJSIP/alice", False, "")]
    [expired] = of(cmds, ExpireDisposition)
    assert (expired.call_id, expired.agent) == (1, "alice")  # nothing orphaned: the rules decide
    assert s.agents["PJSIP/alice"].call_id is None
    assert s.tick(TALK_END + 2 * MAX_WRAPUP) == []  # decided once


def test_disposition_ends_the_wrapup_ready() -> None:
    s = session("progressive", "alice")
    talked(s)
    feed(s, member("QueueMemberPause", "alice", paused=True, reason=WRAPUP_PAUSE), TALK_END + 1)
    with pytest.raises(Conflict, match="must dispose call 1 first"):
        s.ready(who("alice"), TALK_END + 2)
    cmds = s.disposed(1, TALK_END + 10)
    assert of(cmds, QueuePause) == [QueuePause("alice", "e2e", "PJSIP/alice", False, "")]
    assert s.agents["PJSIP/alice"].call_id is None
    wraps_before = s.campaigns[1].stats.wrap.to_dict()
    feed(s, member("QueueMemberPause", "alice"), TALK_END + 11)
    assert s.campaigns[1].stats.wrap.to_dict() != wraps_before  # the wrap-up observed, ending ready


def test_pause_asked_on_a_call_is_applied_after_the_disposition() -> None:
    s = session("progressive", "alice")
    place(s, lead(1))
    connect(s, "dlr-1", "alice", T0 + 5)
    assert s.pause(who("alice"), "LUNCH") == []  # talking: after the call
    assert s.agents["PJSIP/alice"].pending_pause == "LUNCH"
    s.event(None, T0 + 6)
    cmds = s.disposed(1, T0 + 60)
    assert of(cmds, QueuePause) == [QueuePause("alice", "e2e", "PJSIP/alice", True, "LUNCH")]
    assert s.agents["PJSIP/alice"].pending_pause is None


def test_pause_asked_while_reserved_is_applied_when_the_reservation_ends() -> None:
    from tests.session.helpers import refused

    s = session("progressive", "alice")
    place(s, lead(1, "alice"))
    assert s.pause(who("alice"), "LUNCH") == []
    cmds = refused(s, "dlr-1", 3, T0 + 20)
    assert of(cmds, QueuePause) == [QueuePause("alice", "e2e", "PJSIP/alice", True, "LUNCH")]


def test_pause_and_ready_when_idle_go_straight_to_the_queue() -> None:
    s = session("progressive", "alice")
    assert s.pause(who("alice"), "BREAK") == [QueuePause("alice", "e2e", "PJSIP/alice", True, "BREAK")]
    assert of(s.ready(who("alice"), T0 + 1), QueuePause) == [QueuePause("alice", "e2e", "PJSIP/alice", False, "")]


def test_login_moves_the_agent_between_campaigns_and_refusals_are_typed() -> None:
    s = session("progressive")
    with pytest.raises(Conflict, match="not logged in"):
        s.pause(who("alice"), "BREAK")
    with pytest.raises(Conflict, match="not logged in"):
        s.ready(who("alice"), T0)
    with pytest.raises(Conflict, match="'other' is not running"):
        s.login(who("alice"), "other")
    assert s.login(who("alice"), "e2e") == [SetAgentCampaign(1, 1, "t"), QueueAdd("e2e", "PJSIP/alice", "alice")]
    assert s.logout(who("alice")) == [QueueRemove("e2e", "PJSIP/alice")]


def test_a_refused_login_is_undone_in_memory_and_in_the_row() -> None:
    s = session("progressive", "bob")
    alice = who("alice", 2)
    before = s.before_login(alice)
    s.login(alice, "e2e", T0)
    assert s.login_refused(alice, before, T0) == [SetAgentCampaign(2, None, None, exact=True)]
    assert s.agent_by_name("alice") is None  # not counted logged in: its requests are refused
    with pytest.raises(Conflict, match="not logged in"):
        s.pause(alice, "BREAK")
    # An agent logged in already (a re-login the PBX refuses) keeps its campaign and pause.
    bob = StoredAgent(1, "bob", "PJSIP/bob", campaign_id=1, node="other")
    s.pause(bob, "BREAK")
    before = s.before_login(bob)
    s.login(bob, "e2e", T0)
    assert s.agent_by_name("bob").paused is None  # what the login asked for
    assert s.login_refused(bob, before, T0) == [SetAgentCampaign(1, 1, "other", exact=True)]
    assert s.agent_by_name("bob").paused == "BREAK" and s.agent_by_name("bob").campaign is s.campaigns[1]


def test_disposition_before_the_hangup_leaves_no_wrapup() -> None:
    """Disposed while still talking: the hang-up that follows ends the wrap-up at once (the agent
    was stuck paused "wrapup" with nothing owed)."""
    s = session("progressive", "alice")
    place(s, lead(1))
    connect(s, "dlr-1", "alice", T0 + 5)
    s.disposed(1, T0 + 20)
    assert s.agents["PJSIP/alice"].call_id is None
    cmds = feed(s, {"Event": "AgentComplete", "Queue": "e2e", "Interface": "PJSIP/alice", "MemberName": "alice",
                    **channel("dlr-1"), "HoldTime": "1", "TalkTime": "40", "Reason": "caller"}, TALK_END)
    cmds += hangup(s, "dlr-1", TALK_END)
    assert s.agent_tracker.get("PJSIP/alice").state is AgentState.READY
    assert of(cmds, QueuePause) == []  # never paused "wrapup"
    assert [c.data["state"] for c in of(cmds, Emit, kind="agent")][-2:] == ["wrap_up", "ready"]
    assert of(cmds, EndCall)[0].rules is None  # the disposition already decided the lead
    # nothing left to expire, and the agent is not paused afterwards
    assert of(s.tick(TALK_END + 2 * MAX_WRAPUP), QueuePause) == []
    assert s.agents["PJSIP/alice"].paused is None


def test_disposition_before_the_hangup_then_the_pending_pause() -> None:
    s = session("progressive", "alice")
    place(s, lead(1))
    connect(s, "dlr-1", "alice", T0 + 5)
    s.pause(who("alice"), "LUNCH")
    s.disposed(1, T0 + 20)
    cmds = hangup(s, "dlr-1", TALK_END)
    feed(s, {"Event": "AgentComplete", "Queue": "e2e", "Interface": "PJSIP/alice", "MemberName": "alice",
             **channel("dlr-1"), "HoldTime": "1", "TalkTime": "40", "Reason": "caller"}, TALK_END)
    cmds += s.tick(TALK_END + 1)
    assert of(cmds, QueuePause) == []  # the LUNCH pause set at the disposition stays, no "wrapup"
    assert s.agents["PJSIP/alice"].paused == "LUNCH"
    assert s.agent_tracker.get("PJSIP/alice").state is not AgentState.WRAP_UP


def test_the_campaigns_wrapup_limit_applies() -> None:
    import dataclasses

    from dialer.session import Session
    from tests.session.helpers import campaign, login

    camp = campaign()
    camp.definition = dataclasses.replace(camp.definition,
                                          dial=dataclasses.replace(camp.definition.dial, wrapup_limit=30))
    s = Session(node="t")
    s.add_campaign(camp, [])
    login(s, "alice")
    talked(s)
    feed(s, member("QueueMemberPause", "alice", paused=True, reason=WRAPUP_PAUSE), TALK_END + 1)
    assert s.tick(TALK_END + 29) == []
    [expired] = of(s.tick(TALK_END + 31), ExpireDisposition)  # 30 s, not the default 600
    assert expired.call_id == 1


def test_agents_follow_their_campaign_when_it_is_resumed() -> None:
    """Paused (dropped) and resumed (added anew): the logged-in agents belong to the new runtime,
    so owned callbacks and pauses find them."""
    from tests.session.helpers import campaign

    s = session("progressive", "alice")
    old = s.campaigns[1]
    s.drop_campaign(1)
    fresh = campaign()
    s.add_campaign(fresh)
    assert s.agents["PJSIP/alice"].campaign is fresh is not old
    assert s.ready_owners(fresh) == {"alice"}
