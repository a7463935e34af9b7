"""Durations, clock times and hour ranges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.parsing import (
    Invalid,
    format_duration,
    format_ranges,
    parse_duration,
    parse_hhmm,
    parse_ranges,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("15m", timedelta(minutes=15)), ("1d12h", timedelta(hours=36)), ("72h", timedelta(hours=72)),
     ("90", timedelta(seconds=90)), (25, timedelta(seconds=25)), ("1w", timedelta(days=7)),
     ("1.5h", timedelta(minutes=90)), ("2d 3h", timedelta(hours=51))],
)  # fmt: skip
def test_parse_duration(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["soon", "-5m", -5, "5x", "", True, None, "m"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(Invalid):
        parse_duration(bad)


@given(st.integers(0, 400 * 86400))
def test_duration_round_trip(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


def test_clock_times_and_ranges() -> None:
    assert parse_hhmm("08:30") == 510
    assert parse_hhmm("24:00", allow_24=True) == 1440
    for bad in ("24:00", "8", "08:60", "25:00", 8):
        with pytest.raises(Invalid):
            parse_hhmm(bad)
    assert parse_ranges("14:00-20:00, 10:00-13:00") == ((600, 780), (840, 1200))
    assert parse_ranges(["00:00-24:00"]) == ((0, 1440),)
    assert parse_ranges("closed") == () == parse_ranges("")
    assert format_ranges(((600, 780), (840, 1200))) == "10:00-13:00, 14:00-20:00"
    for bad in ("10:00-09:00", "10:00-12:00, 11:00-13:00", "10-12", 5):
        with pytest.raises(Invalid):
            parse_ranges(bad)
