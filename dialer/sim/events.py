"""Frame builders with exactly the field sets (and order) of the recorded Asterisk traffic.

Frames are built as ``str`` (``\\r\\n`` line ends, blank-line terminated) straight from cached
per-channel header blocks, so that thousands of events per second stay cheap.
"""

from __future__ import annotations

from collections.abc import Iterable

STATE_DESC = {
    0: "Down",
    1: "Rsrvd",
    2: "OffHook",
    3: "Dialing",
    4: "Ring",
    5: "Ringing",
    6: "Up",
    7: "Busy",
    8: "Dialing Offhook",
    9: "Pre-ring",
}

CAUSE_TXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    26: "Answered elsewhere",
    34: "Circuit/channel congestion",
    38: "Network out of order",
}

# event class (manager.conf "read" permission) -> bit
CLASS_BITS = {
    "system": 1,
    "call": 2,
    "agent": 4,
    "user": 8,
    "dialplan": 16,
    "command": 32,
    "reporting": 64,
}
ALL_CLASSES = sum(CLASS_BITS.values())


def event(name: str, cls: str, body: str) -> str:
    """``Event``/``Privilege`` header + an already formatted body of ``Key: Value\\r\\n`` lines."""
    return f"Event: {name}\r\nPrivilege: {cls},all\r\n{body}\r\n"


def lines(pairs: Iterable[tuple[str, object]]) -> str:
    return "".join(f"{k}: {v}\r\n" for k, v in pairs)


def response(action_id: str | None, status: str, pairs: Iterable[tuple[str, object]] = ()) -> str:
    head = f"Response: {status}\r\n"
    if action_id is not None:
        head += f"ActionID: {action_id}\r\n"
    return head + lines(pairs) + "\r\n"


def list_event(
    name: str, action_id: str | None, pairs: Iterable[tuple[str, object]], *, id_last: bool
) -> str:
    """An EventList item: ``ActionID`` goes right after ``Event`` or last, as Asterisk does per event."""
    aid = "" if action_id is None else f"ActionID: {action_id}\r\n"
    if id_last:
        return f"Event: {name}\r\n{lines(pairs)}{aid}\r\n"
    return f"Event: {name}\r\n{aid}{lines(pairs)}\r\n"


def list_complete(name: str, action_id: str | None, count: int) -> str:
    aid = "" if action_id is None else f"ActionID: {action_id}\r\n"
    return f"Event: {name}\r\n{aid}EventList: Complete\r\nListItems: {count}\r\n\r\n"


def parse_mask(value: str) -> int | None:
    """An ``Events``/``EventMask`` value -> class bits; ``None`` if it is not understood."""
    v = value.strip().lower()
    if v in ("on", "yes", "true", "1", "all"):
        return ALL_CLASSES
    if v in ("off", "no", "false", "0", "none", ""):
        return 0
    bits = 0
    for part in v.split(","):
        part = part.strip()
        if part == "all":
            bits |= ALL_CLASSES
        elif part in CLASS_BITS:
            bits |= CLASS_BITS[part]
        elif part:
            return None
    return bits
