"""The PBX model without the network: determinism, outcomes, queues, AMD, capacity."""

from __future__ import annotations

import time

from dialer.distributions import Uniform
from dialer.sim import ManualClock, Simulator, capture_scenario, load_scenario
from dialer.sim.scenario import scenario_from_dict

ORIG = {
    "context": "dialer-connect",
    "exten": "s",
    "priority": "1",
    "async": "true",
    "callerid": '"D" <100>',
}


def originate(sim: Simulator, number: str, aid: str, *variables: str, **extra: str) -> None:
    sim.pbx.hold()
    params = {**ORIG, "channel": f"Local/{number}@sim-customers", "channelid": aid, **extra}
    result = sim.pbx.originate(params, list(variables), aid)
    sim.pbx.release()
    assert result.error is None


def recorder(sim: Simulator) -> list[str]:
    out: list[str] = []
    sim.pbx.listeners.append(lambda bit, text: out.append(text))
    return out


def run_random(seed: int) -> list[str]:
    clock = ManualClock()
    sim = Simulator(load_scenario(), clock=clock, seed=seed, epoch=1_800_000_000.0)
    events = recorder(sim)
    sim.add_member("camp1", "Local/9001@sim-agents", "a1")
    sim.add_member("camp1", "Local/9002@sim-agents", "a2")
    for i in range(60):
        clock.advance(0.5)
        originate(
            sim, f"55501{i:02d}", f"c-{i}", f"LEAD_ID={i}", "DIALER_AMD=1" if i % 3 == 0 else "X=1"
        )
    clock.advance(3600)
    assert sim.active_calls() == 0
    return events


def test_same_seed_same_event_sequence() -> None:
    a, b = run_random(7), run_random(7)
    assert a == b
    assert a != run_random(8)


def test_deterministic_digits() -> None:
    clock = ManualClock()
    sim = Simulator(capture_scenario(), clock=clock)
    events = recorder(sim)
    sim.add_member("camp1", "Local/9001@sim-agents", "a1")
    for d in "123456789":
        originate(sim, f"555000{d}", f"c{d}", f"LEAD_ID={d}", timeout="20000")
    clock.advance(120)
    t = sim.truth
    assert [t[f"c{d}"].outcome for d in "123456789"] == [
        "human", "busy", "no_answer", "congestion", "machine", "invalid", "human", "human", "unavailable",
    ]  # fmt: skip
    assert t["c1"].connected and t["c5"].queued and not t["c5"].connected  # agent busy with c1
    reasons = {}
    for text in events:
        if text.startswith("Event: OriginateResponse"):
            fields = dict(line.split(": ", 1) for line in text.strip().split("\r\n"))
            reasons[fields["ActionID"]] = fields["Reason"]
    assert reasons == {
        "c1": "4",
        "c2": "5",
        "c3": "3",
        "c4": "8",
        "c5": "4",
        "c6": "0",
        "c7": "4",
        "c8": "4",
        "c9": "0",
    }
    assert any("Cause: 1\r\nCause-txt: Unallocated (unassigned) number" in e for e in events)
    assert sim.stats.placed == 9 and sim.stats.answered == 4


def test_amd_machine_raises_dialer_machine() -> None:
    clock = ManualClock()
    sim = Simulator(capture_scenario(), clock=clock)
    events = recorder(sim)
    originate(sim, "5550005", "m1", "LEAD_ID=42", "DIALER_AMD=1")
    originate(sim, "5550001", "h1", "LEAD_ID=43,DIALER_AMD=1")
    clock.advance(30)
    user = [e for e in events if e.startswith("Event: UserEvent")]
    assert any("UserEvent: DialerMachine\r\nLeadID: 42\r\nAMDStatus: MACHINE" in e for e in user)
    assert any("UserEvent: DialerAnswered\r\nLeadID: 43" in e for e in user)
    assert not any("DialerAnswered\r\nLeadID: 42" in e for e in user)
    assert sim.truth["m1"].amd_result == "MACHINE" and sim.truth["h1"].amd_result == "HUMAN"
    assert sim.stats.amd_machine == 1


def test_queue_from_exten_or_variable() -> None:
    clock = ManualClock()
    sim = Simulator(capture_scenario(), clock=clock)
    events = recorder(sim)
    originate(sim, "5550001", "a", exten="sales")
    originate(sim, "5550001", "b", "DIALER_QUEUE=support")
    clock.advance(30)
    joins = [e for e in events if e.startswith("Event: QueueCallerJoin")]
    assert "Queue: sales\r\n" in joins[0] and "Queue: support\r\n" in joins[1]
    assert sim.stats.dropped == 2  # nobody in those queues
    assert {"sales", "support"} <= set(sim.pbx.queues)


def test_wrapup_keeps_member_unavailable() -> None:
    clock = ManualClock()
    sc = capture_scenario()
    sc = sc.with_(queues=(sc.queues[0].__class__("camp1", wrapuptime=10),))
    sim = Simulator(sc, clock=clock)
    sim.add_member("camp1", "Local/9001@sim-agents", "a1")
    originate(sim, "5550001", "first")
    clock.advance(7.0)  # answered at 2, agent hung up at 6.5: wrap-up until 16.5
    originate(sim, "5550001", "second")
    clock.advance(5.0)  # answered at 9, dropped at 11
    assert sim.truth["second"].dropped
    clock.advance(5.0)
    originate(sim, "5550001", "third")  # at 17: member free again
    clock.advance(3.0)
    assert sim.truth["third"].connected


def test_scenario_file_parsing(tmp_path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        "[sim]\nseed = 3\n[called]\nhuman = 1\nno_answer = 0\nmachine = 0\nbusy = 0\ncongestion = 0\ninvalid = 0\n"
        'ring_time = { dist = "uniform", low = 1, high = 2 }\n'
        '[[queues]]\nname = "q1"\nwrapuptime = 5\nmembers = [{ interface = "PJSIP/agent1", name = "Ann" }]\n'
    )
    sc = load_scenario(path)
    assert sc.seed == 3 and sc.called.ring_time == Uniform(1, 2)
    assert sc.queues[0].members == (("PJSIP/agent1", "Ann"),) and sc.queues[0].wrapuptime == 5
    try:
        scenario_from_dict({"called": {"humans": 1}})
    except ValueError as exc:
        assert "humans" in str(exc)
    else:
        raise AssertionError("unknown key accepted")


def test_two_thousand_concurrent_calls_at_two_hundred_per_second() -> None:
    clock = ManualClock()
    sc = load_scenario().with_(
        called=load_scenario().called.__class__(
            human=0, machine=0, busy=0, congestion=0, invalid=0, no_answer=1
        )
    )
    sim = Simulator(sc, clock=clock)
    frames = [0]

    def sink(bit: int, text: str) -> None:
        frames[0] += len(text.encode())

    sim.pbx.listeners.append(sink)
    start = time.perf_counter()
    for k in range(2200):  # 11 s at 200/s, 30 s ring timeout: all still ringing
        clock.advance_to(k / 200)
        originate(sim, f"555{k:05d}", f"c{k}", timeout="30000")
    elapsed = time.perf_counter() - start
    assert sim.active_calls() == 2200
    assert elapsed < 4.0, f"{2200 / elapsed:.0f} originations/s"
    clock.advance(60)
    assert sim.active_calls() == 0 and sim.stats.outcomes["no_answer"] == 2200


def test_trunk_channel_is_one_channel_and_sim_outcome_forces() -> None:
    clock = ManualClock()
    sim = Simulator(load_scenario(), clock=clock, seed=5)
    events = recorder(sim)
    sim.pbx.hold()
    params = {**ORIG, "channel": "PJSIP/36301234567@carrier", "channelid": "t1", "timeout": "30000"}
    assert sim.pbx.originate(params, ["SIM_OUTCOME=busy"], "t1").error is None
    sim.pbx.release()
    clock.advance(10)
    names = {
        line.split(": ", 1)[1]
        for e in events
        if "OriginateResponse" not in e
        for line in e.split("\r\n")
        if line.startswith("Channel: ")
    }
    # ... and the `failed` extension's fake channel (handled: it only hangs up)
    assert names == {"PJSIP/carrier-00000001", "OutgoingSpoolFailed"}
    assert sim.truth["t1"].outcome == "busy" and sim.truth["t1"].number == "36301234567"
    assert any("Cause: 17\r\n" in e for e in events if e.startswith("Event: Hangup"))


def test_stale_in_use_after_agent_complete() -> None:
    """``[pbx] stale_in_use``: Asterisk 22's stale ``Status: 2`` right after ``AgentComplete``,
    then ``Status: 1`` (issue 16 item 7); none by default."""
    def statuses(stale: float) -> list[str]:
        clock = ManualClock()
        sim = Simulator(capture_scenario().with_(stale_in_use=stale), clock=clock)
        events = recorder(sim)
        sim.add_member("camp1", "Local/9001@sim-agents", "a1")
        originate(sim, "5550001", "c-1")
        clock.advance(30.0)
        done = next(i for i, e in enumerate(events) if e.startswith("Event: AgentComplete"))
        return [line for e in events[done:] if e.startswith("Event: QueueMemberStatus")
                for line in e.split("\r\n") if line.startswith("Status: ")]

    assert statuses(1.0) == ["Status: 2", "Status: 1"]
    assert statuses(0.0) == ["Status: 1"]
