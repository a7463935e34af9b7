"""Owned callbacks in the session: which agent gets one, what goes back, the reservation's end."""

from __future__ import annotations

from dialer import pacing
from dialer.session import Emit, GiveBack, Originate, QueuePause
from dialer.tracking.agents import AgentState
from dialer.vocabulary import CALLBACK_PAUSE
from tests.session.helpers import (
    T0,
    channel,
    feed,
    lead,
    member,
    of,
    place,
    refused,
    session,
    who,
)


def test_one_callback_per_ready_owner_and_the_rest_given_back() -> None:
    s = session("progressive", "alice", "bob", "carol")
    s.pause(who("carol", 3), "LUNCH")  # paused by us: not ready for a callback
    camp = s.campaigns[1]
    assert s.ready_owners(camp) == {"alice", "bob"}
    first, second, bobs, carols, anyone = lead(1, "alice"), lead(2, "alice"), lead(3, "bob"), lead(4, "carol"), lead(5)
    kept, back = s.split_owned(1, [first, second, bobs, carols, anyone])
    assert [(c.call_id, a.name if a else None) for c, a in kept] == [(1, "alice"), (3, "bob"), (5, None)]
    assert back == [second, carols]
    cmds = place(s, first, second, bobs, carols, anyone)
    assert of(cmds, GiveBack) == [GiveBack((second, carols))]
    originates = of(cmds, Originate)
    assert [o.call_id for o in originates] == [1, 3, 5]
    assert [o.variables.get("DIALER_AGENT") for o in originates] == ["PJSIP/alice", "PJSIP/bob", None]
    # The owners are out of the queue's rotation, RESERVED for the pacing, not ready for another one.
    assert of(cmds, QueuePause, agent="alice") == [QueuePause("alice", "e2e", "PJSIP/alice", True, CALLBACK_PAUSE)]
    assert s.agent_tracker.get("PJSIP/alice").state is AgentState.RESERVED
    assert s.ready_owners(camp) == set()
    snap = s.snapshot(camp, T0)
    assert snap.count_agents(pacing.AgentState.RESERVED) == 2 and snap.lines_busy == 3
    assert s.status(T0)["campaigns"][0]["callbacks"] == 2


def test_owner_no_longer_ready_when_the_claim_returns() -> None:
    s = session("progressive", "alice")
    feed(s, member("QueueMemberPause", "alice", paused=True, reason="BREAK"))  # paused at the PBX meanwhile
    cmds = place(s, lead(1, "alice"))
    assert of(cmds, GiveBack) == [GiveBack((lead(1, "alice"),))]
    assert not of(cmds, Originate) and not s.live


def test_failed_callback_releases_the_owner_into_the_rotation() -> None:
    s = session("progressive", "alice")
    place(s, lead(1, "alice"))
    feed(s, member("QueueMemberPause", "alice", paused=True, reason=CALLBACK_PAUSE))
    cmds = refused(s, "dlr-1", 5, T0 + 5)
    assert of(cmds, QueuePause, agent="alice") == [QueuePause("alice", "e2e", "PJSIP/alice", False, "")]
    assert s.agents["PJSIP/alice"].reserved is None and not s.live
    assert of(cmds, Emit, kind="call")[-1].data["state"] == "ended"


def test_ready_while_reserved_waits_for_the_reservation() -> None:
    s = session("progressive", "alice")
    place(s, lead(1, "alice"))
    assert s.ready(who("alice"), T0 + 1) == []  # not back into the rotation while reserved


def test_busy_owner_the_queue_connects_another_agent_and_the_owner_is_released() -> None:
    """The dialplan's fallback (Dial BUSY -> Queue): connected to whoever the queue gives it to."""
    s = session("progressive", "alice", "bob")
    place(s, lead(1, "alice"))
    feed(s, member("QueueMemberPause", "alice", paused=True, reason=CALLBACK_PAUSE))
    caller = channel("dlr-1")
    cmds = []
    for frame in (
        {"Event": "Newstate", "ChannelState": "6", **caller},
        {"Event": "DialBegin", **caller, "DestChannel": "PJSIP/alice-00000002", "DestUniqueid": "a-1",
         "DialString": "PJSIP/alice"},
        {"Event": "DialEnd", **caller, "DestChannel": "PJSIP/alice-00000002", "DestUniqueid": "a-1",
         "DialStatus": "BUSY"},
        {"Event": "QueueCallerJoin", "Queue": "e2e", "Position": "1", "Count": "1", **caller},
        {"Event": "AgentConnect", "Queue": "e2e", "MemberName": "bob", "Interface": "PJSIP/bob", "HoldTime": "0",
         "RingTime": "0", **caller, "DestChannel": "PJSIP/bob-00000003", "DestUniqueid": "b-1"},
    ):
        cmds += feed(s, frame, T0 + 5)
    alice, bob = s.agents["PJSIP/alice"], s.agents["PJSIP/bob"]
    assert bob.call is s.live["dlr-1"] and alice.call is None and alice.reserved is None
    assert of(cmds, QueuePause, agent="alice") == [QueuePause("alice", "e2e", "PJSIP/alice", False, "")]
    assert s.agent_tracker.get("PJSIP/alice").state is not AgentState.RESERVED
