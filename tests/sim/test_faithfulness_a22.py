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
from tests.sim.test_faithfulness import NOISE, replay

A22 = FIXTURES / "asterisk22-product-dialplan"
SCENARIOS = ["01", "02", "05s", "07"]
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
    return name


def significant(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.get("Event", "") not in NOISE and "Response" not in f
            and f.get("Event") not in ("QueueParams", "QueueMember", "QueueStatusComplete")]


async def simulate(scenario: str) -> list[Frame]:
    clock = ManualClock()
    sc = capture_scenario().with_(
        queues=(QueueConfig("accprog", **QUEUE), QueueConfig("accpred", **QUEUE)),  # type: ignore[arg-type]
        failed_exten="caught", default_queue="accprog")
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
ONWARD = {"05s": {"Newchannel", "Newstate", "Hangup", "DialBegin", "DialEnd"}}


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
