"""MixMonitor in the simulator: a call with ``DIALER_RECORDING`` is recorded once an agent
takes it (MixMonitorStart ... MixMonitorStop before the called party's Hangup, a WAV file
written); an unanswered or abandoned call is not."""

from __future__ import annotations

from pathlib import Path

from dialer.sim import ManualClock, Simulator, capture_scenario
from dialer.sim.recording import wav_bytes
from tests.sim.test_model import originate, recorder


def _fields(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.strip().split("\r\n") if ": " in line)


def test_connected_call_is_recorded(tmp_path: Path) -> None:
    clock = ManualClock()
    sim = Simulator(capture_scenario(), clock=clock)
    events = recorder(sim)
    sim.add_member("camp1", "Local/9001@sim-agents", "a1")
    base = str(tmp_path / "rec" / "call-1")
    originate(sim, "5550001", "c1", "LEAD_ID=1", f"DIALER_RECORDING={base}", timeout="20000")  # answers
    originate(sim, "5550003", "c3", "LEAD_ID=3", f"DIALER_RECORDING={tmp_path}/call-3", timeout="20000")  # no answer
    clock.advance(300)
    assert sim.truth["c1"].connected and not sim.truth["c3"].connected
    names = [_fields(t).get("Event") for t in events]
    start, stop = names.index("MixMonitorStart"), names.index("MixMonitorStop")
    assert names.count("MixMonitorStart") == names.count("MixMonitorStop") == 1
    connect = names.index("AgentConnect")
    started = _fields(events[start])
    assert connect < start < stop
    assert started["Uniqueid"] == "c1"  # the called party's channel (the Originate's ChannelId)
    hangups = [i for i, t in enumerate(events) if _fields(t).get("Event") == "Hangup"
               and _fields(t).get("Uniqueid") == started["Uniqueid"]]
    assert hangups and stop < hangups[0]
    recorded = Path(base + ".wav")
    assert recorded.read_bytes()[:4] == b"RIFF" and recorded.stat().st_size == len(wav_bytes())
    assert not (tmp_path / "call-3.wav").exists()


def test_no_variable_no_recording(tmp_path: Path) -> None:
    clock = ManualClock()
    sim = Simulator(capture_scenario(), clock=clock)
    events = recorder(sim)
    sim.add_member("camp1", "Local/9001@sim-agents", "a1")
    originate(sim, "5550001", "c1", "LEAD_ID=1", timeout="20000")
    clock.advance(300)
    assert sim.truth["c1"].connected
    assert not any("MixMonitor" in t for t in events)
