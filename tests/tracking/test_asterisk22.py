"""The agent tracker on the Asterisk 22 recordings of the product's own dialplan
(``tests/fixtures/ami/asterisk22-product-dialplan``, see its README)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialer.ami.capture import Recorded, read_capture
from dialer.ami.codec import Frame
from dialer.ami.events import AgentComplete, AgentConnect, QueueMemberStatus
from dialer.tracking.agents import AgentState, AgentTracker
from dialer.tracking.calls import CallState
from dialer.tracking.calls import Outcome as CallOutcome
from tests.ami.captures import FIXTURES
from tests.tracking.replay import Replay, feed, replay_capture

S = AgentState
A22 = FIXTURES / "asterisk22-product-dialplan"
AGENT1 = "Local/9001@sim-agents"
AGENT2 = "Local/9002@sim-agents"


def items(scenario: str, *, until: float = float("inf"), since: float = 0.0) -> list[Recorded]:
    [path] = A22.glob(f"{scenario}-*.ami")
    return [r for r in read_capture(path).items if since <= r.at < until]


def replay(scenario: str, recorded: list[Recorded], *, wrap_up: float = 0.0) -> Replay:
    return replay_capture(A22 / scenario, recorded, wrap_up=wrap_up)


# ------------------------------------------------------------------ item 1: state per queue


def test_02_paused_in_one_queue_is_ready_only_in_the_other() -> None:
    """agent1 is a member of accpred and accprog, paused (LUNCH) in accpred only: the campaign
    of accpred must not count it ready (it did: 3 calls in 5 abandoned on the real PBX)."""
    r = replay("02", items("02", until=5.4))  # before the QueueRemoves
    pred, prog = r.agents.get(AGENT1, "accpred"), r.agents.get(AGENT1, "accprog")
    assert pred is not None and prog is not None
    assert (pred.state, pred.pause_code) == (S.PAUSED, "LUNCH")
    assert (prog.state, prog.pause_code) == (S.READY, "")
    assert pred.queues == prog.queues == ("accpred", "accprog")
    assert r.agents.count(S.READY, queue="accpred") == 0
    assert r.agents.count(S.PAUSED, queue="accpred") == 1
    assert r.agents.count(S.READY, queue="accprog") == 1
    assert [(a.state, a.pause_code) for a in r.agents.agents("accpred")] == [(S.PAUSED, "LUNCH")]
    assert r.agents.get(AGENT1, "elsewhere").state is S.LOGGED_OUT  # type: ignore[union-attr]
    # Without a home queue the agent's own state: paused only when paused in every queue.
    assert r.agents.get(AGENT1).state is S.READY  # type: ignore[union-attr]


def test_02_home_queue_drives_updates_and_times() -> None:
    recorded = items("02")
    r = replay("02", [])
    r.agents.set_queue(AGENT1, "accpred", 0.0)
    for item in recorded:
        feed(r, item)
    seq = [(u.state, u.agent.pause_code, round(u.at, 3)) for u in r.agent_updates]
    assert seq == [
        (S.READY, "", 1.005),
        (S.PAUSED, "LUNCH", 2.407),
        (S.LOGGED_OUT, "", 5.411),  # removed from its campaign's queue, still in accprog
    ]
    times = r.agents.times(AGENT1, 10.0)
    assert times.paused == {"LUNCH": pytest.approx(5.411 - 2.407)}


def test_03_restarted_dialer_reads_members_from_queue_status() -> None:
    """A new login's QueueStatus lists the members (``Name``/``Location``): agent1 ready,
    agent2 paused with BREAK; QueueParams and the all-queues listing change nothing."""
    r = replay("03", items("03", since=3.0, until=6.5))  # the second login, before the removes
    one, two = r.agents.get(AGENT1, "accprog"), r.agents.get(AGENT2, "accprog")
    assert one is not None and two is not None
    assert (one.state, one.member_name) == (S.READY, "agent1")
    assert (two.state, two.pause_code, two.member_name) == (S.PAUSED, "BREAK", "agent2")
    assert r.agents.get(AGENT1, "accpred").state is S.LOGGED_OUT  # type: ignore[union-attr]
    assert [(u.agent.interface, u.state) for u in r.agent_updates] == [
        (AGENT1, S.READY), (AGENT2, S.PAUSED)]


# ------------------------------------------------------------------ item 3: Local agents


@pytest.mark.parametrize("scenario", ["05", "05s", "04s"])
def test_local_agent_talks_until_agent_complete(scenario: str) -> None:
    """With ``/n`` (05, 05s), or with no media flowing (04s): talking from AgentConnect (+4.0 s)
    to AgentComplete (+8.5 s), then one wrap-up."""
    r = replay(scenario, items(scenario), wrap_up=5.0)
    [iface] = {u.agent.interface for u in r.agent_updates}
    seq = [u.state for u in r.agent_updates]
    assert seq[:4] == [S.READY, S.RESERVED, S.TALKING, S.WRAP_UP]
    assert seq.count(S.TALKING) == 1 and seq.count(S.WRAP_UP) == 1
    times = r.agents.times(iface, r.end)
    assert times.talking == pytest.approx(4.5, abs=0.02)
    assert times.calls == 1 and times.talk_time_reported == 4


def test_04_local_agent_without_n_looks_idle_mid_call() -> None:
    """Without ``/n`` the Local channel optimises away 0.6 s into the call and Asterisk reports
    the member not in use while it talks (its own QueueStatus says so too): the reason
    Local agent interfaces need ``/n`` (docs/ami.md)."""
    r = replay("04", items("04"), wrap_up=5.0)
    times = r.agents.times("Local/9101@sim-agents-fwd", r.end)
    assert times.talking < 1.0
    assert times.talk_time_reported == 4  # the PBX's own count says 4 s


# ------------------------------------------------------------------ item 7: stale statuses


def _with(recorded: list[Recorded], after: str, extra: dict[str, str], *, dt: float = 0.0005) -> list[Recorded]:
    """``recorded`` with a copy of the first ``after`` event (``Event`` name), changed by
    ``extra``, inserted just after it."""
    i = next(k for k, r in enumerate(recorded) if r.frame.get("Event") == after)
    base = recorded[i]
    member = next(r for r in recorded[i:] if r.frame.get("Event") == "QueueMemberStatus").frame
    frame = Frame([(k, v) for k, v in member.items_all()])
    for k, v in extra.items():
        frame[k] = v
    return [*recorded[: i + 1], replace(base, at=base.at + dt, frame=frame), *recorded[i + 1:]]


def test_stale_in_use_after_agent_complete_is_not_a_call() -> None:
    """About 1 call in 40 Asterisk 22 sends ``Status: 2`` just after ``AgentComplete`` (then
    ``Status: 1``): the agent stays in wrap-up, no second wrap-up, no 0 s talk."""
    recorded = _with(items("05"), "AgentComplete", {"Status": "2", "InCall": "1"})
    r = replay("05", recorded, wrap_up=5.0)
    seq = [u.state for u in r.agent_updates]
    assert seq.count(S.TALKING) == 1 and seq.count(S.WRAP_UP) == 1
    times = r.agents.times("Local/9101@sim-agents-fwd/n", r.end)
    assert times.talking == pytest.approx(4.5, abs=0.02)


def test_stale_status_in_queue_member_pause_is_ignored() -> None:
    """The dialer pauses the agent for wrap-up right after AgentComplete; the QueueMemberPause
    repeats a stale ``Status: 2``: not a new call."""
    recorded = _with(items("05"), "AgentComplete", {
        "Event": "QueueMemberPause", "Status": "2", "Paused": "1", "PausedReason": "wrapup"})
    r = replay("05", recorded, wrap_up=5.0)
    seq = [u.state for u in r.agent_updates]
    assert seq.count(S.TALKING) == 1 and seq.count(S.WRAP_UP) == 1


def test_in_use_after_idle_is_a_call_again() -> None:
    """The stale guard lasts until the device reports idle (or a new call starts)."""
    t = AgentTracker()
    t.handle(QueueMemberStatus("QueueMemberStatus", "q", "PJSIP/a", "a", 1), 0.0)
    t.handle(AgentConnect("AgentConnect", "c1", "c1", queue="q", interface="PJSIP/a"), 1.0)
    t.handle(QueueMemberStatus("QueueMemberStatus", "q", "PJSIP/a", "a", 2), 1.0)
    t.handle(AgentComplete("AgentComplete", "c1", "c1", queue="q", interface="PJSIP/a"), 9.0)
    assert t.handle(QueueMemberStatus("QueueMemberStatus", "q", "PJSIP/a", "a", 2), 9.0) == []
    assert t.handle(QueueMemberStatus("QueueMemberStatus", "q", "PJSIP/a", "a", 1), 9.0) == []
    [u] = t.handle(QueueMemberStatus("QueueMemberStatus", "q", "PJSIP/a", "a", 2), 20.0)
    assert u.state is S.TALKING  # the agent picked up the phone: a call of its own


# ------------------------------------------------------------------ item 5: a PBX shutting down

CALL_LONG, CALL_REFUSED = "call-1601", "call-1602"


def outcome(r: Replay, attempt: str) -> tuple[CallOutcome | None, str]:
    record = r.calls.get(attempt)
    assert record is not None and record.ended, attempt
    return record.outcome, record.reason


def test_06_refused_during_shutdown_is_the_pbxs_doing_and_a_full_ring_is_no_answer() -> None:
    """Recording 06: the Originate answered "Asterisk is shutting down" ends PBX_DOWN (the lead
    gets its attempt back); the call ringing since before the shutdown rang its full 30 s
    (Reason 3, cause 19): a real no-answer.  The agent stays ready; ``Shutdown`` is the end."""
    r = replay("06", items("06"))
    assert outcome(r, CALL_REFUSED) == (CallOutcome.PBX_DOWN, "PBX shutting down: Asterisk is shutting down")
    assert outcome(r, CALL_LONG)[0] is CallOutcome.NO_ANSWER
    assert r.agents.get(AGENT1, "accprog").state is S.READY  # type: ignore[union-attr]
    assert len(r.calls) == 0


def test_06_a_ringing_call_cut_short_by_the_shutdown_is_the_pbxs_doing() -> None:
    """The same recording with the ringing call ended 6 s into its 30 s (as ``core stop now`` or
    a trunk going down does; the issue saw NO_ANSWER after 6 s of 15 s): PBX_DOWN, not NO_ANSWER."""
    recorded = items("06")
    cut = [replace(i, at=7.5) if i.at > 31 and i.frame.get("Event") != "Shutdown" else i for i in recorded]
    cut.sort(key=lambda i: i.at)
    r = replay("06", cut)
    assert outcome(r, CALL_LONG) == (CallOutcome.PBX_DOWN, "cut short by the PBX shutting down (reason 3)")


def test_06_a_call_lost_with_the_link_the_shutdown_closed_is_the_pbxs_doing() -> None:
    """Up to the ``Shutdown`` event with the call still ringing, then the link closes: after
    the re-login the call is gone from CoreShowChannels: PBX_DOWN (it was never answered: the
    events before the Shutdown say so), not UNKNOWN."""
    recorded = [i for i in items("06") if not (i.at > 31 and i.frame.get("Event") != "Shutdown")]
    r = replay("06", recorded)
    assert r.calls.get(CALL_LONG).state is CallState.RINGING  # type: ignore[union-attr]
    r.calls.link_lost(34.0)
    r.calls.reconcile([], 60.0)
    assert outcome(r, CALL_LONG)[0] is CallOutcome.PBX_DOWN
    # Without a word of a shutdown, a call lost with the link stays UNKNOWN (it may have been answered).
    r = replay("06", [i for i in recorded if i.frame.get("Event") != "Shutdown" and "during" not in i.frame.get(
        "ActionID", "")])
    r.calls.link_lost(34.0)
    r.calls.reconcile([], 60.0)
    assert outcome(r, CALL_LONG)[0] is CallOutcome.UNKNOWN


# ------------------------------------------------------------------ 08: owned callbacks


def test_08_owned_callbacks_reach_their_owner_or_fall_back_to_the_queue() -> None:
    """Recording 08: (a) the idle owner agent2 is dialled straight and answers; (b) agent2 busy
    on another call, but a Local interface is never busy: a second channel answers; (c) an
    owner's device that answers BUSY: the call goes into the queue and agent1 takes it."""
    r = replay("08", items("08"), wrap_up=5.0)
    a, b, c = (r.calls.get(f"call-180{i}") for i in (1, 2, 3))
    assert a is not None and b is not None and c is not None
    assert (a.outcome, a.agent_interface) == (CallOutcome.CONNECTED, AGENT2)
    assert (b.outcome, b.agent_interface) == (CallOutcome.CONNECTED, AGENT2)
    assert (c.outcome, c.agent_interface, c.agent, c.queue) == (CallOutcome.CONNECTED, AGENT1, "agent1", "accprog")
    assert a.queue == b.queue == ""  # no queue events for a call that reached its owner
    assert r.agents.times(AGENT1, r.end).calls == 1
    # The owner, paused "callback" in the queue, talks while its device is in use (a; then the
    # occupying call and b back to back) and is paused again after; agent1 takes c through the
    # queue: talking, then wrap-up.
    seq = [(u.agent.interface, u.state, round(u.at, 1)) for u in r.agent_updates if u.state is not S.LOGGED_OUT]
    assert seq == [
        (AGENT1, S.READY, 1.0), (AGENT2, S.PAUSED, 1.5),
        (AGENT2, S.TALKING, 4.0), (AGENT2, S.PAUSED, 8.5), (AGENT2, S.TALKING, 12.0), (AGENT2, S.PAUSED, 20.0),
        (AGENT1, S.RESERVED, 25.5), (AGENT1, S.TALKING, 25.5), (AGENT1, S.WRAP_UP, 30.0), (AGENT1, S.READY, 35.0),
    ]
    assert {u.agent.pause_code for u in r.agent_updates if u.agent.interface == AGENT2 and u.state is S.PAUSED} == {
        "callback"}


# ------------------------------------------------------------------ 01: failed Originates, 07: abandon


def _states(r: Replay, attempt: str) -> list[CallState]:
    return [u.state for u in r.call_updates if u.attempt_id == attempt]


def test_01_busy_and_congestion_end_as_such_whatever_the_failed_extension_emits() -> None:
    """Recording 01: Asterisk runs the ``failed`` extension on a fake ``OutgoingSpoolFailed``
    channel after each failed Originate, with ``DialerAnswered``/``DialerDrop`` carrying the
    lead id: the calls end BUSY and CONGESTION, never answered, queued or abandoned."""
    recorded = items("01")
    assert sum(r.frame.get("Channel") == "OutgoingSpoolFailed" and r.frame.get("UserEvent") == "DialerAnswered"
               for r in recorded) == 2  # the recording does show the spurious events
    r = replay("01", recorded, wrap_up=5.0)
    busy, cong = r.calls.get("call-1101"), r.calls.get("call-1102")
    assert busy is not None and cong is not None
    assert (busy.outcome, busy.originate_reason, busy.dial_status) == (CallOutcome.BUSY, 5, "BUSY")
    assert (cong.outcome, cong.originate_reason, cong.dial_status) == (CallOutcome.CONGESTION, 8, "CONGESTION")
    for attempt, record in (("call-1101", busy), ("call-1102", cong)):
        assert _states(r, attempt) == [CallState.PLACED, CallState.ACCEPTED, CallState.ENDED]
        assert record.answered_at is None and record.queued_at is None and record.queue == ""
    assert len(r.calls) == 0
    assert r.agent_updates == []


def test_01_spurious_dialer_events_before_the_originate_response_change_nothing() -> None:
    """The thread order varies: with the ``OutgoingSpoolFailed`` run's user events moved before
    the ``OriginateResponse`` the outcomes are the same."""
    recorded = items("01")
    moved = [replace(r, at=r.at - 0.0015) if r.frame.get("Channel") == "OutgoingSpoolFailed" else r
             for r in recorded]
    moved.sort(key=lambda r: r.at)
    first = [r.frame.get("Event") or r.frame.get("Response") for r in moved if 1.0 < r.at < 2.0]
    assert first.index("UserEvent") < first.index("OriginateResponse")
    r = replay("01", moved)
    assert outcome(r, "call-1101")[0] is CallOutcome.BUSY
    assert outcome(r, "call-1102")[0] is CallOutcome.CONGESTION
    assert CallState.ANSWERED not in _states(r, "call-1101") + _states(r, "call-1102")


def test_07_answered_call_with_only_a_paused_member_is_abandoned() -> None:
    """Recording 07: the only member of accpred is paused (LUNCH); the answered call waits 2 s
    in the queue, is dropped (``DialerDrop`` with ``QueueStatus: TIMEOUT``), hears the
    safe-harbour message and hangs up: ABANDONED, held 2 s, the agent never reserved."""
    r = replay("07", items("07"), wrap_up=5.0)
    call = r.calls.get("call-1701")
    assert call is not None
    assert (call.outcome, call.reason, call.queue, call.hold_time) == (
        CallOutcome.ABANDONED, "no agent in time", "accpred", 2)
    assert _states(r, "call-1701") == [
        CallState.PLACED, CallState.ACCEPTED, CallState.RINGING, CallState.ANSWERED,
        CallState.QUEUED, CallState.DROPPED, CallState.ENDED]
    assert call.connected_at is None and call.agent_interface == ""
    assert call.ended_at is not None and call.ended_at - call.answered_at == pytest.approx(4.0, abs=0.01)  # type: ignore[operator]
    assert [(u.state, u.agent.pause_code) for u in r.agent_updates] == [
        (S.PAUSED, "LUNCH"), (S.LOGGED_OUT, "")]  # paused throughout, then removed
