"""The callback picker's times: inside the lead's window in every zone, within the campaign's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.callback_slots import callback_problem, slots
from campaigns.parsing import Problems
from campaigns.windows import is_open, parse_window

WINDOW = parse_window({"weekdays": "09:00-12:00,14:00-20:00", "weekend": ""}, "window", Problems())
NOW = datetime(2026, 3, 2, 15, 7, tzinfo=UTC)  # a Monday, 10:07 in New York
NY = ["America/New_York"]


def test_slots_follow_the_window_in_the_lead_zone() -> None:
    offered = slots(WINDOW, NY, None, NOW, 90, days=2)
    local = [s.astimezone(ZoneInfo("America/New_York")) for s in offered]
    assert local[0].strftime("%a %H:%M") == "Mon 10:15"  # the next quarter hour, window open
    assert "Mon 12:00" not in {t.strftime("%a %H:%M") for t in local}  # lunch closed
    assert {t.strftime("%H:%M") for t in local} >= {"09:00", "11:45", "14:00", "19:45"}
    assert all(t.weekday() < 5 for t in local)


def test_two_candidate_zones_need_the_window_open_in_both() -> None:
    both = slots(WINDOW, ["America/New_York", "America/Los_Angeles"], None, NOW, 90, days=1)
    ny = slots(WINDOW, NY, None, NOW, 90, days=1)
    assert set(both) < set(ny)
    assert all(is_open(WINDOW, ["America/Los_Angeles"], s) for s in both)


def test_problems_name_what_is_wrong() -> None:
    assert callback_problem(WINDOW, NY, None, NOW - timedelta(minutes=1), NOW, 90) == "in the past"
    assert "the campaign's limit" in callback_problem(WINDOW, NY, None, NOW + timedelta(days=8), NOW, 7)
    assert "calling window" in callback_problem(WINDOW, NY, None, NOW.replace(hour=2), NOW + timedelta(-1), 90)
    assert "no time zone" in callback_problem(WINDOW, [], None, NOW + timedelta(hours=1), NOW, 90)
    assert callback_problem(WINDOW, NY, None, datetime(2026, 3, 3, 15, 0), NOW, 90) == "give a time zone offset"
    assert callback_problem(WINDOW, NY, None, NOW + timedelta(hours=1), NOW, 90) is None


@settings(max_examples=40, deadline=None)
@given(now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
       max_days=st.integers(1, 20),
       zones=st.lists(st.sampled_from(["America/New_York", "Europe/Paris", "Asia/Kolkata", "America/Denver"]),
                      min_size=1, max_size=2, unique=True))
def test_every_slot_is_bookable_and_every_bookable_step_is_offered(now, max_days, zones) -> None:
    offered = slots(WINDOW, zones, None, now, max_days, days=3)
    assert offered == sorted(offered)
    for at in offered:
        assert callback_problem(WINDOW, zones, None, at, now, max_days) is None
        assert now < at <= now + timedelta(days=min(3, max_days))
        assert at.minute % 15 == 0 and at.second == 0
    # nothing bookable left out: walk the same steps
    if offered:
        step = offered[0]
        while step <= now + timedelta(days=min(3, max_days)):
            assert (callback_problem(WINDOW, zones, None, step, now, max_days) is None) == (step in offered)
            step += timedelta(minutes=15)
