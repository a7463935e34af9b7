"""The simulated PBX: channels, calls, queues and members, driven by a :class:`Clock`.

It plays the dialplan of ``tests/fixtures/ami/pbx-extensions.conf``: the called party (a
``Local/<number>@sim-customers`` half, or any other technology as one channel) rings and
answers, busies, congests...; an answered call goes to the Originate's ``Context``/``Exten``;
in the connect context it raises ``UserEvent: DialerAnswered``, enters the campaign's queue
and is dropped (``QueueCallerAbandon`` + ``UserEvent: DialerDrop``) when no member takes it
within ``queue_wait`` seconds — or, with the channel variable ``DIALER_AGENT`` (an owned
callback), dials that agent's interface straight (``Dial(${DIALER_AGENT},2)`` of
``config/asterisk/extensions-dialer.conf``) and drops it the same way when the agent does not
answer in time.  Members answer and talk on their own.

Everything the PBX tells the outside goes through ``listeners`` as ready-made frames
``(class_bit, text)``; :mod:`dialer.sim.server` fans them out to AMI connections.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dialer.clock import Clock, Timer
from dialer.sim.dialplan import resolve
from dialer.sim.events import CAUSE_TXT, CLASS_BITS, STATE_DESC, event, lines
from dialer.sim.recording import write_recording
from dialer.sim.scenario import QueueConfig, Scenario

KNOWN_TECHS = frozenset(
    {"local", "pjsip", "sip", "iax2", "dahdi", "dongle", "motif", "unistim", "skinny"}
)
UNKNOWN = "<unknown>"
_CALL = CLASS_BITS["call"]
_AGENT = CLASS_BITS["agent"]
_USER = CLASS_BITS["user"]
_DIALPLAN = CLASS_BITS["dialplan"]

# Deterministic mode: the last digit of the number decides (1-4 as in the recordings).
DETERMINISTIC = {
    "1": ("human", 2.0, 6.5),  # answers after 2 s, hangs up 6.5 s after answering
    "2": ("busy", 0.0, 0.0),
    "3": ("no_answer", 0.0, 0.0),
    "4": ("congestion", 0.0, 0.0),
    "5": ("machine", 2.0, 6.5),
    "6": ("invalid", 0.0, 0.0),
    "7": ("human", 5.0, 30.0),  # answers after 5 s, stays 30 s
    "8": ("human", 2.0, 1.0),  # answers, hangs up after 1 s (abandons in the queue)
    "9": ("unavailable", 0.0, 0.0),
    "0": ("human", 2.0, 60.0),
}
DETERMINISTIC_AGENT_TALK = (
    4.5  # Answer(), Wait(4) of sim-agents, plus the 0.5 s the recording shows
)
DETERMINISTIC_FAIL_DELAY = 0.001


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "y")


class Channel:
    """One channel; ``block()``/``dblock()`` are its standard header lines (plain / ``Dest``)."""

    __slots__ = (
        "name", "uniqueid", "linkedid", "state", "cid_num", "cid_name", "con_num", "con_name",
        "context", "exten", "priority", "app", "appdata", "created", "bridge", "call", "_blk", "_dblk",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        uniqueid: str,
        linkedid: str,
        state: int,
        context: str,
        exten: str,
        created: float,
        call: Call,
    ) -> None:
        self.name = name
        self.uniqueid = uniqueid
        self.linkedid = linkedid
        self.state = state
        self.cid_num = self.cid_name = self.con_num = self.con_name = UNKNOWN
        self.context = context
        self.exten = exten
        self.priority = 1
        self.app = ""
        self.appdata = ""
        self.created = created
        self.bridge = ""
        self.call = call
        self._blk: str | None = None
        self._dblk: str | None = None

    def set(self, **changes: Any) -> Channel:
        for key, value in changes.items():
            setattr(self, key, value)
        self._blk = self._dblk = None
        return self

    def _pairs(self) -> list[tuple[str, object]]:
        return [
            ("Channel", self.name),
            ("ChannelState", self.state),
            ("ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            ("CallerIDNum", self.cid_num),
            ("CallerIDName", self.cid_name),
            ("ConnectedLineNum", self.con_num),
            ("ConnectedLineName", self.con_name),
            ("Language", "en"),
            ("AccountCode", ""),
            ("Context", self.context),
            ("Exten", self.exten),
            ("Priority", self.priority),
            ("Uniqueid", self.uniqueid),
            ("Linkedid", self.linkedid),
        ]

    def block(self) -> str:
        if self._blk is None:
            self._blk = lines(self._pairs())
        return self._blk

    def dblock(self) -> str:
        if self._dblk is None:
            self._dblk = lines(("Dest" + k, v) for k, v in self._pairs())
        return self._dblk


@dataclass
class Member:
    queue: str
    interface: str
    name: str
    state_interface: str
    login_time: int
    membership: str = "dynamic"
    penalty: int = 0
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0
    in_call: bool = False
    status: int = 1  # 1 not in use, 2 in use, 6 ringing
    paused: bool = False
    paused_reason: str = ""
    ringinuse: bool = False
    wrapuptime: int = 0
    busy_until: float = 0.0  # wrap-up
    on_break: bool = False
    optimised: bool = False  # its Local channel optimised away mid-call: reads "not in use"
    timer: Timer | None = None

    def pairs(self, *, ringinuse: bool = True) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = [
            ("Queue", self.queue),
            ("MemberName", self.name),
            ("Interface", self.interface),
            ("StateInterface", self.state_interface),
            ("Membership", self.membership),
            ("Penalty", self.penalty),
            ("CallsTaken", self.calls_taken),
            ("LastCall", self.last_call),
            ("LastPause", self.last_pause),
            ("LoginTime", self.login_time),
            ("InCall", int(self.in_call)),
            ("Status", self.status),
            ("Paused", int(self.paused)),
            ("PausedReason", self.paused_reason),
        ]
        if ringinuse:
            out.append(("Ringinuse", int(self.ringinuse)))
        out.append(("Wrapuptime", self.wrapuptime))
        return out


@dataclass
class Queue:
    config: QueueConfig
    members: dict[str, Member] = field(default_factory=dict)
    callers: list[Call] = field(default_factory=list)
    rrpos: int = 0
    completed: int = 0
    abandoned: int = 0
    holdtime_total: float = 0.0
    talktime_total: float = 0.0

    @property
    def name(self) -> str:
        return self.config.name


@dataclass
class Stats:
    """Ground truth, to compare with what the dialer reports."""

    placed: int = 0  # Originates accepted (async or not)
    failed: int = 0  # no channel at all (bad technology, unknown context): Reason 0
    answered: int = 0  # called party answered (human or machine)
    human: int = 0
    machine: int = 0
    amd_machine: int = 0  # answered calls the AMD step classified as machine (hung up)
    queued: int = 0  # entered a queue
    connected: int = 0  # bridged to an agent
    dropped: int = (
        0  # queue timeout: QueueCallerAbandon + DialerDrop (the abandon rate's numerator)
    )
    caller_abandoned: int = 0  # the called party hung up while waiting in the queue
    opt_outs: int = 0  # dropped callers who pressed 9 in the safe-harbour message (DialerOptOut)
    completed: int = 0  # agent calls ended
    routed: int = 0  # answered calls dialled straight to an agent (DIALER_AGENT: owned callbacks)
    hung_up_by_client: int = 0  # ended by a Hangup action
    vanished: int = 0  # in progress at a restart
    outcomes: Counter[str] = field(default_factory=Counter)  # human/machine/busy/...

    @property
    def abandoned(self) -> int:
        return self.dropped + self.caller_abandoned

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "outcomes"}
        d["abandoned"] = self.abandoned
        d["outcomes"] = dict(self.outcomes)
        return d


@dataclass
class CallTruth:
    """What really happened to one dial attempt (keyed by ``ChannelId`` or the generated id)."""

    uniqueid: str
    action_id: str | None
    number: str
    lead_id: str
    outcome: str = ""  # human/machine/busy/congestion/invalid/no_answer/unavailable/failed
    answered: bool = False
    amd_result: str = ""  # HUMAN/MACHINE when the Originate asked for AMD
    queued: bool = False
    connected: bool = False
    dropped: bool = False
    caller_abandoned: bool = False
    abandoned_in_queue: bool = False  # ... while waiting in the queue (the dialplan notes it)
    agent: str = ""  # the interface of the agent who took the call
    routed_to: str = ""  # DIALER_AGENT: the agent interface the answered call was dialled to
    owner_busy: bool = False  # ... who was busy: the call went on to the queue
    ended_at: float | None = None


class Call:
    """One Originate: the called party leg, then the dialplan, queue and agent leg."""

    __slots__ = (
        "seq", "action_id", "dial", "tech", "number", "dial_string", "c1", "c2", "dest_context",
        "dest_exten", "application", "vars", "timeout", "cid_num", "cid_name", "async_", "outcome",
        "ring_time", "patience", "talk_time", "rng", "phase", "answered_at", "join_at", "queue",
        "orig_pos", "member", "a1", "a2", "ring_at", "connect_at", "t_party", "t_dial", "t_queue",
        "t_agent", "on_result", "truth", "amd", "lead_id", "channel_ids", "owner", "recording", "device",
    )  # fmt: skip

    def __init__(self) -> None:
        self.c2: Channel | None = None
        self.a1: Channel | None = None
        self.a2: Channel | None = None
        self.member: Member | None = None
        self.queue: Queue | None = None
        self.t_party = self.t_dial = self.t_queue = self.t_agent = None
        self.on_result: Callable[[bool], None] | None = None
        self.answered_at = self.join_at = self.ring_at = self.connect_at = 0.0
        self.orig_pos = 0
        self.phase = "dialing"
        self.owner = ""  # DIALER_AGENT: the interface dialled straight instead of the queue
        self.device = ""  # an Originate to an agent's own device (its queue member interface)
        self.recording = ""  # the file MixMonitor writes while the call is bridged to an agent

    def channels(self) -> list[Channel]:
        return [c for c in (self.c1, self.c2, self.a1, self.a2) if c is not None]


@dataclass
class OriginateResult:
    error: str | None = None  # Response: Error message for the action
    call: Call | None = None
    pending: bool = False  # a non-async Originate: the response waits for the outcome


class PBX:
    """The simulated Asterisk.  ``listeners`` receive ``(class_bit, frame_text)``."""

    def __init__(self, scenario: Scenario, clock: Clock, *, epoch: float | None = None) -> None:
        self.scenario = scenario
        self.clock = clock
        self.epoch0 = time.time() if epoch is None else epoch
        self.listeners: list[Callable[[int, str], None]] = []
        self.stats = Stats()
        self.truth: dict[str, CallTruth] = {}
        self.calls: set[Call] = set()
        self.astdb: dict[tuple[str, str], str] = {}  # AstDB: (family, key) -> value
        self.channels: dict[str, Channel] = {}
        self.queues: dict[str, Queue] = {}
        self._seq = 0
        self._uid = 0
        self._chan_no = 0
        self._held: list[tuple[int, str]] | None = None
        self._rng = random.Random(scenario.seed)
        self.started = self.epoch()
        self.shutting_down = False  # no dialplan runs for a failed Originate (recording 06)
        self._device_use: dict[str, int] = {}  # agent device -> its calls (direct, not the queue's)
        self._load_queues()

    # ------------------------------------------------------------------ plumbing
    def now(self) -> float:
        return self.clock.monotonic()

    def epoch(self) -> float:
        return self.epoch0 + self.clock.monotonic()

    def emit(self, bit: int, text: str) -> None:
        if self._held is not None:
            self._held.append((bit, text))
            return
        for listener in self.listeners:
            listener(bit, text)

    def hold(self) -> None:
        """Buffer events until :meth:`release` (so that an action's response goes first)."""
        self._held = []

    def release(self) -> None:
        held, self._held = self._held or [], None
        for bit, text in held:
            self.emit(bit, text)

    def _later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        return self.clock.call_later(delay, fn, *args)

    def _new_uid(self) -> str:
        self._uid += 1
        return f"{int(self.epoch0)}.{self._uid}"

    def _new_channel(
        self,
        base: str,
        local_half: str,
        uid: str,
        linkedid: str,
        state: int,
        context: str,
        exten: str,
        call: Call,
    ) -> Channel:
        name = f"{base}-{self._chan_no:08x}{local_half}"
        ch = Channel(name, uid, linkedid, state, context, exten, self.now(), call)
        self.channels[name] = ch
        return ch

    # -------------------------------------------------------------- event helpers
    def _ev(self, name: str, ch: Channel, extra: str = "", bit: int = _CALL) -> None:
        cls = (
            "call"
            if bit == _CALL
            else "agent"
            if bit == _AGENT
            else "user"
            if bit == _USER
            else "dialplan"
        )
        self.emit(bit, event(name, cls, ch.block() + extra))

    def _newstate(self, ch: Channel, state: int) -> None:
        ch.set(state=state)
        self._ev("Newstate", ch)

    def _hangup(self, ch: Channel | None, cause: int) -> None:
        if ch is None or ch.name not in self.channels:
            return
        del self.channels[ch.name]
        self._ev(
            "Hangup", ch, f"Cause: {cause}\r\nCause-txt: {CAUSE_TXT.get(cause, 'Unknown')}\r\n"
        )

    def _dial_ev(
        self, name: str, call: Call, dest: Channel, tail: str, caller: Channel | None = None
    ) -> None:
        body = (caller.block() if caller else "") + dest.dblock() + tail
        self.emit(_CALL, event(name, "call", body))

    def _user_event(self, call: Call, name: str, extra: list[tuple[str, object]]) -> None:
        self.emit(
            _USER,
            event("UserEvent", "user", call.c1.block() + lines([("UserEvent", name), *extra])),
        )

    def _member_ev(self, name: str, m: Member) -> None:
        self.emit(_AGENT, event(name, "agent", lines(m.pairs())))

    def _device_status(self, m: Member, status: int) -> None:
        """The device behind queue member ``m`` changed state: as Asterisk does, every
        membership of that device (each queue its state interface is in, paused there or not)
        takes the status, with one ``QueueMemberStatus`` each, ``m``'s first.  Not in use
        again: the other queues may offer it their waiting callers."""
        others = [(q, x) for q in self.queues.values() for x in q.members.values()
                  if x is not m and x.state_interface == m.state_interface]
        m.status = status
        self._member_ev("QueueMemberStatus", m)
        for q, x in others:
            x.status = status
            self._member_ev("QueueMemberStatus", x)
            if status == 1:
                self._later(0.0, self._distribute, q)

    # ------------------------------------------------------------------- queues
    def _load_queues(self) -> None:
        self.queues = {}
        for qc in self.scenario.queues:
            q = Queue(qc)
            for interface, name in qc.members:
                q.members[interface] = self._make_member(
                    q, interface, name, interface, membership="static"
                )
            self.queues[qc.name] = q

    def _make_member(
        self, q: Queue, interface: str, name: str, state_interface: str, membership: str = "dynamic"
    ) -> Member:
        return Member(
            queue=q.name,
            interface=interface,
            name=name,
            state_interface=state_interface,
            login_time=int(self.epoch()),
            membership=membership,
            ringinuse=q.config.ringinuse,
        )

    def get_queue(self, name: str, *, create: bool | None = None) -> Queue | None:
        q = self.queues.get(name)
        if q is None and (self.scenario.auto_create_queues if create is None else create) and name:
            base = self.scenario.queue_config(self.scenario.default_queue) or QueueConfig(name)
            q = Queue(
                QueueConfig(name, base.strategy, base.timeout, base.wrapuptime, base.ringinuse)
            )
            self.queues[name] = q
        return q

    def queue_add(
        self,
        queue: str,
        interface: str,
        name: str = "",
        state_interface: str = "",
        paused: bool = False,
        reason: str = "",
        penalty: int = 0,
    ) -> str | None:
        """QueueAdd; returns an error message or ``None``."""
        q = self.get_queue(queue)
        if q is None:
            return "Unable to add interface to queue: No such queue"
        if interface in q.members:
            return "Unable to add interface: Already there"
        m = self._make_member(q, interface, name or interface, state_interface or interface)
        m.penalty = penalty
        if paused:
            m.paused, m.paused_reason, m.last_pause = True, reason, int(self.epoch())
        q.members[interface] = m
        self._member_ev("QueueMemberAdded", m)
        self._distribute(q)
        return None

    def queue_remove(self, queue: str, interface: str) -> str | None:
        q = self.queues.get(queue)
        if q is None:
            return "Unable to remove interface from queue: No such queue"
        m = q.members.get(interface)
        if m is None:
            return "Unable to remove interface: Not there"
        if m.membership != "dynamic":
            return "Member not dynamic"
        del q.members[interface]
        if m.timer is not None:
            m.timer.cancel()
        self._member_ev("QueueMemberRemoved", m)
        return None

    def queue_pause(
        self, queue: str | None, interface: str, paused: bool, reason: str = ""
    ) -> bool:
        """QueuePause (every queue when ``queue`` is empty); ``False`` if the member is not found."""
        targets = (
            [self.queues[queue]]
            if queue and queue in self.queues
            else ([] if queue else list(self.queues.values()))
        )
        found = False
        for q in targets:
            m = q.members.get(interface)
            if m is None:
                continue
            found = True
            self._set_paused(q, m, paused, reason)
        return found

    def _set_paused(self, q: Queue, m: Member, paused: bool, reason: str) -> None:
        m.paused = paused
        m.paused_reason = reason if paused else ""
        if paused:
            m.last_pause = int(self.epoch())
        self._member_ev("QueueMemberPause", m)
        if not paused:
            self._distribute(q)

    def _available(self, m: Member) -> bool:
        return (
            not m.paused
            and not m.on_break
            and (m.status == 1 or m.ringinuse)
            and m.busy_until <= self.now()
            and not m.optimised  # (Asterisk would offer it a second call: not modelled)
        )

    def _pick_member(self, q: Queue) -> Member | None:
        members = list(q.members.values())
        free = [(i, m) for i, m in enumerate(members) if self._available(m)]
        if not free:
            return None
        strategy = q.config.strategy
        if strategy in ("rrmemory", "rrordered", "roundrobin"):
            after = [(i, m) for i, m in free if i >= q.rrpos]
            i, m = (after or free)[0]
            q.rrpos = i + 1 if i + 1 < len(members) else 0
            return m
        if strategy == "leastrecent":
            return min(free, key=lambda im: (im[1].last_call, im[0]))[1]
        if strategy == "fewestcalls":
            return min(free, key=lambda im: (im[1].calls_taken, im[0]))[1]
        if strategy == "random":
            return self._rng.choice(free)[1]
        return free[0][1]  # ringall, linear, wrandom...: the first free member

    def _distribute(self, q: Queue) -> None:
        for call in list(q.callers):
            if call.phase != "queued":
                continue
            m = self._pick_member(q)
            if m is None:
                return
            self._ring_agent(call, q, m)

    # ------------------------------------------------------------------ originate
    def originate(
        self, params: dict[str, str], variables: list[str], action_id: str | None
    ) -> OriginateResult:
        """The Originate action; ``params`` keys are lower-case header names."""
        dial = params.get("channel", "")
        if not dial:
            return OriginateResult("Channel not specified")
        if "/" not in dial:
            return OriginateResult("Invalid channel")
        tech, resource = dial.split("/", 1)
        timeout_s = params.get("timeout", "")
        try:
            timeout = int(timeout_s) / 1000.0 if timeout_s else 30.0
        except ValueError:
            return OriginateResult("Invalid timeout")
        prio = params.get("priority", "")
        if prio and not prio.isdigit():
            return OriginateResult("Invalid priority")
        application = params.get("application", "")
        context, exten = params.get("context", ""), params.get("exten", "")
        if not application and exten and not (context and prio):
            return OriginateResult("Originate with 'Exten' requires 'Context' and 'Priority'")
        if not application and context == self.scenario.connect_context and not self._exten_exists(exten):
            return OriginateResult("Extension does not exist.")  # refused at once, as Asterisk does
        async_ = truthy(params.get("async"))
        vars_: dict[str, str] = {}
        for line in variables:
            for part in line.split(","):
                k, eq, v = part.partition("=")
                if eq:
                    vars_[k.strip()] = v
        cid_name, cid_num = _parse_callerid(params.get("callerid", ""))

        call = Call()
        self._seq += 1
        call.seq = self._seq
        call.action_id = action_id
        call.dial = dial
        call.tech = tech
        call.dest_context = context or "default"
        call.dest_exten = exten or "s"
        call.application = application
        call.vars = vars_
        call.timeout = timeout
        call.cid_num, call.cid_name = cid_num, cid_name
        call.async_ = async_
        call.lead_id = vars_.get("LEAD_ID", "")
        call.amd = truthy(vars_.get("DIALER_AMD"))
        call.rng = random.Random(self.scenario.seed * 1_000_003 + call.seq)
        self.stats.placed += 1

        local = tech.lower() == "local"
        if local:
            target = resource.split("/", 1)[0]
            number, _, cust_ctx = target.partition("@")
            call.dial_string = target
        else:
            number = resource.split("@", 1)[0].rsplit("/", 1)[-1]
            cust_ctx = ""
            call.dial_string = resource
        call.number = number
        if local and cust_ctx not in self.scenario.customer_contexts and self._members_of(f"{tech}/{target}"):
            call.device = f"{tech}/{target}"  # an agent's own device: it answers at once
        uid1 = params.get("channelid") or self._new_uid()
        truth = CallTruth(uid1, action_id, number, call.lead_id)
        call.truth = truth
        self.truth[uid1] = truth

        if tech.lower() not in KNOWN_TECHS:
            truth.outcome = "failed"
            self.stats.failed += 1
            self.stats.outcomes["failed"] += 1
            if not async_:
                return OriginateResult("Originate failed")
            call.c1 = None  # type: ignore[assignment]
            self._originate_response(call, False, 0, channel=dial, uniqueid=UNKNOWN)
            return OriginateResult(call=None)

        self._chan_no += 1
        if local:
            base = f"{tech}/{target}"
            call.c1 = self._new_channel(base, ";1", uid1, uid1, 0, cust_ctx, number, call)
            uid2 = params.get("otherchannelid") or self._new_uid()
            call.c2 = self._new_channel(base, ";2", uid2, uid1, 4, cust_ctx, number, call)
        else:
            peer = resource.split("@", 1)[1] if "@" in resource else resource.split("/", 1)[0]
            call.c1 = self._new_channel(f"{tech}/{peer}", "", uid1, uid1, 0, "default", "s", call)
        call.channel_ids = (call.c1.uniqueid, call.c2.uniqueid if call.c2 else "")
        self.calls.add(call)
        self._ev("Newchannel", call.c1)
        if call.c2:
            self._ev("Newchannel", call.c2)
        for ch in call.channels():
            if cid_num != UNKNOWN or cid_name != UNKNOWN:
                ch.set(cid_num=cid_num, cid_name=cid_name, con_num=cid_num, con_name=cid_name)
        call.c1.set(app="AppDial2", appdata="(Outgoing Line)")

        if local and cust_ctx not in self.scenario.customer_contexts and not call.device:
            # Unknown context: the Local channel pair is created and torn down at once.
            truth.outcome = "failed"
            self.stats.failed += 1
            self.stats.outcomes["failed"] += 1
            self._end_call(call, [(call.c2, 0), (call.c1, 0)])
            if async_:
                self._originate_response(call, False, 0, channel=dial)
                return OriginateResult(call=None)
            return OriginateResult("Originate failed")

        self._dial_ev("DialBegin", call, call.c1, f"DialString: {call.dial_string}\r\n")
        self._choose_outcome(call)
        if call.outcome in ("human", "machine") and call.ring_time >= timeout:
            call.outcome = "no_answer"  # would have answered, but the Originate gave up first
        truth.outcome = call.outcome
        self.stats.outcomes[call.outcome] += 1
        det = self.scenario.deterministic
        if call.device:  # answered at once, no ringing (recording 08 b)
            call.t_dial = self._later(DETERMINISTIC_FAIL_DELAY, self._answer, call)
        elif call.outcome in ("human", "machine", "no_answer"):
            self._newstate(call.c1, 5)
            self._dial_ev("DialState", call, call.c1, "DialStatus: RINGING\r\n")
            if call.c2:
                call.c2.set(
                    priority=5 if call.outcome != "no_answer" else 11, app="Wait", appdata="2"
                )
            if call.outcome != "no_answer" and call.ring_time < timeout:
                call.t_dial = self._later(call.ring_time, self._answer, call)
            else:
                call.t_dial = self._later(timeout, self._no_answer, call)
        else:
            delay = (
                DETERMINISTIC_FAIL_DELAY
                if det
                else self.scenario.called.early_fail_time.sample(call.rng)
            )
            call.t_dial = self._later(min(delay, timeout), self._early_fail, call)
        result = OriginateResult(call=call, pending=not async_)
        return result

    def connect_extensions(self) -> list[str]:
        """The connect context's extensions, as ``ShowDialPlan`` lists them."""
        extra = ["failed"] if self.scenario.failed_exten == "handled" else []
        extra += ["h"] if self.scenario.hangup_note else []
        return extra + list(self.scenario.connect_extensions)

    def _exten_exists(self, exten: str) -> bool:
        return resolve(self.connect_extensions(), exten or "s") is not None

    def _spool_failed(self, call: Call) -> None:
        """Asterisk runs the `failed` extension of a failed Originate's context on a fake
        channel "OutgoingSpoolFailed" (its own Uniqueid, all the Originate's variables)."""
        mode = self.scenario.failed_exten
        if (call.application or call.dest_context != self.scenario.connect_context or mode == "absent"
                or self.shutting_down):
            return
        if mode == "caught" and resolve(self.scenario.connect_extensions, "failed") is None:
            return
        uid = self._new_uid()
        ch = Channel("OutgoingSpoolFailed", uid, uid, 0, call.dest_context, "failed", self.now(), call)
        if call.cid_num != UNKNOWN or call.cid_name != UNKNOWN:
            ch.set(cid_num=call.cid_num, cid_name=call.cid_name)
        self._ev("Newchannel", ch)
        if mode == "caught":  # the connect dialplan runs on it: what recording 01 shows
            for prio, pairs in ((5, [("UserEvent", "DialerAnswered"), ("LeadID", call.lead_id)]),
                                (8, [("UserEvent", "DialerDrop"), ("LeadID", call.lead_id),
                                     ("QueueStatus", "UNKNOWN")])):
                ch.set(priority=prio)
                self.emit(_USER, event("UserEvent", "user", ch.block() + lines(pairs)))
            ch.set(priority=10)
        else:
            ch.set(priority=2)  # NoOp(), Hangup()
        self._ev("Hangup", ch, f"Cause: 16\r\nCause-txt: {CAUSE_TXT.get(16, 'Normal Clearing')}\r\n")

    def _choose_outcome(self, call: Call) -> None:
        if call.device:  # the agents' context answers at once and talks (recording 08 b)
            call.outcome, call.ring_time, call.talk_time = "human", 0.0, None
            call.patience = (DETERMINISTIC_AGENT_TALK if self.scenario.deterministic
                             else self.scenario.agents.talk_time.sample(call.rng))
            return
        forced = call.vars.get("SIM_OUTCOME", "").strip().lower()
        called = self.scenario.called
        if self.scenario.deterministic or forced:
            digit = call.number[-1:] if call.number[-1:].isdigit() else "1"
            outcome, ring, stay = DETERMINISTIC[digit]
            if forced:
                outcome = {
                    "answer": "human",
                    "noanswer": "no_answer",
                    "no-answer": "no_answer",
                }.get(forced, forced)
                if outcome not in DETERMINISTIC_OUTCOMES:
                    outcome = "human"
                if not self.scenario.deterministic:
                    ring = called.ring_time.sample(call.rng)
                    stay = (
                        called.machine_time if outcome == "machine" else called.patience
                    ).sample(call.rng)
                elif outcome in ("human", "machine") and ring == 0:
                    ring, stay = 2.0, 6.5
            call.outcome, call.ring_time, call.patience, call.talk_time = outcome, ring, stay, None
            return
        r = call.rng.random()
        acc = 0.0
        outcome = "no_answer"
        for name, w in called.weights():
            acc += w
            if r < acc:
                outcome = name
                break
        call.outcome = outcome
        call.ring_time = called.ring_time.sample(call.rng)
        if outcome == "machine":
            call.patience, call.talk_time = called.machine_time.sample(call.rng), None
        else:
            call.patience, call.talk_time = (
                called.patience.sample(call.rng),
                called.talk_time.sample(call.rng),
            )

    def _originate_response(
        self, call: Call, ok: bool, reason: int, *, channel: str, uniqueid: str | None = None
    ) -> None:
        if call.async_:
            body = lines(
                [
                    ("ActionID", call.action_id or ""),
                    ("Response", "Success" if ok else "Failure"),
                    ("Channel", channel),
                    ("Context", call.dest_context),
                    ("Exten", call.dest_exten),
                    ("Reason", reason),
                    ("Uniqueid", uniqueid if uniqueid is not None else call.c1.uniqueid),
                    ("CallerIDNum", call.cid_num),
                    ("CallerIDName", call.cid_name),
                ]
            )
            if call.action_id is None:
                body = body.split("\r\n", 1)[1]
            self.emit(_CALL, event("OriginateResponse", "call", body))
        elif call.on_result is not None:
            cb, call.on_result = call.on_result, None
            cb(ok)

    # ----------------------------------------------------------- called party
    def _early_fail(self, call: Call) -> None:
        call.t_dial = None
        outcome = call.outcome
        status, reason, cause, prio = {
            "busy": ("BUSY", 5, 17, 10),
            "congestion": ("CONGESTION", 8, 34, 13),
            "invalid": ("CHANUNAVAIL", 0, 1, 14),
            "unavailable": ("CHANUNAVAIL", 0, 20, 15),
        }[outcome]
        far = call.c2 or call.c1
        if call.c2:
            call.c2.set(priority=prio)
        if outcome in ("busy", "congestion"):
            self._newstate(far, 7)
        self._dial_ev("DialEnd", call, call.c1, f"DialStatus: {status}\r\n")
        self._originate_response(call, False, reason, channel=call.dial)
        if call.c2:
            self._end_call(call, [(call.c1, 0), (call.c2, cause)])
        else:
            self._end_call(call, [(call.c1, cause)])
        self._spool_failed(call)

    def _no_answer(self, call: Call) -> None:
        call.t_dial = None
        if call.c2:
            call.c2.set(priority=12, appdata="60")
            self._end_call(call, [(call.c2, 19), (call.c1, 19)], notify=False)
        else:
            self._end_call(call, [(call.c1, 19)], notify=False)
        self._originate_response(call, False, 3, channel=call.dial)
        self._finish(call)
        self._spool_failed(call)

    def _answer(self, call: Call) -> None:
        call.t_dial = None
        call.phase = "up"
        call.answered_at = self.now()
        st = self.stats
        st.answered += 1
        if call.outcome == "machine":
            st.machine += 1
        else:
            st.human += 1
        call.truth.answered = True
        if call.c2:
            call.c2.set(priority=7, app="Answer", appdata="")
            self._newstate(call.c2, 6)
            call.c2.set(priority=8, app="Wait", appdata="6")
        if call.device:
            self._device_up(call.device)
        self._newstate(call.c1, 6)
        self._dial_ev("DialEnd", call, call.c1, "DialStatus: ANSWER\r\n")
        self._originate_response(call, True, 4, channel=call.c1.name)
        call.t_party = self._later(call.patience, self._party_hangup, call)
        if call.application:
            call.c1.set(app=call.application, appdata="")
            return
        call.c1.set(
            context=call.dest_context, exten=call.dest_exten, priority=1, app="NoOp", appdata=""
        )
        if call.dest_context != self.scenario.connect_context:
            self._hangup_all(call, 16)  # no such extension: the dialplan ends at once
            return
        if call.amd:
            call.phase = "amd"
            call.c1.set(app="AMD", appdata="")
            delay = 1.0 if self.scenario.deterministic else self.scenario.amd.time.sample(call.rng)
            call.t_queue = self._later(delay, self._amd_done, call)
            return
        self._enter_queue(call)

    def _amd_done(self, call: Call) -> None:
        call.t_queue = None
        amd = self.scenario.amd
        machine = call.outcome == "machine"
        if not self.scenario.deterministic:
            if machine and call.rng.random() < amd.false_human:
                machine = False
            elif not machine and call.rng.random() < amd.false_machine:
                machine = True
        call.truth.amd_result = "MACHINE" if machine else "HUMAN"
        if machine:
            self.stats.amd_machine += 1
            call.c1.set(priority=3, app="UserEvent")
            self._user_event(
                call,
                "DialerMachine",
                [
                    ("LeadID", call.lead_id),
                    ("AMDStatus", "MACHINE"),
                    ("AMDCause", "LONGGREETING-2000-1500"),
                ],
            )
            self._hangup_all(call, 16)
            return
        self._enter_queue(call)

    def _queue_name(self, call: Call) -> str:
        return call.vars.get("DIALER_QUEUE") or (
            call.dest_exten if call.dest_exten not in ("s", "") else self.scenario.default_queue
        )

    def _enter_queue(self, call: Call) -> None:
        call.c1.set(priority=2, app="UserEvent")
        self._user_event(call, "DialerAnswered", [("LeadID", call.lead_id)])
        owner = call.vars.get("DIALER_AGENT", "").strip()
        if owner:
            self._dial_owner(call, owner)
            return
        self._join_queue(call)

    def _join_queue(self, call: Call) -> None:
        """``Queue(<queue>,,,,<queue_wait>)``: wait for a member, or drop at the timeout."""
        name = self._queue_name(call)
        wait = self.scenario.queue_wait
        call.c1.set(priority=3, app="Queue", appdata=f"{name},,,,{wait:g}")
        q = self.get_queue(name)
        if q is None:
            call.phase = "dropping"
            self._drop(call, "UNKNOWN")
            return
        call.phase = "queued"
        call.queue = q
        call.join_at = self.now()
        q.callers.append(call)
        call.orig_pos = len(q.callers)
        self.stats.queued += 1
        call.truth.queued = True
        self.emit(
            _AGENT,
            event(
                "QueueCallerJoin",
                "agent",
                call.c1.block()
                + f"Queue: {q.name}\r\nPosition: {call.orig_pos}\r\nCount: {len(q.callers)}\r\n",
            ),
        )
        call.t_queue = self._later(wait, self._queue_timeout, call)
        self._distribute(q)

    def _leave_queue(self, call: Call) -> int:
        q = call.queue
        pos = q.callers.index(call) + 1
        q.callers.remove(call)
        self.emit(
            _AGENT,
            event(
                "QueueCallerLeave",
                "agent",
                call.c1.block()
                + f"Queue: {q.name}\r\nPosition: {pos}\r\nCount: {len(q.callers)}\r\n",
            ),
        )
        return pos

    def _abandon_ev(self, call: Call) -> None:
        q = call.queue
        pos = q.callers.index(call) + 1
        hold = int(self.now() - call.join_at)
        q.abandoned += 1
        self.emit(
            _AGENT,
            event(
                "QueueCallerAbandon",
                "agent",
                call.c1.block()
                + f"Queue: {q.name}\r\nPosition: {pos}\r\nOriginalPosition: {call.orig_pos}\r\nHoldTime: {hold}\r\n",
            ),
        )

    def _queue_timeout(self, call: Call) -> None:
        call.t_queue = None
        if call.phase == "ringing_agent":
            self._cancel_agent_ring(call)
        if call.phase != "queued":
            return
        self._abandon_ev(call)
        self._leave_queue(call)
        self.stats.dropped += 1
        call.truth.dropped = True
        call.phase = "dropping"
        self._drop(call, "TIMEOUT")

    def _drop(self, call: Call, status: str, key: str = "QueueStatus") -> None:
        call.c1.set(priority=4, app="UserEvent")
        self._user_event(call, "DialerDrop", [("LeadID", call.lead_id), (key, status)])
        # as recorded (ami-captures/06): Wait(1) stands for the message (the shipped dialplan's
        # Read(OPTOUT,dialer-safe-harbour,...), which also takes the opt-out digit)
        call.c1.set(priority=5, app="Wait", appdata="1")
        call.t_queue = self._later(self.scenario.drop_wait, self._drop_done, call)

    def _opts_out(self, call: Call) -> bool:
        """Whether this abandoned caller presses 9 (``SIM_OPTOUT=1`` forces it; otherwise the
        scenario's ``called.opt_out`` share, from a draw of its own: the call's other draws stay)."""
        forced = call.vars.get("SIM_OPTOUT", "").strip()
        if forced:
            return forced == "1"
        share = self.scenario.called.opt_out
        return share > 0 and random.Random(self.scenario.seed * 7_919 + call.seq).random() < share

    def _drop_done(self, call: Call) -> None:
        call.t_queue = None
        priority = 6
        if self._opts_out(call):
            self.stats.opt_outs += 1
            call.c1.set(priority=priority, app="UserEvent")
            self._user_event(call, "DialerOptOut", [("LeadID", call.lead_id), ("Digit", "9")])
            priority += 1
        call.c1.set(priority=priority, app="Hangup", appdata="")
        self._hangup_all(call, 16)

    # ------------------------------------------------------------------ agents
    def _ring_agent(self, call: Call, q: Queue, m: Member) -> None:
        call.phase = "ringing_agent"
        call.member = m
        call.ring_at = self.now()
        iface = m.interface
        aexten = self._agent_leg(call, iface)
        call.a1.set(app="AppQueue", appdata="(Outgoing Line)", exten="s")
        if call.a2:
            call.a2.set(app="Answer", appdata="")
        self.emit(
            _AGENT,
            event(
                "AgentCalled",
                "agent",
                call.c1.block()
                + call.a1.dblock()
                + f"Queue: {q.name}\r\nInterface: {iface}\r\nMemberName: {m.name}\r\n",
            ),
        )
        # As recorded: AgentCalled shows the agent leg at exten "s", DialBegin at the member's
        # extension with its connected line still unknown.
        call.a1.set(con_num=UNKNOWN, con_name=UNKNOWN, exten=aexten)
        self._dial_ev("DialBegin", call, call.a1, f"DialString: {iface}\r\n", caller=call.c1)
        call.a1.set(con_num=call.cid_num, con_name=call.cid_name, exten="s")
        delay = (
            0.0
            if self.scenario.deterministic
            else self.scenario.agents.answer_delay.sample(call.rng)
        )
        if delay <= 0:
            self._agent_answer(call)
            return
        self._newstate(call.a1, 5)
        self._dial_ev("DialState", call, call.a1, "DialStatus: RINGING\r\n", caller=call.c1)
        if not _is_local(iface):  # a Local member's device state never says "ringing"
            self._device_status(m, 6)
        if delay >= q.config.timeout:
            call.t_agent = self._later(q.config.timeout, self._agent_no_answer, call)
        else:
            call.t_agent = self._later(delay, self._agent_answer, call)

    def _agent_leg(self, call: Call, iface: str) -> str:
        """The agent's channel(s) dialled from the answered call (two halves for ``Local/``);
        returns the member's extension."""
        self._chan_no += 1
        lid = call.c1.linkedid
        aexten = "s"
        if iface.lower().startswith("local/"):
            target = iface.split("/", 1)[1].split("/", 1)[0]
            aexten, _, actx = target.partition("@")
            call.a1 = self._new_channel(
                iface.split("/", 1)[0] + "/" + target,
                ";1",
                self._new_uid(),
                lid,
                0,
                actx,
                aexten,
                call,
            )
            call.a2 = self._new_channel(
                iface.split("/", 1)[0] + "/" + target,
                ";2",
                self._new_uid(),
                lid,
                4,
                actx,
                aexten,
                call,
            )
        else:
            call.a1 = self._new_channel(iface, "", self._new_uid(), lid, 0, "default", "s", call)
            call.a2 = None
        for ch in (call.a1, call.a2):
            if ch is not None:
                self._ev("Newchannel", ch)
                ch.set(
                    cid_num=call.cid_num,
                    cid_name=call.cid_name,
                    con_num=call.cid_num,
                    con_name=call.cid_name,
                )
        return aexten

    # ------------------------------------------------------ owned callbacks
    def _members_of(self, iface: str) -> list[tuple[Queue, Member]]:
        """Every queue membership of one device (its status events are per queue)."""
        return [(q, q.members[iface]) for q in self.queues.values() if iface in q.members]

    def _dial_owner(self, call: Call, iface: str) -> None:
        """``Dial(${DIALER_AGENT},<queue_wait>)``: ring the owner's device straight, no queue.

        The events are app_queue's member leg without the queue's own (``DialBegin``, the
        member's ``QueueMemberStatus`` as its device rings and is in use, ``DialEnd``); an owner
        whose device is in use is busy; no answer within ``queue_wait`` is a drop like the
        queue's timeout (``UserEvent: DialerDrop`` with the ``DialStatus``).
        """
        wait = self.scenario.queue_wait
        call.c1.set(priority=3, app="Dial", appdata=f"{iface},{wait:g}")
        call.phase = "ringing_owner"
        call.owner = iface
        call.join_at = call.ring_at = self.now()
        call.truth.routed_to = iface
        self.stats.routed += 1
        aexten = self._agent_leg(call, iface)
        call.a1.set(app="AppDial", appdata="(Outgoing Line)", con_num=UNKNOWN, con_name=UNKNOWN, exten=aexten)
        if call.a2:
            call.a2.set(app="Answer", appdata="")
        self._dial_ev("DialBegin", call, call.a1, f"DialString: {iface}\r\n", caller=call.c1)
        call.a1.set(con_num=call.cid_num, con_name=call.cid_name, exten="s")
        members = self._members_of(iface)
        if self._owner_device_busy(iface, members):
            if call.a2 is not None and not members:  # a device that answers BUSY itself (08 c)
                self._newstate(call.a2, 7)
            self._owner_busy(call)
            return
        delay = 0.0 if self.scenario.deterministic else self.scenario.agents.answer_delay.sample(call.rng)
        if delay <= 0:
            self._owner_answer(call)
            return
        self._newstate(call.a1, 5)
        self._dial_ev("DialState", call, call.a1, "DialStatus: RINGING\r\n", caller=call.c1)
        for _, m in members:
            m.status = 6
            self._member_ev("QueueMemberStatus", m)
        if delay >= wait:
            call.t_agent = self._later(wait, self._owner_failed, call, "NOANSWER", 19)
        else:
            call.t_agent = self._later(delay, self._owner_answer, call)

    def _owner_device_busy(self, iface: str, members: list[tuple[Queue, Member]]) -> bool:
        """Whether a ``Dial`` to the owner's device answers BUSY: a customer-like Local number
        by its last digit (recording 08 c); an agent's device in use, unless
        ``[pbx] owner_in_use = "answers"`` (recording 08 b: a Local agent interface whose context
        answers is never busy, a second channel answers)."""
        tech, _, rest = iface.partition("/")
        number, _, ctx = rest.partition("@")
        if tech.lower() == "local" and ctx in self.scenario.customer_contexts:
            digit = number[-1:] if number[-1:].isdigit() else "1"
            return DETERMINISTIC[digit][0] == "busy"
        if self.scenario.owner_in_use == "answers":
            return False
        return any(m.status != 1 for _, m in members)  # ringinuse does not apply to Dial: busy

    def _owner_answer(self, call: Call) -> None:
        call.t_agent = None
        if call.a2:
            self._newstate(call.a2, 6)
            call.a2.set(priority=2, app="Wait", appdata="4")
        self._device_up(call.owner)
        self._newstate(call.a1, 6)
        self._dial_ev("DialEnd", call, call.a1, "DialStatus: ANSWER\r\n", caller=call.c1)
        self._bridged(call, call.owner)

    def _owner_busy(self, call: Call) -> None:
        """The owner's device is in use (a queue call reached them first): ``DialEnd BUSY``, then
        the dialplan's fallback — the caller joins the queue like any other answered call."""
        self._dial_ev("DialEnd", call, call.a1, "DialStatus: BUSY\r\n", caller=call.c1)
        self._owner_leg_down(call, 17)
        call.owner = ""
        call.truth.owner_busy = True
        self._join_queue(call)

    def _owner_failed(self, call: Call, status: str, cause: int) -> None:
        """The dial to the owner ended unanswered (or busy): the safe-harbour drop."""
        call.t_agent = None
        self._dial_ev("DialEnd", call, call.a1, f"DialStatus: {status}\r\n", caller=call.c1)
        self._owner_leg_down(call, cause)
        self.stats.dropped += 1
        call.truth.dropped = True
        call.phase = "dropping"
        self._drop(call, status, key="DialStatus")

    def _owner_leg_down(self, call: Call, cause: int) -> None:
        """Hang up the agent leg of a dial that was not answered; a ringing device goes idle."""
        self._hangup(call.a2, cause)
        self._hangup(call.a1, cause)
        call.a1 = call.a2 = None
        for _, m in self._members_of(call.owner):
            if m.status == 6:
                m.status = 1
                self._member_ev("QueueMemberStatus", m)

    def _owner_done(self, call: Call) -> None:
        """The owner's call ended: the device is idle again (no queue statistics, no wrap-up)."""
        self.stats.completed += 1
        self._device_down(call.owner)

    def _device_up(self, iface: str) -> None:
        """A call of the device's own (not the queue's) starts: "in use" when it is the first."""
        self._device_use[iface] = self._device_use.get(iface, 0) + 1
        if self._device_use[iface] == 1:
            for _, m in self._members_of(iface):
                m.status = 2
                self._member_ev("QueueMemberStatus", m)

    def _device_down(self, iface: str) -> None:
        """... and ends: "not in use" when it was the last; the queues may offer it a call."""
        left = self._device_use.get(iface, 0) - 1
        if left > 0:
            self._device_use[iface] = left
            return
        self._device_use.pop(iface, None)
        for q, m in self._members_of(iface):
            m.status = 1
            self._member_ev("QueueMemberStatus", m)
            self._distribute(q)

    def _agent_no_answer(self, call: Call) -> None:
        call.t_agent = None
        m, q = call.member, call.queue
        ring = int(self.now() - call.ring_at)
        self.emit(
            _AGENT,
            event(
                "AgentRingNoAnswer",
                "agent",
                call.c1.block()
                + call.a1.dblock()
                + f"Queue: {q.name}\r\nInterface: {m.interface}\r\nMemberName: {m.name}\r\nRingTime: {ring}\r\n",
            ),
        )
        self._release_agent_leg(call, "NOANSWER", 19)
        call.phase = "queued"
        self._distribute(q)

    def _cancel_agent_ring(self, call: Call) -> None:
        if call.t_agent is not None:
            call.t_agent.cancel()
            call.t_agent = None
        self._release_agent_leg(call, "CANCEL", 0)
        call.phase = "queued"

    def _release_agent_leg(self, call: Call, status: str, cause: int) -> None:
        m = call.member
        self._dial_ev("DialEnd", call, call.a1, f"DialStatus: {status}\r\n", caller=call.c1)
        self._hangup(call.a2, cause)
        self._hangup(call.a1, cause)
        call.a1 = call.a2 = None
        call.member = None
        m.in_call = False
        self._device_status(m, 1)

    def _agent_answer(self, call: Call) -> None:
        call.t_agent = None
        m, q = call.member, call.queue
        if call.a2:
            self._newstate(call.a2, 6)
            call.a2.set(priority=2, app="Wait", appdata="4")
        # The device's "in use" and the queue's AgentConnect come from different threads: in
        # either order on a real PBX.  Deterministic mode keeps the recordings' usual order.
        status_first = self.scenario.deterministic or call.seq % 2 == 0
        if status_first:
            self._device_status(m, 2)  # published before the queue marks it in call
        else:
            m.status = 2
        m.in_call = True
        self._newstate(call.a1, 6)
        self._dial_ev("DialEnd", call, call.a1, "DialStatus: ANSWER\r\n", caller=call.c1)
        if call.t_queue is not None:
            call.t_queue.cancel()
            call.t_queue = None
        self._leave_queue(call)
        call.phase = "connected"
        call.connect_at = self.now()
        hold = int(call.connect_at - call.join_at)
        q.holdtime_total += call.connect_at - call.join_at
        self.emit(
            _AGENT,
            event(
                "AgentConnect",
                "agent",
                call.c1.block()
                + call.a1.dblock()
                + f"Queue: {q.name}\r\nInterface: {m.interface}\r\nMemberName: {m.name}\r\nHoldTime: {hold}\r\nRingTime: {int(call.connect_at - call.ring_at)}\r\n",
            ),
        )
        if not status_first:
            self._device_status(m, 2)
        self._bridged(call, m.interface)
        if (self.scenario.local_optimisation and _is_local(m.interface) and not m.interface.endswith("/n")
                and m.state_interface in ("", m.interface)):
            self._later(LOCAL_OPTIMISATION_DELAY, self._optimise, call, m)

    def _optimise(self, call: Call, m: Member) -> None:
        """The member's Local channel is optimised out of the bridge (recording 04): both halves
        hang up, the call goes on with the channel behind it, and the device state the queue
        follows — the Local channel's — reads "not in use"."""
        if call.phase != "connected" or call.member is not m:
            return
        m.in_call, m.optimised = False, True
        self._device_status(m, 1)

    def _bridged(self, call: Call, iface: str) -> None:
        """The called party and the agent talk; whoever hangs up first ends it."""
        call.phase = "connected"
        call.connect_at = call.connect_at or self.now()
        bridge = str(uuid.UUID(int=call.rng.getrandbits(128)))
        call.c1.set(bridge=bridge)
        call.a1.set(bridge=bridge)
        self.stats.connected += 1
        call.truth.connected = True
        call.truth.agent = iface
        self._record(call)
        talk = (
            DETERMINISTIC_AGENT_TALK
            if self.scenario.deterministic
            else self.scenario.agents.talk_time.sample(call.rng)
        )
        call.t_agent = self._later(talk, self._agent_hangup, call)
        if call.talk_time is not None:
            if call.t_party is not None:
                call.t_party.cancel()
            call.t_party = self._later(call.talk_time, self._party_hangup, call)

    def _record(self, call: Call) -> None:
        """``DIALER_RECORDING`` set: MixMonitor on the called party's channel once an agent
        takes the call (queues.conf ``monitor-format``, ``MONITOR_FILENAME``), as Asterisk does."""
        base = call.vars.get("DIALER_RECORDING", "").strip()
        if not base or call.recording:
            return
        write_recording(base)
        call.recording = base
        self._ev("MixMonitorStart", call.c1)

    def _stop_recording(self, call: Call) -> None:
        if call.recording and call.c1 is not None and call.c1.name in self.channels:
            self._ev("MixMonitorStop", call.c1)
        call.recording = ""

    def _complete(self, call: Call, reason: str) -> None:
        m, q = call.member, call.queue
        talk = self.now() - call.connect_at
        q.completed += 1
        q.talktime_total += talk
        self.stats.completed += 1
        talk_s = int(self.epoch()) - int(self.epoch0 + call.connect_at)
        self.emit(
            _AGENT,
            event(
                "AgentComplete",
                "agent",
                call.c1.block()
                + call.a1.dblock()
                + f"Queue: {q.name}\r\nInterface: {m.interface}\r\nMemberName: {m.name}\r\nHoldTime: {int(call.connect_at - call.join_at)}\r\nTalkTime: {talk_s}\r\nReason: {reason}\r\n",
            ),
        )

    def _member_done(self, call: Call) -> None:
        m, q = call.member, call.queue
        call.member = None
        stale = self.scenario.stale_in_use
        if stale > 0 and call.rng.random() < stale:  # Asterisk 22 now and then (issue 16 item 7)
            m.in_call = True
            self._device_status(m, 2)
        optimised, m.optimised = m.optimised, False
        m.in_call = False
        m.calls_taken += 1
        m.last_call = int(self.epoch())
        if not optimised:  # an optimised member already reads "not in use": nothing follows
            self._device_status(m, 1)
        if m.interface not in q.members:
            return
        wrap = m.wrapuptime or q.config.wrapuptime
        agents = self.scenario.agents
        if (
            not self.scenario.deterministic
            and agents.break_probability > 0
            and call.rng.random() < agents.break_probability
        ):
            m.on_break = True
            self._set_paused(q, m, True, agents.break_reason)
            m.timer = self._later(agents.break_time.sample(call.rng), self._break_over, q, m)
        elif wrap > 0:
            m.busy_until = self.now() + wrap
            m.timer = self._later(wrap, self._distribute, q)
        else:
            self._distribute(q)

    def _break_over(self, q: Queue, m: Member) -> None:
        m.timer = None
        m.on_break = False
        if (
            m.interface in q.members
            and m.paused
            and m.paused_reason == self.scenario.agents.break_reason
        ):
            self._set_paused(q, m, False, "")

    def _agent_hangup(self, call: Call) -> None:
        call.t_agent = None
        if call.phase != "connected":
            return
        if call.a2 is not None:
            call.a2.set(priority=3, app="Hangup", appdata="")
        self._hangup(call.a2, 16)
        if call.owner:
            self._hangup(call.a1, 16)
            self._owner_done(call)
        else:
            self._complete(call, "agent")
            self._hangup(call.a1, 16)
            self._member_done(call)
        self._end_call(call, [(call.c1, 16), (call.c2, 16)])

    # ------------------------------------------------------------ hangups
    def _party_hangup(self, call: Call) -> None:
        """The called party hangs up (``;2`` side for Local channels)."""
        call.t_party = None
        self._far_end_hangup(call, 16)

    def _far_end_hangup(self, call: Call, cause: int, *, by_client: bool = False) -> None:
        phase = call.phase
        if phase in ("done",):
            return
        if phase in ("queued", "ringing_agent"):
            if phase == "ringing_agent":
                self._cancel_agent_ring(call)
            self._abandon_ev(call)
            self._leave_queue(call)
            if not by_client:
                self.stats.caller_abandoned += 1
                call.truth.caller_abandoned = True
            call.truth.abandoned_in_queue = True
            self._end_call(
                call, [(call.c2, cause), (call.c1, cause)] if call.c2 else [(call.c1, cause)]
            )
        elif phase == "ringing_owner":  # the Dial is cancelled; no DialerDrop: the caller is gone
            if call.t_agent is not None:
                call.t_agent.cancel()
                call.t_agent = None
            self._dial_ev("DialEnd", call, call.a1, "DialStatus: CANCEL\r\n", caller=call.c1)
            self._owner_leg_down(call, 0)
            if not by_client:
                self.stats.caller_abandoned += 1
                call.truth.caller_abandoned = True
            call.truth.abandoned_in_queue = True
            self._end_call(
                call, [(call.c2, cause), (call.c1, cause)] if call.c2 else [(call.c1, cause)]
            )
        elif phase == "connected":
            first = call.c2 or call.c1
            self._hangup(first, cause)
            if not call.owner:
                self._complete(call, "caller")
            self._hangup(call.c1, cause)
            self._hangup(call.a1, 16)
            self._hangup(call.a2, 16)
            if call.owner:
                self._owner_done(call)
            else:
                self._member_done(call)
            self._end_call(call, [])
        else:
            self._end_call(
                call, [(call.c2, cause), (call.c1, cause)] if call.c2 else [(call.c1, cause)]
            )

    def _hangup_all(self, call: Call, cause: int) -> None:
        self._end_call(call, [(call.c1, cause), (call.c2, cause)])

    def _end_call(
        self, call: Call, hangups: list[tuple[Channel | None, int]], *, notify: bool = True
    ) -> None:
        self._stop_recording(call)
        for ch, cause in hangups:
            self._hangup(ch, cause)
        if notify:
            self._finish(call)

    def _finish(self, call: Call) -> None:
        if call.phase == "done":
            return
        call.phase = "done"
        for name in ("t_party", "t_dial", "t_queue", "t_agent"):
            h = getattr(call, name)
            if h is not None:
                h.cancel()
                setattr(call, name, None)
        for ch in call.channels():
            self.channels.pop(ch.name, None)
        if call.queue is not None and call in call.queue.callers:
            call.queue.callers.remove(call)
        self.calls.discard(call)
        call.truth.ended_at = self.now()
        note = (call.truth.agent if call.truth.connected
                else "abandoned" if call.truth.dropped or call.truth.abandoned_in_queue else "")
        if note and call.vars.get("DIALER_CALL_ID") and self.scenario.hangup_note:
            # The shipped dialplan's notes in AstDB: at hangup (``h``), the agent interface the
            # call reached (MEMBERINTERFACE, or the owner dialled for an owned callback); where
            # it drops a call (safe harbour) or the caller hangs up waiting in the queue, "abandoned".
            self.astdb[("dialer-calls", call.vars["DIALER_CALL_ID"])] = note
        if call.device and call.answered_at:
            self._device_down(call.device)

    def hangup_channel(self, name: str, cause: int = 16) -> bool:
        """The Hangup action: ``False`` if there is no such channel."""
        ch = self.channels.get(name)
        if ch is None:
            return False
        call = ch.call
        self.stats.hung_up_by_client += 1
        if call.phase == "dialing":
            if call.t_dial is not None:
                call.t_dial.cancel()
                call.t_dial = None
            if call.outcome in ("human", "machine", "no_answer"):
                self._dial_ev("DialEnd", call, call.c1, "DialStatus: CANCEL\r\n")
            self._end_call(call, [(call.c1, cause), (call.c2, cause)], notify=False)
            self._originate_response(call, False, 1, channel=call.dial)
            self._finish(call)
        elif ch is call.a1 or ch is call.a2:
            if call.phase == "connected":
                self._agent_hangup(call)
            elif call.phase == "ringing_owner":
                if call.t_agent is not None:
                    call.t_agent.cancel()
                self._owner_failed(call, "NOANSWER", cause)
            else:
                self._cancel_agent_ring(call)
                self._distribute(call.queue)
        else:
            self._far_end_hangup(call, cause, by_client=True)
        return True

    # ------------------------------------------------------------------ reset
    def reset(self, *, keep_members: bool = False) -> None:
        """A restart: calls in progress vanish (no events); members persist only if asked."""
        for call in list(self.calls):
            self.stats.vanished += 1
            call.phase = "vanished"
            for name in ("t_party", "t_dial", "t_queue", "t_agent"):
                h = getattr(call, name)
                if h is not None:
                    h.cancel()
            call.truth.ended_at = self.now()
        self.calls.clear()
        self.channels.clear()
        self._device_use.clear()
        for q in self.queues.values():
            q.callers.clear()
            for m in q.members.values():
                if m.timer is not None:
                    m.timer.cancel()
                m.in_call, m.status, m.busy_until, m.on_break, m.timer = False, 1, 0.0, False, None
                m.optimised = False
        if not keep_members:
            self._load_queues()
        self.started = self.epoch()
        self.shutting_down = False

    # --------------------------------------------------------------- queries
    def active_calls(self) -> int:
        return len(self.calls)


#: Seconds from AgentConnect to the Local channel optimisation (recording 04: 0.6 s).
LOCAL_OPTIMISATION_DELAY = 0.6

DETERMINISTIC_OUTCOMES = frozenset(o for o, _, _ in DETERMINISTIC.values())


def _is_local(interface: str) -> bool:
    return interface.lower().startswith("local/")


def _parse_callerid(value: str) -> tuple[str, str]:
    """``"Name" <num>`` -> (name, num), ``<unknown>`` where absent."""
    value = value.strip()
    if not value:
        return UNKNOWN, UNKNOWN
    if "<" in value and value.endswith(">"):
        name, _, num = value[:-1].rpartition("<")
        name = name.strip().strip('"').strip()
        return name or UNKNOWN, num.strip() or UNKNOWN
    if value.replace("+", "").isdigit():
        return UNKNOWN, value
    return value.strip('"'), UNKNOWN
