"""The agent tracker on the recorded agent scenarios (both runs) and synthetic edge cases."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialer.ami.capture import read_capture
from dialer.ami.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentRingNoAnswer,
    QueueMemberAdded,
    QueueMemberPause,
    QueueMemberRemoved,
    QueueMemberStatus,
)
from dialer.tracking.agents import AgentState, AgentTracker
from tests.ami.captures import both_runs
from tests.tracking.replay import replay_capture

A1 = "Local/9001@sim-agents"
A2 = "Local/9002@sim-agents"
S = AgentState


def states(replay, interface: str = A1) -> list[tuple[AgentState, str]]:  # type: ignore[no-untyped-def]
    return [
        (u.state, u.agent.pause_code)
        for u in replay.agent_updates
        if u.agent.interface == interface
    ]


@pytest.mark.parametrize("run", [0, 1])
def test_01_login_pause_unpause(run: int) -> None:
    replay = replay_capture(both_runs("01")[run])
    assert states(replay) == [(S.READY, ""), (S.PAUSED, "BREAK"), (S.READY, "")]
    agent = replay.agents.get(A1)
    assert agent is not None and agent.member_name == "agent1" and agent.queues == ("camp1",)
    times = replay.agents.times(A1, replay.end)
    assert times.paused == {"BREAK": pytest.approx(1.0, abs=0.01)}
    assert times.logged_in == pytest.approx(replay.end - agent.logged_in_at, abs=1e-9)  # type: ignore[operator]
    assert times.ready + times.paused["BREAK"] == pytest.approx(times.logged_in)


@pytest.mark.parametrize("run", [0, 1])
def test_02_talk_then_wrap_up_then_ready(run: int) -> None:
    replay = replay_capture(both_runs("02")[run], wrap_up=5.0)
    seq = [s for s, _ in states(replay)]
    # The agent appears with the call (tracking began after its login in 01).
    assert seq[-2:] == [S.TALKING, S.WRAP_UP]
    assert S.READY not in seq  # no spurious "ready" between the call and wrap-up, in either order
    complete = next(u for u in replay.agent_updates if u.state is S.WRAP_UP)
    assert complete.agent.wrap_up_until == pytest.approx(complete.at + 5.0)
    assert replay.agents.tick(complete.at + 4.9) == []
    [ready] = replay.agents.tick(complete.at + 7.0)
    assert ready.state is S.READY and ready.at == pytest.approx(complete.at + 5.0)
    times = replay.agents.times(A1, complete.at + 10.0)
    assert times.talking == pytest.approx(4.5, abs=0.05)
    assert times.wrap_up == pytest.approx(5.0)
    assert times.calls == 1 and times.talk_time_reported == 4


@pytest.mark.parametrize("run", [0, 1])
def test_06_paused_for_lunch_gets_no_call(run: int) -> None:
    replay = replay_capture(both_runs("06")[run])
    assert states(replay) == [(S.PAUSED, "LUNCH"), (S.READY, "")]
    times = replay.agents.times(A1, replay.end)
    assert set(times.paused) == {"LUNCH"} and times.talking == 0 and times.calls == 0
    assert times.paused["LUNCH"] == pytest.approx(14.5, abs=0.05)


@pytest.mark.parametrize("run", [0, 1])
def test_09_two_agents(run: int) -> None:
    replay = replay_capture(both_runs("09")[run], wrap_up=3.0)
    for interface in (A1, A2):
        seq = [s for s, _ in states(replay, interface)]
        assert S.TALKING in seq and seq.index(S.TALKING) < seq.index(S.WRAP_UP)
        assert replay.agents.times(interface, replay.end).calls == 1
    assert replay.agents.get(A2).state is S.LOGGED_OUT  # type: ignore[union-attr]
    assert replay.agents.get(A1).state is S.READY  # type: ignore[union-attr]


@pytest.mark.parametrize("run", [0, 1])
def test_10_logoff(run: int) -> None:
    """10 alone removes an agent the tracker never saw (ignored); after 01 it logs agent1 off."""
    alone = replay_capture(both_runs("10")[run])
    assert alone.agent_updates == [] and alone.agents.get(A1) is None
    login = read_capture(both_runs("01")[run]).items
    logoff = [replace(r, at=r.at + 100.0) for r in read_capture(both_runs("10")[run]).items]
    replay = replay_capture(both_runs("10")[run], login + logoff)
    assert [s for s, _ in states(replay)] == [S.READY, S.PAUSED, S.READY, S.LOGGED_OUT]
    assert replay.agents.count(S.LOGGED_OUT) == 1 and replay.agents.count(S.READY) == 0
    times = replay.agents.times(A1, 1000.0)
    assert times.logged_in == pytest.approx(100.0, abs=0.01)  # nothing counted after logoff


def member(
    cls,
    status: int = 1,
    paused: bool = False,
    reason: str = "",
    queue: str = "q1",
    iface: str = "PJSIP/a1",
):  # type: ignore[no-untyped-def]
    return cls(cls.__name__, queue, iface, "alice", status, paused, reason)


def agent_event(cls, **kw):  # type: ignore[no-untyped-def]
    return cls(
        cls.__name__,
        "call-1",
        "call-1",
        queue="q1",
        interface="PJSIP/a1",
        member_name="alice",
        **kw,
    )


def test_ring_no_answer_returns_to_ready() -> None:
    t = AgentTracker()
    t.handle(member(QueueMemberAdded), 0.0)
    assert [u.state for u in t.handle(agent_event(AgentCalled), 1.0)] == [S.RESERVED]
    assert [u.state for u in t.handle(agent_event(AgentRingNoAnswer), 16.0)] == [S.READY]
    times = t.times("PJSIP/a1", 20.0)
    assert (times.ready, times.reserved) == (pytest.approx(5.0), pytest.approx(15.0))


def test_status_ringing_then_in_use() -> None:
    t = AgentTracker(wrap_up=2.0)
    t.handle(member(QueueMemberAdded), 0.0)
    assert t.handle(member(QueueMemberStatus, status=6), 1.0)[0].state is S.RESERVED
    assert t.handle(member(QueueMemberStatus, status=2), 2.0)[0].state is S.TALKING
    # Not a queue call (no AgentCalled/Connect): no wrap-up afterwards.
    assert t.handle(member(QueueMemberStatus, status=1), 3.0)[0].state is S.READY


def test_pause_during_call_applies_after_wrap_up() -> None:
    t = AgentTracker(wrap_up=10.0)
    t.handle(member(QueueMemberAdded), 0.0)
    t.handle(agent_event(AgentConnect), 1.0)
    assert t.handle(member(QueueMemberPause, status=2, paused=True, reason="COACHING"), 2.0) == []
    assert t.get("PJSIP/a1").state is S.TALKING  # type: ignore[union-attr]
    [wrap] = t.handle(agent_event(AgentComplete, talk_time=30), 31.0)
    assert wrap.state is S.WRAP_UP
    [paused] = t.tick(45.0)
    assert (paused.state, paused.agent.pause_code, paused.at) == (S.PAUSED, "COACHING", 41.0)


def test_pause_code_change_is_accounted_separately() -> None:
    t = AgentTracker()
    t.handle(member(QueueMemberAdded, paused=True, reason="BREAK"), 0.0)
    [u] = t.handle(member(QueueMemberPause, paused=True, reason="LUNCH"), 10.0)
    assert u.state is S.PAUSED and u.agent.pause_code == "LUNCH"
    assert t.times("PJSIP/a1", 40.0).paused == {"BREAK": 10.0, "LUNCH": 30.0}


def test_per_agent_wrap_up_and_early_end() -> None:
    t = AgentTracker(wrap_up=60.0)
    t.set_wrap_up("PJSIP/a1", 5.0)
    t.handle(member(QueueMemberAdded), 0.0)
    t.handle(agent_event(AgentConnect), 1.0)
    [w] = t.handle(agent_event(AgentComplete, talk_time=9), 10.0)
    assert w.agent.wrap_up_until == 15.0
    [r] = t.end_wrap_up("PJSIP/a1", 12.0)
    assert r.state is S.READY and t.times("PJSIP/a1", 12.0).wrap_up == 2.0


def test_multi_queue_member_paused_only_when_paused_everywhere() -> None:
    t = AgentTracker()
    t.handle(member(QueueMemberAdded, queue="q1"), 0.0)
    t.handle(member(QueueMemberAdded, queue="q2"), 0.0)
    assert t.handle(member(QueueMemberPause, paused=True, reason="X", queue="q1"), 1.0) == []
    assert (
        t.handle(member(QueueMemberPause, paused=True, reason="X", queue="q2"), 2.0)[0].state
        is S.PAUSED
    )
    assert t.count(S.PAUSED, queue="q1") == 1 and t.count(S.PAUSED, queue="q3") == 0
    t.handle(member(QueueMemberRemoved, queue="q1"), 3.0)
    [out] = t.handle(member(QueueMemberRemoved, queue="q2"), 4.0)
    assert out.state is S.LOGGED_OUT
    assert t.times("PJSIP/a1", 100.0).logged_in == 4.0


def test_unavailable_device() -> None:
    t = AgentTracker()
    t.handle(member(QueueMemberAdded), 0.0)
    assert t.handle(member(QueueMemberStatus, status=5), 1.0)[0].state is S.UNAVAILABLE
    assert t.handle(member(QueueMemberStatus, status=1), 2.0)[0].state is S.READY
