"""Compliance rule packs: the law of a jurisdiction as versioned data (``campaigns/packs/*.toml``).

A pack names its source texts, effective date and version, and gives what a dialer must obey
there: calling hours per weekday and public-holiday bans (``[window]``), frequency caps and
re-call gaps (``[limits]``), the abandon limit and its definition (``[abandon]``), the minimum
ring time (``[dial]``), whether prior consent is required and from when (``[consent]``),
how fast a do-not-call request is honoured (``[dnc]``), and how long records must be kept
(``[records]``: an internal do-not-call request, consent evidence, call records; :class:`Records`).  A section with ``verified = false``
holds figures not checked against the regulator's text (``docs/compliance.md`` lists them).

A campaign chooses one with ``jurisdiction = "US-FL"``: the pack and the packs it ``extends``
(``US-FL`` → ``US``) are *applied* to the definition (:func:`apply_packs`): every window is cut
to the pack's hours, every gap raised to the pack's, the pack's caps added, the abandon target
lowered to the pack's limit — a campaign may tighten a pack, never loosen it, except by an
explicit ``[compliance] override`` with a reason, which is logged.  A US campaign also carries
every US state pack as a region override, so a lead's state (its ``state`` column, or its
number's area code: :func:`us_state_of`) decides, and the stricter one when they disagree.
Everything here is pure; the data files are read once from the package.
"""

from __future__ import annotations

import functools
import logging
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any

from campaigns.parsing import Invalid, parse_duration, parse_ranges
from campaigns.windows import WEEKDAYS, CallingWindow, Ranges, RegionHours, Week
from dialer.vocabulary import US_STATE_NAMES

log = logging.getLogger("dialer.compliance")

_DAY_GROUPS = {"hours": range(7), "weekdays": range(5), "weekend": range(5, 7)}
ALL_DAY: Ranges = ((0, 24 * 60),)
OVERRIDABLE = ("window", "caps", "gap_after_abandoned", "gap_after_machine", "gap_after_refusal",
               "abandon", "consent")


class PackError(ValueError):
    """A rule pack file is invalid (a packaging error: the message names file and field)."""


@dataclass(frozen=True)
class Cap:
    calls: int
    days: int


#: A record kept for ever (``"forever"`` in a pack).
FOREVER = math.inf
RECORD_KINDS = ("dnc_request", "consent", "calls")


@dataclass(frozen=True)
class Records:
    """How long records must be kept, in years: ``dnc_request`` — an internal do-not-call
    request is honoured (and its record kept); ``consent`` — consent evidence; ``calls`` — call
    records.  :data:`FOREVER`: for ever; None: the pack states no period."""

    dnc_request: float | None = None
    consent: float | None = None
    calls: float | None = None
    sources: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, str | None]:
        return {k: years_text(getattr(self, k)) for k in RECORD_KINDS}


def years_text(years: float | None) -> str | None:
    """``5`` → ``"5y"``, :data:`FOREVER` → ``"forever"``, None → None."""
    if years is None:
        return None
    return "forever" if years == FOREVER else f"{years:g}y"


@dataclass(frozen=True)
class RulePack:
    id: str
    name: str
    version: str
    effective: date
    sources: tuple[str, ...]
    extends: str | None = None
    country: str = ""
    days: Week | None = None  # local hours per weekday; None: no hours rule
    holiday_calendar: str | None = None
    caps: tuple[Cap, ...] = ()
    gap_after_abandoned: timedelta | None = None
    gap_after_machine: timedelta | None = None
    gap_after_refusal: timedelta | None = None
    abandon_max: float | None = None
    abandon_period: str = "30d"  # "30d" (rolling) or "day" (calendar day)
    amd_false_positives: bool = False
    abandon_seconds: int = 2
    min_ring: int | None = None
    consent_required: bool = False
    consent_from: date | None = None
    consent_prerecorded: bool = False
    dnc_honour_days: int | None = None
    records: Records = Records()
    unverified: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

    def consent_required_at(self, at: datetime | date) -> bool:
        day = at.date() if isinstance(at, datetime) else at
        return self.consent_required and (self.consent_from is None or day >= self.consent_from)


def _week(data: Mapping[str, Any], where: str) -> Week | None:
    keys = [k for k in ("hours", "weekdays", "weekend", *WEEKDAYS) if k in data]
    if not keys:
        return None
    days: list[Ranges] = [ALL_DAY] * 7
    for key in keys:
        try:
            ranges = parse_ranges(data[key])
        except Invalid as exc:
            raise PackError(f"{where}.{key}: {exc}") from None
        for index in _DAY_GROUPS.get(key) or [WEEKDAYS.index(key)]:
            days[index] = ranges
    return tuple(days)  # type: ignore[return-value]


def _duration(data: Mapping[str, Any], key: str, where: str) -> timedelta | None:
    if key not in data:
        return None
    try:
        return parse_duration(data[key])
    except Invalid as exc:
        raise PackError(f"{where}.{key}: {exc}") from None


def _years(data: Mapping[str, Any], key: str, where: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if value == "forever":
        return FOREVER
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise PackError(f"{where}.{key}: expected a number of years or \"forever\" (got {value!r})")
    return float(value)


def _records(data: Mapping[str, Any], source: str) -> Records:
    where = f"{source}: records"
    unknown = set(data) - {"verified", "sources", "note", *(f"{k}_years" for k in RECORD_KINDS)}
    if unknown:
        raise PackError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return Records(_years(data, "dnc_request_years", where), _years(data, "consent_years", where),
                   _years(data, "calls_years", where), tuple(data.get("sources", ())))


def parse_pack(data: Mapping[str, Any], source: str) -> RulePack:
    """A pack from its TOML document; :class:`PackError` names the file and field."""
    try:
        window = data.get("window", {})
        limits = data.get("limits", {})
        abandon = data.get("abandon", {})
        dial = data.get("dial", {})
        consent = data.get("consent", {})
        dnc = data.get("dnc", {})
        unverified = tuple(
            section for section in ("window", "limits", "abandon", "dial", "consent", "dnc", "records")
            if isinstance(data.get(section), Mapping) and data[section].get("verified") is False
        )
        pack_id = str(data["id"])
        effective = data["effective"]
        if not isinstance(effective, date):
            raise PackError(f"{source}: effective: expected a date (got {effective!r})")
        return RulePack(
            id=pack_id, name=str(data["name"]), version=str(data["version"]), effective=effective,
            sources=tuple(data.get("sources", ())), extends=data.get("extends"),
            country=str(data.get("country", pack_id.split("-")[0])),
            days=_week(window, f"{source}: window"), holiday_calendar=window.get("holidays"),
            caps=tuple(Cap(int(c["calls"]), int(c["days"])) for c in limits.get("caps", ())),
            gap_after_abandoned=_duration(limits, "gap_after_abandoned", f"{source}: limits"),
            gap_after_machine=_duration(limits, "gap_after_machine", f"{source}: limits"),
            gap_after_refusal=_duration(limits, "gap_after_refusal", f"{source}: limits"),
            abandon_max=abandon.get("max_rate"), abandon_period=abandon.get("period", "30d"),
            amd_false_positives=bool(abandon.get("amd_false_positives", False)),
            abandon_seconds=int(abandon.get("seconds", 2)), min_ring=dial.get("min_ring"),
            consent_required=bool(consent.get("required", False)), consent_from=consent.get("from"),
            consent_prerecorded=bool(consent.get("prerecorded", False)),
            dnc_honour_days=dnc.get("honour_days"), records=_records(data.get("records", {}), source),
            unverified=unverified,
        )
    except KeyError as exc:
        raise PackError(f"{source}: {exc.args[0]}: required") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, PackError):
            raise
        raise PackError(f"{source}: {exc}") from None


@functools.lru_cache(maxsize=1)
def all_packs() -> dict[str, RulePack]:
    """Every pack shipped in the package, by id."""
    out: dict[str, RulePack] = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            pack = parse_pack(tomllib.loads(entry.read_text("utf-8")), f"packs/{entry.name}")
            if pack.id != entry.name.removesuffix(".toml"):
                raise PackError(f"packs/{entry.name}: id {pack.id!r} does not match the file name")
            out[pack.id] = pack
    return out


def get_pack(jurisdiction: str) -> RulePack | None:
    return all_packs().get(jurisdiction.upper())


def chain(jurisdiction: str) -> tuple[RulePack, ...]:
    """The pack and those it extends, the most general first (``US-FL`` → ``(US, US-FL)``)."""
    packs: list[RulePack] = []
    pack = get_pack(jurisdiction)
    while pack is not None and pack not in packs:
        packs.insert(0, pack)
        pack = get_pack(pack.extends) if pack.extends else None
    return tuple(packs)


def state_packs(country: str) -> tuple[RulePack, ...]:
    """The packs of a country's subdivisions (``US`` → ``US-FL``, ``US-OK``, ...)."""
    return tuple(p for k, p in sorted(all_packs().items()) if k.startswith(country + "-"))


# --- applying packs to windows and limits ---------------------------------------------------------


def _cut(a: Ranges, b: Ranges) -> Ranges:
    """The intersection of two sorted, non-overlapping range lists."""
    out = []
    for s1, e1 in a:
        for s2, e2 in b:
            s, e = max(s1, s2), min(e1, e2)
            if s < e:
                out.append((s, e))
    return tuple(sorted(out))


def cut_week(a: Week, b: Week | None) -> Week:
    if b is None:
        return a
    return tuple(_cut(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _stricter_calendar(own: str | None, pack: str | None) -> str | None:
    return pack or own  # a pack's calendar is never weaker than none; two would be rare


def apply_to_window(window: CallingWindow, packs: Iterable[RulePack], country: str,
                    states: Iterable[RulePack] = ()) -> CallingWindow:
    """``window`` cut to every pack's hours and holidays; a region override per state pack.

    Idempotent: applying the same packs twice gives the same window.
    """
    packs = tuple(packs)
    days, calendar = window.days, window.holiday_calendar
    for pack in packs:
        days = cut_week(days, pack.days)
        calendar = _stricter_calendar(calendar, pack.holiday_calendar)
    regions: dict[str, RegionHours] = {}
    for r in window.regions:
        rdays, rcal = r.days, r.holiday_calendar
        for pack in packs:
            rdays = cut_week(rdays, pack.days)
            if r.region == country or r.region.startswith(country + "-"):
                rcal = _stricter_calendar(rcal, pack.holiday_calendar)
        regions[r.region] = RegionHours(r.region, rdays, r.holidays, rcal)
    for state in states:
        base = regions.get(state.id) or RegionHours(state.id, days, frozenset(), None)
        regions[state.id] = RegionHours(
            state.id, cut_week(base.days, state.days), base.holidays,
            _stricter_calendar(base.holiday_calendar or calendar, state.holiday_calendar),
        )
    return replace(window, days=days, holiday_calendar=calendar,
                   regions=tuple(sorted(regions.values(), key=lambda r: r.region)))


def pack_caps(packs: Iterable[RulePack]) -> tuple[Cap, ...]:
    caps = {c for p in packs for c in p.caps}
    return tuple(sorted(caps, key=lambda c: (c.days, c.calls)))


def max_gap(own: timedelta, packs: Iterable[RulePack], name: str) -> timedelta:
    gaps = [g for p in packs if (g := getattr(p, name)) is not None]
    return max([own, *gaps])


def abandon_limit(packs: Iterable[RulePack]) -> float | None:
    limits = [p.abandon_max for p in packs if p.abandon_max is not None]
    return min(limits) if limits else None


def consent_required(packs: Iterable[RulePack], at: datetime | date, prerecorded: bool = False) -> bool:
    return any(p.consent_required_at(at) or (prerecorded and p.consent_prerecorded) for p in packs)


# --- records kept --------------------------------------------------------------------------------


def records_required(packs: Iterable[RulePack]) -> Records:
    """The longest period of each kind among ``packs`` (None where none states one)."""
    packs = tuple(packs)

    def longest(kind: str) -> float | None:
        stated = [y for p in packs if (y := getattr(p.records, kind)) is not None]
        return max(stated) if stated else None

    return Records(longest("dnc_request"), longest("consent"), longest("calls"),
                   tuple(dict.fromkeys(s for p in packs for s in p.records.sources)))


def add_years(at: datetime, years: float) -> datetime:
    """``at`` plus ``years`` calendar years (29 February → 1 March: never earlier); a fraction
    of a year counts as 366 days' worth."""
    whole = int(years)
    try:
        out = at.replace(year=at.year + whole)
    except ValueError:  # 29 February in a year without one
        out = at.replace(year=at.year + whole, month=3, day=1)
    return out + timedelta(days=math.ceil((years - whole) * 366))


def kept_until(years: float | None, at: datetime) -> datetime | None:
    """The end of a record's period from ``at``; None: for ever (no period stated keeps it for
    ever, the safe side)."""
    if years is None or years == FOREVER:
        return None
    return add_years(at, years)


def number_packs(jurisdiction: str | None, phone: str) -> tuple[RulePack, ...]:
    """The packs that apply to a number called by a campaign: the campaign's jurisdiction's
    chain, the number's country's (``+1 212`` → ``US``; ``+44`` → ``UK``) and its US state's by
    area code — the longest record period of any of them is kept."""
    packs = list(chain(jurisdiction)) if jurisdiction else []
    country = _country_of(phone)
    if country:
        packs += chain(country)
    if (state := us_state_of(phone)) is not None:
        packs += chain(f"US-{state}")
    return tuple(dict.fromkeys(packs))


@functools.lru_cache(maxsize=65536)
def _country_of(phone: str) -> str | None:
    import phonenumbers

    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
    except phonenumbers.NumberParseException:
        return None
    return {"GB": "UK"}.get(region or "", region) or None


def dnc_honour_until(jurisdiction: str | None, phone: str, at: datetime) -> datetime | None:
    """Until when a do-not-call request for ``phone`` taken at ``at`` by a campaign of
    ``jurisdiction`` must be honoured (None: for ever)."""
    return kept_until(records_required(number_packs(jurisdiction, phone)).dnc_request, at)


# --- a lead's regions ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=65536)
def us_state_of(phone: str) -> str | None:
    """The US state (``"FL"``) of a NANP number's area code, from phonenumbers' geocoding."""
    if not phone.startswith("+1") or len(phone) != 12:
        return None
    import phonenumbers
    from phonenumbers import geocoder

    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.region_code_for_number(number) != "US":
        return None
    last = geocoder.description_for_number(number, "en").split(",")[-1].strip()
    return US_STATE_NAMES.get(last.lower()) or (last if len(last) == 2 else None)


def lead_regions(country: str | None, state: str | None, phone: str | None) -> tuple[str | None, ...]:
    """The regions whose rules apply to a lead: its state column's and its area code's (both
    apply, so the stricter wins); ``(None,)`` when neither is known."""
    regions: list[str | None] = []
    if country and state and state.strip():
        regions.append(f"{country.strip().upper()}-{state.strip().upper()}")
    elif country:
        regions.append(country.strip().upper())
    if phone and (area := us_state_of(phone)) and f"US-{area}" not in regions:
        regions.append(f"US-{area}")
    return tuple(regions) or (None,)


