"""The simulator's owned-callback branch (``DIALER_AGENT``): the answered call is dialled straight
to the owner — events shaped like app_queue's member leg in the recordings, without the queue's
own — and the trackers make of them what they make of a real PBX's."""

from __future__ import annotations

from dialer.ami.codec import FrameParser
from dialer.ami.events import parse_event
from dialer.sim import ManualClock, Simulator, capture_scenario
from dialer.sim.scenario import scenario_from_dict
from dialer.tracking.agents import AgentState, AgentTracker
from dialer.tracking.calls import CallTracker, Outcome
from tests.sim.test_model import originate

OWNER = "Local/9001@sim-agents"
OTHER = "Local/9002@sim-agents"
QUEUE_ONLY = {"QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled", "AgentConnect",
              "AgentComplete"}


class Feed:
    """The PBX's events as frames, and through the trackers, as the daemon sees them."""

    def __init__(self, sim: Simulator, clock: ManualClock) -> None:
        self.frames: list[dict] = []
        self.calls = CallTracker()
        self.agents = AgentTracker(wrap_up=5.0)
        self.clock = clock
        parser = FrameParser(expect_banner=False)

        def listener(bit: int, text: str) -> None:
            for frame in parser.feed(text.encode()):
                self.frames.append(dict(frame))
                event = parse_event(frame)
                self.calls.handle(event, clock.monotonic())
                self.agents.handle(event, clock.monotonic())

        sim.pbx.listeners.append(listener)

    def events(self, name: str, **match: str) -> list[dict]:
        return [f for f in self.frames if f.get("Event") == name and all(f.get(k) == v for k, v in match.items())]


def setup(scenario=None) -> tuple[Simulator, ManualClock, Feed]:
    clock = ManualClock()
    sim = Simulator(scenario or capture_scenario(), clock=clock)
    feed = Feed(sim, clock)
    sim.add_member("camp1", OWNER, "owner")
    sim.add_member("camp1", OTHER, "other")
    return sim, clock, feed


def place_owned(sim: Simulator, feed: Feed, number: str, aid: str) -> None:
    """What the engine does: register the routed attempt, reserve the owner, pause it, originate."""
    feed.calls.place(aid, feed.clock.monotonic(), channel_id=aid, action_id=aid, use_default_ids=False,
                     agent="owner", agent_interface=OWNER)
    feed.agents.reserve(OWNER, aid, feed.clock.monotonic())
    sim.pbx.queue_pause("camp1", OWNER, True, "callback")
    originate(sim, number, aid, "LEAD_ID=1", f"DIALER_AGENT={OWNER}", "DIALER_QUEUE=camp1")


def test_answered_call_is_dialled_to_the_owner_only() -> None:
    sim, clock, feed = setup()
    place_owned(sim, feed, "5550001", "cb-1")
    clock.advance(120)
    truth = sim.truth["cb-1"]
    assert truth.connected and truth.agent == OWNER and truth.routed_to == OWNER
    assert not truth.queued and not truth.dropped
    assert sim.stats.routed == 1 and sim.stats.connected == 1 and sim.stats.queued == 0
    assert not [f for f in feed.frames if f.get("Event") in QUEUE_ONLY]
    # The agent leg as app_queue's member leg looks in recording 02.
    [begin] = feed.events("DialBegin", Uniqueid="cb-1")
    assert begin["DestChannel"].startswith(OWNER + "-") and begin["DestChannel"].endswith(";1")
    assert begin["DialString"] == OWNER and begin["Context"] == "dialer-connect"
    [end] = feed.events("DialEnd", Uniqueid="cb-1")
    assert end["DialStatus"] == "ANSWER" and end["DestUniqueid"] == begin["DestUniqueid"]
    in_use = feed.events("QueueMemberStatus", Interface=OWNER, Status="2")
    assert in_use and in_use[0]["Paused"] == "1" and in_use[0]["PausedReason"] == "callback"
    assert feed.events("QueueMemberStatus", Interface=OWNER, Status="1")  # idle again after
    assert not feed.events("QueueMemberStatus", Interface=OTHER, Status="2")
    order = [f.get("Event") for f in feed.frames if f.get("Uniqueid") == "cb-1" or f.get("Interface") == OWNER]
    assert order.index("DialBegin") < order.index("QueueMemberStatus") < order.index("DialEnd")
    record = feed.calls.get("cb-1")
    assert (record.outcome, record.agent, record.agent_interface) == (Outcome.CONNECTED, "owner", OWNER)
    assert feed.agents.times(OWNER, clock.monotonic()).calls == 1
    assert feed.agents.times(OTHER, clock.monotonic()).calls == 0


def test_owner_not_answering_within_the_wait_is_dropped() -> None:
    data = {"sim": {"seed": 3}, "pbx": {"queue_wait": 2.0},
            "called": {"human": 1, "machine": 0, "busy": 0, "congestion": 0, "invalid": 0, "no_answer": 0,
                       "unavailable": 0, "ring_time": 2, "patience": 60, "talk_time": 30},
            "agents": {"answer_delay": 3.0, "talk_time": 20},
            "queues": [{"name": "camp1", "strategy": "rrmemory", "timeout": 15}]}
    sim, clock, feed = setup(scenario_from_dict(data, "t"))
    place_owned(sim, feed, "5550001", "cb-2")
    clock.advance(120)
    truth = sim.truth["cb-2"]
    assert truth.dropped and not truth.connected and sim.stats.dropped == 1
    [drop] = feed.events("UserEvent", UserEvent="DialerDrop")
    assert drop["DialStatus"] == "NOANSWER"
    [end] = feed.events("DialEnd", Uniqueid="cb-2")
    assert end["DialStatus"] == "NOANSWER"
    assert feed.events("QueueMemberStatus", Interface=OWNER, Status="6")  # it rang
    assert feed.calls.get("cb-2").outcome is Outcome.ABANDONED
    assert feed.agents.get(OWNER).state is AgentState.PAUSED  # reservation over; not talking


def _owner_busy_with_a_queue_call(sim: Simulator, clock: ManualClock, feed: Feed) -> None:
    sim.pbx.queue_pause("camp1", OTHER, True, "x")  # the queue call goes to the owner
    originate(sim, "5550000", "q-1", "LEAD_ID=2", "DIALER_QUEUE=camp1")
    clock.advance(2.5)  # the owner took the queue call at 2 s and talks until 6.5 s
    assert sim.truth["q-1"].agent == OWNER


def test_owner_busy_goes_to_the_queue() -> None:
    """The dialplan's fallback: an owner found busy (a queue call reached them before the pause)
    does not cost a drop — the caller joins the queue and another agent takes the call."""
    sim, clock, feed = setup()
    _owner_busy_with_a_queue_call(sim, clock, feed)
    sim.pbx.queue_pause("camp1", OTHER, False)
    place_owned(sim, feed, "5550001", "cb-3")  # answered at 4.5 s
    clock.advance(120)
    truth = sim.truth["cb-3"]
    assert truth.owner_busy and truth.queued and truth.connected and truth.agent == OTHER
    assert not truth.dropped and not feed.events("UserEvent", UserEvent="DialerDrop")
    [end, member_end] = feed.events("DialEnd", Uniqueid="cb-3")
    assert end["DialStatus"] == "BUSY" and end["DestChannel"].startswith(OWNER + "-")
    assert member_end["DialStatus"] == "ANSWER" and member_end["DestChannel"].startswith(OTHER + "-")
    [join] = feed.events("QueueCallerJoin", Uniqueid="cb-3")
    assert join["Queue"] == "camp1"
    record = feed.calls.get("cb-3")
    assert (record.outcome, record.agent_interface) == (Outcome.CONNECTED, OTHER)
    assert feed.agents.times(OTHER, clock.monotonic()).calls == 1


def test_owner_busy_and_no_one_free_is_the_queue_timeout() -> None:
    sim, clock, feed = setup()
    _owner_busy_with_a_queue_call(sim, clock, feed)
    place_owned(sim, feed, "5550001", "cb-4")  # OTHER still paused: nobody can take it
    clock.advance(120)
    assert sim.truth["cb-4"].dropped and sim.truth["cb-4"].owner_busy
    [end] = feed.events("DialEnd", Uniqueid="cb-4")
    assert end["DialStatus"] == "BUSY"
    [drop] = feed.events("UserEvent", UserEvent="DialerDrop")
    assert drop["QueueStatus"] == "TIMEOUT"
    assert feed.calls.get("cb-4").outcome is Outcome.ABANDONED


def test_agent_leg_events_have_the_recorded_member_legs_shape() -> None:
    """Key for key (and the values that do not depend on ids or times) like app_queue's member
    leg from the answered channel in both recordings of 02."""
    from dialer.ami.capture import read_capture
    from tests.ami.captures import both_runs

    sim, clock, feed = setup()
    place_owned(sim, feed, "5550001", "call-101")
    clock.advance(120)
    stable = ("DialString", "DialStatus", "DestContext", "DestExten", "DestChannelState", "ChannelState",
              "Context", "Exten", "Uniqueid", "Linkedid", "DestLinkedid")
    for path in both_runs("02"):
        recorded = [dict(i.frame) for i in read_capture(path).items
                    if i.frame.get("Event") in ("DialBegin", "DialEnd") and i.frame.get("Uniqueid") == "call-101"]
        simulated = [f for f in feed.frames if f.get("Event") in ("DialBegin", "DialEnd")
                     and f.get("Uniqueid") == "call-101"]
        assert [f["Event"] for f in simulated] == [f["Event"] for f in recorded] == ["DialBegin", "DialEnd"]
        for rec, got in zip(recorded, simulated, strict=True):
            assert list(got) == list(rec)
            assert {k: got.get(k) for k in stable} == {k: rec.get(k) for k in stable}
            assert got["DestChannel"].rsplit("-", 1)[0] == rec["DestChannel"].rsplit("-", 1)[0]
