"""Typed AMI events: the frames a dialer acts on, as frozen dataclasses.

``parse_event(frame)`` turns a decoded frame (a :class:`~dialer.ami.codec.Frame`, a panoramisk
``Message`` or any ``Mapping``) into one of the classes below, or ``None`` for events a dialer
ignores (``Newexten``, ``VarSet``, ``DeviceStateChange``...).  Pure: no I/O, no clock.

Unique ids are normalised: Asterisk's ``<unknown>`` / empty become ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DIALER_EVENTS",
    "EVENT_MASK",
    "AgentCalled",
    "AgentComplete",
    "AgentConnect",
    "AgentDump",
    "AgentRingNoAnswer",
    "AmiEvent",
    "CoreShowChannel",
    "CoreShowChannelsComplete",
    "live_ids",
    "DialBegin",
    "DialEnd",
    "DialState",
    "DialerAnswered",
    "DialerDrop",
    "DialerMachine",
    "DialerOptOut",
    "FullyBooted",
    "LinkLost",
    "LinkUp",
    "Hangup",
    "Newchannel",
    "Newstate",
    "OriginateResponse",
    "PbxStopping",
    "QueueCallerAbandon",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueMember",
    "QueueMemberAdded",
    "QueueMemberEvent",
    "QueueMemberPause",
    "QueueMemberRemoved",
    "QueueMemberStatus",
    "QueueStatusComplete",
    "ReconcileFailed",
    "Reconciled",
    "Shutdown",
    "UserEvent",
    "is_shutting_down",
    "parse_event",
]

# Event classes (Asterisk "EventMask") a dialer needs: call (channels, dial, hangup, originate),
# agent (queues and members), user (UserEvent from the dialplan), system (FullyBooted, Shutdown).
# Leaves out "dialplan" (Newexten, VarSet: most of the traffic), cdr, cel, security, ...
EVENT_MASK = "call,agent,user,system"


def _get(frame: Mapping[str, Any], key: str, default: str = "") -> str:
    value = frame.get(key, default)
    if isinstance(value, list):  # panoramisk Message: repeated keys become lists
        value = value[0] if value else default
    return value if isinstance(value, str) else str(value)


def _uid(frame: Mapping[str, Any], key: str) -> str | None:
    value = _get(frame, key)
    return None if value in ("", "<unknown>") else value


def _int(frame: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    value = _get(frame, key)
    try:
        return int(value)
    except ValueError:
        return default


def _bool(frame: Mapping[str, Any], key: str) -> bool:
    return _get(frame, key).lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """Base class; ``name`` is the AMI event name."""

    name: str


@dataclass(frozen=True, slots=True)
class ChannelEvent(AmiEvent):
    uniqueid: str | None
    linkedid: str | None
    channel: str = ""
    channel_state: int | None = None


@dataclass(frozen=True, slots=True)
class Newchannel(ChannelEvent):
    context: str = ""
    exten: str = ""


@dataclass(frozen=True, slots=True)
class Newstate(ChannelEvent):
    pass


@dataclass(frozen=True, slots=True)
class Hangup(ChannelEvent):
    cause: int = 0
    cause_txt: str = ""


@dataclass(frozen=True, slots=True)
class DialEvent(ChannelEvent):
    """Dial progress.  For an Originate there is no calling channel: ``uniqueid`` is ``None``
    and the dialled channel is ``dest_uniqueid``."""

    dest_uniqueid: str | None = None
    dest_linkedid: str | None = None
    dest_channel: str = ""


@dataclass(frozen=True, slots=True)
class DialBegin(DialEvent):
    dial_string: str = ""


@dataclass(frozen=True, slots=True)
class DialState(DialEvent):
    dial_status: str = ""


@dataclass(frozen=True, slots=True)
class DialEnd(DialEvent):
    dial_status: str = ""


@dataclass(frozen=True, slots=True)
class OriginateResponse(AmiEvent):
    """Outcome of an async Originate.  ``reason``: 0 failed, 1 hung up, 3 no answer (timeout),
    4 answered, 5 busy, 8 congestion.  ``uniqueid`` is ``None`` when no channel was created."""

    action_id: str
    response: str
    reason: int
    uniqueid: str | None
    channel: str = ""

    @property
    def success(self) -> bool:
        return self.response == "Success"


@dataclass(frozen=True, slots=True)
class UserEvent(ChannelEvent):
    user_event: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    def header(self, key: str, default: str = "") -> str:
        for k, v in self.headers:
            if k == key:
                return v
        return default


@dataclass(frozen=True, slots=True)
class DialerAnswered(UserEvent):
    """Raised by the dialer's dialplan context when a called party answered."""


@dataclass(frozen=True, slots=True)
class DialerDrop(UserEvent):
    """No agent took the call in time: the safe-harbour message was played (abandoned)."""


@dataclass(frozen=True, slots=True)
class DialerMachine(UserEvent):
    """Answering-machine detection said machine."""


@dataclass(frozen=True, slots=True)
class DialerOptOut(UserEvent):
    """The called party pressed the opt-out key during the safe-harbour message: do not call
    again (the dialplan ends the call; the dialer records the revocation and the DNC entry)."""


@dataclass(frozen=True, slots=True)
class QueueCallerEvent(ChannelEvent):
    queue: str = ""
    position: int | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True)
class QueueCallerJoin(QueueCallerEvent):
    pass


@dataclass(frozen=True, slots=True)
class QueueCallerLeave(QueueCallerEvent):
    pass


@dataclass(frozen=True, slots=True)
class QueueCallerAbandon(QueueCallerEvent):
    hold_time: int | None = None
    original_position: int | None = None


@dataclass(frozen=True, slots=True)
class AgentEvent(ChannelEvent):
    """Queue ↔ agent events.  ``uniqueid`` is the queued caller's channel (the dialled party),
    ``dest_uniqueid`` the agent's channel, ``member_name``/``interface`` the queue member."""

    queue: str = ""
    interface: str = ""
    member_name: str = ""
    dest_uniqueid: str | None = None
    hold_time: int | None = None


@dataclass(frozen=True, slots=True)
class AgentCalled(AgentEvent):
    pass


@dataclass(frozen=True, slots=True)
class AgentConnect(AgentEvent):
    ring_time: int | None = None


@dataclass(frozen=True, slots=True)
class AgentComplete(AgentEvent):
    talk_time: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AgentRingNoAnswer(AgentEvent):
    ring_time: int | None = None


@dataclass(frozen=True, slots=True)
class AgentDump(AgentEvent):
    pass


@dataclass(frozen=True, slots=True)
class QueueMemberEvent(AmiEvent):
    """A queue member's state.  ``status`` is Asterisk's device state: 1 not in use, 2 in use,
    3 busy, 4 invalid, 5 unavailable, 6 ringing, 7 ring+in use, 8 on hold."""

    queue: str
    interface: str
    member_name: str = ""
    status: int | None = None
    paused: bool = False
    paused_reason: str = ""
    in_call: bool = False
    calls_taken: int | None = None
    action_id: str | None = None


@dataclass(frozen=True, slots=True)
class QueueMemberAdded(QueueMemberEvent):
    pass


@dataclass(frozen=True, slots=True)
class QueueMemberRemoved(QueueMemberEvent):
    pass


@dataclass(frozen=True, slots=True)
class QueueMemberStatus(QueueMemberEvent):
    pass


@dataclass(frozen=True, slots=True)
class QueueMemberPause(QueueMemberEvent):
    pass


@dataclass(frozen=True, slots=True)
class QueueMember(QueueMemberEvent):
    """One member in a ``QueueStatus`` list (uses ``Name``/``Location`` keys on the wire)."""


@dataclass(frozen=True, slots=True)
class QueueStatusComplete(AmiEvent):
    action_id: str | None = None
    list_items: int | None = None


@dataclass(frozen=True, slots=True)
class CoreShowChannel(ChannelEvent):
    action_id: str | None = None
    application: str = ""
    application_data: str = ""
    duration: str = ""
    bridge_id: str = ""


def live_ids(channels: Iterable[CoreShowChannel]) -> set[str]:
    """Unique ids and linked ids of live channels (what reconciliation matches on)."""
    return {x for c in channels for x in (c.uniqueid, c.linkedid) if x}


@dataclass(frozen=True, slots=True)
class CoreShowChannelsComplete(AmiEvent):
    action_id: str | None = None
    list_items: int | None = None


@dataclass(frozen=True, slots=True)
class FullyBooted(AmiEvent):
    status: str = ""


@dataclass(frozen=True, slots=True)
class Shutdown(AmiEvent):
    shutdown: str = ""
    restart: bool = False


# --------------------------------------------------------------------------------- parsing


def _chan(cls: type, name: str, f: Mapping[str, Any], **extra: Any) -> Any:
    return cls(
        name,
        _uid(f, "Uniqueid"),
        _uid(f, "Linkedid"),
        _get(f, "Channel"),
        _int(f, "ChannelState"),
        **extra,
    )


def _dial(cls: type, name: str, f: Mapping[str, Any], **extra: Any) -> Any:
    return _chan(
        cls,
        name,
        f,
        dest_uniqueid=_uid(f, "DestUniqueid"),
        dest_linkedid=_uid(f, "DestLinkedid"),
        dest_channel=_get(f, "DestChannel"),
        **extra,
    )


def _agent(cls: type, name: str, f: Mapping[str, Any], **extra: Any) -> Any:
    return _chan(
        cls,
        name,
        f,
        queue=_get(f, "Queue"),
        interface=_get(f, "Interface"),
        member_name=_get(f, "MemberName"),
        dest_uniqueid=_uid(f, "DestUniqueid"),
        hold_time=_int(f, "HoldTime"),
        **extra,
    )


def _member(cls: type, name: str, f: Mapping[str, Any]) -> Any:
    return cls(
        name,
        _get(f, "Queue"),
        _get(f, "Interface") or _get(f, "Location"),
        _get(f, "MemberName") or _get(f, "Name"),
        _int(f, "Status"),
        _bool(f, "Paused"),
        _get(f, "PausedReason"),
        _bool(f, "InCall"),
        _int(f, "CallsTaken"),
        _uid(f, "ActionID"),
    )


_USER_EVENTS: dict[str, type[UserEvent]] = {
    "DialerAnswered": DialerAnswered,
    "DialerDrop": DialerDrop,
    "DialerMachine": DialerMachine,
    "DialerOptOut": DialerOptOut,
}
# Headers every channel event carries; a UserEvent's own headers are the rest.
_CHANNEL_HEADERS = frozenset(
    [
        "Event",
        "Privilege",
        "Channel",
        "ChannelState",
        "ChannelStateDesc",
        "CallerIDNum",
        "CallerIDName",
        "ConnectedLineNum",
        "ConnectedLineName",
        "Language",
        "AccountCode",
        "Context",
        "Exten",
        "Priority",
        "Uniqueid",
        "Linkedid",
        "UserEvent",
    ]
)


def _items(f: Mapping[str, Any]) -> list[tuple[str, str]]:
    items_all = getattr(f, "items_all", None)
    if items_all is not None:
        return items_all()
    out: list[tuple[str, str]] = []
    for k, v in f.items():
        out.extend((k, x) for x in v) if isinstance(v, list) else out.append((k, str(v)))
    return out


def _user(name: str, f: Mapping[str, Any]) -> UserEvent:
    user_event = _get(f, "UserEvent")
    cls = _USER_EVENTS.get(user_event, UserEvent)
    headers = tuple((k, v) for k, v in _items(f) if k not in _CHANNEL_HEADERS)
    return _chan(cls, name, f, user_event=user_event, headers=headers)


_PARSERS: dict[str, Callable[[str, Mapping[str, Any]], AmiEvent]] = {
    "Newchannel": lambda n, f: _chan(
        Newchannel, n, f, context=_get(f, "Context"), exten=_get(f, "Exten")
    ),
    "Newstate": lambda n, f: _chan(Newstate, n, f),
    "Hangup": lambda n, f: _chan(
        Hangup, n, f, cause=_int(f, "Cause", 0), cause_txt=_get(f, "Cause-txt")
    ),
    "DialBegin": lambda n, f: _dial(DialBegin, n, f, dial_string=_get(f, "DialString")),
    "DialState": lambda n, f: _dial(DialState, n, f, dial_status=_get(f, "DialStatus")),
    "DialEnd": lambda n, f: _dial(DialEnd, n, f, dial_status=_get(f, "DialStatus")),
    "OriginateResponse": lambda n, f: OriginateResponse(
        n,
        _get(f, "ActionID"),
        _get(f, "Response"),
        _int(f, "Reason", 0) or 0,
        _uid(f, "Uniqueid"),
        _get(f, "Channel"),
    ),
    "UserEvent": _user,
    "QueueCallerJoin": lambda n, f: _chan(
        QueueCallerJoin,
        n,
        f,
        queue=_get(f, "Queue"),
        position=_int(f, "Position"),
        count=_int(f, "Count"),
    ),
    "QueueCallerLeave": lambda n, f: _chan(
        QueueCallerLeave,
        n,
        f,
        queue=_get(f, "Queue"),
        position=_int(f, "Position"),
        count=_int(f, "Count"),
    ),
    "QueueCallerAbandon": lambda n, f: _chan(
        QueueCallerAbandon,
        n,
        f,
        queue=_get(f, "Queue"),
        position=_int(f, "Position"),
        hold_time=_int(f, "HoldTime"),
        original_position=_int(f, "OriginalPosition"),
    ),
    "AgentCalled": lambda n, f: _agent(AgentCalled, n, f),
    "AgentConnect": lambda n, f: _agent(AgentConnect, n, f, ring_time=_int(f, "RingTime")),
    "AgentComplete": lambda n, f: _agent(
        AgentComplete, n, f, talk_time=_int(f, "TalkTime"), reason=_get(f, "Reason")
    ),
    "AgentRingNoAnswer": lambda n, f: _agent(
        AgentRingNoAnswer, n, f, ring_time=_int(f, "RingTime")
    ),
    "AgentDump": lambda n, f: _agent(AgentDump, n, f),
    "QueueMemberAdded": lambda n, f: _member(QueueMemberAdded, n, f),
    "QueueMemberRemoved": lambda n, f: _member(QueueMemberRemoved, n, f),
    "QueueMemberStatus": lambda n, f: _member(QueueMemberStatus, n, f),
    "QueueMemberPause": lambda n, f: _member(QueueMemberPause, n, f),
    "QueueMemberPaused": lambda n, f: _member(QueueMemberPause, n, f),  # Asterisk 12 name
    "QueueMember": lambda n, f: _member(QueueMember, n, f),
    "QueueStatusComplete": lambda n, f: QueueStatusComplete(
        n, _uid(f, "ActionID"), _int(f, "ListItems")
    ),
    "CoreShowChannel": lambda n, f: _chan(
        CoreShowChannel,
        n,
        f,
        action_id=_uid(f, "ActionID"),
        application=_get(f, "Application"),
        application_data=_get(f, "ApplicationData"),
        duration=_get(f, "Duration"),
        bridge_id=_get(f, "BridgeId"),
    ),
    "CoreShowChannelsComplete": lambda n, f: CoreShowChannelsComplete(
        n, _uid(f, "ActionID"), _int(f, "ListItems")
    ),
    "FullyBooted": lambda n, f: FullyBooted(n, _get(f, "Status")),
    "Shutdown": lambda n, f: Shutdown(
        n, _get(f, "Shutdown"), _get(f, "Restart").lower() in ("true", "yes", "1")
    ),
}

#: Event names the dialer acts on; everything else is dropped at the client.
DIALER_EVENTS: frozenset[str] = frozenset(_PARSERS)


def parse_event(frame: Mapping[str, Any]) -> AmiEvent | None:
    """The typed event for ``frame``, or ``None`` when it is not an event a dialer needs."""
    name = _get(frame, "Event")
    parser = _PARSERS.get(name)
    if parser is None:
        return None
    return parser(name, frame)


# ------------------------------------------------------------------ link notifications
# Not AMI events: what the client tells the core about the link itself, on the same channel
# as the events, so that their order relative to the events is kept.


#: What Asterisk answers to every action once a shutdown has begun (``core stop gracefully``).
SHUTTING_DOWN = "Asterisk is shutting down"


def is_shutting_down(message: str) -> bool:
    """An action's error ``message`` says the PBX is shutting down."""
    return SHUTTING_DOWN.lower() in message.lower()


@dataclass(frozen=True, slots=True)
class PbxStopping:
    """The PBX answers actions "Asterisk is shutting down" (``stopping``), or answers them
    again (its shutdown was aborted).  The link stays up: calls still live end on it, then the
    ``Shutdown`` event comes and the PBX closes the connection."""

    stopping: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LinkUp:
    """Logged in.  ``reconnected``: after a loss (a :class:`Reconciled` follows)."""

    reconnected: bool


@dataclass(frozen=True, slots=True)
class LinkLost:
    """The link dropped (or the watchdog declared it dead); events may have been missed.
    Attempts in flight are unknown until the next :class:`Reconciled`."""

    reason: str


@dataclass(frozen=True, slots=True)
class Reconciled:
    """``CoreShowChannels`` taken after re-login: the channels alive on the PBX."""

    channels: tuple[CoreShowChannel, ...]


@dataclass(frozen=True, slots=True)
class ReconcileFailed:
    """A reconciliation owed since the last re-login did not succeed (e.g. ``CoreShowChannels``
    answered too late).  The link is still up; the client tries again in ``retry_in`` seconds
    (its clock's), with backoff, until a :class:`Reconciled` or a :class:`LinkLost` follows."""

    reason: str
    attempt: int
    retry_in: float
