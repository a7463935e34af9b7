"""The times an agent may book a callback for: inside the lead's calling window (in every
candidate zone) and within the campaign's limits (in the future, at most
``limits.max_callback_days`` ahead).

Pure: the desktop's picker offers :func:`slots`; the server checks a time with
:func:`callback_problem` before it records the disposition.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from campaigns.windows import CallingWindow, is_open

#: The picker's step between two offered times.
STEP = timedelta(minutes=15)
#: How far ahead the picker offers times (the campaign's limit may be shorter).
PICKER_DAYS = 14


def _ceil(at: datetime, step: timedelta) -> datetime:
    seconds = step.total_seconds()
    stamp = at.timestamp()
    whole = -(-stamp // seconds) * seconds
    return datetime.fromtimestamp(whole, UTC)


def callback_problem(window: CallingWindow, zones: Sequence[str], region: str | None, at: datetime,
                     now: datetime, max_days: int) -> str | None:
    """Why ``at`` cannot be booked (``None``: it can)."""
    if at.tzinfo is None or at.utcoffset() is None:
        return "give a time zone offset"
    if at <= now:
        return "in the past"
    if at > now + timedelta(days=max_days):
        return f"more than {max_days} days ahead (the campaign's limit)"
    if not zones:
        return "the lead has no time zone: its calling window is unknown"
    if not is_open(window, zones, at, region):
        return f"outside the lead's calling window ({', '.join(zones)})"
    return None


def slots(window: CallingWindow, zones: Sequence[str], region: str | None, now: datetime, max_days: int,
          *, step: timedelta = STEP, days: int = PICKER_DAYS) -> list[datetime]:
    """Every ``step`` from ``now`` (rounded up) for ``days`` (or the campaign's limit, if
    shorter) at which a callback may be booked, in UTC."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(UTC)
    end = now + timedelta(days=min(days, max_days))
    out = []
    at = _ceil(now + timedelta(seconds=1), step)
    while at <= end:
        if callback_problem(window, zones, region, at, now, max_days) is None:
            out.append(at)
        at += step
    return out
