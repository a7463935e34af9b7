"""The agent tracker: each agent's state from queue-member and agent events.  Pure.

An agent is a queue member, keyed by its ``Interface`` (``Local/9001@sim-agents``,
``PJSIP/agent1``); ``MemberName`` is kept for display.  States:

- ``LOGGED_OUT``: member of no queue;
- ``READY``: logged in, idle, not paused — can take a call;
- ``RESERVED``: a queue call is ringing it (``AgentCalled``, or device status 6);
- ``TALKING``: on a call (``AgentConnect``, or device status 2/3/7/8);
- ``WRAP_UP``: after a queue call, for the dialer-side wrap-up time (``tick(now)`` ends it);
- ``PAUSED``: paused in the queue asked about (``pause_code`` from ``PausedReason``);
- ``UNAVAILABLE``: logged in but its device is unreachable (status 4/5).

Precedence when several apply: a call in progress (reserved/talking) over wrap-up over
paused over ready.  The end of a queue call is taken from ``AgentComplete`` *or* the device
going idle, whichever comes first (they arrive in either order).

**State is per queue.**  The device (a call in progress, wrap-up, unreachable) belongs to the
agent, but pausing is per queue, and Asterisk reports members of queues the dialer does not
manage as well (``QueueMemberStatus`` for every queue an interface belongs to).  Ask for the
state in the campaign's queue: ``get(interface, queue)``, ``agents(queue)``, ``count(...,
queue=...)``.  The updates :meth:`AgentTracker.handle` returns and the time accounting follow
the agent's *home* queue, set with :meth:`AgentTracker.set_queue` (the campaign's queue);
an agent without one is paused only when paused in every queue it is a member of.

**Stale device statuses.**  ``QueueMemberPause`` repeats the member's last Status, which may
be stale: only ``QueueMemberStatus`` (and ``QueueMember`` of ``QueueStatus``) move the device.
Asterisk 22 also sends, about once in 40 calls, a stale ``QueueMemberStatus Status: 2`` just
after ``AgentComplete``: until the device reports idle (or a new call starts: ``AgentCalled``,
ringing, an owned callback), an "in use" status after a completed queue call is not a new call
(it used to flip the agent back to talking: a second wrap-up pause and a 0 s talk).

**Local agent interfaces.**  A ``Local/...`` member that dials onward to a phone must end in
``/n``: otherwise Asterisk optimises the Local channel away half a second into the call and
reports the member idle while it talks (``docs/ami.md``); a real device is named by the
member's ``StateInterface``.

An owned callback is dialled straight to its owner, not through a queue: the daemon calls
:meth:`AgentTracker.reserve` when it places one (the agent is ``RESERVED`` for it), the
dialplan's ``DialBegin``/``DialEnd`` from that call's channel to the agent's device ring and
connect it (``DialEnd ANSWER`` → ``TALKING``; any other status ends the reservation), the
device going idle or the call's ``Hangup`` end it, with wrap-up as after a queue call; and
:meth:`AgentTracker.release` ends a reservation whose call never reached the agent.

Time in each state (paused time by code) is accumulated for reports: see :meth:`times`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from dialer.ami.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentDump,
    AgentRingNoAnswer,
    AmiEvent,
    DialBegin,
    DialEnd,
    Hangup,
    QueueMemberEvent,
    QueueMemberPause,
    QueueMemberRemoved,
)

__all__ = ["AgentSnapshot", "AgentState", "AgentTimes", "AgentTracker", "AgentUpdate"]


class AgentState(enum.Enum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"
    TALKING = "talking"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"
    UNAVAILABLE = "unavailable"


_TALKING_STATUS = frozenset({2, 3, 7, 8})  # in use, busy, ring+in use, on hold
_UNAVAILABLE_STATUS = frozenset({4, 5})  # invalid, unavailable
_IDLE_STATUS = frozenset({0, 1})  # unknown, not in use


@dataclass(frozen=True, slots=True)
class AgentSnapshot:
    interface: str
    member_name: str
    state: AgentState
    since: float  # when the current state began
    pause_code: str  # while PAUSED (and kept while talking when paused)
    queues: tuple[str, ...]
    call_uniqueid: str | None  # the queued caller's channel while reserved/talking
    wrap_up_until: float | None
    logged_in_at: float | None
    calls: int  # queue calls answered since tracking began


@dataclass(frozen=True, slots=True)
class AgentUpdate:
    previous: AgentState
    at: float
    agent: AgentSnapshot

    @property
    def state(self) -> AgentState:
        return self.agent.state


@dataclass(frozen=True, slots=True)
class AgentTimes:
    """Seconds per state over the tracked session, for reports (open intervals counted to ``now``)."""

    interface: str
    member_name: str
    logged_in: float
    ready: float
    reserved: float
    talking: float
    wrap_up: float
    unavailable: float
    paused: dict[str, float]  # pause code ("" when none was given) -> seconds
    calls: int
    talk_time_reported: int  # sum of AgentComplete TalkTime (PBX's own count, seconds)


@dataclass(slots=True)
class _Membership:
    paused: bool = False
    reason: str = ""
    changed: float = 0.0  # when ``paused``/``reason`` last changed


_BUSY = frozenset({AgentState.RESERVED, AgentState.TALKING, AgentState.WRAP_UP})


@dataclass(slots=True)
class _Agent:
    interface: str
    member_name: str = ""
    queues: dict[str, _Membership] = field(default_factory=dict)
    home: str | None = None  # the queue whose state the updates report (the campaign's)
    device_status: int | None = None
    on_call: AgentState | None = None  # RESERVED or TALKING, when a call is in progress
    queue_call: bool = False  # the call in progress came from a queue (wrap-up follows)
    call_uniqueid: str | None = None
    direct: bool = False  # the call in progress is dialled straight to the agent (owned callback)
    wrap_up_until: float | None = None
    wrap_up: float | None = None  # per-agent override of the tracker's wrap-up time
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    logged_in_at: float | None = None
    calls: int = 0
    talk_time_reported: int = 0
    totals: dict[str, float] = field(default_factory=dict)
    key: str = "logged_out"  # accounting bucket of the current state ("paused:<code>" when paused)
    settling: bool = False  # a queue call completed; the device has not reported idle since

    def memberships(self, queue: str | None) -> list[_Membership]:
        """The memberships that decide paused/ready: ``queue``'s (none when not a member), or
        with no queue, the home queue's, or every queue's."""
        queue = queue if queue is not None else self.home
        if queue is None:
            return list(self.queues.values())
        member = self.queues.get(queue)
        return [member] if member is not None else []

    def pause_code_in(self, queue: str | None) -> str:
        reasons = [m.reason for m in self.memberships(queue) if m.paused]
        return reasons[0] if reasons else ""

    @property
    def pause_code(self) -> str:
        return self.pause_code_in(None)

    def compute(self, now: float) -> AgentState:
        memberships = self.memberships(None)
        if not memberships:
            return AgentState.LOGGED_OUT
        if self.on_call is not None:
            return self.on_call
        if self.wrap_up_until is not None and now < self.wrap_up_until:
            return AgentState.WRAP_UP
        return self._idle_state(memberships)

    def _idle_state(self, memberships: list[_Membership]) -> AgentState:
        if all(m.paused for m in memberships):
            return AgentState.PAUSED
        if self.device_status in _UNAVAILABLE_STATUS:
            return AgentState.UNAVAILABLE
        return AgentState.READY

    def in_queue(self, queue: str) -> tuple[AgentState, float, str]:
        """State, since when and pause code as seen in ``queue``.  The device's state (a call,
        wrap-up) is shared by all queues; paused/ready is the queue's own."""
        member = self.queues.get(queue)
        if member is None:
            return AgentState.LOGGED_OUT, self.since, ""
        if self.on_call is not None:
            state = self.on_call
        elif self.wrap_up_until is not None:  # cleared by ``tick`` when due
            state = AgentState.WRAP_UP
        else:
            state = self._idle_state([member])
        code = self.pause_code_in(queue)
        if state is self.state and code == self.pause_code:
            return state, self.since, code
        return state, max(self.since, member.changed), code

    def snapshot(self, queue: str | None = None) -> AgentSnapshot:
        state, since, code = (
            (self.state, self.since, self.pause_code) if queue is None else self.in_queue(queue)
        )
        return AgentSnapshot(
            self.interface,
            self.member_name,
            state,
            since,
            code,
            tuple(self.queues),
            self.call_uniqueid,
            self.wrap_up_until,
            self.logged_in_at,
            self.calls,
        )


class AgentTracker:
    """Agent states from AMI events.  ``wrap_up``: seconds of wrap-up after each queue call
    (0 for none); per agent with :meth:`set_wrap_up`."""

    def __init__(self, *, wrap_up: float = 0.0) -> None:
        self.wrap_up = wrap_up
        self._agents: dict[str, _Agent] = {}
        self._direct: dict[str, str] = {}  # channel uniqueid of a routed call -> agent interface

    # ------------------------------------------------------------------ inputs

    def handle(self, event: AmiEvent | None, now: float) -> list[AgentUpdate]:
        """Feed one typed event; returns the agents whose state changed."""
        if isinstance(event, QueueMemberEvent):
            return self._member_event(event, now)
        if isinstance(
            event, AgentCalled | AgentConnect | AgentComplete | AgentRingNoAnswer | AgentDump
        ):
            if not event.interface:
                return []
            agent = self._agent(event.interface)
            if event.member_name and not agent.member_name:
                agent.member_name = event.member_name
            if event.queue and event.queue not in agent.queues:
                # First seen through a queue call (tracking began after it logged in).
                if not agent.queues:
                    agent.logged_in_at = now
                agent.queues[event.queue] = _Membership(changed=now)
            if isinstance(event, AgentCalled):
                agent.on_call, agent.queue_call = AgentState.RESERVED, True
                agent.call_uniqueid = event.uniqueid
                agent.settling = False
            elif isinstance(event, AgentConnect):
                agent.on_call, agent.queue_call = AgentState.TALKING, True
                agent.call_uniqueid = event.uniqueid
                agent.calls += 1
                agent.settling = False
            elif isinstance(event, AgentRingNoAnswer):
                if agent.on_call is AgentState.RESERVED:
                    agent.on_call, agent.queue_call, agent.call_uniqueid = None, False, None
            else:  # AgentComplete / AgentDump: the queue call is over
                if isinstance(event, AgentComplete) and event.talk_time:
                    agent.talk_time_reported += event.talk_time
                if agent.on_call is not None and agent.call_uniqueid in (None, event.uniqueid):
                    self._call_over(agent, now)
                if agent.on_call is None and agent.device_status not in _IDLE_STATUS:
                    agent.settling = True  # an "in use" until the device reports idle is stale
            return self._refresh(agent, now)
        if isinstance(event, DialBegin | DialEnd | Hangup) and event.uniqueid in self._direct:
            return self._direct_event(event, now)
        return []

    def reserve(self, interface: str, uniqueid: str, now: float) -> list[AgentUpdate]:
        """The daemon places a call that will be dialled straight to this agent (an owned
        callback, channel ``uniqueid``): the agent is ``RESERVED`` until the call reaches them,
        the dial to them fails, or :meth:`release`."""
        agent = self._agent(interface)
        if agent.call_uniqueid is not None:
            self._direct.pop(agent.call_uniqueid, None)
        agent.on_call, agent.queue_call, agent.call_uniqueid, agent.direct = (
            AgentState.RESERVED, True, uniqueid, True)
        agent.settling = False
        self._direct[uniqueid] = interface
        return self._refresh(agent, now)

    def release(self, interface: str, now: float) -> list[AgentUpdate]:
        """The routed call ended without reaching the agent: the reservation ends."""
        agent = self._agents.get(interface)
        if agent is None or not agent.direct or agent.on_call is not AgentState.RESERVED:
            return []
        self._end_direct(agent)
        agent.on_call, agent.queue_call = None, False
        return self._refresh(agent, now)

    def tick(self, now: float) -> list[AgentUpdate]:
        """Ends wrap-up periods that are due."""
        out: list[AgentUpdate] = []
        for agent in self._agents.values():
            until = agent.wrap_up_until
            if until is not None and now >= until:
                agent.wrap_up_until = None
                out += self._refresh(agent, until)  # account the change when it was due
        return out

    def set_queue(self, interface: str, queue: str | None, now: float) -> list[AgentUpdate]:
        """The queue whose state this agent's updates and times report (its campaign's queue;
        ``None``: paused only when paused in every queue)."""
        agent = self._agent(interface)
        agent.home = queue
        return self._refresh(agent, now)

    def set_wrap_up(self, interface: str, seconds: float | None) -> None:
        """Wrap-up time for one agent (``None``: the tracker's default)."""
        self._agent(interface).wrap_up = seconds

    def end_wrap_up(self, interface: str, now: float) -> list[AgentUpdate]:
        """The agent finished wrap-up early (e.g. saved the disposition)."""
        agent = self._agents.get(interface)
        if agent is None or agent.wrap_up_until is None:
            return []
        agent.wrap_up_until = None
        return self._refresh(agent, now)

    # ------------------------------------------------------------------ queries

    def get(self, interface: str, queue: str | None = None) -> AgentSnapshot | None:
        """The agent as seen in ``queue`` (``LOGGED_OUT`` there when not a member), or in its
        home queue (:meth:`set_queue`) when no queue is given."""
        agent = self._agents.get(interface)
        return agent.snapshot(queue) if agent else None

    def agents(self, queue: str | None = None) -> list[AgentSnapshot]:
        """Every agent, or the members of ``queue`` with their state in that queue."""
        return [a.snapshot(queue) for a in self._agents.values() if queue is None or queue in a.queues]

    def count(self, *states: AgentState, queue: str | None = None) -> int:
        return sum(1 for a in self.agents(queue) if a.state in states)

    def times(self, interface: str, now: float) -> AgentTimes:
        """Seconds per state for one agent since tracking began, up to ``now``."""
        agent = self._agents[interface]
        totals = dict(agent.totals)
        if agent.state is not AgentState.LOGGED_OUT:
            key = agent.key
            totals[key] = totals.get(key, 0.0) + max(0.0, now - agent.since)
        paused = {k.partition(":")[2]: v for k, v in totals.items() if k.startswith("paused:")}
        g = totals.get
        logged_in = sum(v for k, v in totals.items() if k != AgentState.LOGGED_OUT.value)
        return AgentTimes(
            agent.interface,
            agent.member_name,
            logged_in,
            g("ready", 0.0),
            g("reserved", 0.0),
            g("talking", 0.0),
            g("wrap_up", 0.0),
            g("unavailable", 0.0),
            paused,
            agent.calls,
            agent.talk_time_reported,
        )

    def all_times(self, now: float) -> Iterable[AgentTimes]:
        return [self.times(i, now) for i in self._agents]

    # ------------------------------------------------------------------ internals

    def _agent(self, interface: str) -> _Agent:
        agent = self._agents.get(interface)
        if agent is None:
            agent = self._agents[interface] = _Agent(interface)
        return agent

    def _member_event(self, event: QueueMemberEvent, now: float) -> list[AgentUpdate]:
        if not event.interface:
            return []
        if isinstance(event, QueueMemberRemoved):
            agent = self._agents.get(event.interface)
            if agent is None:
                return []
            agent.queues.pop(event.queue, None)
            if not agent.queues:
                if agent.direct:
                    self._end_direct(agent)
                agent.on_call, agent.queue_call, agent.call_uniqueid = None, False, None
                agent.wrap_up_until = None
            return self._refresh(agent, now)
        agent = self._agent(event.interface)
        if event.member_name:
            agent.member_name = event.member_name
        if not agent.queues:
            agent.logged_in_at = now
        self._membership(agent, event, now)
        # A pause says nothing new about the device: its Status may be stale (Asterisk 22).
        status = None if isinstance(event, QueueMemberPause) else event.status
        if status is not None and not (agent.settling and status in _TALKING_STATUS):
            agent.device_status = status
            if status in _IDLE_STATUS:
                agent.settling = False
            if status == 6:
                agent.on_call = agent.on_call or AgentState.RESERVED
                agent.settling = False
            elif status in _TALKING_STATUS:
                agent.on_call = AgentState.TALKING
            elif agent.on_call is not None and not (agent.direct and agent.on_call is AgentState.RESERVED):
                # The device went idle: the call is over (an idle device is no news while a
                # routed call is still on its way to the agent).
                self._call_over(agent, now)
        return self._refresh(agent, now)

    @staticmethod
    def _membership(agent: _Agent, event: QueueMemberEvent, now: float) -> None:
        reason = event.paused_reason if event.paused else ""
        member = agent.queues.get(event.queue)
        if member is None:
            agent.queues[event.queue] = _Membership(event.paused, reason, now)
        elif (member.paused, member.reason) != (event.paused, reason):
            member.paused, member.reason, member.changed = event.paused, reason, now

    def _direct_event(self, event: DialBegin | DialEnd | Hangup, now: float) -> list[AgentUpdate]:
        agent = self._agents.get(self._direct[event.uniqueid])  # type: ignore[index]
        if agent is None or not agent.direct or agent.call_uniqueid != event.uniqueid:
            return []
        if isinstance(event, Hangup):  # the call's channel hung up: the call is over for the agent
            if agent.on_call is AgentState.TALKING:
                self._call_over(agent, now)
                return self._refresh(agent, now)
            return []
        if not event.dest_channel.startswith(agent.interface + "-"):
            return []  # a dial to another device
        if isinstance(event, DialBegin):
            return []  # ringing: already reserved
        if event.dial_status == "ANSWER":
            agent.on_call = AgentState.TALKING
            agent.calls += 1
        else:  # no answer within the dial's limit, busy, cancelled: the reservation is over
            self._end_direct(agent)
            agent.on_call, agent.queue_call = None, False
        return self._refresh(agent, now)

    def _end_direct(self, agent: _Agent) -> None:
        if agent.call_uniqueid is not None and self._direct.get(agent.call_uniqueid) == agent.interface:
            del self._direct[agent.call_uniqueid]
        agent.direct = False
        agent.call_uniqueid = None

    def _call_over(self, agent: _Agent, now: float) -> None:
        talked = agent.on_call is AgentState.TALKING
        if agent.queue_call and talked:
            seconds = self.wrap_up if agent.wrap_up is None else agent.wrap_up
            if seconds > 0:
                agent.wrap_up_until = now + seconds
        if agent.direct:
            self._end_direct(agent)
        agent.on_call, agent.queue_call, agent.call_uniqueid = None, False, None

    def _refresh(self, agent: _Agent, now: float) -> list[AgentUpdate]:
        new = agent.compute(now)
        key = "paused:" + agent.pause_code if new is AgentState.PAUSED else new.value
        if key == agent.key:
            return []
        previous = agent.state
        if previous is not AgentState.LOGGED_OUT:
            agent.totals[agent.key] = agent.totals.get(agent.key, 0.0) + max(0.0, now - agent.since)
        agent.state, agent.since, agent.key = new, now, key
        if new is AgentState.LOGGED_OUT:
            agent.logged_in_at = None
        return [AgentUpdate(previous, now, agent.snapshot())]
