"""The agents' HTTP API: authentication, one agent cannot touch another's call, validation
errors are 4xx with a message, a valid disposition moves the lead on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert, select

from campaigns import store
from campaigns.definition import load_definition
from dialer.api import create_app, token_hash
from dialer.claim import calls, leads, lists_
from dialer.clock import ScaledClock
from dialer.db import make_async_engine, open_engine
from dialer.engine import Engine
from dialer.schema import metadata
from dialer.services.campaigns import apply_definition
from tests.e2e.conftest import write_campaign
from tests.fakelink import FakeLink


@pytest.fixture
async def api(tmp_path: Path, db_url: str):
    sync = open_engine(db_url)
    definition = load_definition(write_campaign(tmp_path, "progressive"))
    cid = apply_definition(sync, definition).campaign_id
    store.set_status(sync, "e2e", "active")
    now = datetime.now(UTC)
    with sync.begin() as conn:
        conn.execute(insert(lists_).values(id=1, name="e2e", campaign_id=cid, active=True, priority=0))
        conn.execute(insert(leads).values(id=1, list_id=1, phone="+12125550143", first_name="Mary",
                                          timezones="America/New_York", status="dialing", attempts=1,
                                          custom={"Current Plan": "Basic 20"}))
        conn.execute(insert(metadata.tables["agents"]), [
            {"name": "alice", "interface": "PJSIP/alice", "token_hash": token_hash("tok-alice"), "state": "logged_out"},
            {"name": "bob", "interface": "PJSIP/bob", "token_hash": token_hash("tok-bob"), "state": "logged_out"},
        ])
        # both may log in to the campaign (an unassigned agent may not: 403)
        conn.execute(insert(metadata.tables["agent_campaigns"]), [
            {"agent_id": a, "campaign_id": cid} for a in conn.execute(select(metadata.tables["agents"].c.id)).scalars()])
        conn.execute(insert(calls).values(id=7, campaign_id=cid, lead_id=1, phone="+12125550143", attempt=1,
                                          node="n", status="ended", outcome="CONNECTED", ring_timeout=15,
                                          placed_at=now, connected_at=now, ended_at=now, agent="alice",
                                          channel_id="dlr-x"))
    sync.dispose()
    db = make_async_engine(db_url)
    link = FakeLink()
    engine = Engine(db, link, ScaledClock(1.0))
    await engine.start()
    app = create_app(engine, "admin-token")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client, engine, link
    await db.dispose()


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_authentication_and_isolation(api) -> None:
    client, _engine, link = api
    assert (await client.post("/api/agents/alice/login", json={"campaign": "e2e"})).status_code == 401
    assert (await client.post("/api/agents/alice/login", json={"campaign": "e2e"}, headers=auth("nope"))).status_code == 401
    r = await client.post("/api/agents/alice/login", json={"campaign": "e2e"}, headers=auth("tok-bob"))
    assert r.status_code == 403
    r = await client.post("/api/agents/alice/login", json={"campaign": "e2e"}, headers=auth("tok-alice"))
    assert r.status_code == 200, r.text
    assert ("add", ("e2e", "PJSIP/alice", "alice")) in link.actions
    r = await client.post("/api/calls/7/disposition", json={"code": "SALE"}, headers=auth("tok-bob"))
    assert r.status_code == 403 and "not agent 'bob'" in r.json()["error"]
    assert (await client.get("/api/status", headers=auth("tok-alice"))).status_code == 403
    assert (await client.get("/api/status", headers=auth("admin-token"))).json()["campaigns"][0]["name"] == "e2e"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"code": "NOPE"}, "NOPE"),
        ({"code": "REFUSED"}, "reason"),
        ({"code": "REFUSED", "reason": "WHATEVER"}, "WHATEVER"),
        ({"code": "CALLBACK", "callback_at": "2020-01-01T10:00:00+00:00"}, "past"),
        ({"code": "CALLBACK", "callback_at": "tomorrow"}, "ISO 8601"),
        ({}, "code: required"),
    ],
)
async def test_invalid_dispositions_are_rejected(api, body: dict, message: str) -> None:
    client, _engine, _link = api
    r = await client.post("/api/calls/7/disposition", json=body, headers=auth("tok-alice"))
    assert r.status_code == 422, r.text
    assert message.lower() in r.json()["error"].lower()


async def test_valid_disposition_moves_the_lead_on(api) -> None:
    client, engine, _link = api
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    r = await client.post("/api/calls/7/disposition", headers=auth("tok-alice"),
                          json={"code": "CALLBACK", "callback_at": at.isoformat(), "note": "after work"})
    assert r.status_code == 200, r.text
    assert r.json()["next"] == "Callback"
    async with engine.db.connect() as conn:
        lead = (await conn.execute(select(leads).where(leads.c.id == 1))).first()
        call = (await conn.execute(select(calls).where(calls.c.id == 7))).first()
    assert lead.status == "callback"
    assert call.disposition == "CALLBACK" and call.note == "after work"
    r = await client.post("/api/calls/7/disposition", json={"code": "SALE"}, headers=auth("tok-alice"))
    assert r.status_code == 409 and "already disposed" in r.json()["error"]


async def test_screen_pop(api) -> None:
    client, engine, _link = api
    await client.post("/api/agents/alice/login", json={"campaign": "e2e"}, headers=auth("tok-alice"))
    engine.agent_by_name("alice").call_id = 7
    r = await client.get("/api/agents/alice/call", headers=auth("tok-alice"))
    call = r.json()["call"]
    assert call["lead"]["first_name"] == "Mary"
    assert call["script"] == "Hello Mary, this is a test call about Basic 20."
    assert {d["code"] for d in call["dispositions"]} == {"SALE", "REFUSED", "CALLBACK"}
