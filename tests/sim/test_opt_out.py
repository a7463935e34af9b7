"""The simulator's opt-out keypress: a share of dropped callers press 9 in the safe-harbour
message (``called.opt_out``), or one forced by ``SIM_OPTOUT=1``; the event the dialer's tracker
reads; callers who do not press keep the recorded sequence (tests/sim/test_faithfulness)."""

from __future__ import annotations

from dialer.ami.codec import FrameParser
from dialer.ami.events import DialerOptOut, parse_event
from dialer.sim import ManualClock, Simulator, capture_scenario, load_scenario
from dialer.tracking.calls import CallTracker
from tests.sim.test_model import originate, recorder


def _opt_outs(events: list[str]) -> list[str]:
    return [e for e in events if "UserEvent: DialerOptOut" in e]


def test_a_forced_keypress_after_the_drop() -> None:
    clock = ManualClock()
    sim = Simulator(capture_scenario(), clock=clock)
    events = recorder(sim)
    originate(sim, "5550001", "a", "LEAD_ID=7", "SIM_OPTOUT=1")  # nobody in the queue: dropped
    originate(sim, "5550011", "b", "LEAD_ID=8")  # dropped too, no keypress
    clock.advance(30)
    [event] = _opt_outs(events)
    assert "LeadID: 7\r\nDigit: 9" in event and "Context: dialer-connect" in event
    assert sim.stats.opt_outs == 1 and sim.stats.dropped == 2
    drop = next(i for i, e in enumerate(events) if "UserEvent: DialerDrop" in e and "LeadID: 7" in e)
    hang = next(i for i, e in enumerate(events) if e.startswith("Event: Hangup") and "Uniqueid: a\r\n" in e)
    assert drop < events.index(event) < hang


def test_a_share_of_dropped_callers_press_9() -> None:
    clock = ManualClock()
    scenario = load_scenario()
    scenario = scenario.with_(called=scenario.called.__class__(
        human=1, machine=0, busy=0, congestion=0, invalid=0, no_answer=0, opt_out=0.3))
    sim = Simulator(scenario, clock=clock, seed=4)
    events = recorder(sim)
    for i in range(100):
        originate(sim, f"555{i:04d}", f"c-{i}", f"LEAD_ID={i}")
    clock.advance(600)
    assert sim.stats.dropped == 100
    assert 15 <= sim.stats.opt_outs <= 45 and len(_opt_outs(events)) == sim.stats.opt_outs


def test_the_tracker_marks_the_call_opted_out() -> None:
    clock = ManualClock()
    sim = Simulator(capture_scenario(), clock=clock)
    events = recorder(sim)
    tracker = CallTracker()
    tracker.place("a", 0.0, lead_id="7", campaign="c")
    originate(sim, "5550001", "a", "LEAD_ID=7", "SIM_OPTOUT=1")
    clock.advance(30)
    parser = FrameParser(expect_banner=False)
    updates = []
    seen = []
    for frame in parser.feed("".join(events).encode()):
        event = parse_event(frame)
        seen.append(event)
        if event is not None:
            updates += tracker.handle(event, 1.0)
    assert any(isinstance(e, DialerOptOut) for e in seen)
    assert updates[-1].record.opted_out and updates[-1].record.ended
