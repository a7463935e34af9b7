"""Calling windows: table tests and property tests across zones and DST changes."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.definition import load_definition
from campaigns.parsing import Problems
from campaigns.windows import (
    DEFAULT_WINDOW,
    CallingWindow,
    is_open,
    next_open,
    open_zones,
    parse_window,
    region_code,
    window_to_data,
    zone_country,
)
from tests.campaigns.conftest import EXAMPLES

NY, LA, LONDON, PARIS, LORD_HOWE = (
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Paris",
    "Australia/Lord_Howe",
)
FR = load_definition(EXAMPLES / "survey-fr.toml").window


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at_local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


# --- tables ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "local", "expected"),
    [
        (NY, (2026, 5, 12, 7, 59), False),
        (NY, (2026, 5, 12, 8, 0), True),
        (NY, (2026, 5, 12, 20, 59), True),
        (NY, (2026, 5, 12, 21, 0), False),
        (NY, (2026, 3, 8, 8, 0), True),  # the DST change day, after 02:00
        (LONDON, (2026, 3, 29, 8, 30), True),
        (LORD_HOWE, (2026, 10, 4, 8, 0), True),
    ],
)
def test_default_window(zone: str, local: tuple, expected: bool) -> None:
    assert is_open(DEFAULT_WINDOW, [zone], at_local(zone, *local)) is expected


def test_every_candidate_zone_must_be_open() -> None:
    at = at_local(NY, 2026, 5, 12, 9, 0)  # 06:00 in Los Angeles
    assert is_open(DEFAULT_WINDOW, [NY], at)
    assert not is_open(DEFAULT_WINDOW, [NY, LA], at)
    assert next_open(DEFAULT_WINDOW, [NY, LA], at) == at_local(LA, 2026, 5, 12, 8, 0)
    assert not is_open(DEFAULT_WINDOW, [], at)
    assert next_open(DEFAULT_WINDOW, [], at) is None


def test_france_rules() -> None:
    tue = (2026, 5, 12)
    assert not is_open(FR, [PARIS], at_local(PARIS, *tue, 9, 59))
    assert is_open(FR, [PARIS], at_local(PARIS, *tue, 10, 0))
    assert not is_open(FR, [PARIS], at_local(PARIS, *tue, 13, 30))
    assert is_open(FR, [PARIS], at_local(PARIS, *tue, 19, 59))
    # Saturday 12:00 → Monday 10:00
    assert next_open(FR, [PARIS], at_local(PARIS, 2026, 5, 16, 12, 0)) == at_local(
        PARIS, 2026, 5, 18, 10, 0
    )
    # Bastille Day (Tuesday) is a holiday → Wednesday
    assert next_open(FR, [PARIS], at_local(PARIS, 2026, 7, 13, 20, 30)) == at_local(
        PARIS, 2026, 7, 15, 10, 0
    )


def test_region_overrides_by_region_and_by_zone_country() -> None:
    problems = Problems()
    window = parse_window(
        {
            "regions": {
                "FR": {"weekdays": "10:00-13:00, 14:00-20:00", "weekend": "closed"},
                "US-CA": {"hours": "09:00-20:00"},
            }
        },
        "window",
        problems,
    )
    assert not problems
    noon_sat_paris = at_local(PARIS, 2026, 5, 16, 12, 0)
    assert not is_open(window, [PARIS], noon_sat_paris)  # inferred: Europe/Paris → FR
    # a region without an override falls back to the zone's country
    assert not is_open(window, [PARIS], noon_sat_paris, region="DE")
    la_830 = at_local(LA, 2026, 5, 12, 8, 30)
    assert is_open(window, [LA], la_830)
    assert is_open(window, [LA], la_830, region="US-NV")
    assert not is_open(window, [LA], la_830, region="US-CA")
    assert open_zones(window, [LA, NY], la_830, region="us-ca") == frozenset({NY})
    no_infer = CallingWindow(window.days, window.holidays, window.regions, infer_country=False)
    assert is_open(no_infer, [PARIS], noon_sat_paris)


def test_zone_country_and_region_code() -> None:
    assert zone_country(PARIS) == "FR"
    assert zone_country(NY) == "US"
    assert zone_country("Etc/UTC") is None
    assert region_code("us", "ca") == "US-CA"
    assert region_code("FR") == "FR"
    assert region_code(None, "CA") is None


def test_holidays_close_the_whole_local_day() -> None:
    window = CallingWindow(holidays=frozenset({date(2026, 12, 25)}))
    assert not is_open(window, [NY], at_local(NY, 2026, 12, 25, 12, 0))
    assert next_open(window, [NY], at_local(NY, 2026, 12, 25, 12, 0)) == at_local(
        NY, 2026, 12, 26, 8, 0
    )


def test_never_open_returns_none() -> None:
    closed = CallingWindow(days=((),) * 7)
    assert next_open(closed, [NY], utc(2026, 1, 1)) is None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_open(DEFAULT_WINDOW, [NY], datetime(2026, 1, 1, 12))


def test_unknown_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        is_open(DEFAULT_WINDOW, ["Mars/Olympus"], utc(2026, 1, 1))


def test_window_round_trip() -> None:
    problems = Problems()
    again = parse_window(window_to_data(FR), "window", problems)
    assert not problems and again == FR


def test_dst_gap_start_opens_at_the_transition() -> None:
    # a window starting at 02:30, which does not exist on 2026-03-08 in New York:
    # it opens at the transition (03:00 EDT = 07:00 UTC)
    window = CallingWindow(days=(((150, 300),),) * 7)
    assert next_open(window, [NY], utc(2026, 3, 8, 5, 0)) == utc(2026, 3, 8, 7, 0)


def test_fall_back_reopens_in_the_repeated_hour() -> None:
    # 00:30-01:30 local; on 2026-11-01 in New York 01:00-02:00 happens twice, and the
    # window reopens when the clock falls back from 02:00 EDT to 01:00 EST
    window = CallingWindow(days=(((30, 90),),) * 7)
    after = utc(2026, 11, 1, 5, 45)  # 01:45 EDT: closed
    assert not is_open(window, [NY], after)
    assert next_open(window, [NY], after) == utc(2026, 11, 1, 6, 0)  # 01:00 EST


def test_lord_howe_half_hour_dst() -> None:
    # DST starts 2026-10-04 02:00 → 02:30 local; a window from 02:10 opens at 02:30
    window = CallingWindow(days=(((130, 300),),) * 7)
    after = at_local(LORD_HOWE, 2026, 10, 4, 1, 0)
    result = next_open(window, [LORD_HOWE], after)
    assert result is not None
    local = result.astimezone(ZoneInfo(LORD_HOWE))
    assert (local.hour, local.minute) == (2, 30)
    assert not is_open(window, [LORD_HOWE], result - timedelta(seconds=1))


# --- properties --------------------------------------------------------------------------------

ALL_ZONES = sorted(available_timezones())
DST_MOMENTS = [
    utc(2026, 3, 8, 7, 0),  # America/New_York springs forward
    utc(2026, 11, 1, 6, 0),  # America/New_York falls back
    utc(2026, 3, 29, 1, 0),  # Europe/London springs forward
    utc(2026, 10, 25, 1, 0),  # Europe/London falls back
    utc(2026, 4, 4, 15, 0),  # Australia/Lord_Howe falls back (02:00 → 01:30)
    utc(2026, 10, 3, 15, 30),  # Australia/Lord_Howe springs forward (02:00 → 02:30)
]
DST_ZONES = [NY, LONDON, LORD_HOWE, "America/Santiago", "Asia/Tehran", "Pacific/Chatham"]

zones_st = st.lists(
    st.one_of(st.sampled_from(DST_ZONES), st.sampled_from(ALL_ZONES)), min_size=1, max_size=3
)
instants_st = st.one_of(
    st.builds(
        lambda m, d: m + d,
        st.sampled_from(DST_MOMENTS),
        st.timedeltas(timedelta(hours=-36), timedelta(hours=36)),
    ),
    st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)),
)


@st.composite
def day_ranges(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    step = draw(st.sampled_from([1, 15, 30, 60]))
    points = draw(st.lists(st.integers(0, 1440 // step), max_size=4, unique=True))
    points = sorted(p * step for p in points)
    return tuple(zip(points[::2], points[1::2], strict=False))


@st.composite
def windows_st(draw: st.DrawFn) -> CallingWindow:
    if draw(st.booleans()):
        days = (draw(day_ranges()),) * 7
    else:
        days = tuple(draw(day_ranges()) for _ in range(7))
    holidays = draw(st.frozensets(st.dates(date(2025, 1, 1), date(2027, 12, 31)), max_size=3))
    return CallingWindow(days=days, holidays=holidays)  # type: ignore[arg-type]


def _with_near_holidays(
    window: CallingWindow, after: datetime, offsets: list[int]
) -> CallingWindow:
    near = frozenset(after.date() + timedelta(days=o) for o in offsets)
    return CallingWindow(window.days, window.holidays | near)


EXAMPLES_N = int(os.environ.get("CAMPAIGNS_HYPOTHESIS_EXAMPLES", "120"))
PROPERTY = settings(
    max_examples=EXAMPLES_N, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
GRID = timedelta(minutes=10)


@PROPERTY
@given(
    window=windows_st(),
    zones=zones_st,
    after=instants_st,
    holiday_offsets=st.lists(st.integers(-1, 3), max_size=2),
)
def test_next_open_is_open_everywhere_and_nothing_earlier(
    window: CallingWindow, zones: list[str], after: datetime, holiday_offsets: list[int]
) -> None:
    window = _with_near_holidays(window, after, holiday_offsets)
    within = timedelta(days=4)
    result = next_open(window, zones, after, within=within)
    if result is not None:
        assert after <= result <= after + within
        assert is_open(window, zones, result)
        assert all(is_open(window, [z], result) for z in zones)
        if result > after:  # it is an opening edge
            assert not is_open(window, zones, result - timedelta(seconds=1))
    end = result if result is not None else after + within
    t = after
    while t < end:
        assert not is_open(window, zones, t), f"open at {t} before {result}"
        t += GRID


@PROPERTY
@given(zones=zones_st, after=instants_st)
def test_next_open_default_window_is_found_and_local_hours_are_right(
    zones: list[str], after: datetime
) -> None:
    result = next_open(DEFAULT_WINDOW, zones, after)
    # zones far apart may never share 08:00-21:00; otherwise the result is inside it everywhere
    if result is not None:
        for zone in zones:
            local = result.astimezone(ZoneInfo(zone))
            assert 8 * 60 <= local.hour * 60 + local.minute < 21 * 60


@settings(max_examples=EXAMPLES_N, deadline=None)
@given(window=windows_st(), zones=st.lists(st.sampled_from(ALL_ZONES), max_size=8), at=instants_st)
def test_open_zones_agrees_with_is_open(
    window: CallingWindow, zones: list[str], at: datetime
) -> None:
    opened = open_zones(window, zones, at)
    assert opened == {z for z in zones if is_open(window, [z], at)}
    assert is_open(window, zones, at) == (bool(zones) and set(zones) <= opened)
