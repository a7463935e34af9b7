"""Faithfulness: replay each recorded scenario's actions against the simulator (deterministic mode,
manual clock, over TCP) and compare what it sends with BOTH recordings of the real Asterisk.

Per correlated call (by ``Linkedid``; ``OriginateResponse`` by its ``Uniqueid``, else its
``ActionID``), per queue member (``Interface``) and per action (``ActionID``), the significant
events must be the same multiset as in one recording, every channel's own sequence of them must
equal one recording's, and every significant frame has exactly the capture's keys, in order.
Noise (Newexten, VarSet, DeviceStateChange, NewCallerid, NewConnectedLine, LocalBridge,
Bridge*, SoftHangupRequest, HangupRequest), unique ids, timestamps and timing are ignored;
HoldTime/TalkTime/RingTime may differ by one second (Asterisk truncates wall-clock seconds);
``InCall`` of ``QueueMemberStatus`` is racy in the recordings themselves (0 or 1 for the same
moment in the two runs) and is not compared.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from dialer.ami.capture import Capture, read_capture
from dialer.ami.codec import Frame
from dialer.sim import ManualClock, Simulator, capture_scenario, start_server
from tests.sim.amiclient import RawClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
SCENARIOS = sorted(p.name for p in FIXTURES.glob("*.ami") if not p.name.startswith("11-"))

NOISE = {
    "Newexten", "VarSet", "DeviceStateChange", "NewCallerid", "NewConnectedLine", "LocalBridge",
    "BridgeCreate", "BridgeEnter", "BridgeLeave", "BridgeDestroy", "SoftHangupRequest",
    "HangupRequest", "FullyBooted",
}  # fmt: skip
CALL_EVENTS = {
    "Newchannel", "Newstate", "DialBegin", "DialState", "DialEnd", "Hangup", "OriginateResponse",
    "UserEvent", "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled",
    "AgentConnect", "AgentComplete", "AgentRingNoAnswer",
}  # fmt: skip
MEMBER_EVENTS = {"QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause", "QueueMemberStatus"}
IDS = {"Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid", "Privilege"}
CLOCK_VALUES = {"LastCall", "LastPause", "LoginTime", "Timestamp", "Duration"}
TIMES = {"HoldTime", "TalkTime", "RingTime"}
# QueueParams' statistics describe the recording PBX's history before the scenario.
HISTORY = {
    "Holdtime",
    "TalkTime",
    "Completed",
    "Abandoned",
    "ServicelevelPerf",
    "ServicelevelPerf2",
}
CHANNEL_FIELDS = {"Channel", "DestChannel", "Value", "BridgePeer"}
GENERATED_ID = re.compile(r"^\d+\.\d+$")
_SUFFIX = re.compile(r"-[0-9a-f]{8}(;[12])?$")


def role(name: str) -> str:
    """A channel name without its instance number: ``Local/5550001@sim-customers;1``."""
    return _SUFFIX.sub(lambda m: m.group(1) or "", name)


def signature(frame: Frame) -> tuple:
    """The comparable form of a significant frame: its keys in order and the values that matter."""
    name = frame.get("Event") or "Response:" + frame.get("Response", "")
    out: list[tuple[str, str]] = []
    for key, value in frame.items_all():
        if key in IDS or key in CLOCK_VALUES:
            value = "*"
        elif key in TIMES:
            value = "~"
        elif (
            name == "QueueParams"
            and key in HISTORY
            or name == "QueueMemberStatus"
            and key == "InCall"
        ):
            value = "*"
        elif key == "BridgeId":
            value = "set" if value else ""
        elif key in CHANNEL_FIELDS:
            value = role(value)
        out.append((key, value))
    return (name, tuple(out))


def times(frame: Frame) -> tuple:
    return tuple((k, int(v)) for k, v in frame.items_all() if k in TIMES)


def group(frames: list[Frame]) -> dict[str, list[Frame]]:
    """Significant frames by correlation key."""
    roots: dict[str, str] = {}
    for f in frames:
        if f.get("Event") == "Newchannel" and f.get("Uniqueid") == f.get("Linkedid"):
            lid = f["Linkedid"]
            roots[lid] = "call:" + (role(f["Channel"]) if GENERATED_ID.match(lid) else lid)
    groups: dict[str, list[Frame]] = defaultdict(list)
    for f in frames:
        ev = f.get("Event")
        if ev in NOISE:
            continue
        if ev in CALL_EVENTS:
            if ev == "OriginateResponse":
                key = roots.get(f.get("Uniqueid", ""), "action:" + f.get("ActionID", ""))
            else:
                lid = f.get("Linkedid") or f.get("DestLinkedid", "")
                key = roots.get(lid, "call:" + lid)
        elif ev in MEMBER_EVENTS:
            key = "member:" + f["Interface"]
        elif "ActionID" in f:
            key = "action:" + f["ActionID"]
        else:
            raise AssertionError(f"unclassified frame {f!r}")
        groups[key].append(f)
    return groups


def streams(frames: list[Frame]) -> dict[str, list[tuple]]:
    """Per channel (role), the order of its significant events (OriginateResponse floats)."""
    out: dict[str, list[tuple]] = defaultdict(list)
    for f in frames:
        if f.get("Event") == "OriginateResponse":
            continue
        chan = f.get("Channel") or f.get("DestChannel") or "-"
        out[role(chan)].append(signature(f))
    return dict(out)


def compare_group(key: str, sim: list[Frame], runs: list[list[Frame]]) -> list[str]:
    problems: list[str] = []
    sim_set = Counter(signature(f) for f in sim)
    if not any(sim_set == Counter(signature(f) for f in run) for run in runs):
        run = runs[0]
        missing = Counter(signature(f) for f in run) - sim_set
        extra = sim_set - Counter(signature(f) for f in run)
        problems.append(f"{key}: events differ\n  missing: {list(missing)}\n  extra: {list(extra)}")
        return problems
    sim_times = sorted(times(f) for f in sim if times(f))
    if not any(_close(sim_times, sorted(times(f) for f in run if times(f))) for run in runs):
        problems.append(
            f"{key}: HoldTime/TalkTime/RingTime {sim_times} vs {[sorted(times(f) for f in r if times(f)) for r in runs]}"
        )
    if key.startswith("call:"):
        mine = streams(sim)
        theirs = [streams(run) for run in runs]
        for chan, seq in mine.items():
            if not any(t.get(chan) == seq for t in theirs):
                want = theirs[0].get(chan, [])
                problems.append(
                    f"{key} {chan}: order {[s[0] for s in seq]} vs {[s[0] for s in want]}"
                )
    elif key.startswith("member:") and not any(
        [signature(f) for f in run] == [signature(f) for f in sim] for run in runs
    ):
        problems.append(f"{key}: member event order differs")
    return problems


def _close(a: list[tuple], b: list[tuple]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if [k for k, _ in x] != [k for k, _ in y] or any(
            abs(v - w) > 1 for (_, v), (_, w) in zip(x, y, strict=True)
        ):
            return False
    return True


async def replay(sim: Simulator, clock: ManualClock, port: int, capture: Capture) -> list[Frame]:
    """Send the capture's actions at their recorded (simulated) times; return what came back."""
    client = await RawClient.connect(port)
    assert (await client.login())["Response"] == "Success"
    start = clock.monotonic()
    last = 0.0
    for item in capture.items:
        if item.direction != "sent":
            continue
        frame = item.frame
        if frame.get("Action") == "Command":
            continue
        clock.advance_to(start + item.at)
        last = item.at
        client.send_frame(frame)
        aid = frame.get("ActionID")
        if frame.get("Action") == "Logoff":
            await client.closed()
            break
        if aid:
            await client.response(aid, timeout=2.0)
    else:
        clock.advance_to(start + last + 30.0)  # let every call end
        await client.action("Ping", "sync")
    await client.close()
    return [
        f
        for f in client.frames
        if f.get("ActionID") not in ("login", "sync") and f.get("Event") != "FullyBooted"
    ]


@pytest.fixture(scope="module")
def recorded() -> dict[str, list[list[Frame]]]:
    out = {}
    for name in SCENARIOS:
        runs = [read_capture(FIXTURES / name), read_capture(FIXTURES / "second-run" / name)]
        out[name] = [r.received for r in runs]
    return out


async def simulate_all() -> dict[str, list[Frame]]:
    clock = ManualClock()
    sim = Simulator(capture_scenario(), clock=clock, epoch=1_795_374_162.0)
    server = await start_server(sim, "127.0.0.1", 0)
    out: dict[str, list[Frame]] = {}
    try:
        for name in SCENARIOS:  # one PBX, scenarios in order: queue members carry over, as recorded
            out[name] = await replay(sim, clock, server.port, read_capture(FIXTURES / name))
            clock.advance(10.0)
    finally:
        await server.close()
    return out


@pytest.fixture(scope="module")
def simulated() -> dict[str, list[Frame]]:
    return asyncio.run(simulate_all())


@pytest.mark.parametrize("name", SCENARIOS)
async def test_scenario_matches_both_recordings(name: str, simulated, recorded) -> None:
    sim_groups = group(simulated[name])
    run_groups = [group(run) for run in recorded[name]]
    assert set(run_groups[0]) == set(run_groups[1]), "the recordings disagree on what exists"
    assert set(sim_groups) == set(run_groups[0]), (
        f"keys: sim {sorted(sim_groups)} vs capture {sorted(run_groups[0])}"
    )
    problems: list[str] = []
    for key in sorted(sim_groups):
        problems += compare_group(key, sim_groups[key], [g[key] for g in run_groups])
    assert not problems, "\n".join(problems)


def test_every_significant_event_kind_is_covered(recorded) -> None:
    """The comparison really exercises the events a dialer relies on."""
    seen = {f.get("Event") for runs in recorded.values() for f in runs[0]}
    assert {
        "OriginateResponse",
        "DialEnd",
        "Hangup",
        "UserEvent",
        "QueueCallerAbandon",
        "AgentComplete",
    } <= seen
