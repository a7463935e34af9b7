"""Engine and agents without a PBX: queue events in, wrap-up pauses out, and the pacing
statistics see a wrap-up that ends *ready* (the unpause arrives after the disposition)."""

from __future__ import annotations

import asyncio

from dialer import pacing
from dialer.ami.events import parse_event
from tests.e2e.test_api import api, auth  # noqa: F401  (fixture)


def member(status: int, paused: bool = False, reason: str = "") -> dict:
    return {"Event": "QueueMemberStatus", "Queue": "e2e", "Interface": "PJSIP/alice", "MemberName": "alice",
            "Status": str(status), "Paused": "1" if paused else "0", "PausedReason": reason}


def agent_event(name: str, **extra: str) -> dict:
    return {"Event": name, "Queue": "e2e", "Interface": "PJSIP/alice", "MemberName": "alice",
            "Uniqueid": "cust-1", "Linkedid": "cust-1", **extra}


async def test_wrapup_pause_and_statistics(api) -> None:  # noqa: F811
    client, engine, link = api
    r = await client.post("/api/agents/alice/login", json={"campaign": "e2e"}, headers=auth("tok-alice"))
    assert r.status_code == 200
    feed = lambda frame: engine.handle_event(parse_event(frame))  # noqa: E731
    feed({**member(1), "Event": "QueueMemberAdded"})
    camp = next(iter(engine.campaigns.values()))
    assert engine.session.snapshot(camp, engine.now()).ready == 1
    feed(agent_event("AgentCalled"))
    feed(agent_event("AgentConnect", HoldTime="1", RingTime="0"))
    engine.agent_by_name("alice").call_id = 7  # the call the tracker tied to the agent
    feed(member(2))
    feed(agent_event("AgentComplete", HoldTime="1", TalkTime="40", Reason="caller"))
    feed(member(1))
    # After the call the engine pauses the member with the code "wrapup" ...
    for _ in range(50):
        if ("pause", ("e2e", "PJSIP/alice", True, "wrapup")) in link.actions:
            break
        await asyncio.sleep(0.01)
    assert ("pause", ("e2e", "PJSIP/alice", True, "wrapup")) in link.actions
    feed(member(1, paused=True, reason="wrapup"))
    snap = engine.session.snapshot(camp, engine.now())
    assert snap.ready == 0 and snap.count_agents(pacing.AgentState.WRAPUP) == 1
    # ... and the disposition lifts it; the wrap-up counts as ending ready, not in a pause.
    before = camp.stats.wrap.to_dict()
    r = await client.post("/api/calls/7/disposition", json={"code": "REFUSED", "reason": "PRICE"},
                          headers=auth("tok-alice"))
    assert r.status_code == 200, r.text
    assert ("pause", ("e2e", "PJSIP/alice", False, "")) in link.actions
    feed(member(1, paused=False))
    assert engine.session.snapshot(camp, engine.now()).ready == 1
    assert camp.stats.wrap.to_dict() != before
    assert camp.stats.pause_share < 0.1
