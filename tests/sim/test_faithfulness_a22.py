"""Faithfulness to the Asterisk 22 recordings of the product's own dialplan
(``tests/fixtures/ami/asterisk22-product-dialplan``): the simulator, set up like that PBX
(queues accprog/accpred, the dialplan whose pattern caught ``failed``), is sent each
recording's actions; what it sends back must have the recording's event kinds, and each kind
the recording's fields, in the same order."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from dialer.ami.capture import read_capture
from dialer.ami.codec import Frame
from dialer.sim import ManualClock, Simulator, capture_scenario, start_server
from dialer.sim.scenario import QueueConfig
from tests.ami.captures import FIXTURES
from tests.sim.amiclient import RawClient
from tests.sim.test_faithfulness import NOISE, replay

A22 = FIXTURES / "asterisk22-product-dialplan"
SCENARIOS = ["01", "02", "04", "05", "05s", "07", "08"]  # 03 has two logins (its events twice): see test_03_*
QUEUE = dict(strategy="rrmemory", timeout=15, wrapuptime=2)


def path(scenario: str):  # type: ignore[no-untyped-def]
    [p] = A22.glob(f"{scenario}-*.ami")
    return p


def kind(f: Frame) -> str:
    name = f.get("Event") or "Response"
    if name == "UserEvent":
        return f"UserEvent:{f['UserEvent']}"
    if name == "Newchannel" and f.get("Channel") == "OutgoingSpoolFailed":
        return "Newchannel:OutgoingSpoolFailed"
    if name in ("DialBegin", "DialState", "DialEnd") and "Channel" in f:
        return f"{name}:from-channel"  # a Dial() from a channel, not the Originate's own dial
    if name == "OriginateResponse" and "Application" in f:
        return f"{name}:application"
    return name


def significant(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.get("Event", "") not in NOISE and "Response" not in f
            and f.get("Event") not in ("QueueParams", "QueueMember", "QueueStatusComplete")]


async def simulate(scenario: str) -> list[Frame]:
    clock = ManualClock()
    sc = capture_scenario().with_(
        queues=(QueueConfig("accprog", **QUEUE), QueueConfig("accpred", **QUEUE)),  # type: ignore[arg-type]
        failed_exten="caught", default_queue="accprog", local_optimisation=True, owner_in_use="answers")
    sim = Simulator(sc, clock=clock, epoch=1_796_450_000.0)
    server = await start_server(sim, "127.0.0.1", 0)
    try:
        capture = read_capture(path(scenario))
        capture.items[:] = [i for i in capture.items if i.frame.get("Action") != "Login"]
        return await replay(sim, clock, server.port, capture)
    finally:
        await server.close()


# 05s: the member Local/9101@sim-agents-fwd/n dials onward to the agent's "phone"; the
# simulator answers for the member itself, without the phone's channels.
ONWARD = {s: {"Newchannel", "Newstate", "Hangup", "DialBegin", "DialEnd", "DialBegin:from-channel",
              "DialEnd:from-channel", "LocalOptimizationBegin", "LocalOptimizationEnd"} for s in ("04", "05", "05s")}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_event_kinds_and_fields_match_the_recording(scenario: str) -> None:
    skip = ONWARD.get(scenario, set())
    sim = [f for f in significant(asyncio.run(simulate(scenario))) if kind(f) not in skip]
    rec = [f for f in significant(read_capture(path(scenario)).received) if kind(f) not in skip]
    assert Counter(map(kind, sim)) == Counter(map(kind, rec))
    fields = {kind(f): [k for k, _ in f.items_all()] for f in rec}
    for f in sim:
        assert [k for k, _ in f.items_all()] == fields[kind(f)], kind(f)


def test_failed_originate_runs_the_failed_extension_as_recorded() -> None:
    """Recording 01 (the old dialplan's pattern catches ``failed``): an OutgoingSpoolFailed
    channel with DialerAnswered and DialerDrop (QueueStatus UNKNOWN), for the busy and the
    congested call."""
    sim = significant(asyncio.run(simulate("01")))
    drops = [f for f in sim if f.get("UserEvent") == "DialerDrop"]
    assert [(f["Channel"], f["LeadID"], f["QueueStatus"]) for f in drops] == [
        ("OutgoingSpoolFailed", "1101", "UNKNOWN"), ("OutgoingSpoolFailed", "1102", "UNKNOWN")]


# ------------------------------------------------------------------ 06: core stop gracefully

STOP_AT = 3.507  # when the capture connection sent ``core stop gracefully`` (a comment in the file)


async def simulate_06() -> tuple[list[Frame], bool, RawClient]:
    """Recording 06's actions, with ``core stop gracefully`` sent on a second connection at the
    recorded moment; returns what the dialer's connection got, whether the PBX closed it, and
    the stopping connection."""
    clock = ManualClock()
    sc = capture_scenario().with_(
        queues=(QueueConfig("accprog", **QUEUE), QueueConfig("accpred", **QUEUE)),  # type: ignore[arg-type]
        failed_exten="handled", default_queue="accprog")
    sim = Simulator(sc, clock=clock, epoch=1_796_450_000.0)
    server = await start_server(sim, "127.0.0.1", 0)
    try:
        client = await RawClient.connect(server.port)
        await client.login()
        stopper = await RawClient.connect(server.port)
        await stopper.login()
        start = clock.monotonic()
        capture = read_capture(path("06"))
        for item in capture.items:
            if item.direction != "sent" or item.frame.get("Action") == "Login":
                continue
            if item.at > STOP_AT and not server.shutting_down:
                clock.advance_to(start + STOP_AT)
                stopper.send("Command", ActionID="stop", Command="core stop gracefully")
                await until(lambda: server.shutting_down)
            clock.advance_to(start + item.at)
            client.send_frame(item.frame)
            await client.response(item.frame["ActionID"], timeout=2.0)
        clock.advance_to(start + 31.6)  # the ringing call reaches its Originate timeout (30 s)
        await until(lambda: sim.active_calls() == 0)
        for _ in range(40):  # the Shutdown event ~2 s after the last channel ended
            await asyncio.sleep(0.01)
            clock.advance(0.1)
            if server.stopped.is_set():
                break
        closed = await client.closed(timeout=2.0)
        return [f for f in client.frames if f.get("ActionID") != "login"
                and f.get("Event") != "FullyBooted"], closed, stopper
    finally:
        await server.close()


async def until(condition, timeout: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.005)


def test_06_shutdown_refuses_every_action_and_ends_with_shutdown_as_recorded() -> None:
    """After ``core stop gracefully``: the Originate, Ping and QueueStatus are each answered
    ``Error`` / "Asterisk is shutting down" (no OriginateResponse for the refused Originate);
    the ringing call goes on to its 30 s timeout (cause 19, Reason 3); then ``Shutdown``
    (Cleanly, Restart False) and the PBX closes the connection.  The connection that sent the
    command got nothing at all."""
    sim, closed, stopper = asyncio.run(simulate_06())
    rec = read_capture(path("06")).received

    def answers(frames: list[Frame]) -> list[list[tuple[str, str]]]:
        return [list(f.items_all()) for f in frames if "Response" in f and "Event" not in f
                and f.get("ActionID", "").endswith("during-shutdown")]

    assert answers(sim) == answers(rec) and len(answers(rec)) == 3
    assert closed
    kinds_sim = [kind(f) for f in significant(sim)]
    kinds_rec = [kind(f) for f in significant(rec)]
    assert Counter(kinds_sim) == Counter(kinds_rec)
    assert kinds_sim[-1] == kinds_rec[-1] == "Shutdown"
    fields = {kind(f): [k for k, _ in f.items_all()] for f in significant(rec)}
    for f in significant(sim):
        assert [k for k, _ in f.items_all()] == fields[kind(f)], kind(f)
    [shutdown] = [f for f in sim if f.get("Event") == "Shutdown"]
    assert (shutdown["Shutdown"], shutdown["Restart"]) == ("Cleanly", "False")
    [done] = [f for f in sim if f.get("Event") == "OriginateResponse"]
    assert (done["ActionID"], done["Reason"]) == ("o-long", "3")
    assert not [f for f in stopper.frames if f.get("ActionID") == "stop" or f.get("Event", "FullyBooted") != "FullyBooted"]


@pytest.mark.parametrize("scenario", ["04", "05"])
def test_local_member_status_as_recorded(scenario: str) -> None:
    """Recordings 04/05 (``[pbx] local_optimisation``): without ``/n`` the member reads "not in
    use" 0.6 s into the call and nothing follows AgentComplete; with ``/n`` in use until the
    end.  (04s/05s, a silent agent: no media, no optimisation; the simulator's agents always
    talk, so those are not compared here.)"""

    def statuses(frames: list[Frame]) -> list[tuple[str, str]]:
        marks = {"AgentConnect", "AgentComplete"}
        return [(f["Event"], f.get("Status", "")) for f in frames
                if f.get("Event") == "QueueMemberStatus" or f.get("Event") in marks]

    sim = statuses(asyncio.run(simulate(scenario)))
    rec = statuses(read_capture(path(scenario)).received)
    assert sim == rec


# ------------------------------------------------------------------ 03: what a restarted dialer reads

LISTINGS = ("restart-qs", "restart-qsum", "restart-qs-all")


def listing(frames: list[Frame], action_id: str) -> list[list[tuple[str, str]]]:
    """The answer to one recorded QueueStatus/QueueSummary: the response, then its items (by
    queue and member: Asterisk lists its queues in hash order), then the closing event;
    timestamps reduced to set / not set (the recording's clock is not the simulator's)."""

    def fields(f: Frame) -> list[tuple[str, str]]:
        return [(k, "set" if k in ("LoginTime", "LastPause") and v != "0" else v) for k, v in f.items_all()]

    mine = [f for f in frames if f.get("ActionID") == action_id]
    head = [fields(f) for f in mine if "Response" in f]
    body = sorted((fields(f) for f in mine if "Event" in f and "EventList" not in f),
                  key=lambda f: (dict(f)["Event"] != "QueueParams", dict(f)["Queue"], dict(f).get("Name", "")))
    tail = [fields(f) for f in mine if "EventList" in f and "Response" not in f]
    assert len(tail) == 1 and mine[-1].get("EventList") == "Complete", action_id
    return head + body + tail


def test_03_queue_status_and_summary_as_recorded() -> None:
    """Recording 03: a new login's QueueStatus (one queue, then all), and QueueSummary, answer
    with the recording's frames, field for field: ``Name``/``Location`` members, the paused
    one with BREAK, ``ListItems`` counting QueueParams, the member-less queue's QueueParams."""
    sim = asyncio.run(simulate("03"))
    rec = read_capture(path("03")).received
    for action_id in LISTINGS:
        assert listing(sim, action_id) == listing(rec, action_id), action_id
