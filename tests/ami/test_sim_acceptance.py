"""Client-side acceptance against the built-in PBX simulator (``dialer.sim``) over TCP.

The simulator runs the recordings' dialplan (``capture_scenario``: the number's last digit
decides: 1 answers, 2 busy, 3 no answer, 4 congestion) 20 times faster than real time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from dialer.ami.client import AmiAuthError, AmiClient, AmiConnectError
from dialer.ami.events import AmiEvent, LinkLost, LinkUp, Reconciled
from dialer.secrets import Secret
from dialer.settings import AmiSettings
from dialer.sim import AmiServer, Simulator, capture_scenario, start_server
from dialer.tracking.agents import AgentState, AgentTracker
from dialer.tracking.calls import CallState, CallTracker, Outcome

SPEED = 20.0
SECRET = "sim-S3cret-xyz"
AGENT = "Local/9001@sim-agents"


def settings(port: int, secret: str = SECRET, **kw: float) -> AmiSettings:
    values = (
        dict(connect_timeout=1.0, action_timeout=0.5, ping_interval=0.2, reconnect_max_delay=0.2)
        | kw
    )
    return AmiSettings(
        host="127.0.0.1", port=port, username="dialer", secret=Secret(secret), **values
    )  # type: ignore[arg-type]


class Core:
    """What the daemon does with the client's deliveries: feed the pure trackers."""

    def __init__(self) -> None:
        self.calls = CallTracker()
        self.agents = AgentTracker(wrap_up=0.0)
        self.items: list[object] = []
        self.changed = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def __call__(self, item: object) -> None:
        now = self.loop.time()
        self.items.append(item)
        if isinstance(item, LinkLost):
            self.calls.link_lost(now)
        elif isinstance(item, Reconciled):
            self.calls.reconcile(item.channels, now)
        elif isinstance(item, AmiEvent):
            self.calls.handle(item, now)
            self.agents.handle(item, now)
        self.changed.set()

    async def until(self, predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
        async def wait() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), timeout)

    def seen(self, kind: type) -> list[object]:
        return [x for x in self.items if isinstance(x, kind)]

    def place(self, attempt: str) -> None:
        self.calls.place(attempt, self.loop.time())


@pytest.fixture
async def pbx() -> AsyncIterator[AmiServer]:
    sim = Simulator(capture_scenario(), speed=SPEED, secret=SECRET)
    server = await start_server(sim, "127.0.0.1", 0)
    yield server
    await server.close()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def no_secret(caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    assert not [r for r in caplog.records if SECRET in r.getMessage() or SECRET in str(r.__dict__)]
    assert not [t for t in texts if SECRET in t]


async def dial(
    client: AmiClient, core: Core, attempt: str, number: str, ring: float = 20.0
) -> None:
    core.place(attempt)
    await client.originate(
        attempt,
        f"Local/{number}@sim-customers",
        context="dialer-connect",
        ring_timeout=ring,
        caller_id='"Dialer" <5005550100>',
        lead_id=attempt,
        campaign="camp1",
        attempt=1,
    )
    core.calls.originate_accepted(attempt, core.loop.time())


async def test_bad_secret_and_refused(pbx: AmiServer, logs: pytest.LogCaptureFixture) -> None:
    client = AmiClient(settings(pbx.port, secret="not-" + SECRET), Core())
    with pytest.raises(AmiAuthError) as err:
        await client.connect()
    assert "Authentication failed" in str(err.value)
    await client.close()
    port = pbx.port
    await pbx.close()
    client = AmiClient(settings(port), Core())
    with pytest.raises(AmiConnectError) as refused:
        await client.connect()
    await client.close()
    no_secret(logs, str(err.value), str(refused.value))


async def test_outcomes_through_client_and_trackers(
    pbx: AmiServer, logs: pytest.LogCaptureFixture
) -> None:
    core = Core()
    async with AmiClient(settings(pbx.port), core) as client:
        await client.queue_add("camp1", AGENT, member_name="agent1")
        await core.until(lambda: core.agents.count(AgentState.READY) == 1)
        for attempt, number in [("t-ans", "5550001"), ("t-busy", "5550002"), ("t-cong", "5550004")]:
            await dial(client, core, attempt, number)
        await dial(client, core, "t-noans", "5550003", ring=5.0)
        await core.until(lambda: len(core.calls) == 0)
        got = {a: core.calls.get(a).outcome for a in ("t-ans", "t-busy", "t-cong", "t-noans")}  # type: ignore[union-attr]
        assert got == {
            "t-ans": Outcome.CONNECTED,
            "t-busy": Outcome.BUSY,
            "t-cong": Outcome.CONGESTION,
            "t-noans": Outcome.NO_ANSWER,
        }
        assert core.calls.get("t-ans").agent == "agent1"  # type: ignore[union-attr]
        # Now the only agent pauses: the next answered call is abandoned (safe-harbour drop).
        await client.queue_pause(AGENT, True, queue="camp1", reason="LUNCH")
        await core.until(lambda: core.agents.get(AGENT).state is AgentState.PAUSED)  # type: ignore[union-attr]
        assert core.agents.get(AGENT).pause_code == "LUNCH"  # type: ignore[union-attr]
        await dial(client, core, "t-drop", "5550001")
        await core.until(lambda: len(core.calls) == 0)
        assert core.calls.get("t-drop").outcome is Outcome.ABANDONED  # type: ignore[union-attr]
        channels = await client.core_show_channels()
        assert channels == []
    no_secret(logs)


async def test_dropped_connection_in_flight_calls_unknown_then_reconciled(
    pbx: AmiServer, logs: pytest.LogCaptureFixture
) -> None:
    core = Core()
    client = AmiClient(settings(pbx.port), core, reconnect_min_delay=0.05)
    await client.connect()
    try:
        await client.queue_add("camp1", AGENT, member_name="agent1")
        await dial(client, core, "d-1", "5550001")  # answers after 2 s (0.1 s here), talks
        await dial(client, core, "d-2", "5550003")  # rings 60 s
        await core.until(lambda: core.calls.count(CallState.CONNECTED) == 1)
        assert pbx.drop_connections() == 1
        await core.until(lambda: core.seen(LinkLost))
        assert core.calls.count(CallState.UNKNOWN) == 2
        await core.until(lambda: core.seen(Reconciled))
        assert core.seen(LinkUp)[-1] == LinkUp(reconnected=True)
        rec = core.seen(Reconciled)[0]
        assert {c.linkedid for c in rec.channels} >= {"d-1", "d-2"}  # type: ignore[attr-defined]
        assert core.calls.count(CallState.UNKNOWN) == 0
        assert core.calls.get("d-1").state is CallState.CONNECTED  # type: ignore[union-attr]
        assert core.calls.get("d-2").state is CallState.RINGING  # type: ignore[union-attr]
        # Asterisk also accepts a unique id here; the simulator wants the channel name.
        [ringing] = [c for c in rec.channels if c.uniqueid == "d-2"]  # type: ignore[attr-defined]
        await client.hangup(ringing.channel)
        await core.until(lambda: len(core.calls) == 0)
        assert core.calls.get("d-1").outcome is Outcome.CONNECTED  # type: ignore[union-attr]
        assert not core.calls.get("d-1").lost  # reconciled live, then followed to its end  # type: ignore[union-attr]
    finally:
        await client.close()
    no_secret(logs)


async def test_restart_loses_calls_reconciled_as_lost(pbx: AmiServer) -> None:
    core = Core()
    client = AmiClient(settings(pbx.port), core, reconnect_min_delay=0.05)
    await client.connect()
    try:
        await dial(client, core, "r-1", "5550003")  # ringing when the PBX restarts
        await core.until(lambda: core.calls.count(CallState.RINGING) == 1)
        await pbx.restart()
        await core.until(lambda: core.seen(Reconciled))
        record = core.calls.get("r-1")
        assert record is not None and record.ended and record.lost
        assert (record.outcome, record.reason) == (Outcome.UNKNOWN, "lost")
    finally:
        await client.close()


async def test_frozen_pbx_detected_by_watchdog(pbx: AmiServer) -> None:
    core = Core()
    client = AmiClient(
        settings(pbx.port, ping_interval=0.1, action_timeout=0.1), core, reconnect_min_delay=0.05
    )
    await client.connect()
    try:
        pbx.freeze(0.6)
        await core.until(lambda: core.seen(LinkLost), timeout=2.0)
        assert core.seen(LinkLost)[0].reason.startswith("watchdog: no Pong")  # type: ignore[attr-defined]
        await core.until(lambda: core.seen(Reconciled), timeout=3.0)
        assert client.connected
    finally:
        await client.close()


async def test_astdb_note_of_a_connected_call() -> None:
    """The shipped dialplan's ``h`` extension notes the agent a call reached in AstDB
    (``dialer-calls/<DIALER_CALL_ID>``); the client reads it with DBGet (a missing entry is
    ``None``) and clears the family with DBDelTree, as manager.c answers them."""
    from dataclasses import replace

    sim = Simulator(replace(capture_scenario(), hangup_note=True), speed=SPEED, secret=SECRET)
    pbx = await start_server(sim, "127.0.0.1", 0)
    try:
        await _astdb_note(pbx)
    finally:
        await pbx.close()


async def test_astdb_note_of_a_caller_who_hung_up_waiting_in_the_queue() -> None:
    """The caller hangs up before a member takes the call (the only member is paused): the
    ``h`` extension notes ``abandoned`` (``DIALER_QUEUED`` set, no ``MEMBERINTERFACE``), so a
    dialer that was not watching counts the abandon as one that watched does."""
    from dataclasses import replace

    from dialer.distributions import Fixed

    base = capture_scenario()
    scenario = replace(base, hangup_note=True, queue_wait=30.0,
                       called=replace(base.called, human=1, machine=0, busy=0, congestion=0, invalid=0,
                                      no_answer=0, unavailable=0, ring_time=Fixed(1.0), patience=Fixed(2.0)))
    sim = Simulator(scenario, speed=SPEED, secret=SECRET)
    pbx = await start_server(sim, "127.0.0.1", 0)
    try:
        core = Core()
        async with AmiClient(settings(pbx.port), core) as client:
            await client.queue_add("camp1", AGENT, member_name="agent1")
            await client.queue_pause(AGENT, True, queue="camp1", reason="LUNCH")
            core.place("t-42")
            await client.originate("t-42", "Local/5550001@sim-customers", context="dialer-connect",
                                   ring_timeout=20.0, variables={"DIALER_CALL_ID": "42"})
            await core.until(lambda: core.calls.get("t-42") is not None and core.calls.get("t-42").outcome is not None)  # type: ignore[union-attr]
            assert core.calls.get("t-42").outcome is Outcome.ABANDONED  # type: ignore[union-attr]
            assert sim.stats.caller_abandoned == 1
            assert await client.db_get("dialer-calls", "42") == "abandoned"
    finally:
        await pbx.close()


async def _astdb_note(pbx: AmiServer) -> None:
    core = Core()
    async with AmiClient(settings(pbx.port), core) as client:
        assert await client.db_get("dialer-calls", "41") is None
        await client.queue_add("camp1", AGENT, member_name="agent1")
        await core.until(lambda: core.agents.count(AgentState.READY) == 1)
        core.place("t-41")
        await client.originate("t-41", "Local/5550001@sim-customers", context="dialer-connect",
                               ring_timeout=20.0, variables={"DIALER_CALL_ID": "41"})
        await core.until(lambda: len(core.calls) == 0 and core.calls.get("t-41").outcome is not None)  # type: ignore[union-attr]
        assert core.calls.get("t-41").outcome is Outcome.CONNECTED  # type: ignore[union-attr]
        assert await client.db_get("dialer-calls", "41") == AGENT
        await client.send({"Action": "DBPut", "Family": "other", "Key": "k", "Val": "v"})
        await client.db_del_tree("dialer-calls")
        await client.db_del_tree("dialer-calls")  # already empty: not an error
        assert await client.db_get("dialer-calls", "41") is None
        assert await client.db_get("other", "k") == "v"
