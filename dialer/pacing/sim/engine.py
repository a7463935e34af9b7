"""The discrete-event simulation of a dialling day, in virtual time.

It drives a shipped policy, the shipped :class:`~dialer.pacing.governor.PacingGovernor` and a
shipped :class:`~dialer.pacing.stats.PacingStats` exactly as the daemon does: every
``policy.tick`` seconds it builds a :class:`Snapshot` (abandon counts from the governor's
:class:`~dialer.pacing.governor.AbandonLedger`) and asks ``governor.decide`` (the policy's wish
within the line caps and the abandon limit); it records every live answer in the ledger and
reports every attempt, talk and wrap-up to the stats. Around them it models called parties
(outcome, ring time, AMD) and agents (staggered logins, breaks, talk, wrap-up). An answered
call (after AMD, if on) that gets no agent within the drop timeout is abandoned and holds its
line for the safe-harbour message.

The governor's mode comes from the policy's name (:func:`~dialer.pacing.governor.mode_for`)
unless the caller names one. The ledger lives as long as the simulation (a multi-day run
carries the last 24 hours over, as the daemon reads them back from storage); the policy and
its governor are built afresh each day.

Ground truth (what the benchmark reports) counts only *people*: abandoned people /
(abandoned + connected people). The snapshot's abandon counts are what a daemon measures:
every live answer, including machines that AMD let through or that no AMD screened.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dialer.pacing.governor import MAX_LINES_PER_AGENT, AbandonLedger, PacingGovernor
from dialer.pacing.sim.scenario import Scenario
from dialer.pacing.simple import Policy
from dialer.pacing.snapshot import (
    AgentState,
    AgentView,
    CallState,
    CallView,
    Snapshot,
)
from dialer.pacing.stats import PacingStats

DAY = 86400.0
HOUR = 3600.0

# event kinds (ints: cheap to compare in the heap)
TICK, RESOLVE, AMD_DONE, DROP, CONNECT, TALK_END, WRAP_END, RELEASE = range(8)
LOGIN, BREAK, BREAK_END, LOGOUT, DAY_END = range(8, 13)



def draw_fate(sc: Scenario, rng: random.Random, hour: float) -> tuple[int, float, bool]:
    """A dialled lead's fate: its outcome (index into OUTCOMES: human, machine, busy, no answer,
    invalid), how long the line is held (ring time, capped at the ring timeout) and whether it
    is answered.  Draws from ``rng`` in a fixed order, so the same stream gives the same fates."""
    probs = sc.outcome_probs(hour)
    u, acc, outcome = rng.random(), 0.0, len(probs) - 1
    for i, p in enumerate(probs):
        acc += p
        if u < acc:
            outcome = i
            break
    if outcome <= 1:
        ring = sc.ring["human" if outcome == 0 else "machine"].sample(rng)
        if ring < sc.ring_timeout:
            return outcome, ring, True
        return outcome, sc.ring_timeout, False
    if outcome == 2:
        return outcome, min(sc.ring["busy"].sample(rng), sc.ring_timeout), False
    if outcome == 4:
        return outcome, min(sc.ring["invalid"].sample(rng), sc.ring_timeout), False
    return outcome, sc.ring_timeout, False

class _Call:
    __slots__ = ("id", "placed_at", "human", "answer_at", "ring", "answered_at", "live", "view",
                 "state", "agent")

    def __init__(self, cid: int, placed_at: float) -> None:
        self.id = cid
        self.placed_at = placed_at
        self.human = False
        self.answer_at = 0.0
        self.ring = 0.0
        self.answered_at = 0.0
        self.live = False
        self.view: CallView | None = None
        self.state = 0  # 0 ringing, 1 analysing, 2 waiting, 3 done
        self.agent: _Agent | None = None


class _Agent:
    __slots__ = ("idx", "state", "since", "call", "break_due", "logout_due", "idle_since",
                 "talk_len", "wrap_len", "paused_since", "login_at", "human_call", "answer_logged")

    def __init__(self, idx: int) -> None:
        self.idx = idx
        self.state: AgentState | None = None  # None: logged out
        self.since = 0.0
        self.call: _Call | None = None
        self.break_due = 0.0  # minutes of break owed, taken when the agent is next free
        self.logout_due = False
        self.idle_since: float | None = None
        self.talk_len = 0.0
        self.wrap_len = 0.0
        self.paused_since = 0.0
        self.login_at = 0.0
        self.human_call = False
        self.answer_logged = 0.0  # when its call's answer went into the ledger


@dataclass
class RunRecord:
    """Raw results of one simulated run (see :mod:`dialer.pacing.sim.metrics`)."""

    scenario: str
    policy: str
    seed: int
    days: int
    day_spans: list[tuple[float, float]] = field(default_factory=list)
    agent_seconds: float = 0.0  # logged in and not paused
    talk_seconds: float = 0.0  # with people, clipped to the day
    dials: int = 0
    connected: int = 0  # people connected to an agent
    abandoned: int = 0  # people abandoned
    machine_to_agent: int = 0
    amd_false_positive: int = 0
    peak_lines: int = 0
    answer_times: list[float] = field(default_factory=list)  # people answered (connected or not)
    answer_abandoned: list[bool] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # agent ready -> next call


class Simulation:
    """One run: a scenario, a policy factory (called once per day) and a seed.

    ``mode`` is the governor's mode (default: the one for the policy's name);
    ``max_lines_per_agent`` its predictive line cap (default: a campaign's default).
    """

    def __init__(
        self,
        scenario: Scenario,
        make: Callable[[], Policy],
        seed: int,
        *,
        hours: float | None = None,
        stats: PacingStats | None = None,
        mode: str | None = None,
        max_lines_per_agent: float = MAX_LINES_PER_AGENT,
    ) -> None:
        self.sc = scenario
        self.make = make
        self.seed = seed
        self.mode = mode
        self.max_lines_per_agent = max_lines_per_agent
        self.hours = scenario.hours if hours is None else hours
        self.rng_agents = random.Random(f"{seed}:agents:{scenario.name}")
        self.rng_calls = random.Random(f"{seed}:calls:{scenario.name}")
        self.rng_work = random.Random(f"{seed}:work:{scenario.name}")
        self.stats = stats or PacingStats(ring_timeout=scenario.ring_timeout)
        self.events: list[tuple[float, int, int, object]] = []
        self._seq = 0
        self.now = 0.0
        self.agents = [_Agent(i) for i in range(scenario.agents)]
        self.agent_views: dict[int, AgentView] = {}
        self.call_views: dict[int, CallView] = {}
        self.ready: dict[int, _Agent] = {}  # insertion order = longest idle first
        self.queue: deque[_Call] = deque()
        self.lines = 0
        self.next_call = 0
        self.ledger = AbandonLedger()
        self.dialling = False
        self.day_start = 0.0
        self.day_end = 0.0
        self.rec = RunRecord(scenario.name, "", seed, scenario.days)
        self.governor: PacingGovernor | None = None

    # -- event queue ---------------------------------------------------------------------
    def at(self, t: float, kind: int, obj: object = None) -> None:
        self._seq += 1
        heapq.heappush(self.events, (t, self._seq, kind, obj))

    # -- the run -------------------------------------------------------------------------
    def run(self) -> RunRecord:
        for day in range(self.sc.days):
            self._run_day(day)
            # the daemon persists its stats; a new day starts from the saved dict
            self.stats = PacingStats.from_dict(self.stats.to_dict())
        return self.rec

    def _run_day(self, day: int) -> None:
        self.begin_day(day)
        while self.step():
            pass
        self.end_day()

    def begin_day(self, day: int) -> None:
        """Set the day up (policy, governor, agents' logins, breaks and logouts); then
        :meth:`step` until it returns False, then :meth:`end_day`."""
        sc = self.sc
        self.day_start = start = day * DAY
        self.day_end = end = start + self.hours * HOUR
        self.rec.day_spans.append((start, end))
        policy = self.make()
        peers = self.governor.peers if self.governor is not None else None
        self.governor = PacingGovernor.for_policy(
            policy, mode=self.mode, max_lines_per_agent=self.max_lines_per_agent, ledger=self.ledger
        )
        if peers is not None:
            self.governor.peers = peers  # the other sites' counts, as a daemon keeps them
        self.rec.policy = policy.name
        self.events.clear()
        self.queue.clear()
        self.call_views.clear()
        self.ready.clear()
        self.agent_views.clear()
        self.lines = 0
        rng = self.rng_agents
        span = end - start
        for a in self.agents:
            a.state = None
            a.call = None
            a.break_due = 0.0
            a.logout_due = False
            login = start + rng.uniform(0, min(sc.login_spread, span / 4))
            logout = end - rng.uniform(0, min(sc.logout_spread, span / 4))
            self.at(login, LOGIN, a)
            self.at(logout, LOGOUT, a)
            for b in sc.breaks:
                t = start + b.at_hours * HOUR + rng.uniform(0, sc.break_jitter)
                if login < t < logout:
                    self.at(t, BREAK, (a, b.minutes * 60.0))
        self.dialling = True
        self.at(start, TICK)
        self.at(end, DAY_END)
        self._handlers: dict[int, Callable[[Any], None]] = {
            TICK: self._tick, RESOLVE: self._resolve, AMD_DONE: self._amd_done, DROP: self._drop,
            CONNECT: self._connect, TALK_END: self._talk_end, WRAP_END: self._wrap_end,
            RELEASE: self._release, LOGIN: self._login, BREAK: self._break,
            BREAK_END: self._break_end, LOGOUT: self._logout,
        }

    def next_time(self) -> float:
        """When the next event of the day happens (inf when none is left)."""
        return self.events[0][0] if self.events else float("inf")

    def step(self) -> bool:
        """Handle the next event; False at the day's end."""
        if not self.events:
            return False
        t, _, kind, obj = heapq.heappop(self.events)
        if kind == DAY_END:
            return False
        self.now = t
        self._handlers[kind](obj)
        return True

    def end_day(self) -> None:
        self.now = self.day_end
        for a in self.agents:  # close the books on agents still logged in
            if a.state is not None:
                self._account_out(a)
                a.state = None

    # -- pacing --------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        assert self.governor is not None
        counts = self.governor.counts(self.now)  # this site's ledger and the other sites' (if any)
        sc = self.sc
        return Snapshot(
            now=self.now,
            agents=tuple(self.agent_views.values()),
            calls=tuple(self.call_views.values()),
            ring_timeout=sc.ring_timeout,
            max_lines=sc.lines,
            day=counts.day,
            hour=counts.hour,
            month=counts.month,
            stats=self.stats,
            lines_in_use=self.lines,
            drop_timeout=sc.drop_timeout,
        )

    def _tick(self, _: object) -> None:
        if not self.dialling:
            return
        gov = self.governor
        assert gov is not None
        n = gov.decide(self.snapshot())
        if n < 0 or self.lines + n > self.sc.lines:
            raise AssertionError(f"{gov.policy.name} asked for {n} calls with {self.lines} lines busy")
        for _ in range(n):
            self._place()
        if self.lines > self.rec.peak_lines:
            self.rec.peak_lines = self.lines
        self.at(self.now + gov.policy.tick, TICK)

    def _place(self) -> None:
        sc, rng, now = self.sc, self.rng_calls, self.now
        self.next_call += 1
        call = _Call(self.next_call, now)
        self.lines += 1
        self.rec.dials += 1
        outcome, ring, answered = draw_fate(sc, rng, (now - self.day_start) / HOUR)
        if answered:
            call.human = outcome == 0
            call.answer_at = ring
            call.live = True  # answered (live or not decided by AMD below)
        call.ring = ring
        view = CallView(CallState.RINGING, now)
        call.view = view
        self.call_views[call.id] = view
        self.at(now + ring, RESOLVE, call)

    # -- calls ---------------------------------------------------------------------------
    def _resolve(self, call: _Call) -> None:
        now = self.now
        if not call.live:  # never answered
            del self.call_views[call.id]
            self.lines -= 1
            call.state = 3
            self.stats.observe_attempt(placed_at=call.placed_at, ring_seconds=call.ring,
                                       answered=False, live=False, now=now)
            return
        call.answered_at = now
        sc = self.sc
        if sc.amd:
            rng = self.rng_calls
            if call.human:
                says_human = rng.random() < sc.amd_human_accuracy
                delay = sc.amd_human_delay.sample(rng)
            else:
                says_human = rng.random() >= sc.amd_machine_accuracy
                delay = sc.amd_machine_delay.sample(rng) if not says_human else sc.amd_human_delay.sample(rng)
            call.live = says_human
            call.state = 1
            view = CallView(CallState.ANALYSING, call.placed_at, now)
            call.view = view
            self.call_views[call.id] = view
            self.at(now + delay, AMD_DONE, call)
        else:
            self._enqueue(call)

    def _amd_done(self, call: _Call) -> None:
        if call.live:
            self._enqueue(call)
            return
        # classed as a machine: hang up
        del self.call_views[call.id]
        self.lines -= 1
        call.state = 3
        if call.human:
            self.rec.amd_false_positive += 1
        self.stats.observe_attempt(placed_at=call.placed_at, ring_seconds=call.ring,
                                   answered=True, live=False, now=self.now)

    def _enqueue(self, call: _Call) -> None:
        now = self.now
        self.stats.observe_attempt(placed_at=call.placed_at, ring_seconds=call.ring,
                                   answered=True, live=True, now=now)
        if self.ready:
            self._assign(call, self._pop_ready())
            return
        deadline = call.answered_at + self.sc.drop_timeout
        if now >= deadline:
            self._abandon(call)
            return
        call.state = 2
        view = CallView(CallState.WAITING, call.placed_at, call.answered_at)
        call.view = view
        self.call_views[call.id] = view
        self.queue.append(call)
        self.at(deadline, DROP, call)

    def _log_answer(self, call: _Call, abandoned: bool) -> None:
        """A live answer ended its wait: into the governor's ledger (what a daemon counts) and,
        if a person answered, into the ground truth the benchmark reports."""
        now = self.now
        assert self.governor is not None
        self.governor.record_answer(now, abandoned)
        if call.human:
            self.rec.answer_times.append(now)
            self.rec.answer_abandoned.append(abandoned)
            if abandoned:
                self.rec.abandoned += 1
            else:
                self.rec.connected += 1
        elif not abandoned:
            self.rec.machine_to_agent += 1

    def _abandon(self, call: _Call) -> None:
        call.state = 3
        self.call_views.pop(call.id, None)
        self._log_answer(call, True)
        self.at(self.now + self.sc.message_seconds, RELEASE, None)

    def _drop(self, call: _Call) -> None:
        if call.state != 2:
            return
        self.queue.remove(call)
        self._abandon(call)

    def _release(self, _: object) -> None:
        self.lines -= 1

    # -- agents --------------------------------------------------------------------------
    def _set(self, a: _Agent, state: AgentState) -> None:
        a.state = state
        a.since = self.now
        self.agent_views[a.idx] = AgentView(state, self.now)

    def _pop_ready(self) -> _Agent:
        idx = next(iter(self.ready))
        return self.ready.pop(idx)

    def _make_ready(self, a: _Agent) -> None:
        self._set(a, AgentState.READY)
        a.idle_since = self.now
        while self.queue:
            call = self.queue.popleft()
            if call.state == 2:
                self._assign(call, a)
                return
        self.ready[a.idx] = a

    def _assign(self, call: _Call, a: _Agent) -> None:
        call.state = 3
        call.agent = a
        self.call_views.pop(call.id, None)
        self._log_answer(call, False)
        a.answer_logged = self.now
        if a.idle_since is not None:
            self.rec.waits.append(self.now - a.idle_since)
            a.idle_since = None
        a.call = call
        self._set(a, AgentState.RESERVED)
        self.at(self.now + self.sc.connect_delay, CONNECT, a)

    def _connect(self, a: _Agent) -> None:
        call = a.call
        assert call is not None
        self._set(a, AgentState.TALKING)
        kind = "human" if call.human else "machine"
        a.human_call = call.human
        a.talk_len = self.sc.talk[kind].sample(self.rng_work)
        a.wrap_len = self.sc.wrapup[kind].sample(self.rng_work)
        self.at(self.now + a.talk_len, TALK_END, a)

    def _talk_end(self, a: _Agent) -> None:
        self.lines -= 1
        a.call = None
        self.stats.observe_talk(a.talk_len, now=self.now)
        if a.human_call:
            self.rec.talk_seconds += a.talk_len
        self._set(a, AgentState.WRAPUP)
        self.at(self.now + a.wrap_len, WRAP_END, a)

    def _wrap_end(self, a: _Agent) -> None:
        if self.sc.flag_machines and not a.human_call:  # disposed as a machine: not a live answer
            assert self.governor is not None
            self.governor.retract_answer(a.answer_logged)
        free = not (a.logout_due or a.break_due)
        self.stats.observe_wrapup(a.wrap_len, ready=free, now=self.now)
        self._free(a)

    def _free(self, a: _Agent) -> None:
        """The agent has no call: log out, take a break, or go ready, as due."""
        if a.logout_due:
            self._account_out(a)
            return
        if a.break_due:
            minutes = a.break_due
            a.break_due = 0.0
            self._pause(a, minutes)
            return
        self._make_ready(a)

    def _pause(self, a: _Agent, seconds: float) -> None:
        self._set(a, AgentState.PAUSED)
        a.paused_since = self.now
        self.at(self.now + seconds, BREAK_END, a)

    def _login(self, a: _Agent) -> None:
        a.login_at = self.now
        self._make_ready(a)

    def _break(self, arg: tuple[_Agent, float]) -> None:
        a, seconds = arg
        if a.state is None or a.state is AgentState.PAUSED:
            return
        if a.state is AgentState.READY:
            self.ready.pop(a.idx, None)
            a.idle_since = None
            self._pause(a, seconds)
        else:
            a.break_due = seconds

    def _break_end(self, a: _Agent) -> None:
        if a.state is not AgentState.PAUSED:
            return
        self.rec.agent_seconds -= self.now - a.paused_since
        self._free(a)

    def _logout(self, a: _Agent) -> None:
        if a.state in (AgentState.READY, AgentState.PAUSED):
            self._account_out(a)
        elif a.state is not None:
            a.logout_due = True

    def _account_out(self, a: _Agent) -> None:
        now = min(self.now, self.day_end)
        if a.state is AgentState.PAUSED:
            self.rec.agent_seconds -= now - a.paused_since
        if a.state is AgentState.TALKING and a.human_call:
            self.rec.talk_seconds += now - a.since  # the talk still running at the day's end
        self.rec.agent_seconds += now - a.login_at
        self.ready.pop(a.idx, None)
        self.agent_views.pop(a.idx, None)
        a.state = None
        a.idle_since = None


def simulate(
    scenario: Scenario,
    make: Callable[[], Policy],
    seed: int,
    *,
    hours: float | None = None,
) -> RunRecord:
    """Run one scenario with one policy and one seed; see :class:`Simulation`."""
    return Simulation(scenario, make, seed, hours=hours).run()
