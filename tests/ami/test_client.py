"""The AMI client over TCP against a small fake AMI server replaying capture frames."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

import pytest

from dialer.ami.client import (
    AmiActionError,
    AmiAuthError,
    AmiClient,
    AmiConnectError,
    AmiLinkLost,
    AmiTimeout,
)
from dialer.ami.codec import encode_frame
from dialer.ami.events import (
    EVENT_MASK,
    CoreShowChannel,
    FullyBooted,
    LinkLost,
    LinkUp,
    OriginateResponse,
    QueueMemberStatus,
    Reconciled,
    ReconcileFailed,
    Shutdown,
)
from dialer.secrets import Secret
from dialer.settings import AmiSettings
from dialer.tracking.calls import CallState, CallTracker, Outcome
from tests.ami.fake_ami import FakeAmi, replay_call
from tests.ami.stepclock import StepClock

SECRET = "s3cr3t-Valu3"


def settings(port: int, secret: str = SECRET, **kw: float) -> AmiSettings:
    values = (
        dict(connect_timeout=0.5, action_timeout=0.3, ping_interval=0.2, reconnect_max_delay=0.2)
        | kw
    )
    return AmiSettings(
        host="127.0.0.1", port=port, username="dialer", secret=Secret(secret), **values
    )  # type: ignore[arg-type]


class Sink(list):  # type: ignore[type-arg]
    """Collects what the client delivers; ``await sink.wait_for(Type)``."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def __call__(self, item: object) -> None:
        self.append(item)
        self.changed.set()

    async def until(self, condition: Callable[[], bool], timeout: float = 3.0) -> None:
        """Wait (at most ``timeout`` s) until ``condition()`` holds, checked at each delivery."""

        async def loop() -> None:
            while not condition():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)

    async def wait_for(self, kind: type, count: int = 1, timeout: float = 3.0) -> list[object]:
        await self.until(lambda: len(self.of(kind)) >= count, timeout)
        return self.of(kind)

    def of(self, kind: type) -> list[object]:
        return [x for x in self if isinstance(x, kind)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_secret(caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in str(record.__dict__)
    for text in texts:
        assert SECRET not in text


async def test_login_subscribes_to_dialer_event_classes(all_logs: pytest.LogCaptureFixture) -> None:
    async with FakeAmi() as ami:
        sink = Sink()
        client = AmiClient(settings(ami.port), sink)
        await client.connect()
        try:
            assert client.connected and sink[0] == LinkUp(reconnected=False)
            [login] = ami.actions_named("Login")
            assert login["Events"] == EVENT_MASK == "call,agent,user,system"
            assert login["Secret"] == SECRET  # on the wire, and only there
            assert await client.ping() >= 0
            assert SECRET not in repr(client) and SECRET not in repr(client.settings)
        finally:
            await client.close()
        assert ami.actions_named("Logoff")
    assert_no_secret(all_logs)


async def test_bad_secret_is_a_clear_error_without_the_secret(
    all_logs: pytest.LogCaptureFixture,
) -> None:
    async with FakeAmi(secret="the-right-one") as ami:
        client = AmiClient(settings(ami.port), Sink())
        with pytest.raises(AmiAuthError) as err:
            await client.connect()
        text = str(err.value)
        assert "refused" in text and "'dialer'" in text and f"127.0.0.1:{ami.port}" in text
        assert "Authentication failed" in text
        assert not client.connected
        await client.close()
        assert_no_secret(all_logs, text, repr(err.value))


async def test_refused_connection_is_a_clear_error(all_logs: pytest.LogCaptureFixture) -> None:
    port = free_port()
    client = AmiClient(settings(port), Sink())
    with pytest.raises(AmiConnectError) as err:
        await client.connect()
    assert f"cannot connect to AMI at 127.0.0.1:{port}" in str(err.value)
    await client.close()
    assert_no_secret(all_logs, str(err.value))


async def test_silent_server_times_out() -> None:
    async with FakeAmi() as ami:
        ami.frozen = True
        ami.send_banner = False
        client = AmiClient(settings(ami.port, connect_timeout=0.2), Sink())
        with pytest.raises(AmiTimeout, match="no answer to the AMI login"):
            await client.connect()
        await client.close()


async def test_originate_fields_and_origination_response_as_event() -> None:
    async with FakeAmi() as ami:
        ami.script = replay_call()
        sink = Sink()
        tracker = CallTracker()
        loop = asyncio.get_running_loop()

        def core(item: object) -> None:
            sink(item)
            if not isinstance(item, LinkUp | LinkLost | Reconciled):
                tracker.handle(item, loop.time())  # type: ignore[arg-type]

        async with AmiClient(settings(ami.port), core) as client:
            tracker.place("att-1", loop.time())
            ids = await client.originate(
                "att-1",
                "PJSIP/+3612345678@carrier",
                context="dialer-connect",
                ring_timeout=25,
                caller_id='"Acme" <+3611111111>',
                lead_id=42,
                campaign="camp1",
                attempt=2,
                variables={"LIST": "l7"},
            )
            tracker.originate_accepted("att-1", loop.time())
            assert ids == ("att-1", "att-1-peer", "o-att-1")
            [sent] = ami.actions_named("Originate")
            assert sent["Async"] == "true" and sent["Timeout"] == "25000"
            assert (sent["ChannelId"], sent["OtherChannelId"], sent["ActionID"]) == ids
            assert (
                sent["Channel"] == "PJSIP/+3612345678@carrier"
                and sent["Context"] == "dialer-connect"
            )
            assert sent["CallerID"] == '"Acme" <+3611111111>'
            assert sent.getlist("Variable") == [
                "LEAD_ID=42",
                "CAMPAIGN=camp1",
                "ATTEMPT=2",
                "LIST=l7",
            ]
            [resp] = await sink.wait_for(OriginateResponse)
            assert resp.reason == 4 and resp.uniqueid == "att-1" and resp.action_id == "o-att-1"  # type: ignore[attr-defined]
            await sink.wait_for(QueueMemberStatus, 2)
            await sink.until(lambda: tracker.get("att-1").ended)  # type: ignore[union-attr]
            record = tracker.get("att-1")
            assert (
                record is not None
                and record.outcome is Outcome.CONNECTED
                and record.agent == "agent1"
            )
            names = {type(x).__name__ for x in sink}
            assert not names & {"Newexten", "VarSet", "DeviceStateChange", "NoneType"}


async def test_originate_refused_and_line_breaks() -> None:
    async with FakeAmi() as ami, AmiClient(settings(ami.port), Sink()) as client:
        with pytest.raises(AmiActionError, match="Originate failed"):
            await client.originate("att-2", "Bogus/1", context="dialer-connect")
        with pytest.raises(ValueError):
            await client.originate("att-3", "PJSIP/1@c\r\nAction: Hangup", context="x")
        with pytest.raises(ValueError):
            await client.originate("att-4", "PJSIP/1@c", context="x", variables={"A": "1\nB=2"})
        assert len(ami.actions_named("Originate")) == 1
        assert not ami.actions_named("Hangup")


async def test_queue_actions_and_lists() -> None:
    async with FakeAmi() as ami, AmiClient(settings(ami.port), Sink()) as client:
        await client.queue_add("camp1", "PJSIP/a1", member_name="alice", paused=True)
        await client.queue_pause("PJSIP/a1", True, queue="camp1", reason="BREAK")
        await client.queue_pause("PJSIP/a1", False)
        await client.queue_remove("camp1", "PJSIP/a1")
        await client.hangup("att-9")
        add, p1, p2 = ami.actions_named("QueueAdd")[0], *ami.actions_named("QueuePause")
        assert (add["Queue"], add["Interface"], add["MemberName"], add["Paused"]) == (
            "camp1",
            "PJSIP/a1",
            "alice",
            "true",
        )
        assert (p1["Paused"], p1["Reason"], p1["Queue"]) == ("true", "BREAK", "camp1")
        assert p2["Paused"] == "false" and "Queue" not in p2
        assert ami.actions_named("Hangup")[0]["Channel"] == "att-9"
        ami.live = [("c1", "c1"), ("c1-peer", "c1")]
        channels = await client.core_show_channels()
        assert [(c.uniqueid, c.linkedid) for c in channels] == ami.live
        assert all(isinstance(c, CoreShowChannel) for c in channels)
        with pytest.raises(AmiActionError, match="Invalid/unknown command"):
            await client.queue_status("camp1")


async def test_action_timeout_when_pbx_stops_answering() -> None:
    async with FakeAmi() as ami, AmiClient(settings(ami.port, ping_interval=60), Sink()) as client:
        ami.frozen = True
        with pytest.raises(AmiTimeout, match="no response within 0.1 s"):
            await client.send({"Action": "QueueAdd", "Queue": "q", "Interface": "x"}, timeout=0.1)


async def test_dropped_link_reconnects_and_reconciles(all_logs: pytest.LogCaptureFixture) -> None:
    async with FakeAmi() as ami:
        ami.script = replay_call(upto="AgentComplete")  # the call is still up when the link drops
        sink = Sink()
        tracker = CallTracker()
        loop = asyncio.get_running_loop()

        def core(item: object) -> None:
            sink(item)
            now = loop.time()
            if isinstance(item, LinkLost):
                tracker.link_lost(now)
            elif isinstance(item, Reconciled):
                tracker.reconcile(item.channels, now)
            elif not isinstance(item, LinkUp):
                tracker.handle(item, now)  # type: ignore[arg-type]

        client = AmiClient(settings(ami.port), core, reconnect_min_delay=0.05)
        await client.connect()
        try:
            for n in (1, 2):
                tracker.place(f"att-{n}", loop.time())
                await client.originate(
                    f"att-{n}", "Local/5550001@sim-customers", context="dialer-connect"
                )
            await sink.wait_for(OriginateResponse, 2)
            await sink.until(lambda: tracker.count(CallState.CONNECTED) == 2)
            ami.live = [("att-1", "att-1"), ("att-1-peer", "att-1")]  # att-2 ends while we are away
            ami.drop_connections()
            [lost] = await sink.wait_for(LinkLost)
            assert tracker.count(CallState.UNKNOWN) == 2
            with pytest.raises(AmiLinkLost):
                await client.originate("att-3", "Local/1@x", context="dialer-connect")
            first, again = await sink.wait_for(LinkUp, 2)
            [rec] = await sink.wait_for(Reconciled)
            assert (first, again) == (LinkUp(reconnected=False), LinkUp(reconnected=True))
            assert sink.index(lost) < sink.index(again) < sink.index(rec)
            assert len(ami.actions_named("Login")) == 2 and client.reconnects == 1
            assert tracker.get("att-1").state is CallState.CONNECTED  # type: ignore[union-attr]
            gone = tracker.get("att-2")
            # It had reached an agent before the link dropped: that outcome stands.
            assert (
                gone is not None and gone.ended and gone.lost and gone.outcome is Outcome.CONNECTED
            )
            assert len(ami.actions_named("Originate")) == 2  # nothing re-sent by panoramisk
        finally:
            await client.close()
    assert_no_secret(all_logs)


async def test_action_in_flight_when_link_drops_fails_and_is_not_resent() -> None:
    async with FakeAmi() as ami:
        sink = Sink()
        client = AmiClient(
            settings(ami.port, ping_interval=60, action_timeout=2), sink, reconnect_min_delay=0.02
        )
        await client.connect()
        try:
            ami.frozen = True
            task = asyncio.create_task(
                client.originate("att-5", "Local/1@x", context="dialer-connect")
            )
            await ami.received("Originate")
            ami.frozen = False
            ami.drop_connections()
            with pytest.raises(AmiLinkLost):
                await task
            await sink.wait_for(FullyBooted, 2)  # after re-login: panoramisk would re-send here
            await client.ping()  # anything re-sent would have reached the PBX before this Ping
            assert client.connected and len(ami.actions_named("Originate")) == 1
        finally:
            await client.close()


async def test_watchdog_detects_frozen_pbx_then_recovers() -> None:
    async with FakeAmi() as ami:
        sink = Sink()
        client = AmiClient(
            settings(ami.port, ping_interval=0.1, action_timeout=0.1),
            sink,
            reconnect_min_delay=0.05,
        )
        await client.connect()
        try:
            await ami.received("Ping", 2)
            assert not sink.of(LinkLost)
            ami.frozen = True
            [lost] = await sink.wait_for(LinkLost)
            assert "no Pong" in lost.reason  # type: ignore[attr-defined]
            ami.frozen = False
            await sink.wait_for(Reconciled)
            assert client.connected
        finally:
            await client.close()


async def test_wrong_pong_marks_link_dead() -> None:
    async with FakeAmi() as ami:
        sink = Sink()
        client = AmiClient(settings(ami.port, ping_interval=0.05), sink, reconnect_min_delay=5)
        await client.connect()
        try:
            ami.wrong_pong = True
            [lost] = await sink.wait_for(LinkLost)
            assert not client.connected
        finally:
            await client.close()


async def test_pbx_shutdown_event_and_close() -> None:
    async with FakeAmi() as ami:
        sink = Sink()
        client = AmiClient(settings(ami.port, ping_interval=60), sink, reconnect_min_delay=0.05)
        await client.connect()
        try:
            ami.broadcast(
                encode_frame(
                    [
                        ("Event", "Shutdown"),
                        ("Privilege", "system,all"),
                        ("Shutdown", "Cleanly"),
                        ("Restart", "False"),
                    ]
                )
            )
            [lost] = await sink.wait_for(LinkLost)
            assert lost.reason == "PBX shut down"  # type: ignore[attr-defined]
            await sink.wait_for(Shutdown)
            await sink.wait_for(Reconciled)  # the fake PBX is still there: back in
        finally:
            await client.close()


async def test_backoff_is_exponential_capped_and_jittered() -> None:
    s = settings(1, reconnect_max_delay=4.0)
    lo = AmiClient(s, Sink(), reconnect_min_delay=0.5, rng=lambda: 0.0)
    hi = AmiClient(s, Sink(), reconnect_min_delay=0.5, rng=lambda: 1.0)
    assert [lo.backoff(n) for n in range(6)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert [hi.backoff(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


# ------------------------------------------------------------------ on an injected clock


async def test_watchdog_timeouts_and_backoff_follow_the_injected_clock() -> None:
    """Ping interval, Pong timeout and reconnect backoff are clock seconds: no real waits."""
    async with FakeAmi() as ami:
        sink, clock = Sink(), StepClock()
        client = AmiClient(
            settings(ami.port, ping_interval=10, action_timeout=5, connect_timeout=5),
            sink,
            reconnect_min_delay=1.0,
            rng=lambda: 0.0,
            clock=clock,
        )
        await client.connect()
        try:
            await clock.sleeping_until(10)  # the watchdog's first interval
            assert not ami.actions_named("Ping")
            clock.advance(10)
            await clock.sleeping_until(20)  # Pong checked, next interval
            assert client.last_pong_rtt == 0.0 and len(ami.actions_named("Ping")) == 1
            ami.frozen = True
            clock.advance(10)
            await clock.sleeping_until(25)  # the Ping sent at 20, timing out at 25
            assert not sink.of(LinkLost)
            clock.advance(5)
            [lost] = await sink.wait_for(LinkLost)
            assert lost.reason == "watchdog: no Pong within 5 s"  # type: ignore[attr-defined]
            ami.frozen = False
            await clock.sleeping_until(25.5)  # backoff(0) = 0.5 with no jitter
            assert len(ami.actions_named("Login")) == 1
            clock.advance(0.5)
            await sink.wait_for(Reconciled)
            assert client.connected and client.synced and client.reconnects == 1
        finally:
            await client.close()


# ------------------------------------------------------------------ reconciliation after a reconnect


async def test_slow_reconciliation_is_reported_and_retried_while_the_link_stays_up() -> None:
    """Issue 13 item 2: one CoreShowChannels answered too late after a reconnect must neither
    leave the client waiting for a disconnect that never comes nor look like a link loss."""
    async with FakeAmi() as ami:
        sink, clock = Sink(), StepClock()
        client = AmiClient(
            settings(ami.port, ping_interval=600, action_timeout=5, reconnect_max_delay=8),
            sink,
            reconnect_min_delay=1.0,
            rng=lambda: 1.0,
            clock=clock,
        )
        await client.connect()
        try:
            ami.unanswered["coreshowchannels"] = 2
            ami.drop_connections()
            await sink.wait_for(LinkLost)
            await clock.sleeping_until(1.0)
            clock.advance(1.0)
            await sink.wait_for(LinkUp, 2)
            assert client.connected and not client.synced
            await ami.received("CoreShowChannels")
            await clock.sleeping_until(6.0)
            clock.advance(5.0)
            [failed] = await sink.wait_for(ReconcileFailed)
            assert failed == ReconcileFailed(
                "AMI CoreShowChannels got no response within 5 s", 1, 1.0
            )
            assert client.connected and not client.synced
            await clock.sleeping_until(7.0)  # retry after backoff(0)
            clock.advance(1.0)
            await ami.received("CoreShowChannels", 2)
            await clock.sleeping_until(12.0)
            clock.advance(5.0)
            await sink.wait_for(ReconcileFailed, 2)
            assert sink.of(ReconcileFailed)[1].retry_in == 2.0  # type: ignore[attr-defined]
            await clock.sleeping_until(14.0)
            clock.advance(2.0)
            [rec] = await sink.wait_for(Reconciled)
            assert client.synced and client.connected and client.reconnects == 1
            assert len(ami.actions_named("Login")) == 2 and not sink.of(LinkLost)[1:]
            kinds = [type(x).__name__ for x in sink if not isinstance(x, FullyBooted)]
            assert kinds == [
                "LinkUp", "LinkLost", "LinkUp", "ReconcileFailed", "ReconcileFailed", "Reconciled"
            ]  # fmt: skip
        finally:
            await client.close()


async def test_owner_can_ask_for_a_reconciliation() -> None:
    async with FakeAmi() as ami, AmiClient(settings(ami.port, ping_interval=60), Sink()) as client:
        sink = client.on_event
        assert isinstance(sink, Sink) and client.synced
        ami.live = [("c1", "c1")]
        client.reconcile_soon()
        assert not client.synced
        [rec] = await sink.wait_for(Reconciled)
        assert [c.uniqueid for c in rec.channels] == ["c1"]  # type: ignore[attr-defined]
        assert client.synced
        ami.unanswered["coreshowchannels"] = 1
        with pytest.raises(AmiTimeout):
            await asyncio.wait_for(client.reconcile(), 2)
        ami.live = []
        assert await client.reconcile() == ()  # answered: nothing live any more


# ------------------------------------------------------------------ malformed input


def _frame(*pairs: tuple[str, str]) -> bytes:
    return b"".join(f"{k}: {v}\r\n".encode() for k, v in pairs) + b"\r\n"


QMS = [("Event", "QueueMemberStatus"), ("Queue", "camp1"), ("Interface", "PJSIP/a1"),
       ("MemberName", "alice"), ("Status", "1"), ("Paused", "0")]  # fmt: skip


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (_frame(("Response", "Success"), ("ActionID", "x1"), ("ActionID", "x2")), "ActionID"),
        (_frame(("Event", "Hangup"), ("Event", "Newchannel"), ("Uniqueid", "u1")), "Event"),
        (_frame(("Response", "Success"), ("Message", "a"), ("Message", "b")), "Message"),
        (_frame(("Frobnicate", "1")), "neither Event nor Response"),
        (b"\xff\xfe garbage without colon\r\n\r\n", "neither Event nor Response"),
    ],
)
async def test_malformed_frame_is_dropped_and_logged_the_link_and_other_frames_kept(
    all_logs: pytest.LogCaptureFixture, bad: bytes, why: str
) -> None:
    async with FakeAmi() as ami:
        sink = Sink()
        async with AmiClient(settings(ami.port, ping_interval=60), sink) as client:
            before = _frame(*QMS[:-1], ("Paused", "1"))
            ami.broadcast(before + bad + _frame(*QMS))  # one write: the frames around the bad one
            await sink.wait_for(QueueMemberStatus, 2)
            assert await client.ping() >= 0
            assert client.connected and not sink.of(LinkLost)
            [line] = [r for r in all_logs.records if r.getMessage() == "AMI frame dropped"]
            assert why in line.reason  # type: ignore[attr-defined]
            assert len(ami.actions_named("Login")) == 1
    assert_no_secret(all_logs)


async def test_unterminated_follows_does_not_hold_up_the_frames_behind_it() -> None:
    async with FakeAmi() as ami:
        ami.replies["command"] = lambda aid: (
            f"Response: Follows\r\nPrivilege: Command\r\nActionID: {aid}\r\n"
            "Asterisk 13.38.3 built by root\r\n\r\n"  # no --END COMMAND--
        ).encode() + _frame(*QMS)
        sink = Sink()
        async with AmiClient(settings(ami.port, ping_interval=60), sink) as client:
            resp = await client.send({"Action": "Command", "Command": "core show version"})
            assert resp["Response"] == "Follows"
            await sink.wait_for(QueueMemberStatus)
            assert await client.ping() >= 0 and not sink.of(LinkLost)


async def test_late_list_items_of_a_timed_out_action_are_not_events() -> None:
    async with FakeAmi() as ami:
        sink = Sink()
        async with AmiClient(settings(ami.port, ping_interval=60), sink) as client:
            ami.live = [("c1", "c1")]
            ami.unanswered["coreshowchannels"] = 1
            with pytest.raises(AmiTimeout):
                await client.core_show_channels()
            [late] = ami.actions_named("CoreShowChannels")
            aid = late["ActionID"]
            ami.broadcast(
                _frame(("Response", "Success"), ("ActionID", aid), ("EventList", "start"))
                + _frame(("Event", "CoreShowChannel"), ("ActionID", aid), ("Uniqueid", "c1"))
                + _frame(("Event", "CoreShowChannelsComplete"), ("ActionID", aid))
                + _frame(*QMS)
            )
            await sink.wait_for(QueueMemberStatus)
            assert not sink.of(CoreShowChannel)


async def test_pbx_shutting_down_keeps_the_link_until_it_closes_then_reconnects() -> None:
    """``core stop gracefully`` (recording 06, as the simulator does it): the watchdog's Ping
    answered "Asterisk is shutting down" does not kill the link (calls still live end on it):
    ``PbxStopping`` once; an Originate is refused with that message; then ``Shutdown``, the
    close, and re-logins refused (connection refused) until the PBX is back."""
    from dialer.ami.events import PbxStopping
    from dialer.sim import Simulator, start_server

    sim = Simulator(speed=50.0, username="dialer", secret=SECRET, deterministic=True)
    server = await start_server(sim)
    sink = Sink()
    client = AmiClient(settings(server.port, ping_interval=0.05), sink, reconnect_min_delay=0.05)
    try:
        await client.connect()
        # A call that rings (…3 rings 60 s) until its 30 s timeout: 0.6 s here; the stop waits for it.
        await client.originate("att-0", "Local/+12125550143@sim-customers", context="dialer-connect",
                               exten="camp1", ring_timeout=30)
        server.stop_gracefully(downtime=0.3)
        [stopping] = await sink.wait_for(PbxStopping)
        assert stopping == PbxStopping(True, "Asterisk is shutting down")
        with pytest.raises(AmiActionError, match="Asterisk is shutting down"):
            await client.originate("att-1", "Local/+12125550101@sim-customers", context="dialer-connect")
        [done] = await sink.wait_for(OriginateResponse)
        assert (done.reason, sim.truth["att-0"].outcome) == (3, "no_answer")  # type: ignore[attr-defined]
        await sink.wait_for(Shutdown)
        [lost] = await sink.wait_for(LinkLost)
        assert sink.index(stopping) < sink.index(lost) and len(sink.of(PbxStopping)) == 1
        first, again = await sink.wait_for(LinkUp, 2, timeout=5.0)
        assert again == LinkUp(reconnected=True) and client.connected
    finally:
        await client.close()
        await server.close()


async def test_login_refused_because_the_pbx_is_shutting_down_is_not_a_credentials_error() -> None:
    from dialer.sim import Simulator, start_server

    sim = Simulator(speed=50.0, username="dialer", secret=SECRET)
    server = await start_server(sim)
    try:
        server.shutting_down = True  # as while a graceful stop waits for its calls
        client = AmiClient(settings(server.port), Sink())
        with pytest.raises(AmiConnectError, match="refused the login: Asterisk is shutting down") as err:
            await client.connect()
        assert not isinstance(err.value, AmiAuthError)
    finally:
        server.shutting_down = False
        await server.close()


async def test_connect_with_retry_waits_for_the_pbx_but_not_for_bad_credentials(
    all_logs: pytest.LogCaptureFixture,
) -> None:
    """``connect(retry=True)`` (``dialer run``): refused connections are retried with backoff,
    each logged; once the PBX listens, the login goes through.  A wrong secret raises at once."""
    port = free_port()
    client = AmiClient(settings(port), Sink(), reconnect_min_delay=0.05)
    task = asyncio.ensure_future(client.connect(retry=True))
    try:
        for _ in range(200):
            if sum("PBX not reachable" in r.getMessage() for r in all_logs.records) >= 2:
                break
            await asyncio.sleep(0.01)
        assert not task.done()
        async with FakeAmi(port=port) as ami:
            await asyncio.wait_for(task, 3.0)
            assert client.connected and ami.actions_named("Login")
            await client.close()
    finally:
        task.cancel()
    async with FakeAmi(secret="the-right-one") as ami:
        client = AmiClient(settings(ami.port), Sink(), reconnect_min_delay=0.05)
        with pytest.raises(AmiAuthError):
            await asyncio.wait_for(client.connect(retry=True), 3.0)
        await client.close()
    assert_no_secret(all_logs)
