"""The call tracker: one explicit state machine per dial attempt, fed typed AMI events.

Pure and synchronous, in the manner of h11: the caller passes in what happened and the time
(``now``, seconds on any monotonic scale) and gets back a list of :class:`CallUpdate`
notifications; no I/O, no clock, no asyncio.

Correlation is by the ids the dialer set on the Originate (see :mod:`dialer.ami.ids`): the
``Uniqueid`` of the dialled channel (``ChannelId``), of the ``;2`` half of a Local channel
(``OtherChannelId``), the ``Linkedid`` every related channel carries, and the ``ActionID`` for
an ``OriginateResponse`` that created no channel.  Channel names are never used.

The outcome does not depend on the order of events coming from different PBX threads: facts
(Originate ``Reason``, ``DialStatus``, hangup causes, queue and agent events) are collected and
the outcome is computed once, when the attempt has ended — every channel of the attempt has
hung up *and* the origination is resolved (its ``OriginateResponse`` or evidence of an answer
arrived).  ``tick(now)`` settles attempts whose ``OriginateResponse`` never comes.

An owned callback is not queued: the dialplan dials the owner's interface straight from the
answered channel (``Dial(${DIALER_AGENT},2)``).  Its ``DialBegin`` (calling channel = the
attempt's ``ChannelId``, destination another channel) is the wait for an agent (``QUEUED``),
its ``DialEnd ANSWER`` the connection (``CONNECTED``, agent = the dialled interface) — the same
events app_queue shows for its own member leg, which are told apart by the ``QueueCallerJoin``
that precedes them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from dialer.ami.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AmiEvent,
    CoreShowChannel,
    DialBegin,
    DialEnd,
    DialerAnswered,
    DialerDrop,
    DialerMachine,
    DialState,
    Hangup,
    Newchannel,
    Newstate,
    OriginateResponse,
    QueueCallerAbandon,
    QueueCallerJoin,
    Shutdown,
    is_shutting_down,
)
from dialer.ami.ids import originate_ids

__all__ = [
    "CallRecord",
    "CallState",
    "CallTracker",
    "CallUpdate",
    "Outcome",
    "TRANSITIONS",
    "Signal",
    "failure_outcome",
    "interface_of",
    "is_shutting_down",
]



class CallState(enum.Enum):
    PLACED = "placed"  # registered; Originate sent or about to be
    ACCEPTED = "accepted"  # "Originate successfully queued"
    RINGING = "ringing"
    ANSWERED = "answered"  # a person (or machine) answered; not yet waiting for an agent
    QUEUED = "queued"  # answered and waiting for an agent
    CONNECTED = "connected"  # talking to an agent
    DROPPED = "dropped"  # answered, no agent in time: safe-harbour message, then hangup
    MACHINE = "machine"  # answering machine detected
    ENDED = "ended"  # final; ``outcome`` is set
    UNKNOWN = "unknown"  # the AMI link dropped: unknown until reconciled


class Outcome(enum.Enum):
    CONNECTED = "connected"  # reached an agent
    ABANDONED = "abandoned"  # answered by a person, no agent in time (counts in the abandon rate)
    MACHINE = "machine"  # answering machine
    ANSWERED = "answered"  # answered, hung up before reaching the agents' queue
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    CONGESTION = "congestion"
    INVALID_NUMBER = "invalid_number"
    FAILED = "failed"  # Originate refused or failed, unusable channel
    PBX_DOWN = "pbx_down"  # refused or cut short by the PBX shutting down: not the lead's doing
    UNKNOWN = "unknown"  # lost with the AMI link before anything conclusive was known


class Signal(enum.Enum):
    """What an event means for an attempt's progress (several events map to one signal)."""

    ACCEPTED = "accepted"
    RINGING = "ringing"
    ANSWERED = "answered"
    QUEUED = "queued"
    CONNECTED = "connected"
    ABANDONED = "abandoned"
    MACHINE = "machine"


S, G = CallState, Signal
_AFTER_ANSWER = {
    G.QUEUED: S.QUEUED,
    G.CONNECTED: S.CONNECTED,
    G.ABANDONED: S.DROPPED,
    G.MACHINE: S.MACHINE,
}
#: The transition table.  A signal missing from a state's row is ignored there (a late or
#: duplicate event from another PBX thread, e.g. ``OriginateResponse`` after ``DialerAnswered``).
#: Skipping ahead is allowed: events can be missed across a reconnect.
TRANSITIONS: dict[CallState, dict[Signal, CallState]] = {
    S.PLACED: {
        G.ACCEPTED: S.ACCEPTED,
        G.RINGING: S.RINGING,
        G.ANSWERED: S.ANSWERED,
        **_AFTER_ANSWER,
    },
    S.ACCEPTED: {G.RINGING: S.RINGING, G.ANSWERED: S.ANSWERED, **_AFTER_ANSWER},
    S.RINGING: {G.ANSWERED: S.ANSWERED, **_AFTER_ANSWER},
    S.ANSWERED: dict(_AFTER_ANSWER),
    S.QUEUED: {G.CONNECTED: S.CONNECTED, G.ABANDONED: S.DROPPED, G.MACHINE: S.MACHINE},
    S.CONNECTED: {},
    S.DROPPED: {},
    S.MACHINE: {},
    S.ENDED: {},
}
del S, G

# Q.850 hangup causes.
_INVALID_CAUSES = frozenset({1, 2, 3, 22, 28})  # unallocated, no route, number changed, bad format
_BUSY_CAUSES = frozenset({17, 21})  # user busy, call rejected
_NO_ANSWER_CAUSES = frozenset({18, 19, 20})  # no user responding, no answer, subscriber absent
_CONGESTION_CAUSES = frozenset({34, 38, 41, 42, 44, 47})
_REASONS = {3: Outcome.NO_ANSWER, 5: Outcome.BUSY, 8: Outcome.CONGESTION}
_DIAL_STATUSES = {
    "BUSY": Outcome.BUSY,
    "NOANSWER": Outcome.NO_ANSWER,
    "CONGESTION": Outcome.CONGESTION,
    "CHANUNAVAIL": Outcome.FAILED,
}


_CHANNEL_SUFFIX = re.compile(r"-[0-9a-fA-F]+(;[12])?$")


def interface_of(channel: str) -> str:
    """The device (queue interface) of a channel name: ``Local/9001@sim-agents-00000011;1`` →
    ``Local/9001@sim-agents``, ``PJSIP/agent1-0000000a`` → ``PJSIP/agent1``."""
    return _CHANNEL_SUFFIX.sub("", channel)


def failure_outcome(
    reason: int | None, dial_status: str | None, cause: int | None
) -> tuple[Outcome, str]:
    """Outcome of an attempt that was never answered, and a short reason text.

    Priority: an invalid-number cause; the ``OriginateResponse`` ``Reason`` (3/5/8); the
    ``DialEnd`` ``DialStatus``; the hangup cause; else ``FAILED``.
    """
    if cause in _INVALID_CAUSES:
        return Outcome.INVALID_NUMBER, f"cause {cause}"
    if reason in _REASONS:
        return _REASONS[reason], f"reason {reason}"
    if dial_status in _DIAL_STATUSES:
        return _DIAL_STATUSES[dial_status], f"dialstatus {dial_status}"
    if cause in _BUSY_CAUSES:
        return Outcome.BUSY, f"cause {cause}"
    if cause in _NO_ANSWER_CAUSES:
        return Outcome.NO_ANSWER, f"cause {cause}"
    if cause in _CONGESTION_CAUSES:
        return Outcome.CONGESTION, f"cause {cause}"
    if reason is not None:
        return Outcome.FAILED, f"reason {reason}"
    return Outcome.FAILED, f"cause {cause}" if cause is not None else "no response"


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A snapshot of one attempt.  Times are the ``now`` values passed to the tracker."""

    attempt_id: str
    channel_id: str | None
    other_channel_id: str | None
    action_id: str | None
    lead_id: str | None
    campaign: str | None
    state: CallState
    outcome: Outcome | None
    reason: str  # why this outcome: "reason 5", "cause 19", "Originate failed", "lost", ...
    placed_at: float
    accepted_at: float | None
    ringing_at: float | None
    answered_at: float | None
    queued_at: float | None
    connected_at: float | None
    ended_at: float | None
    originate_reason: int | None
    dial_status: str | None
    hangup_cause: int | None
    hangup_cause_txt: str
    queue: str
    agent: str  # queue member name of the agent who took the call
    agent_interface: str
    hold_time: int | None
    talk_time: int | None
    lost: bool  # fate unknown since the link dropped (cleared when reconciled live)
    routed_to: str = ""  # the agent interface an owned callback is dialled to ("" = the queue)

    @property
    def ended(self) -> bool:
        return self.state is CallState.ENDED


@dataclass(frozen=True, slots=True)
class CallUpdate:
    """A notification: ``record`` moved from ``previous`` to ``record.state`` at ``at``."""

    attempt_id: str
    previous: CallState
    at: float
    record: CallRecord

    @property
    def state(self) -> CallState:
        return self.record.state


@dataclass(slots=True)
class _Call:
    attempt_id: str
    channel_id: str | None
    other_channel_id: str | None
    action_id: str | None
    lead_id: str | None
    campaign: str | None
    placed_at: float
    phase: CallState = CallState.PLACED  # last known phase, even while lost
    lost: bool = False
    blind: bool = False  # was lost and found alive: events may have been missed meanwhile
    outcome: Outcome | None = None
    reason: str = ""
    accepted_at: float | None = None
    ringing_at: float | None = None
    answered_at: float | None = None
    queued_at: float | None = None
    connected_at: float | None = None
    ended_at: float | None = None
    originate_reason: int | None = None
    originate_error: str | None = None
    dial_status: str | None = None
    causes: dict[str, tuple[int, str]] = field(default_factory=dict)  # uniqueid -> cause
    up: set[str] = field(default_factory=set)  # own channels created and not hung up
    hung_at: float | None = None  # when the last own channel hung up
    originate_uid: str | None = None  # the OriginateResponse's Uniqueid (None: no channel)
    resolved_at: float | None = None  # when the OriginateResponse arrived
    queue: str = ""
    agent: str = ""
    agent_interface: str = ""
    hold_time: int | None = None
    talk_time: int | None = None
    route_interface: str = ""  # an owned callback: the agent interface the dialplan dials
    route_agent: str = ""  # ... and that agent's name
    ring_timeout: float | None = None  # the Originate's ring timeout (s), when the caller knows it
    pbx_down_at: float | None = None  # when the PBX said it was shutting down, while this call lived

    @property
    def state(self) -> CallState:
        if self.lost and self.phase is not CallState.ENDED:
            return CallState.UNKNOWN
        return self.phase

    def best_cause(self) -> tuple[int | None, str]:
        """The most informative cause among the attempt's own channels (order-independent)."""
        if not self.causes:
            return None, ""
        return max(self.causes.values(), key=lambda c: (c[0] not in (0, 16), c[0] == 16, c[0]))

    def snapshot(self) -> CallRecord:
        cause, cause_txt = self.best_cause()
        return CallRecord(
            self.attempt_id,
            self.channel_id,
            self.other_channel_id,
            self.action_id,
            self.lead_id,
            self.campaign,
            self.state,
            self.outcome,
            self.reason,
            self.placed_at,
            self.accepted_at,
            self.ringing_at,
            self.answered_at,
            self.queued_at,
            self.connected_at,
            self.ended_at,
            self.originate_reason,
            self.dial_status,
            cause,
            cause_txt,
            self.queue,
            self.agent,
            self.agent_interface,
            self.hold_time,
            self.talk_time,
            self.lost,
            self.route_interface,
        )


_TIMESTAMP = {
    CallState.ACCEPTED: "accepted_at",
    CallState.RINGING: "ringing_at",
    CallState.ANSWERED: "answered_at",
    CallState.QUEUED: "queued_at",
    CallState.CONNECTED: "connected_at",
}
_ANSWERED_PHASES = frozenset(
    {
        CallState.ANSWERED,
        CallState.QUEUED,
        CallState.CONNECTED,
        CallState.DROPPED,
        CallState.MACHINE,
    }
)


class CallTracker:
    """Tracks dial attempts from placement to outcome.

    ``settle_timeout``: after every channel of an attempt hung up, how long to wait for a
    missing ``OriginateResponse`` before deciding from ``DialStatus``/causes (see ``tick``).
    """

    def __init__(self, *, settle_timeout: float = 5.0, keep_ended: int = 10_000) -> None:
        self.settle_timeout = settle_timeout
        self.keep_ended = keep_ended
        self._calls: dict[str, _Call] = {}  # attempt id -> call, in flight
        self._by_uid: dict[str, _Call] = {}  # channel id / other channel id -> call
        self._by_action: dict[str, _Call] = {}
        self._ended: dict[str, CallRecord] = {}

    # ------------------------------------------------------------------ inputs from the daemon

    def place(
        self,
        attempt_id: str,
        now: float,
        *,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        action_id: str | None = None,
        lead_id: str | None = None,
        campaign: str | None = None,
        use_default_ids: bool = True,
        recovered: bool = False,
        agent: str | None = None,
        agent_interface: str | None = None,
        ring_timeout: float | None = None,
    ) -> list[CallUpdate]:
        """Register an attempt before its Originate is sent.

        Ids default to :func:`dialer.ami.ids.originate_ids` (what ``AmiClient.originate`` sends).
        ``recovered=True`` adopts an attempt found in flight after a restart: it starts as
        ``UNKNOWN`` until :meth:`reconcile`.  ``agent_interface`` (and ``agent``, its name): an
        owned callback, which the dialplan dials straight to that agent instead of the queue.
        ``ring_timeout``: the Originate's, to tell a call cut short by a PBX shutdown from one
        that rang its full time (see :meth:`pbx_shutting_down`).
        """
        if attempt_id in self._calls:
            raise ValueError(f"attempt {attempt_id!r} is already tracked")
        if use_default_ids:
            ids = originate_ids(attempt_id)
            channel_id = channel_id or ids.channel_id
            other_channel_id = other_channel_id or ids.other_channel_id
            action_id = action_id or ids.action_id
        call = _Call(attempt_id, channel_id, other_channel_id, action_id, lead_id, campaign, now)
        call.lost = recovered
        call.route_interface, call.route_agent = agent_interface or "", agent or ""
        call.ring_timeout = ring_timeout
        self._calls[attempt_id] = call
        for uid in (channel_id, other_channel_id):
            if uid:
                self._by_uid[uid] = call
        if action_id:
            self._by_action[action_id] = call
        return [CallUpdate(attempt_id, CallState.PLACED, now, call.snapshot())]

    def originate_accepted(self, attempt_id: str, now: float) -> list[CallUpdate]:
        """The Originate's immediate response was ``Success`` ("successfully queued")."""
        call = self._calls.get(attempt_id)
        if call is None:
            return []
        return self._signal(call, Signal.ACCEPTED, now)

    def originate_failed(
        self, attempt_id: str, now: float, message: str = "Originate failed"
    ) -> list[CallUpdate]:
        """The Originate's immediate response was ``Error``: the attempt ends as ``FAILED``."""
        call = self._calls.get(attempt_id)
        if call is None:
            return []
        call.originate_error = message or "Originate failed"
        if is_shutting_down(call.originate_error):
            call.pbx_down_at = now
        if call.up or call.phase in _ANSWERED_PHASES:
            return []  # contradicted by events already seen; let them decide
        return self._end(call, now)

    def pbx_shutting_down(self, now: float) -> list[CallUpdate]:
        """The PBX is shutting down (an action answered "Asterisk is shutting down", or the
        ``Shutdown`` event): an attempt in flight that then ends unanswered — cut short, or
        never learnt about because the link closed — ends ``PBX_DOWN``, not the lead's doing
        (one that rings its full time is still ``NO_ANSWER``, one that was busy ``BUSY``)."""
        for call in self._calls.values():
            if call.pbx_down_at is None:
                call.pbx_down_at = now
        return []

    def mark_unknown(self, attempt_id: str, now: float) -> list[CallUpdate]:
        """One attempt's fate is unknown (e.g. its Originate timed out): reconcile it later."""
        call = self._calls.get(attempt_id)
        if call is None or call.lost:
            return []
        previous = call.state
        call.lost = True
        return [CallUpdate(attempt_id, previous, now, call.snapshot())]

    def link_lost(self, now: float) -> list[CallUpdate]:
        """The AMI link dropped: every attempt in flight becomes ``UNKNOWN`` until reconciled."""
        out: list[CallUpdate] = []
        for attempt_id in list(self._calls):
            out += self.mark_unknown(attempt_id, now)
        return out

    def reconcile(self, live: Iterable[CoreShowChannel | str], now: float) -> list[CallUpdate]:
        """Settle ``UNKNOWN`` attempts from a ``CoreShowChannels`` result taken after re-login.

        ``live``: the ``CoreShowChannel`` events (or bare unique ids).  An attempt with a live
        channel (its own ids, or a channel whose ``Linkedid`` is its channel id) goes back to
        its last known state, moved on by what the channels show happened while the link was
        blind (answered, in the queue, bridged to an agent: :meth:`_learn`); any other ends
        with the outcome its known facts give (see :meth:`_decide`), or ``UNKNOWN`` with
        reason ``"lost"``.
        """
        alive: set[str] = set()
        linked: dict[str, list[CoreShowChannel]] = {}
        for item in live:
            if isinstance(item, str):
                alive.add(item)
            else:
                alive.update(x for x in (item.uniqueid, item.linkedid) if x)
                linked.setdefault(item.linkedid or item.uniqueid or "", []).append(item)
        out: list[CallUpdate] = []
        for call in list(self._calls.values()):
            if not call.lost:
                continue
            if (call.channel_id and call.channel_id in alive) or (
                call.other_channel_id and call.other_channel_id in alive
            ):
                call.lost, call.blind = False, True
                self._learn(call, linked.get(call.channel_id or "", []), now)
                out.append(CallUpdate(call.attempt_id, CallState.UNKNOWN, now, call.snapshot()))
            else:
                call.up.clear()
                out += self._end(call, now)
        return out

    def _learn(self, call: _Call, channels: list[CoreShowChannel], now: float) -> None:
        """What a call's live channels show it went through while the link was blind: its own
        channel up (answered), in ``Queue`` (queued), an agent's channel bridged to it (connected,
        agent by interface: a queue member leg ``AppQueue`` or an owned callback's ``AppDial``)."""
        for chan in channels:
            own = chan.uniqueid in (call.channel_id, call.other_channel_id)
            if own:
                call.up.add(chan.uniqueid or "")
            if chan.uniqueid == call.channel_id and chan.channel_state == 6:
                self._signal(call, Signal.ANSWERED, now)
            if chan.uniqueid == call.channel_id and chan.application == "Queue":
                call.queue = call.queue or chan.application_data.split(",")[0]
                self._signal(call, Signal.QUEUED, now)
        for chan in channels:
            if chan.uniqueid not in (call.channel_id, call.other_channel_id) and chan.bridge_id and (
                chan.application in ("AppQueue", "AppDial")
            ):
                call.agent_interface = call.agent_interface or interface_of(chan.channel)
                if call.agent_interface == call.route_interface:
                    call.agent = call.agent or call.route_agent
                self._signal(call, Signal.CONNECTED, now)

    def tick(self, now: float) -> list[CallUpdate]:
        """Settle attempts stuck for ``settle_timeout``: channels all hung up but no
        ``OriginateResponse`` (outcome from ``DialStatus`` and causes), or a failed
        ``OriginateResponse`` whose channel's hangup never came."""
        out: list[CallUpdate] = []
        for call in list(self._calls.values()):
            if call.up:
                continue
            since = call.hung_at
            if since is None and call.originate_reason not in (None, 4):
                since = call.resolved_at
            if since is not None and now - since >= self.settle_timeout:
                out += self._end(call, now)
        return out

    # ------------------------------------------------------------------ queries

    def get(self, attempt_id: str) -> CallRecord | None:
        call = self._calls.get(attempt_id)
        return call.snapshot() if call is not None else self._ended.get(attempt_id)

    def in_flight(self) -> list[CallRecord]:
        return [c.snapshot() for c in self._calls.values()]

    def __len__(self) -> int:
        """Attempts in flight."""
        return len(self._calls)

    def count(self, *states: CallState) -> int:
        return sum(1 for c in self._calls.values() if c.state in states)

    # ------------------------------------------------------------------ events

    def handle(self, event: AmiEvent | None, now: float) -> list[CallUpdate]:
        """Feed one typed event (``None`` and unrelated events are ignored)."""
        if event is None:
            return []
        if isinstance(event, Shutdown):
            return self.pbx_shutting_down(now)
        if isinstance(event, OriginateResponse):
            call = (event.uniqueid and self._by_uid.get(event.uniqueid)) or self._by_action.get(
                event.action_id
            )
            if call is None:
                return []
            call.originate_reason = event.reason
            call.originate_uid = event.uniqueid
            call.resolved_at = now
            out = self._signal(call, Signal.ANSWERED, now) if event.reason == 4 else []
            return out + self._maybe_end(call, now)
        uid: str | None = getattr(event, "uniqueid", None)
        call = self._by_uid.get(uid) if uid else None
        if call is None:
            dest = getattr(event, "dest_uniqueid", None)
            if dest and getattr(event, "uniqueid", None) is None:  # Originate's own dial
                call = self._by_uid.get(dest)
                uid = dest
        if call is None or uid is None:
            return []  # another channel (an agent leg, or not ours): nothing decides on it
        own = uid in (call.channel_id, call.other_channel_id)
        primary = uid == call.channel_id
        if isinstance(event, Newchannel):
            if own:
                call.up.add(uid)
            return []
        if isinstance(event, Hangup):
            if not own:
                return []
            call.up.discard(uid)
            call.causes[uid] = (event.cause, event.cause_txt)
            if not call.up:
                call.hung_at = now
            return self._maybe_end(call, now)
        if isinstance(event, Newstate):
            if primary and event.channel_state == 5:
                return self._signal(call, Signal.RINGING, now)
            if primary and event.channel_state == 6:
                return self._signal(call, Signal.ANSWERED, now)
            return []
        if isinstance(event, DialState):
            if event.dial_status == "RINGING" and event.uniqueid is None:
                return self._signal(call, Signal.RINGING, now)
            return []
        if isinstance(event, DialBegin):
            if primary and self._direct_leg(call, event):  # an owned callback: the owner rings
                return self._signal(call, Signal.QUEUED, now)
            return []
        if isinstance(event, DialEnd):
            if event.uniqueid is None:  # the Originate's dial, not the queue dialling an agent
                call.dial_status = event.dial_status
                if event.dial_status == "ANSWER":
                    return self._signal(call, Signal.ANSWERED, now)
            elif primary and event.dial_status == "ANSWER" and self._direct_leg(call, event):
                interface = interface_of(event.dest_channel)
                call.agent_interface = interface or call.route_interface
                call.agent = call.route_agent if call.agent_interface == call.route_interface else ""
                return self._signal(call, Signal.CONNECTED, now)
            return []
        if isinstance(event, DialerAnswered):
            return self._signal(call, Signal.ANSWERED, now)
        if isinstance(event, QueueCallerJoin):
            call.queue = event.queue
            return self._signal(call, Signal.QUEUED, now)
        if isinstance(event, AgentConnect):
            call.agent, call.agent_interface = event.member_name, event.interface
            call.hold_time = event.hold_time
            return self._signal(call, Signal.CONNECTED, now)
        if isinstance(event, AgentComplete):  # only ever after an AgentConnect (maybe missed)
            call.talk_time = event.talk_time
            if not call.agent:
                call.agent, call.agent_interface = event.member_name, event.interface
            if call.connected_at is None and event.talk_time is not None:
                call.connected_at = now - event.talk_time
            return self._signal(call, Signal.CONNECTED, now)
        if isinstance(event, AgentCalled):
            return []
        if isinstance(event, QueueCallerAbandon):
            call.hold_time = event.hold_time
            return self._signal(call, Signal.ABANDONED, now)
        if isinstance(event, DialerDrop):
            return self._signal(call, Signal.ABANDONED, now)
        if isinstance(event, DialerMachine):
            return self._signal(call, Signal.MACHINE, now)
        return []

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _direct_leg(call: _Call, event: DialBegin | DialEnd) -> bool:
        """A dial from the answered channel to an agent outside any queue (an owned callback):
        not the queue's member leg (a ``QueueCallerJoin`` came first), and to the routed agent
        when the attempt has one."""
        if call.queue or event.dest_uniqueid in (call.channel_id, call.other_channel_id):
            return False
        return not call.route_interface or interface_of(event.dest_channel) == call.route_interface

    def _signal(self, call: _Call, signal: Signal, now: float) -> list[CallUpdate]:
        target = TRANSITIONS[call.phase].get(signal)
        if target is None:
            return []
        previous = call.state
        if target in _ANSWERED_PHASES and call.answered_at is None:
            call.answered_at = now
        attr = _TIMESTAMP.get(target)
        if attr and getattr(call, attr) is None:
            setattr(call, attr, now)
        call.phase = target
        return [CallUpdate(call.attempt_id, previous, now, call.snapshot())]

    def _maybe_end(self, call: _Call, now: float) -> list[CallUpdate]:
        if call.up:
            return []  # a channel of the attempt is still up
        if call.originate_reason is None and call.phase not in _ANSWERED_PHASES:
            return []  # not resolved: the OriginateResponse may still bring the Reason
        if call.causes:
            return self._end(call, now)  # channels came and went
        if call.originate_reason not in (None, 4) and not call.originate_uid:
            return self._end(call, now)  # failed without creating a channel
        return []  # failed, but its channel's events are still to come (``tick`` settles)

    def _decide(self, call: _Call, now: float) -> tuple[Outcome, str]:
        outcome = self._decide_facts(call)
        if call.pbx_down_at is not None and call.phase not in _ANSWERED_PHASES and self._cut_short(
                call, outcome[0], now):
            return Outcome.PBX_DOWN, (f"PBX shutting down: {call.originate_error}" if call.originate_error
                                      else f"cut short by the PBX shutting down ({outcome[1]})")
        return outcome

    @staticmethod
    def _cut_short(call: _Call, outcome: Outcome, now: float) -> bool:
        """An unanswered attempt the PBX's shutdown ended: refused, lost with the link, failed, or
        ended as no answer before its ring timeout (a second of slack)."""
        if outcome in (Outcome.UNKNOWN, Outcome.FAILED, Outcome.CONGESTION):
            return True
        if outcome is Outcome.NO_ANSWER:
            end = call.hung_at if call.hung_at is not None else now
            rang = end - (call.accepted_at if call.accepted_at is not None else call.placed_at)
            return call.ring_timeout is None or rang < call.ring_timeout - 1.0
        return False  # BUSY, INVALID_NUMBER: the called party's answer, shutdown or not

    def _decide_facts(self, call: _Call) -> tuple[Outcome, str]:
        phase = call.phase
        if phase is CallState.CONNECTED:
            return Outcome.CONNECTED, f"agent {call.agent}" if call.agent else "agent"
        if phase is CallState.DROPPED:
            return Outcome.ABANDONED, "no agent in time"
        if phase is CallState.MACHINE:
            return Outcome.MACHINE, "machine detected"
        if call.lost and (
            phase in (CallState.ANSWERED, CallState.QUEUED)
            or (call.originate_reason is None and not call.causes)
        ):
            return Outcome.UNKNOWN, "lost"  # an agent may have taken it while we were blind
        if phase is CallState.QUEUED:
            return Outcome.ABANDONED, "hung up waiting for an agent"
        if phase is CallState.ANSWERED:
            return Outcome.ANSWERED, "hung up before the queue"
        if call.originate_error is not None:
            return Outcome.FAILED, call.originate_error
        cause, _ = call.best_cause()
        outcome = failure_outcome(call.originate_reason, call.dial_status, cause)
        if call.blind and outcome[0] is Outcome.FAILED and call.originate_reason is None:
            return Outcome.UNKNOWN, "lost"  # its answer may have come while we were blind
        return outcome

    def _end(self, call: _Call, now: float) -> list[CallUpdate]:
        previous = call.state
        call.outcome, call.reason = self._decide(call, now)
        call.phase = CallState.ENDED
        call.ended_at = now
        del self._calls[call.attempt_id]
        for uid in (call.channel_id, call.other_channel_id):
            if uid and self._by_uid.get(uid) is call:
                del self._by_uid[uid]
        if call.action_id and self._by_action.get(call.action_id) is call:
            del self._by_action[call.action_id]
        record = call.snapshot()
        self._ended[call.attempt_id] = record
        while len(self._ended) > self.keep_ended:
            del self._ended[next(iter(self._ended))]
        return [CallUpdate(call.attempt_id, previous, now, record)]
