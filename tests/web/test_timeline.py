"""The wallboard's day by hour (``dialer.services.timeline.day_series``, behind the SVG charts)
and the day's totals (``day_totals``, the "today" tiles), figure by figure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from campaigns.definition import load_definition, loads_definition
from dialer.db import open_engine
from dialer.errors import NotFound
from dialer.models import agent_state_log, agents, calls
from dialer.services.campaigns import apply_definition
from dialer.services.timeline import day_series, day_totals
from lists.models import lead_lists, leads
from tests.e2e.conftest import write_campaign

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute, seconds=second)


@pytest.fixture
def db(sqlite_url: str, tmp_path: Path) -> Engine:
    """Campaign e2e (SALE success, REFUSED and CALLBACK contacts; target 3 %) and another one."""
    db = open_engine(sqlite_url)
    cid = apply_definition(db, load_definition(write_campaign(tmp_path, "progressive"))).campaign_id
    other = apply_definition(db, loads_definition('name = "other"\n[dial]\ntrunk = "PJSIP/{number}@x"\n')).campaign_id
    with db.begin() as conn:
        conn.execute(insert(lead_lists).values(id=1, name="l", campaign_id=cid, active=True, priority=0))
        conn.execute(insert(leads).values(id=1, list_id=1, phone="+12125550143", timezones="America/New_York"))
        conn.execute(insert(agents), [{"id": i, "name": f"a{i}", "interface": f"PJSIP/a{i}", "token_hash": "-",
                                       "state": "ready"} for i in (1, 2)])
        base = {"campaign_id": cid, "lead_id": 1, "phone": "+12125550143", "attempt": 1, "node": "n",
                "status": "ended", "ring_timeout": 15, "disposition": None, "answered_at": None, "connected_at": None}
        conn.execute(insert(calls), [
            {**base, "id": 1, "placed_at": at(0), "outcome": "NO_ANSWER"},  # the first instant of the day
            {**base, "id": 2, "placed_at": at(9, 10), "outcome": "CONNECTED", "disposition": "SALE",
             "answered_at": at(9, 10, 20), "connected_at": at(9, 10, 21)},
            {**base, "id": 3, "placed_at": at(9, 50), "outcome": "CONNECTED", "disposition": "REFUSED",
             "answered_at": at(9, 50, 20), "connected_at": at(9, 50, 21)},
            {**base, "id": 4, "placed_at": at(9, 55), "outcome": "ABANDONED", "answered_at": at(9, 55, 20)},
            {**base, "id": 5, "placed_at": at(11), "outcome": "MACHINE", "answered_at": at(11, 0, 20)},
            {**base, "id": 6, "placed_at": at(13, 59, 59), "outcome": "CONNECTED", "disposition": "CALLBACK",
             "answered_at": at(14), "connected_at": at(14)},
            {**base, "id": 7, "placed_at": at(15), "outcome": None, "status": "connected",  # still in progress
             "answered_at": at(15, 0, 10), "connected_at": at(15, 0, 11)},
            {**base, "id": 8, "placed_at": at(0) - timedelta(seconds=1), "outcome": "CONNECTED"},  # yesterday
            {**base, "id": 9, "placed_at": at(24), "outcome": "CONNECTED"},  # tomorrow
            {**base, "id": 10, "campaign_id": other, "placed_at": at(9), "outcome": "ABANDONED"},  # another campaign
        ])
        span = {"campaign_id": cid, "pause_code": None}
        conn.execute(insert(agent_state_log), [
            {**span, "agent_id": 1, "state": "talking", "started_at": at(9, 30), "ended_at": at(10, 30)},
            {**span, "agent_id": 2, "state": "talking", "started_at": at(9, 45), "ended_at": at(10)},
            {**span, "agent_id": 1, "state": "wrapup", "started_at": at(10, 30), "ended_at": at(10, 45)},
            {**span, "agent_id": 2, "state": "paused", "pause_code": "LUNCH", "started_at": at(-1),
             "ended_at": at(0, 30)},  # from yesterday: only its half hour today
            {**span, "agent_id": 1, "state": "ready", "started_at": at(23, 30), "ended_at": at(25)},  # to tomorrow
            {**span, "agent_id": 2, "state": "reserved", "started_at": at(12), "ended_at": at(13)},  # not charted
            {**span, "campaign_id": other, "agent_id": 2, "state": "talking", "started_at": at(12), "ended_at": at(13)},
        ])
    return db


def test_calls_land_in_the_hour_they_were_placed(db: Engine) -> None:
    with db.connect() as conn:
        d = day_series(conn, "e2e", DAY)
    nonzero = {k: {h: v for h, v in enumerate(d[k]) if v}
               for k in ("placed", "connected", "abandoned", "contacts", "successes")}
    assert nonzero == {
        "placed": {0: 1, 9: 3, 11: 1, 13: 1, 15: 1},  # not yesterday's, tomorrow's or the other campaign's
        "connected": {9: 2, 13: 1},  # by outcome: the call in progress is not yet counted here
        "abandoned": {9: 1},
        "contacts": {9: 2, 13: 1},  # SALE, REFUSED, CALLBACK
        "successes": {9: 1},
    }
    assert all(len(d[k]) == 24 for k in nonzero)


def test_the_abandon_rate_is_the_days_so_far_and_none_before_any_live_answer(db: Engine) -> None:
    with db.connect() as conn:
        d = day_series(conn, "e2e", DAY)
    rate = d["abandon_rate_pct"]
    assert rate[:9] == [None] * 9  # no connected or abandoned call yet
    assert rate[9:13] == [33.33] * 4  # 1 abandoned of 3 live answers
    assert rate[13:] == [25.0] * 11  # and a connected call at 13:59
    assert d["target_pct"] == 3.0


def test_agent_time_is_split_over_the_hours_and_clipped_to_the_day(db: Engine) -> None:
    with db.connect() as conn:
        d = day_series(conn, "e2e", DAY)
    assert d["talk_min"][9] == pytest.approx(30 + 15)  # 09:30-10:00 and 09:45-10:00
    assert d["talk_min"][10] == pytest.approx(30)
    assert sum(d["talk_min"]) == pytest.approx(75)
    assert d["agents_talking"][9] == pytest.approx(0.75)  # agents on average over the hour
    assert d["agents_wrapup"][10] == pytest.approx(0.25)
    assert d["agents_paused"][0] == pytest.approx(0.5) and sum(d["agents_paused"]) == pytest.approx(0.5)
    assert d["agents_ready"][23] == pytest.approx(0.5) and sum(d["agents_ready"]) == pytest.approx(0.5)
    assert d["agents_talking"][12] == 0  # the other campaign's agent; "reserved" is not charted


def test_hours_and_labels_follow_the_start_and_its_zone(db: Engine) -> None:
    with db.connect() as conn:
        utc = day_series(conn, "e2e", DAY)
        # from 09:00 UTC for 3 hours
        late = day_series(conn, "e2e", at(9), hours=3)
        # New York's 2 March begins at 05:00 UTC: the labels are its hours, the calls fall by UTC hours
        ny = day_series(conn, "e2e", datetime(2026, 3, 2, tzinfo=ZoneInfo("America/New_York")))
    assert utc["labels"] == [f"{h:02d}" for h in range(24)]
    assert late["placed"] == [3, 0, 1] and late["labels"] == ["09", "10", "11"]
    assert ny["labels"][:3] == ["00", "01", "02"]
    # 09:10 UTC is 04:10 there; 00:00 UTC was the day before, and the 3 March 00:00 UTC call is 19:00
    assert {h: v for h, v in enumerate(ny["placed"]) if v} == {4: 3, 6: 1, 8: 1, 10: 1, 19: 1}


def test_a_daylight_saving_day_keeps_real_hours(db: Engine) -> None:
    """8 March 2026 in New York: 02:00 does not exist; the hours are real ones, labelled as the clock reads."""
    with db.connect() as conn:
        d = day_series(conn, "e2e", datetime(2026, 3, 8, tzinfo=ZoneInfo("America/New_York")), hours=4)
    assert d["labels"] == ["00", "01", "03", "04"]


def test_an_unknown_campaign_is_not_found(db: Engine) -> None:
    with db.connect() as conn, pytest.raises(NotFound, match="unknown campaign 'nope'"):
        day_series(conn, "nope", DAY)


def test_the_days_totals(db: Engine) -> None:
    with db.connect() as conn:
        totals = day_totals(conn, DAY, DAY + timedelta(days=1))
        morning = day_totals(conn, DAY, at(10))
        nothing = day_totals(conn, at(-48), at(-24))
    e2e, other = sorted(totals)
    assert totals[e2e] == {"placed": 7, "answered": 6, "connected": 4, "abandoned": 1}  # connected: with the one in progress
    assert totals[other] == {"placed": 1, "answered": 1, "connected": 0, "abandoned": 1}
    assert morning[e2e] == {"placed": 4, "answered": 3, "connected": 2, "abandoned": 1}
    assert nothing == {}
