"""The wallboard's "today" tiles come from the calls table for the site's day ([scheduler]
timezone): a restart of the daemon, or a pause and resume of the campaign, keeps them (the
engine's own counters start again from zero)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import insert

from dialer.api import create_app
from dialer.clock import ScaledClock
from dialer.engine import Engine
from dialer.models import calls
from tests.api.conftest import ADMIN, START, Api
from tests.fakelink import FakeLink
from tests.web.signin import web_sign_in


async def add_calls(api: Api) -> None:
    """Besides the fixture's calls 7 (connected) and 8 (no answer) placed at START (15:00 UTC):
    an abandoned call and a machine today, one yesterday, one at 04:30 UTC (the day before in New York)."""
    common = {"campaign_id": next(iter(api.engine.campaigns)), "lead_id": 1, "phone": "+12125550143",
              "attempt": 1, "node": "n", "status": "ended", "ring_timeout": 15, "answered_at": None}
    day = START.replace(hour=0)
    async with api.engine.db.begin() as conn:
        await conn.execute(insert(calls), [
            {**common, "id": 20, "outcome": "ABANDONED", "placed_at": START - timedelta(hours=1),
             "answered_at": START - timedelta(minutes=59)},
            {**common, "id": 21, "outcome": "MACHINE", "placed_at": START - timedelta(hours=2)},
            {**common, "id": 22, "outcome": "CONNECTED", "placed_at": day - timedelta(minutes=1)},
            {**common, "id": 23, "outcome": "CONNECTED", "placed_at": day.replace(hour=4, minute=30)},
        ])


async def today(client: httpx.AsyncClient) -> dict:
    board = (await client.get("/web/wallboard")).json()
    [camp] = board["campaigns"]
    return camp["today"]


async def test_today_is_read_from_the_calls_and_survives_a_restart(api: Api) -> None:
    await add_calls(api)
    await web_sign_in(api, "bob", "supervisor")
    expected = {"day": "2026-03-02", "placed": 5, "answered": 4, "connected": 2, "abandoned": 1}
    assert await today(api.client) == expected
    assert api.engine.status()["campaigns"][0]["placed"] == 0  # the engine's own count knows none of them

    # pause and resume the campaign: its runtime is made again, today's figures stay
    assert (await api.client.post("/api/campaigns/e2e/pause", headers=ADMIN)).status_code == 200
    assert (await api.client.post("/api/campaigns/e2e/resume", headers=ADMIN)).status_code == 200
    assert await today(api.client) == expected

    # a restart: a new engine and app on the same database (the session cookie is in the database)
    engine = Engine(api.engine.db, FakeLink(), ScaledClock(1.0, start=START + timedelta(minutes=5)))
    await engine.start()
    app = create_app(engine, "admin-token", settings=api.settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 cookies=api.client.cookies) as client:
        assert await today(client) == expected


async def test_today_is_the_sites_day(api: Api) -> None:
    """In New York (UTC-5 in March) the day began at 05:00 UTC: the call at 04:30 UTC was yesterday."""
    await add_calls(api)
    api.settings.scheduler.timezone = "America/New_York"
    await web_sign_in(api, "bob", "supervisor")
    assert await today(api.client) == {"day": "2026-03-02", "placed": 4, "answered": 3, "connected": 1,
                                       "abandoned": 1}
