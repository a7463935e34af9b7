"""Small parsing helpers shared by the campaign definition modules.

A :class:`Problems` collector gathers every validation error with the dotted
path of the field it concerns, so that a loader can report all of them at once.
Durations are written ``"15m"``, ``"3h"``, ``"1d12h"``, ``"90s"`` (or a bare
number of seconds); clock times ``"HH:MM"`` (``"24:00"`` allowed as an end).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)", re.IGNORECASE)
_DURATION_FULL_RE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[wdhms]\s*)+$", re.IGNORECASE)
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_HHMM_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


class Invalid(ValueError):
    """A single value could not be parsed; the message says why."""


@dataclass
class Problems:
    """Collects ``"path: message"`` problems while a definition is validated."""

    items: list[str] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{path}: {message}" if path else message)

    def __bool__(self) -> bool:
        return bool(self.items)


def join(path: str, key: str | int) -> str:
    """The dotted path of ``key`` below ``path`` (``lists[0].name``)."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_keys(
    data: Mapping[str, Any], allowed: Iterable[str], path: str, problems: Problems
) -> None:
    """Report keys of ``data`` that are not in ``allowed`` (catches typos)."""
    allowed = set(allowed)
    for key in data:
        if key not in allowed:
            hint = ", ".join(sorted(allowed))
            problems.add(join(path, key), f"unknown field (expected one of: {hint})")


def parse_duration(value: Any) -> timedelta:
    """``"15m"``, ``"1d12h"``, ``"72h"`` or a number of seconds → timedelta (never negative)."""
    if isinstance(value, bool):
        raise Invalid(f"expected a duration like '15m' or '3h' (got {value!r})")
    if isinstance(value, int | float):
        if value < 0:
            raise Invalid(f"must not be negative (got {value})")
        return timedelta(seconds=value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", value):
        return timedelta(seconds=float(value))
    if isinstance(value, str) and _DURATION_FULL_RE.match(value):
        seconds = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION_RE.findall(value))
        return timedelta(seconds=seconds)
    raise Invalid(f"expected a duration like '15m', '3h' or '2d' (got {value!r})")


def format_duration(value: timedelta) -> str:
    """The shortest ``"1d12h"``-style text for a duration (inverse of :func:`parse_duration`)."""
    total = value.total_seconds()
    if total != int(total):
        return f"{total}s"
    seconds = int(total)
    if seconds == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_hhmm(value: Any, *, allow_24: bool = False) -> int:
    """``"08:30"`` → minutes since midnight (``"24:00"`` → 1440 when ``allow_24``)."""
    if not isinstance(value, str) or not (match := _HHMM_RE.match(value)):
        raise Invalid(f"expected a time like '08:00' (got {value!r})")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        raise Invalid(f"not a valid time of day (got {value!r})")
    return hours * 60 + minutes


def format_hhmm(minutes: int) -> str:
    """Minutes since midnight → ``"HH:MM"``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_ranges(value: Any) -> tuple[tuple[int, int], ...]:
    """Hour ranges: ``"10:00-13:00, 14:00-20:00"``, a list of such, or ``"closed"``/``""``.

    Returns sorted, non-overlapping ``(start, end)`` minute pairs with ``start < end``.
    """
    if isinstance(value, str):
        text = value.strip()
        items = [] if text.lower() in ("", "closed", "none") else text.split(",")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise Invalid(f"expected hours like '08:00-21:00' or 'closed' (got {value!r})")
    ranges: list[tuple[int, int]] = []
    for item in items:
        if not isinstance(item, str) or item.count("-") != 1:
            raise Invalid(f"expected a range like '08:00-21:00' (got {item!r})")
        start_text, end_text = item.split("-")
        start = parse_hhmm(start_text)
        end = parse_hhmm(end_text, allow_24=True)
        if end <= start:
            raise Invalid(
                f"range {item.strip()!r} ends before it starts (split ranges at midnight)"
            )
        ranges.append((start, end))
    ranges.sort()
    for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False):
        if start < end:
            raise Invalid(f"ranges overlap in {value!r}")
    return tuple(ranges)


def format_ranges(ranges: tuple[tuple[int, int], ...]) -> str:
    """Inverse of :func:`parse_ranges` (``"closed"`` when empty)."""
    if not ranges:
        return "closed"
    return ", ".join(f"{format_hhmm(s)}-{format_hhmm(e)}" for s, e in ranges)
