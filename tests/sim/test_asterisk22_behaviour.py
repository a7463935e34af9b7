"""What the simulator does because a real Asterisk 22 does it (issue 16, items 1 and 9; the
recordings in tests/fixtures/ami/asterisk22-product-dialplan): an Originate to a missing
extension is refused at once, ``Status: 2`` and ``AgentConnect`` come in either order, and a
device's state change gives one ``QueueMemberStatus`` per queue it is a member of."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from dialer.ami.codec import Frame
from dialer.distributions import Fixed
from dialer.sim import ManualClock, Simulator, capture_scenario, start_server
from dialer.sim.scenario import Agents, CalledParties, QueueConfig, Scenario
from tests.sim.amiclient import RawClient

AGENT = "Local/9001@sim-agents"
ORIGINATE = dict(Channel="Local/5550001@sim-customers", Context="dialer-connect", Priority=1, Async="true")


async def test_originate_to_a_missing_extension_is_refused_at_once(client: RawClient, sim: Simulator) -> None:
    """No extension of the connect context matches "9" (the pattern needs two characters):
    ``Response: Error`` / "Extension does not exist." straight away, no channel, no
    ``OriginateResponse`` (Asterisk checks the extension before it dials)."""
    r = await client.action("Originate", "bad", Exten="9", ChannelId="call-bad", **ORIGINATE)
    assert r.items_all() == [("Response", "Error"), ("ActionID", "bad"), ("Message", "Extension does not exist.")]
    r = await client.action("Originate", "good", Exten="camp1", ChannelId="call-good", **ORIGINATE)
    assert (r["Response"], r["Message"]) == ("Success", "Originate successfully queued")
    await client.until_event(lambda f: f["Event"] == "Newchannel")
    assert sim.active_calls() == 1 and sim.stats.placed == 1
    assert not [f for f in client.events() if "call-bad" in (f.get("Uniqueid"), f.get("Linkedid"))
                or f.get("ActionID") == "bad"]


@contextlib.asynccontextmanager
async def _logged_in(sc: Scenario, clock: ManualClock) -> AsyncIterator[RawClient]:
    """A simulator of ``sc`` on ``clock`` and a client logged in to it (its frames kept after)."""
    server = await start_server(Simulator(sc, clock=clock, epoch=1_796_450_000.0), "127.0.0.1", 0)
    try:
        c = await RawClient.connect(server.port)
        await c.login()
        yield c
        await c.close()
    finally:
        await server.close()


def _order(frames: list[Frame], channel_id: str) -> tuple[str, str]:
    """For one call: which came first, the member's ``Status: 2`` or ``AgentConnect`` (the
    frames of that call's Originate up to its AgentComplete)."""
    start = next(i for i, f in enumerate(frames) if f.get("ActionID") == f"o{channel_id[5:]}")
    end = next(i for i, f in enumerate(frames) if f.get("Event") == "AgentComplete" and f["Linkedid"] == channel_id)
    kinds = [f["Event"] for f in frames[start:end] if f.get("Event") == "AgentConnect"
             or (f.get("Event") == "QueueMemberStatus" and f["Status"] == "2")]
    assert sorted(kinds) == ["AgentConnect", "QueueMemberStatus"], kinds
    return ("status", "connect") if kinds[0] == "QueueMemberStatus" else ("connect", "status")


async def test_status_2_and_agent_connect_come_in_either_order() -> None:
    """Different threads publish them on Asterisk: either may come first (the recordings show
    both).  Outside deterministic mode the simulator alternates, call by call."""
    clock = ManualClock()
    sc = capture_scenario().with_(
        deterministic=False,
        called=CalledParties(human=1.0, machine=0.0, busy=0.0, congestion=0.0, invalid=0.0, no_answer=0.0,
                             ring_time=Fixed(1.0), talk_time=Fixed(60.0)),
        agents=Agents(answer_delay=Fixed(0.0), talk_time=Fixed(3.0)))
    async with _logged_in(sc, clock) as c:
        await c.action("QueueAdd", "qa", Queue="camp1", Interface=AGENT, MemberName="agent1")
        for n in range(4):
            await c.action("Originate", f"o{n}", Exten="camp1", ChannelId=f"call-{n}", **ORIGINATE)
            clock.advance(1.5)  # answered at 1 s, connected at once
            await c.until_event(lambda f, n=n: f["Event"] == "AgentConnect" and f["Linkedid"] == f"call-{n}")
            clock.advance(10.0)  # the agent hangs up at 3 s
            await c.until_event(lambda f, n=n: f["Event"] == "AgentComplete" and f["Linkedid"] == f"call-{n}")
    orders = [_order(c.frames, f"call-{n}") for n in range(4)]
    assert set(orders) == {("status", "connect"), ("connect", "status")}, orders
    statuses = [f["Status"] for f in c.events("QueueMemberStatus")]
    assert statuses == ["2", "1"] * 4  # one "in use" and one "not in use" per call, whatever the order


async def test_member_status_is_sent_for_every_queue_of_the_interface() -> None:
    """The agent is in camp1 and in "other" (paused there, LUNCH); a camp1 call makes its device
    in use: Asterisk sends ``QueueMemberStatus`` for both queues, each with that queue's
    membership (the cause of issue 16 item 1), and "not in use" for both when it ends."""
    clock = ManualClock()
    sc = capture_scenario().with_(queues=(QueueConfig("camp1", wrapuptime=2), QueueConfig("other")))
    async with _logged_in(sc, clock) as c:
        await c.action("QueueAdd", "qa1", Queue="camp1", Interface=AGENT, MemberName="agent1")
        await c.action("QueueAdd", "qa2", Queue="other", Interface=AGENT, MemberName="agent1")
        await c.action("QueuePause", "qp", Queue="other", Interface=AGENT, Paused="true", Reason="LUNCH")
        await c.action("Originate", "o1", Exten="camp1", ChannelId="call-1", **ORIGINATE)
        clock.advance(3.0)
        await c.until_event(lambda f: f["Event"] == "AgentConnect")
        clock.advance(60.0)
        await c.until_event(lambda f: f["Event"] == "AgentComplete")
        await c.until_event(lambda f: f["Event"] == "QueueMemberStatus" and f["Queue"] == "other"
                            and f["Status"] == "1")
    seen = [(f["Queue"], f["Status"], f["Paused"], f["PausedReason"], f["InCall"])
            for f in c.events("QueueMemberStatus")]
    assert seen == [
        ("camp1", "2", "0", "", "0"), ("other", "2", "1", "LUNCH", "0"),
        ("camp1", "1", "0", "", "0"), ("other", "1", "1", "LUNCH", "0"),
    ]
    assert [f["Queue"] for f in c.events("AgentConnect")] == ["camp1"]
