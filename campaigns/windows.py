"""Calling windows: when a called party may be rung, in their own local time.

A :class:`CallingWindow` gives allowed hours per weekday (default 08:00–21:00
every day), holidays, and per-region overrides keyed by a country (``"FR"``)
or a US state / subdivision (``"US-CA"``). A lead may be called only when the
window is open in *every* one of its candidate time zones. Wall-clock checks
go through :mod:`zoneinfo`, so daylight-saving changes are handled.

Which hours apply to a lead, most specific first: the override for its region
(``"US-CA"``), the override for the region's country (``"US"``), the override
for the country a zone belongs to (``Europe/Paris`` → ``"FR"``, from the tz
database's ``zone.tab``; switch off with ``infer_country = false``), then the
campaign's hours. A region's days not given in its override inherit the
campaign's hours; its holidays add to the campaign's.

A window may also name a public-holiday *calendar* (``holiday_calendar``, set by a
jurisdiction's rule pack, see :mod:`campaigns.packs`): ``"FR"`` closes on France's national
public holidays; ``"DE/*"`` on the holidays of the lead's own subdivision (``"DE-BY"``: Bavaria's)
and, when the lead's subdivision is unknown, on those of every subdivision (the safe side);
``"US/AL"`` on Alabama's. Dates come from the ``holidays`` package in the lead's local calendar.

All functions are pure; times are aware datetimes (UTC recommended).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from campaigns.parsing import Invalid, Problems, check_keys, format_ranges, join, parse_ranges

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS: tuple[tuple[int, int], ...] = ((8 * 60, 21 * 60),)
DEFAULT_HORIZON = timedelta(days=14)

Ranges = tuple[tuple[int, int], ...]
Week = tuple[Ranges, Ranges, Ranges, Ranges, Ranges, Ranges, Ranges]

_REGION_RE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
_DAY_GROUPS = {"hours": range(7), "weekdays": range(5), "weekend": range(5, 7)}


@dataclass(frozen=True)
class RegionHours:
    """An override for one region: its full week and its extra holidays."""

    region: str
    days: Week
    holidays: frozenset[date] = frozenset()
    holiday_calendar: str | None = None  # see the module docstring; None: the campaign's


@dataclass(frozen=True)
class CallingWindow:
    """Allowed local hours per weekday (Monday first), holidays and region overrides."""

    days: Week = (DEFAULT_HOURS,) * 7  # type: ignore[assignment]
    holidays: frozenset[date] = frozenset()
    regions: tuple[RegionHours, ...] = ()
    infer_country: bool = True
    holiday_calendar: str | None = None  # public holidays of a calendar, see the module docstring
    _lookup: dict = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def hours_for(self, region: str | None, zone: str) -> tuple[Week, frozenset[date]]:
        """The week and holidays that apply to a lead of ``region`` in ``zone``."""
        key = (region, zone)
        found = self._lookup.get(key)
        if found is None:
            found = self._resolve(region, zone)
            self._lookup[key] = found
        return found

    def _resolve(self, region: str | None, zone: str) -> tuple[Week, frozenset[date]]:
        by_region = {r.region: r for r in self.regions}
        candidates: list[str] = []
        if region:
            region = region.upper()
            candidates += [region, region.split("-")[0]]
        if self.infer_country and (country := zone_country(zone)):
            candidates.append(country)
        for name in candidates:
            if name in by_region:
                override = by_region[name]
                return override.days, self.holidays | override.holidays
        return self.days, self.holidays

    def calendar_for(self, region: str | None, zone: str) -> str | None:
        """The holiday calendar that applies to a lead of ``region`` in ``zone`` (or None)."""
        key = ("calendar", region, zone)
        if key not in self._lookup:
            found = self.holiday_calendar
            by_region = {r.region: r for r in self.regions}
            names = [region.upper(), region.upper().split("-")[0]] if region else []
            if self.infer_country and (country := zone_country(zone)):
                names.append(country)
            for name in names:
                if name in by_region:
                    found = by_region[name].holiday_calendar or found
                    break
            self._lookup[key] = found
        return self._lookup[key]

    def closed_on(self, region: str | None, zone: str, day: date) -> bool:
        """True when ``day`` (the lead's local date) is a holiday for this lead."""
        _, holidays = self.hours_for(region, zone)
        if day in holidays:
            return True
        calendar = self.calendar_for(region, zone)
        return calendar is not None and is_public_holiday(calendar, region, day)


DEFAULT_WINDOW = CallingWindow()


# --- time zones -------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def get_zone(name: str) -> tzinfo:
    """The :class:`ZoneInfo` for an IANA name; ``ValueError`` when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


@functools.lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    try:
        text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - tzdata is a dependency
        return {}
    table: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) >= 3:
                table[parts[2]] = parts[0]
    return table


def zone_country(zone: str) -> str | None:
    """The ISO country code a canonical IANA zone belongs to (``"Europe/Paris"`` → ``"FR"``)."""
    return _zone_countries().get(zone)


def region_code(country: str | None, subdivision: str | None = None) -> str | None:
    """``("US", "CA")`` → ``"US-CA"``; ``("FR", None)`` → ``"FR"``; no country → ``None``."""
    if not country:
        return None
    country = country.strip().upper()
    if subdivision and subdivision.strip():
        return f"{country}-{subdivision.strip().upper()}"
    return country


# --- public holidays -----------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _holiday_set(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    import holidays as holidays_lib  # imported on first use: loading every country costs time

    try:
        found = holidays_lib.country_holidays(country, subdiv=subdivision, years=year)
    except (NotImplementedError, KeyError):  # an unknown country or subdivision
        return frozenset()
    return frozenset(found)


@functools.lru_cache(maxsize=64)
def _subdivisions(country: str) -> tuple[str, ...]:
    import holidays as holidays_lib

    try:
        return tuple(holidays_lib.country_holidays(country).subdivisions)
    except (NotImplementedError, KeyError):
        return ()


def is_public_holiday(calendar: str, region: str | None, day: date) -> bool:
    """Whether ``day`` is a public holiday in ``calendar`` for a lead of ``region``.

    ``"FR"``: national holidays; ``"US/AL"``: one subdivision's; ``"DE/*"``: the lead's own
    subdivision when ``region`` names one of the country (``"DE-BY"``), else every subdivision's.
    """
    country, _, sub = calendar.partition("/")
    if not sub:
        return day in _holiday_set(country, None, day.year)
    if sub != "*":
        return day in _holiday_set(country, sub, day.year)
    lead_sub = None
    if region and region.upper().startswith(country + "-"):
        lead_sub = region.upper().split("-", 1)[1]
    subs = _subdivisions(country)
    if lead_sub in subs:
        return day in _holiday_set(country, lead_sub, day.year)
    return day in _holiday_set(country, None, day.year) or any(
        day in _holiday_set(country, s, day.year) for s in subs
    )


# --- checks ------------------------------------------------------------------------------


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected an aware datetime (got naive {at.isoformat()})")


def _open_in(window: CallingWindow, region: str | None, zone: str, at: datetime) -> bool:
    days, _ = window.hours_for(region, zone)
    local = at.astimezone(get_zone(zone))
    if window.closed_on(region, zone, local.date()):
        return False
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in days[local.weekday()])


def is_open(
    window: CallingWindow, zones: Iterable[str], at: datetime, region: str | None = None
) -> bool:
    """True when the window is open at ``at`` in every candidate zone (never for no zone)."""
    _require_aware(at)
    zones = list(zones)
    return bool(zones) and all(_open_in(window, region, zone, at) for zone in zones)


def open_zones(
    window: CallingWindow, zones: Iterable[str], at: datetime, region: str | None = None
) -> frozenset[str]:
    """The zones among ``zones`` in which the window is open at ``at``.

    For the lead claim: a lead is callable when all its candidate zones are in
    the result (for the lead's region; call once per distinct region that has
    an override). The set can only change on a whole local minute or a UTC
    offset change, so recomputing it once a minute is enough.
    """
    _require_aware(at)
    return frozenset(zone for zone in set(zones) if _open_in(window, region, zone, at))


def next_open(
    window: CallingWindow,
    zones: Iterable[str],
    after: datetime,
    region: str | None = None,
    within: timedelta = DEFAULT_HORIZON,
) -> datetime | None:
    """The earliest moment ≥ ``after`` when the window is open in every zone.

    Returns ``None`` when there is none within ``within`` of ``after`` (or no zone).
    The result is in UTC.
    """
    _require_aware(after)
    zones = sorted(set(zones))
    if not zones:
        return None
    limit = after + within
    t = after.astimezone(UTC)
    while t <= limit:
        closed = next((z for z in zones if not _open_in(window, region, z, t)), None)
        if closed is None:
            return t
        nxt = _next_open_one(window, region, closed, t, limit)
        if nxt is None:
            return None
        t = nxt
    return None


def _offset(zone: tzinfo, at: datetime) -> timedelta | None:
    return at.astimezone(zone).utcoffset()


def _transition(zone: tzinfo, lo: datetime, hi: datetime) -> datetime | None:
    """The instant in ``(lo, hi]`` where the zone's UTC offset changes, if it does."""
    before = _offset(zone, lo)
    if before == _offset(zone, hi):
        return None
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + timedelta(seconds=1)
        if _offset(zone, mid) == before:
            lo = mid
        else:
            hi = mid
    return hi


def _next_open_one(
    window: CallingWindow, region: str | None, zone_name: str, t: datetime, limit: datetime
) -> datetime | None:
    """Earliest instant ≥ ``t`` (≤ ``limit``) when the window opens in one zone.

    The open state only changes when the wall clock reaches a range start on
    some date (either fold of an ambiguous time) or at an offset transition, so
    those instants are the only candidates; each is checked with the same test
    as :func:`is_open`.
    """
    zone = get_zone(zone_name)
    days, _ = window.hours_for(region, zone_name)
    day = t.astimezone(zone).date() - timedelta(days=1)
    last_day = limit.astimezone(zone).date() + timedelta(days=1)
    best: datetime | None = None
    found_on: date | None = None
    while day <= last_day and (found_on is None or day <= found_on + timedelta(days=1)):
        candidates: list[datetime] = []
        if not window.closed_on(region, zone_name, day):
            for start, _ in days[day.weekday()]:
                naive = datetime.combine(day, time(start // 60, start % 60))
                for fold in (0, 1):
                    candidates.append(naive.replace(tzinfo=zone, fold=fold).astimezone(UTC))
        midnight = datetime.combine(day, time(0)).replace(tzinfo=zone).astimezone(UTC)
        change = _transition(zone, midnight - timedelta(hours=3), midnight + timedelta(hours=27))
        if change is not None:
            candidates.append(change)
        for cand in candidates:
            if (
                t <= cand <= limit
                and (best is None or cand < best)
                and _open_in(window, region, zone_name, cand)
            ):
                best = cand
                found_on = found_on or day
        day += timedelta(days=1)
    return best


# --- parsing -----------------------------------------------------------------------------


def _parse_holidays(value: Any, path: str, problems: Problems) -> frozenset[date]:
    if not isinstance(value, list):
        problems.add(path, f"expected a list of dates like '2026-12-25' (got {value!r})")
        return frozenset()
    out: set[date] = set()
    for i, item in enumerate(value):
        if isinstance(item, datetime):
            problems.add(join(path, i), f"expected a date, not a date-time (got {item})")
        elif isinstance(item, date):
            out.add(item)
        else:
            try:
                out.add(date.fromisoformat(str(item)))
            except ValueError:
                problems.add(join(path, i), f"expected a date like '2026-12-25' (got {item!r})")
    return frozenset(out)


def _parse_week(data: Mapping[str, Any], base: Week, path: str, problems: Problems) -> Week:
    days = list(base)
    for key in ("hours", "weekdays", "weekend", *WEEKDAYS):
        if key not in data:
            continue
        try:
            ranges = parse_ranges(data[key])
        except Invalid as exc:
            problems.add(join(path, key), str(exc))
            continue
        indexes = _DAY_GROUPS.get(key) or [WEEKDAYS.index(key)]
        for index in indexes:
            days[index] = ranges
    return tuple(days)  # type: ignore[return-value]


def parse_window(data: Any, path: str, problems: Problems) -> CallingWindow:
    """Build a window from its TOML table (see the module docstring for the keys)."""
    if data is None:
        return DEFAULT_WINDOW
    if not isinstance(data, Mapping):
        problems.add(path, "expected a table")
        return DEFAULT_WINDOW
    day_keys = ("hours", "weekdays", "weekend", *WEEKDAYS)
    check_keys(data, (*day_keys, "holidays", "regions", "infer_country", "holiday_calendar"), path, problems)
    days = _parse_week(data, DEFAULT_WINDOW.days, path, problems)
    holidays = _parse_holidays(data.get("holidays", []), join(path, "holidays"), problems)
    infer = data.get("infer_country", True)
    if not isinstance(infer, bool):
        problems.add(join(path, "infer_country"), f"expected true or false (got {infer!r})")
        infer = True
    regions: list[RegionHours] = []
    raw_regions = data.get("regions", {})
    if not isinstance(raw_regions, Mapping):
        problems.add(join(path, "regions"), "expected a table of regions")
        raw_regions = {}
    for name, spec in raw_regions.items():
        rpath = join(join(path, "regions"), name)
        if not _REGION_RE.match(str(name)):
            problems.add(rpath, "region must be a country code like 'FR' or 'US-CA'")
            continue
        if not isinstance(spec, Mapping):
            problems.add(rpath, "expected a table")
            continue
        check_keys(spec, (*day_keys, "holidays", "holiday_calendar"), rpath, problems)
        rdays = _parse_week(spec, days, rpath, problems)
        rhol = _parse_holidays(spec.get("holidays", []), join(rpath, "holidays"), problems)
        rcal = _parse_calendar(spec.get("holiday_calendar"), join(rpath, "holiday_calendar"), problems)
        regions.append(RegionHours(str(name), rdays, rhol, rcal))
    calendar = _parse_calendar(data.get("holiday_calendar"), join(path, "holiday_calendar"), problems)
    return CallingWindow(days, holidays, tuple(regions), infer, calendar)


_CALENDAR_RE = re.compile(r"^[A-Z]{2}(/([A-Z0-9]{1,3}|\*))?$")


def _parse_calendar(value: Any, path: str, problems: Problems) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _CALENDAR_RE.match(value):
        problems.add(path, f"expected a calendar like 'FR', 'US/AL' or 'DE/*' (got {value!r})")
        return None
    return value


def _week_data(days: Week) -> dict[str, str]:
    return {name: format_ranges(ranges) for name, ranges in zip(WEEKDAYS, days, strict=True)}


def window_to_data(window: CallingWindow) -> dict[str, Any]:
    """Plain (JSON-safe) data that :func:`parse_window` turns back into the same window."""
    data: dict[str, Any] = {
        **_week_data(window.days),
        "holidays": sorted(d.isoformat() for d in window.holidays),
        "infer_country": window.infer_country,
        "regions": {
            r.region: {**_week_data(r.days), "holidays": sorted(d.isoformat() for d in r.holidays)}
            | ({"holiday_calendar": r.holiday_calendar} if r.holiday_calendar else {})
            for r in window.regions
        },
    }
    if window.holiday_calendar:
        data["holiday_calendar"] = window.holiday_calendar
    return data
