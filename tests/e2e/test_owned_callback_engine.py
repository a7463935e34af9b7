"""The engine's reservation of an owned callback's agent, without a PBX: events in, queue actions
and stored states out (the whole flow against the simulator is in test_owned_callbacks.py; the
session's decisions alone in tests/session)."""

from __future__ import annotations

import asyncio

from sqlalchemy import insert, select

from dialer import pacing
from dialer.ami.events import parse_event
from dialer.ami.ids import originate_ids
from dialer.claim import ClaimedLead, calls
from dialer.schema import metadata
from dialer.session import ClaimPlan
from dialer.tracking.agents import AgentState
from dialer.vocabulary import CALLBACK_PAUSE
from tests.e2e.test_api import api, auth  # noqa: F401  (fixture)


def member(event: str, who: str, status: int = 1, paused: bool = False, reason: str = "") -> dict:
    return {"Event": event, "Queue": "e2e", "Interface": f"PJSIP/{who}", "MemberName": who,
            "Status": str(status), "Paused": "1" if paused else "0", "PausedReason": reason}


async def settle(engine) -> None:
    """Wait for the PBX actions and Originates the engine has started (event-driven: their tasks)."""
    while engine._place_tasks:
        await asyncio.gather(*list(engine._place_tasks), return_exceptions=True)


def place(engine, lead: ClaimedLead) -> None:
    """The engine claimed ``lead`` (an owned callback) for the campaign: the session places it."""
    camp = next(iter(engine.campaigns.values()))
    engine._run(engine.session.leads_claimed(ClaimPlan(camp.id, 1, 0, False), [lead], engine.now()))


async def test_reservation_pauses_the_owner_and_a_failed_call_releases_it(api) -> None:  # noqa: F811
    client, engine, link = api
    originated: list[dict] = []

    async def originate(attempt_id: str, **kw) -> None:
        originated.append({"attempt": attempt_id, **kw})

    link.originate = originate
    writer = engine.writer.start()  # database writes, as when running
    feed = lambda frame: engine.handle_event(parse_event(frame))  # noqa: E731
    for who in ("alice", "bob"):
        r = await client.post(f"/api/agents/{who}/login", json={"campaign": "e2e"}, headers=auth(f"tok-{who}"))
        assert r.status_code == 200
        feed(member("QueueMemberAdded", who))
    camp = next(iter(engine.campaigns.values()))
    assert engine.session.ready_owners(camp) == {"alice", "bob"}
    async with engine.db.begin() as conn:
        await conn.execute(insert(calls).values(id=8, campaign_id=camp.id, lead_id=1, phone="+12125550143",
                                                attempt=2, node="n", status="placing", ring_timeout=15,
                                                placed_at=engine.clock.now(), channel_id="dlr-cb"))
    alice = engine.agent_by_name("alice")
    place(engine, ClaimedLead(8, "dlr-cb", 1, "+12125550143", 2, "America/New_York", "Mary", None, "alice"))
    await settle(engine)
    # Out of the queue's rotation, and the Originate names the agent's interface.
    assert ("pause", ("e2e", "PJSIP/alice", True, CALLBACK_PAUSE)) in link.actions
    [orig] = originated
    assert orig["variables"]["DIALER_AGENT"] == "PJSIP/alice" and orig["variables"]["DIALER_QUEUE"] == "e2e"
    feed(member("QueueMemberPause", "alice", paused=True, reason=CALLBACK_PAUSE))
    assert engine.agent_tracker.get("PJSIP/alice").state is AgentState.RESERVED
    assert engine.session.ready_owners(camp) == {"bob"}  # not for another owned callback meanwhile
    snap = engine.session.snapshot(camp, engine.now())
    assert snap.ready == 1 and snap.count_agents(pacing.AgentState.RESERVED) == 1
    assert snap.calls == [] and snap.lines_busy == 1
    status = (await client.get("/api/status", headers=auth("admin-token"))).json()
    assert status["campaigns"][0]["agents"]["reserved"] == 1 and status["campaigns"][0]["agents"]["ready"] == 1
    assert (status["campaigns"][0]["callbacks"], status["campaigns"][0]["ringing"]) == (1, 0)
    await engine.flush()
    async with engine.db.connect() as conn:
        row = (await conn.execute(select(metadata.tables["agents"]).where(
            metadata.tables["agents"].c.name == "alice"))).first()
    assert (row.state, row.pause_code) == ("reserved", CALLBACK_PAUSE)  # `dialer agents ls`
    # "Ready" while reserved does not put the agent back into the queue's rotation.
    await client.post("/api/agents/alice/ready", headers=auth("tok-alice"))
    assert ("pause", ("e2e", "PJSIP/alice", False, "")) not in link.actions
    # The call fails (busy): the reservation ends and the agent is unpaused.
    ids = originate_ids("dlr-cb")
    feed({"Event": "OriginateResponse", "ActionID": ids.action_id, "Response": "Failure", "Reason": "5",
          "Uniqueid": "<unknown>", "Channel": "PJSIP/+12125550143@carrier"})
    await settle(engine)
    assert "dlr-cb" not in engine.live and alice.reserved is None
    assert engine.status()["campaigns"][0]["callbacks"] == 0
    assert ("pause", ("e2e", "PJSIP/alice", False, "")) in link.actions
    assert engine.agent_tracker.get("PJSIP/alice").state is AgentState.PAUSED  # until the PBX says
    feed(member("QueueMemberPause", "alice"))
    assert engine.agent_tracker.get("PJSIP/alice").state is AgentState.READY
    assert engine.session.ready_owners(camp) == {"alice", "bob"}
    await engine.flush()
    async with engine.db.connect() as conn:
        call = (await conn.execute(select(calls).where(calls.c.id == 8))).first()
    assert call.outcome == "BUSY"
    await engine.writer.close()
    await writer


async def test_pause_asked_while_reserved_applies_when_the_reservation_ends(api) -> None:  # noqa: F811
    client, engine, link = api

    async def originate(attempt_id: str, **kw) -> None:
        return None

    link.originate = originate
    await client.post("/api/agents/alice/login", json={"campaign": "e2e"}, headers=auth("tok-alice"))
    engine.handle_event(parse_event(member("QueueMemberAdded", "alice")))
    alice = engine.agent_by_name("alice")
    place(engine, ClaimedLead(9, "dlr-cb2", 1, "+12125550143", 2, "America/New_York", "Mary", None, "alice"))
    await settle(engine)
    r = await client.post("/api/agents/alice/pause", json={"code": "LUNCH"}, headers=auth("tok-alice"))
    assert r.status_code == 200 and alice.pending_pause == "LUNCH"  # after the call
    engine.handle_event(parse_event({"Event": "OriginateResponse", "ActionID": originate_ids("dlr-cb2").action_id,
                                     "Response": "Failure", "Reason": "3", "Uniqueid": "<unknown>"}))
    await settle(engine)
    assert ("pause", ("e2e", "PJSIP/alice", True, "LUNCH")) in link.actions
    assert ("pause", ("e2e", "PJSIP/alice", False, "")) not in link.actions


async def test_owner_found_busy_the_queue_connects_another_agent_and_the_owner_is_released(api) -> None:  # noqa: F811
    """The dialplan's fallback (Dial BUSY -> Queue): the call is connected to whoever the queue
    gives it to, and the owner's reservation ends (no 'callback' pause left behind)."""
    client, engine, link = api

    async def originate(attempt_id: str, **kw) -> None:
        return None

    link.originate = originate
    for who in ("alice", "bob"):
        await client.post(f"/api/agents/{who}/login", json={"campaign": "e2e"}, headers=auth(f"tok-{who}"))
        engine.handle_event(parse_event(member("QueueMemberAdded", who)))
    alice, bob = engine.agent_by_name("alice"), engine.agent_by_name("bob")
    place(engine, ClaimedLead(10, "dlr-cb3", 1, "+12125550143", 2, "America/New_York", "Mary", None, "alice"))
    await settle(engine)
    engine.handle_event(parse_event(member("QueueMemberPause", "alice", paused=True, reason=CALLBACK_PAUSE)))
    chan = originate_ids("dlr-cb3").channel_id
    caller = {"Channel": "PJSIP/carrier-00000001", "Uniqueid": chan, "Linkedid": chan}
    for frame in (
        {"Event": "Newstate", "ChannelState": "6", **caller},
        {"Event": "UserEvent", "UserEvent": "DialerAnswered", "LeadID": "1", **caller},
        {"Event": "DialBegin", **caller, "DestChannel": "PJSIP/alice-00000002", "DestUniqueid": "a-1",
         "DialString": "PJSIP/alice"},
        {"Event": "DialEnd", **caller, "DestChannel": "PJSIP/alice-00000002", "DestUniqueid": "a-1",
         "DialStatus": "BUSY"},
        {"Event": "QueueCallerJoin", "Queue": "e2e", "Position": "1", "Count": "1", **caller},
        {"Event": "AgentCalled", "Queue": "e2e", "MemberName": "bob", "Interface": "PJSIP/bob", **caller,
         "DestChannel": "PJSIP/bob-00000003", "DestUniqueid": "b-1"},
        {"Event": "AgentConnect", "Queue": "e2e", "MemberName": "bob", "Interface": "PJSIP/bob", "HoldTime": "0",
         "RingTime": "0", **caller, "DestChannel": "PJSIP/bob-00000003", "DestUniqueid": "b-1"},
    ):
        engine.handle_event(parse_event(frame))
    await settle(engine)
    live = engine.live["dlr-cb3"]
    assert bob.call is live and alice.call is None
    assert alice.reserved is None
    assert ("pause", ("e2e", "PJSIP/alice", False, "")) in link.actions  # back in the rotation
    assert engine.agent_tracker.get("PJSIP/alice").state is not AgentState.RESERVED


def test_cli_shows_the_current_call_as_a_callback(sqlite_url: str, monkeypatch) -> None:
    import click
    from click.testing import CliRunner

    import dialer.cli.agents as agents_cli
    from dialer.cli import CliContext
    from dialer.db import open_engine

    engine = open_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(insert(metadata.tables["agents"]).values(name="alice", interface="PJSIP/alice",
                                                               token_hash="x", state="reserved"))
    engine.dispose()
    monkeypatch.setenv("DIALER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("COLUMNS", "200")  # rich: one line per field
    screen = {"call_id": 12, "campaign": "e2e", "status": "connected", "outcome": None,
              "lead": {"first_name": "Mary", "last_name": "Smith", "phone": "+12125550143"},
              "script": "Hello Mary", "connected_at": "2026-11-23T15:00:00+00:00", "disposition": None,
              "callback": True, "callback_at": "2026-11-23T15:00:00+00:00", "callback_note": "after work",
              "callback_booked_by": "alice"}
    asked: list[str] = []

    def fake_request(settings, method: str, path: str, body=None):
        asked.append(f"{method} {path}")
        return {"agent": "alice", "call": screen}

    monkeypatch.setattr(agents_cli, "daemon_request", fake_request)
    group = click.Group(commands={"agents": agents_cli.cli})
    out = CliRunner().invoke(group, ["agents", "call", "alice"], obj=CliContext(None))
    assert out.exit_code == 0, out.output
    assert asked == ["GET /api/agents/alice/call"]
    assert "CALLBACK" in out.output and "after work" in out.output and "booked by alice" in out.output
    out = CliRunner().invoke(group, ["agents", "call", "alice", "--json"], obj=CliContext(None))
    assert '"callback": true' in out.output
