"""Owned callbacks dialled straight to their agent: the call and agent trackers on events in the
recorded shape.

The dialplan's ``Dial(${DIALER_AGENT},2)`` from the answered channel produces what app_queue's
own member leg produces in ``02-answered-connected-to-agent`` (``DialBegin``/``DialEnd`` with
``Uniqueid`` = the attempt's channel, ``DestChannel`` = the agent's Local channel, the member's
``QueueMemberStatus``), without the queue's ``QueueCallerJoin``/``AgentCalled``/``AgentConnect``/
``AgentComplete``.  So the recordings of 02, with those queue events taken out, are the owned
callback's event stream.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialer.ami.capture import Recorded, read_capture
from dialer.ami.events import parse_event
from dialer.tracking.agents import AgentState, AgentTracker
from dialer.tracking.calls import CallState, CallTracker, Outcome, interface_of
from tests.ami.captures import both_runs
from tests.tracking.replay import Replay, feed

A1 = "Local/9001@sim-agents"
CHANNEL = "Local/5550001@sim-customers-00000010;1"
AGENT_LEG = "Local/9001@sim-agents-00000011;1"
QUEUE_ONLY = {"QueueCallerJoin", "QueueCallerLeave", "AgentCalled", "AgentConnect", "AgentComplete"}
S = AgentState


def owned_stream(path) -> list[Recorded]:
    """Recording 02 as the owned-callback branch sends it: no queue events, the member paused
    with the code ``callback`` (the daemon's reservation) in its status events."""
    out = []
    for item in read_capture(path).items:
        event = item.frame.get("Event")
        if event in QUEUE_ONLY:
            continue
        if event == "QueueMemberStatus":
            frame = dict(item.frame)
            frame.update(Paused="1", PausedReason="callback")
            item = replace(item, frame=frame)
        out.append(item)
    return out


def start(wrap_up: float = 5.0) -> Replay:
    """The owner logged in to camp1 and ready; the call tracker knows nothing yet."""
    replay = Replay(CallTracker(), AgentTracker(wrap_up=wrap_up))
    replay.agent_updates += replay.agents.handle(parse_event(member("QueueMemberAdded", 1)), 0.0)
    return replay


def member(event: str, status: int, paused: bool = False) -> dict:
    return {"Event": event, "Queue": "camp1", "MemberName": "agent1", "Interface": A1,
            "StateInterface": A1, "Status": str(status), "Paused": "1" if paused else "0",
            "PausedReason": "callback" if paused else ""}


def reserve(replay: Replay, attempt: str, at: float) -> None:
    """What the engine does when it places an owned callback: register the attempt routed to the
    owner (before the Originate), reserve the owner, pause them in the queue."""
    replay.call_updates += replay.calls.place(attempt, at, channel_id=attempt, other_channel_id=f"{attempt}-peer",
                                              action_id=attempt, use_default_ids=False, agent="agent1",
                                              agent_interface=A1)
    replay.attempts[attempt] = attempt
    replay.agent_updates += replay.agents.reserve(A1, attempt, at)
    replay.agent_updates += replay.agents.handle(parse_event(member("QueueMemberPause", 1, paused=True)), at)


def agent_states(replay: Replay) -> list[AgentState]:
    return [u.state for u in replay.agent_updates if u.agent.interface == A1]


def test_interface_of_channel_names() -> None:
    assert interface_of(AGENT_LEG) == A1
    assert interface_of("Local/9001@sim-agents-00000011;2") == A1
    assert interface_of("PJSIP/agent1-0000000a") == "PJSIP/agent1"
    assert interface_of("PJSIP/agent1") == "PJSIP/agent1"


@pytest.mark.parametrize("run", [0, 1])
def test_connected_to_the_owner_in_both_recorded_orders(run: int) -> None:
    items = owned_stream(both_runs("02")[run])
    replay = start()
    reserve(replay, "call-101", items[0].at)
    for item in items:
        if item.direction == "sent":  # the Originate was registered by ``reserve``
            continue
        feed(replay, item)
    record = replay.calls.get("call-101")
    assert record is not None and record.state is CallState.ENDED
    assert record.outcome is Outcome.CONNECTED
    assert (record.agent, record.agent_interface, record.queue) == ("agent1", A1, "")
    assert record.routed_to == A1
    states = [u.state for u in replay.call_updates]
    assert CallState.QUEUED in states  # the owner's phone rang: waiting for the agent
    assert states.index(CallState.QUEUED) < states.index(CallState.CONNECTED) < states.index(CallState.ENDED)
    assert record.connected_at is not None and record.ended_at - record.connected_at == pytest.approx(4.5, abs=0.1)
    # The owner: reserved from the placing on, talking once the dial is answered, then wrap-up.
    seq = agent_states(replay)
    assert seq[:2] == [S.READY, S.RESERVED]
    assert seq[-2:] == [S.TALKING, S.WRAP_UP]
    assert S.READY not in seq[1:] and S.PAUSED not in seq  # never offered to the queue meanwhile
    times = replay.agents.times(A1, replay.end)
    assert times.calls == 1 and times.talking == pytest.approx(4.5, abs=0.1)
    # After the wrap-up the member is still paused ("callback") until the engine unpauses it.
    [after] = replay.agents.tick(replay.end + 10)
    assert (after.state, after.agent.pause_code) == (S.PAUSED, "callback")


def test_connected_without_a_route_is_recognised_from_the_dial_alone() -> None:
    """An attempt adopted after a restart knows no route: the DialEnd ANSWER still connects it,
    to the interface of the dialled channel."""
    items = owned_stream(both_runs("02")[0])
    replay = Replay(CallTracker(), AgentTracker())
    for item in items:
        feed(replay, item)
    record = replay.calls.get("call-101")
    assert record.outcome is Outcome.CONNECTED and record.agent_interface == A1 and record.agent == ""


def dial(event: str, status: str = "") -> dict:
    frame = {"Event": event, "Channel": CHANNEL, "Uniqueid": "cb-1", "Linkedid": "cb-1",
             "DestChannel": AGENT_LEG, "DestUniqueid": "1795374168.34", "DestLinkedid": "cb-1"}
    if event == "DialBegin":
        frame["DialString"] = A1
    if status:
        frame["DialStatus"] = status
    return frame


def answered(replay: Replay) -> float:
    """The Originate's own events up to the answer and ``DialerAnswered`` (times 0-3)."""
    steps = [
        {"Event": "Newchannel", "Channel": CHANNEL, "Uniqueid": "cb-1", "Linkedid": "cb-1", "ChannelState": "0"},
        {"Event": "Newchannel", "Channel": CHANNEL[:-1] + "2", "Uniqueid": "cb-1-peer", "Linkedid": "cb-1",
         "ChannelState": "4"},
        {"Event": "DialEnd", "DestChannel": CHANNEL, "DestUniqueid": "cb-1", "DialStatus": "ANSWER"},
        {"Event": "OriginateResponse", "ActionID": "cb-1", "Response": "Success", "Reason": "4", "Uniqueid": "cb-1",
         "Channel": CHANNEL},
        {"Event": "UserEvent", "UserEvent": "DialerAnswered", "Channel": CHANNEL, "Uniqueid": "cb-1",
         "Linkedid": "cb-1", "LeadID": "7"},
    ]
    for i, frame in enumerate(steps):
        handle(replay, frame, 1.0 + i * 0.5)
    return 3.0


def handle(replay: Replay, frame: dict, at: float) -> None:
    event = parse_event(frame)
    replay.call_updates += replay.calls.handle(event, at)
    replay.agent_updates += replay.agents.handle(event, at)
    replay.end = at


def hangups(replay: Replay, at: float) -> None:
    handle(replay, {"Event": "Hangup", "Channel": CHANNEL, "Uniqueid": "cb-1", "Linkedid": "cb-1", "Cause": "16"}, at)
    handle(replay, {"Event": "Hangup", "Channel": CHANNEL[:-1] + "2", "Uniqueid": "cb-1-peer", "Linkedid": "cb-1",
                    "Cause": "16"}, at)


def test_owner_not_answering_in_time_is_a_drop() -> None:
    replay = start()
    reserve(replay, "cb-1", 0.5)
    t = answered(replay)
    handle(replay, dial("DialBegin"), t)
    handle(replay, member("QueueMemberStatus", 6, paused=True), t)  # the owner's phone rings
    assert replay.agents.get(A1).state is S.RESERVED
    handle(replay, dial("DialEnd", "NOANSWER"), t + 2.0)
    handle(replay, member("QueueMemberStatus", 1, paused=True), t + 2.0)
    # The reservation is over (the engine unpauses the owner); no call was taken.
    assert (replay.agents.get(A1).state, replay.agents.get(A1).pause_code) == (S.PAUSED, "callback")
    handle(replay, {"Event": "UserEvent", "UserEvent": "DialerDrop", "Channel": CHANNEL, "Uniqueid": "cb-1",
                    "Linkedid": "cb-1", "LeadID": "7", "DialStatus": "NOANSWER"}, t + 2.0)
    hangups(replay, t + 3.0)
    record = replay.calls.get("cb-1")
    assert record.outcome is Outcome.ABANDONED and record.agent == ""
    assert replay.agents.times(A1, t + 3.0).calls == 0
    assert S.TALKING not in agent_states(replay)


def test_called_party_hanging_up_while_the_owner_rings_is_abandoned() -> None:
    replay = start()
    reserve(replay, "cb-1", 0.5)
    t = answered(replay)
    handle(replay, dial("DialBegin"), t)
    assert replay.calls.get("cb-1").state is CallState.QUEUED
    handle(replay, dial("DialEnd", "CANCEL"), t + 1.0)
    hangups(replay, t + 1.0)
    record = replay.calls.get("cb-1")
    assert record.outcome is Outcome.ABANDONED and record.reason == "hung up waiting for an agent"
    assert replay.agents.get(A1).state is S.PAUSED  # released: the engine unpauses


def test_release_when_the_call_never_reached_the_agent() -> None:
    replay = start()
    reserve(replay, "cb-1", 0.5)
    assert replay.agents.get(A1).state is S.RESERVED
    # Busy: the Originate fails; the idle device status on the way is no news.
    handle(replay, member("QueueMemberStatus", 1, paused=True), 1.0)
    assert replay.agents.get(A1).state is S.RESERVED
    [update] = replay.agents.release(A1, 2.0)
    assert (update.previous, update.state, update.agent.pause_code) == (S.RESERVED, S.PAUSED, "callback")
    assert replay.agents.release(A1, 2.0) == []
    # A dial from that channel later (it cannot happen, but) changes nothing.
    handle(replay, dial("DialEnd", "ANSWER"), 3.0)
    assert replay.agents.get(A1).state is S.PAUSED


def test_hangup_of_the_call_ends_the_talk_when_no_device_status_comes() -> None:
    replay = start()
    reserve(replay, "cb-1", 0.5)
    t = answered(replay)
    handle(replay, dial("DialBegin"), t)
    handle(replay, dial("DialEnd", "ANSWER"), t)
    assert replay.agents.get(A1).state is S.TALKING
    assert replay.calls.get("cb-1").state is CallState.CONNECTED
    hangups(replay, t + 30.0)
    assert replay.agents.get(A1).state is S.WRAP_UP
    assert replay.calls.get("cb-1").outcome is Outcome.CONNECTED


def test_a_queue_call_is_untouched_by_the_direct_rules() -> None:
    """The queue's member leg shows the same DialBegin/DialEnd: the QueueCallerJoin before them
    keeps the queue's own events (AgentConnect) in charge."""
    replay = Replay(CallTracker(), AgentTracker(wrap_up=5.0))
    for item in read_capture(both_runs("02")[0]).items:
        feed(replay, item)
    record = replay.calls.get("call-101")
    assert (record.outcome, record.agent, record.queue, record.routed_to) == (Outcome.CONNECTED, "agent1", "camp1", "")
    assert replay.agents.times(A1, replay.end).calls == 1
