"""Faults on demand: dropped connections, a frozen manager, a restart."""

from __future__ import annotations

import asyncio

import pytest

from dialer.sim import ManualClock, Simulator
from tests.sim.amiclient import RawClient

AGENT = "Local/9001@sim-agents"


async def test_drop_connections_then_reconnect(server, client: RawClient) -> None:
    other = await RawClient.connect(server.port)
    await other.login()
    assert server.drop_connections() == 2
    assert await client.closed()
    assert await other.closed()
    again = await RawClient.connect(server.port)
    assert (await again.login())["Response"] == "Success"
    assert (await again.action("Ping", "p"))["Ping"] == "Pong"
    await again.close()
    await other.close()


async def test_freeze_delays_responses_then_answers_them(server, client: RawClient) -> None:
    server.freeze(0.3)
    client.send("Ping", ActionID="p1")
    with pytest.raises(asyncio.TimeoutError):
        await client.response("p1", timeout=0.15)
    resp = await client.response("p1", timeout=2.0)
    assert resp["Ping"] == "Pong"
    assert not server.frozen


async def test_freeze_with_events_holds_the_event_stream(
    server, client: RawClient, sim: Simulator
) -> None:
    server.freeze(0.3, events=True)
    sim.add_member("camp1", AGENT, "agent1")  # emits QueueMemberAdded while frozen
    with pytest.raises(asyncio.TimeoutError):
        await client.until_event(lambda f: f["Event"] == "QueueMemberAdded", timeout=0.15)
    ev = await client.until_event(lambda f: f["Event"] == "QueueMemberAdded", timeout=2.0)
    assert ev["Interface"] == AGENT


async def _live_call(client: RawClient, clock: ManualClock) -> None:
    await client.action("QueueAdd", "qa", Queue="camp1", Interface=AGENT, MemberName="agent1")
    await client.action(
        "Originate", "o1", Channel="Local/5550001@sim-customers", Context="dialer-connect",
        Exten="s", Priority=1, Async="true", ChannelId="call-1", OtherChannelId="call-1-peer",
    )  # fmt: skip
    clock.advance(3.0)  # talking to the agent


@pytest.mark.parametrize("keep_members", [False, True])
async def test_restart_calls_vanish(
    server, client: RawClient, sim: Simulator, clock: ManualClock, keep_members: bool
) -> None:
    await _live_call(client, clock)
    assert sim.active_calls() == 1
    await server.restart(keep_members=keep_members)
    assert await client.closed()
    assert sim.active_calls() == 0 and sim.stats.vanished == 1
    c = await RawClient.connect(server.port)
    await c.login()
    clock.advance(60.0)  # the vanished call's timers must not fire
    c.send("CoreShowChannels", ActionID="csc")
    items = await c.list_items("csc", "CoreShowChannelsComplete")
    assert items[-1]["ListItems"] == "0"
    c.send("QueueStatus", ActionID="qs", Queue="camp1")
    items = await c.list_items("qs", "QueueStatusComplete")
    members = [f for f in items if f.get("Event") == "QueueMember"]
    if keep_members:
        assert [m["Location"] for m in members] == [AGENT] and members[0]["Status"] == "1"
    else:
        assert members == []
    assert not [f for f in c.frames if f.get("Event") in ("Hangup", "AgentComplete")]
    await c.close()


async def test_restart_with_downtime_refuses_connections(server, client: RawClient) -> None:
    task = asyncio.create_task(server.restart(downtime=0.3))
    assert await client.closed()  # the listening socket is closed before connections drop
    with pytest.raises(OSError):
        await RawClient.connect(server.port)
    await task
    c = await RawClient.connect(server.port)
    assert (await c.login())["Response"] == "Success"
    await c.close()
