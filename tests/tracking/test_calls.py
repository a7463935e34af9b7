"""The call tracker on both recordings of every capture scenario, and its edge cases."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialer.ami.capture import read_capture
from dialer.ami.events import (
    AgentComplete,
    CoreShowChannel,
    DialerMachine,
    Hangup,
    Newchannel,
    OriginateResponse,
    parse_event,
)
from dialer.tracking.calls import (
    TRANSITIONS,
    CallState,
    CallTracker,
    Outcome,
    failure_outcome,
)
from tests.ami.captures import SCENARIOS, both_runs
from tests.tracking.replay import replay_capture

O = Outcome  # noqa: E741
# scenario -> attempt -> (outcome, hangup cause, agent)
EXPECTED: dict[str, dict[str, tuple[Outcome, int | None, str]]] = {
    "01-agent-login-pause": {},
    "02-answered-connected-to-agent": {"call-101": (O.CONNECTED, 16, "agent1")},
    "03-busy": {"call-102": (O.BUSY, 17, "")},
    "04-no-answer-timeout": {"call-103": (O.NO_ANSWER, 19, "")},
    "05-congestion": {"call-104": (O.CONGESTION, 34, "")},
    "06-abandoned-no-agent": {"call-106": (O.ABANDONED, 16, "")},
    "07-bad-originate": {"o-bad": (O.FAILED, None, ""), "o-sync-noext": (O.FAILED, None, "")},
    "08-show-channels-ping": {"call-108": (O.CONNECTED, 16, "agent1")},
    "09-burst-concurrent": {
        "call-200": (O.CONNECTED, 16, "agent1"),
        "call-201": (O.CONNECTED, 16, "agent2"),
        "call-202": (O.BUSY, 17, ""),
        "call-203": (O.NO_ANSWER, 19, ""),
        "call-204": (O.CONGESTION, 34, ""),
        "call-205": (O.ABANDONED, 16, ""),
        "call-206": (O.ABANDONED, 16, ""),
        "call-207": (O.BUSY, 17, ""),
        "call-208": (O.NO_ANSWER, 19, ""),
        "call-209": (O.CONGESTION, 34, ""),
        "call-210": (O.ABANDONED, 16, ""),
        "call-211": (O.ABANDONED, 16, ""),
    },
    "10-logoff": {},
    # The PBX stopped with the call queued: lost with the link, outcome unknown (see below).
    "11-pbx-shutdown": {},
}


def test_every_scenario_has_expectations() -> None:
    assert sorted(EXPECTED) == SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("run", [0, 1], ids=["first-run", "second-run"])
def test_outcomes_match_on_both_recordings(scenario: str, run: int) -> None:
    replay = replay_capture(both_runs(scenario)[run])
    expected = EXPECTED[scenario]
    for attempt, (outcome, cause, agent) in expected.items():
        record = replay.calls.get(attempt)
        assert record is not None and record.ended, (attempt, record)
        assert (record.outcome, record.hangup_cause, record.agent) == (outcome, cause, agent), (
            attempt
        )
        times = [
            t
            for t in (
                record.placed_at,
                record.ringing_at,
                record.answered_at,
                record.queued_at,
                record.connected_at,
            )
            if t is not None
        ]
        assert (
            times == sorted(times) and record.ended_at is not None and record.ended_at >= times[-1]
        )
        if outcome in (O.CONNECTED, O.ABANDONED):
            assert record.answered_at is not None and record.queued_at is not None
            assert record.queue == "camp1"
        if outcome is O.CONNECTED:
            assert record.connected_at is not None and record.agent_interface.startswith(
                "Local/900"
            )
        if outcome in (O.BUSY, O.NO_ANSWER, O.CONGESTION):
            assert record.answered_at is None
    if scenario != "11-pbx-shutdown":
        assert len(replay.calls) == 0, replay.calls.in_flight()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_records_from_both_runs(scenario: str) -> None:
    first, second = (replay_capture(p) for p in both_runs(scenario))
    for attempt in first.attempts.values():
        a, b = first.calls.get(attempt), second.calls.get(attempt)
        assert a is not None and b is not None
        keys = (
            "outcome",
            "reason",
            "hangup_cause",
            "originate_reason",
            "dial_status",
            "agent",
            "queue",
            "state",
        )
        assert {k: getattr(a, k) for k in keys} == {k: getattr(b, k) for k in keys}


def test_burst_mix() -> None:
    for path in both_runs("09"):
        outcomes = [replay_capture(path).calls.get(f"call-{n}").outcome for n in range(200, 212)]  # type: ignore[union-attr]
        assert {o: outcomes.count(o) for o in set(outcomes)} == {
            O.CONNECTED: 2,
            O.ABANDONED: 4,
            O.BUSY: 2,
            O.NO_ANSWER: 2,
            O.CONGESTION: 2,
        }


def test_connected_call_notifications() -> None:
    replay = replay_capture(both_runs("02")[0])
    states = [u.state for u in replay.call_updates]
    assert states == [
        CallState.PLACED,
        CallState.ACCEPTED,
        CallState.RINGING,
        CallState.ANSWERED,
        CallState.QUEUED,
        CallState.CONNECTED,
        CallState.ENDED,
    ]
    ended = replay.call_updates[-1].record
    assert ended.talk_time == 4 and ended.hold_time == 0 and ended.originate_reason == 4


@pytest.mark.parametrize("scenario", ["02", "03", "04", "05", "06"])
def test_originate_response_anywhere(scenario: str) -> None:
    """Wherever the OriginateResponse lands among the call's events, the outcome is the same."""
    path = both_runs(scenario)[0]
    items = read_capture(path).items
    idx = next(i for i, r in enumerate(items) if r.frame.get("Event") == "OriginateResponse")
    moved, rest = items[idx], items[:idx] + items[idx + 1 :]
    first_event = next(i for i, r in enumerate(rest) if r.frame.get("Event"))
    want = replay_capture(path).calls.get(moved.frame["Uniqueid"])
    assert want is not None
    for pos in range(first_event, len(rest) + 1):
        at = rest[pos - 1].at
        got = replay_capture(path, rest[:pos] + [replace(moved, at=at)] + rest[pos:]).calls.get(
            want.attempt_id
        )
        assert got is not None and (got.outcome, got.hangup_cause) == (
            want.outcome,
            want.hangup_cause,
        ), pos


def test_shutdown_leaves_call_unknown_then_lost() -> None:
    for path in both_runs("11"):
        replay = replay_capture(path)
        record = replay.calls.get("call-300")
        assert record is not None and record.state is CallState.QUEUED
        [update] = replay.calls.link_lost(replay.end)
        assert update.state is CallState.UNKNOWN and update.previous is CallState.QUEUED
        assert replay.calls.count(CallState.UNKNOWN) == 1
        # After the restart, CoreShowChannels lists nothing: the call is gone.
        [ended] = replay.calls.reconcile([], replay.end + 5)
        assert ended.state is CallState.ENDED and ended.record.lost
        assert ended.record.outcome is O.UNKNOWN and ended.record.reason == "lost"
        assert ended.record.answered_at is not None and ended.record.queued_at is not None


def test_link_drop_mid_call_reconciled_live_then_ends_normally() -> None:
    """08: the link drops just before CoreShowChannels; the listed channels keep the call alive."""
    for path in both_runs("08"):
        items = read_capture(path).items
        cut = next(i for i, r in enumerate(items) if r.frame.get("Action") == "CoreShowChannels")
        replay = replay_capture(path, items[:cut])
        assert replay.calls.get("call-108").state is CallState.CONNECTED  # type: ignore[union-attr]
        replay.calls.link_lost(items[cut].at)
        assert replay.calls.get("call-108").state is CallState.UNKNOWN  # type: ignore[union-attr]
        live = [e for r in items if isinstance(e := parse_event(r.frame), CoreShowChannel)]
        assert len(live) == 4
        [update] = replay.calls.reconcile(live, items[cut].at)
        assert update.previous is CallState.UNKNOWN and update.state is CallState.CONNECTED
        assert not update.record.lost
        for item in items[cut:]:
            if item.direction == "received" and not item.frame.get("ActionID"):
                replay.calls.handle(parse_event(item.frame), item.at)
        final = replay.calls.get("call-108")
        assert final is not None and final.outcome is O.CONNECTED and final.agent == "agent1"


def test_blind_spell_anywhere_before_the_connect_still_ends_connected() -> None:
    """08 (issue 13, the silent link): the link goes blind at any point after the Originate and
    comes back at the CoreShowChannels, every event between lost.  The channels show the call
    bridged to the agent: it is CONNECTED (never FAILED for the facts it missed), and the events
    after the reconnect end it CONNECTED."""
    for path in both_runs("08"):
        items = read_capture(path).items
        sent = next(i for i, r in enumerate(items) if r.frame.get("Action") == "Originate")
        csc = next(i for i, r in enumerate(items) if r.frame.get("Action") == "CoreShowChannels")
        live = [e for r in items if isinstance(e := parse_event(r.frame), CoreShowChannel)]
        for cut in range(sent + 1, csc):
            replay = replay_capture(path, items[:cut])
            replay.calls.link_lost(items[cut].at)
            [update] = replay.calls.reconcile(live, items[csc].at)
            assert update.state is CallState.CONNECTED, (path.name, cut)
            assert update.record.agent_interface == "Local/9001@sim-agents"
            assert update.record.queue == "camp1" and update.record.answered_at is not None
            for item in items[csc:]:
                if item.direction == "received" and not item.frame.get("ActionID"):
                    replay.calls.handle(parse_event(item.frame), item.at)
            final = replay.calls.get("call-108")
            assert final is not None and final.outcome is O.CONNECTED and final.agent == "agent1", cut


def test_blind_call_without_channel_facts_is_unknown_never_failed() -> None:
    """Found alive by bare id (no channel details), its answer missed, then a normal hangup with
    no OriginateResponse: an agent may have taken it, so UNKNOWN — not FAILED "cause 16"."""
    t = CallTracker(settle_timeout=5.0)
    t.place("a1", 0.0, channel_id="c1", other_channel_id="c2", action_id="o-a1", use_default_ids=False)
    t.originate_accepted("a1", 0.1)
    t.link_lost(1.0)
    [alive] = t.reconcile(["c1"], 3.0)
    assert alive.state is CallState.ACCEPTED
    t.handle(Hangup("Hangup", "c1", "c1", "Local/x;1", 6, 16, "Normal Clearing"), 20.0)
    t.handle(Hangup("Hangup", "c2", "c1", "Local/x;2", 6, 16, "Normal Clearing"), 20.0)
    [ended] = t.tick(26.0)
    assert ended.record.outcome is O.UNKNOWN and ended.record.reason == "lost"


def test_agent_complete_without_its_connect_is_a_connection() -> None:
    """``AgentComplete`` only follows an ``AgentConnect``: with the connect missed, the call
    still reached that agent, connected ``TalkTime`` seconds before."""
    t = CallTracker()
    t.place("a1", 0.0, channel_id="c1", other_channel_id="c2", action_id="o-a1", use_default_ids=False)
    t.handle(OriginateResponse("OriginateResponse", "o-a1", "Success", 4, "c1"), 5.0)
    [update] = t.handle(AgentComplete("AgentComplete", "c1", "c1", "Local/x;1", queue="camp1",
                                      member_name="agent1", interface="PJSIP/agent1", hold_time=2,
                                      talk_time=30, reason="caller"), 60.0)
    assert update.state is CallState.CONNECTED and update.record.connected_at == 30.0
    assert update.record.agent == "agent1"


def test_lost_while_ringing_resolved_by_events_after_reconnect() -> None:
    path = both_runs("04")[0]
    items = read_capture(path).items
    hang = next(i for i, r in enumerate(items) if r.frame.get("Event") == "HangupRequest")
    replay = replay_capture(path, items[:hang])
    replay.calls.link_lost(items[hang].at)
    assert replay.calls.get("call-103").state is CallState.UNKNOWN  # type: ignore[union-attr]
    for item in items[hang:]:
        replay.calls.handle(parse_event(item.frame), item.at)
    record = replay.calls.get("call-103")
    assert record is not None and record.outcome is O.NO_ANSWER and record.lost
    assert replay.calls.reconcile([], items[-1].at) == []


def test_lost_ringing_call_not_live_is_unknown() -> None:
    path = both_runs("04")[0]
    items = read_capture(path).items
    hang = next(i for i, r in enumerate(items) if r.frame.get("Event") == "HangupRequest")
    replay = replay_capture(path, items[:hang])
    replay.calls.link_lost(10.0)
    [update] = replay.calls.reconcile(["some-other-call"], 11.0)
    assert update.record.outcome is O.UNKNOWN and update.record.reason == "lost"


def test_lost_after_hangups_uses_known_facts() -> None:
    """Both channels hung up with cause 19 but the OriginateResponse was lost with the link."""
    path = both_runs("04")[0]
    items = [r for r in read_capture(path).items if r.frame.get("Event") != "OriginateResponse"]
    replay = replay_capture(path, items)
    assert replay.calls.get("call-103").state is CallState.RINGING  # type: ignore[union-attr]
    replay.calls.link_lost(6.0)
    [update] = replay.calls.reconcile([], 7.0)
    assert update.record.outcome is O.NO_ANSWER and update.record.hangup_cause == 19


def test_tick_settles_missing_originate_response() -> None:
    path = both_runs("03")[1]
    items = [r for r in read_capture(path).items if r.frame.get("Event") != "OriginateResponse"]
    replay = replay_capture(path, items)
    assert replay.calls.get("call-102").state is not CallState.ENDED  # type: ignore[union-attr]
    assert replay.calls.tick(replay.end + 1) == []
    [update] = replay.calls.tick(replay.end + 5)
    assert update.record.outcome is O.BUSY and update.record.reason == "dialstatus BUSY"


def test_machine_user_event() -> None:
    t = CallTracker()
    t.place("a1", 0.0)
    t.handle(Newchannel("Newchannel", "a1", "a1"), 0.1)
    t.handle(OriginateResponse("OriginateResponse", "o-a1", "Success", 4, "a1"), 3.0)
    [u] = t.handle(DialerMachine("UserEvent", "a1", "a1", user_event="DialerMachine"), 4.0)
    assert u.state is CallState.MACHINE
    [end] = t.handle(Hangup("Hangup", "a1", "a1", cause=16), 9.0)
    assert end.record.outcome is O.MACHINE and end.record.answered_at == 3.0


def test_single_channel_trunk_call_invalid_number() -> None:
    """A trunk channel (no ;2 half): one channel, cause 1 → invalid number even with Reason 8."""
    t = CallTracker()
    t.place("a2", 0.0)
    t.handle(Newchannel("Newchannel", "a2", "a2"), 0.1)
    assert t.handle(Hangup("Hangup", "a2", "a2", cause=1), 0.5) == []
    [end] = t.handle(OriginateResponse("OriginateResponse", "o-a2", "Failure", 8, "a2"), 0.6)
    assert end.record.outcome is O.INVALID_NUMBER


def test_originate_error_fails_at_once() -> None:
    t = CallTracker()
    t.place("a3", 0.0)
    [end] = t.originate_failed("a3", 0.01, "Originate failed")
    assert end.record.outcome is O.FAILED and end.record.reason == "Originate failed"
    assert len(t) == 0 and t.get("a3") == end.record


def test_unrelated_and_unknown_events_are_ignored() -> None:
    t = CallTracker()
    t.place("a4", 0.0)
    assert t.handle(None, 1.0) == []
    assert t.handle(Hangup("Hangup", "other", "other", cause=16), 1.0) == []
    assert t.handle(Hangup("Hangup", "1795.1", "a4", cause=16), 1.0) == []  # agent leg
    assert t.get("a4").state is CallState.PLACED  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        t.place("a4", 2.0)


def test_recovered_attempt_starts_unknown() -> None:
    t = CallTracker()
    [u] = t.place("a5", 0.0, recovered=True)
    assert u.state is CallState.UNKNOWN
    [r] = t.reconcile([CoreShowChannel("CoreShowChannel", "a5-peer", "a5")], 1.0)
    assert r.state is CallState.PLACED and not r.record.lost


@pytest.mark.parametrize(
    ("reason", "status", "cause", "outcome"),
    [
        (0, None, None, O.FAILED),
        (3, None, 19, O.NO_ANSWER),
        (5, "BUSY", 17, O.BUSY),
        (8, "CONGESTION", 34, O.CONGESTION),
        (8, None, 1, O.INVALID_NUMBER),
        (0, None, 28, O.INVALID_NUMBER),
        (1, None, 17, O.BUSY),
        (1, None, 19, O.NO_ANSWER),
        (None, "NOANSWER", 16, O.NO_ANSWER),
        (None, "CHANUNAVAIL", 0, O.FAILED),
        (None, None, 34, O.CONGESTION),
        (None, None, 21, O.BUSY),
        (None, None, None, O.FAILED),
    ],
)
def test_failure_outcome_table(
    reason: int | None, status: str | None, cause: int | None, outcome: Outcome
) -> None:
    assert failure_outcome(reason, status, cause)[0] is outcome


def test_transition_table_is_total_and_final_states_are_final() -> None:
    assert set(TRANSITIONS) == set(CallState) - {CallState.UNKNOWN}
    for state in (CallState.CONNECTED, CallState.DROPPED, CallState.MACHINE, CallState.ENDED):
        assert TRANSITIONS[state] == {}
    # Nothing ever moves backwards to an earlier phase.
    order = list(TRANSITIONS)
    for state, row in TRANSITIONS.items():
        assert all(order.index(target) > order.index(state) for target in row.values())


def test_tick_never_ends_an_answered_call_without_hangup() -> None:
    t = CallTracker(settle_timeout=1.0)
    t.place("a6", 0.0)
    t.handle(OriginateResponse("OriginateResponse", "o-a6", "Success", 4, "a6"), 1.0)
    assert t.tick(100.0) == [] and t.get("a6").state is CallState.ANSWERED  # type: ignore[union-attr]


def test_failed_originate_with_a_channel_waits_for_its_hangup() -> None:
    t = CallTracker(settle_timeout=1.0)
    t.place("a7", 0.0)
    assert t.handle(OriginateResponse("OriginateResponse", "o-a7", "Failure", 5, "a7"), 1.0) == []
    [end] = t.tick(2.5)
    assert end.record.outcome is O.BUSY
