"""Every route of the agents' API: its success answer and its error statuses (docs/daemon.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from dialer.claim import calls, leads
from tests.api.conftest import ADMIN, ALICE, BOB, START, Api


async def login(api: Api, name: str = "alice", headers: dict = ALICE) -> None:
    r = await api.client.post(f"/api/agents/{name}/login", json={"campaign": "e2e"}, headers=headers)
    assert r.status_code == 200, r.text


async def test_login(api: Api) -> None:
    post = api.client.post
    assert (await post("/api/agents/alice/login", json={"campaign": "e2e"})).status_code == 401
    r = await post("/api/agents/alice/login", json={"campaign": "e2e"}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json() == {"error": "invalid token"}
    assert r.headers["www-authenticate"] == "Bearer"
    assert (await post("/api/agents/alice/login", json={"campaign": "e2e"}, headers=BOB)).status_code == 403
    r = await post("/api/agents/nobody/login", json={"campaign": "e2e"}, headers=ADMIN)
    assert r.status_code == 404 and "unknown agent 'nobody'" in r.json()["error"]
    r = await post("/api/agents/alice/login", json={}, headers=ALICE)
    assert r.status_code == 422 and r.json()["error"].startswith("campaign: required")
    r = await post("/api/agents/alice/login", json={"campaign": "other"}, headers=ALICE)
    assert r.status_code == 403 and "not assigned to campaign 'other'" in r.json()["error"]
    r = await post("/api/agents/alice/login", json={"campaign": "other"}, headers=ADMIN)
    assert r.status_code == 409 and "'other' is not running" in r.json()["error"]
    r = await post("/api/agents/alice/login", json={"campaign": "e2e"}, headers=ALICE)
    assert r.status_code == 200 and r.json() == {"agent": "alice", "campaign": "e2e", "state": "logged_in"}
    assert ("add", ("e2e", "PJSIP/alice", "alice")) in api.link.actions
    await login(api, "bob", ADMIN)  # the admin may act for any agent


async def test_login_needs_an_assignment(api: Api) -> None:
    """Like the desktop: an agent not assigned to the campaign may not log in to it (403)."""
    from dialer.models import agent_campaigns, agents

    async with api.engine.db.begin() as conn:
        bob = (await conn.execute(select(agents.c.id).where(agents.c.name == "bob"))).scalar_one()
        await conn.execute(agent_campaigns.delete().where(agent_campaigns.c.agent_id == bob))
    r = await api.client.post("/api/agents/bob/login", json={"campaign": "e2e"}, headers=BOB)
    assert r.status_code == 403 and r.json() == {
        "error": "agent 'bob' is not assigned to campaign 'e2e' (dialer agents assign)"}
    assert not any(a[0] == "add" for a in api.link.actions)
    await login(api, "bob", ADMIN)  # the admin may still log any agent in


async def test_logout(api: Api) -> None:
    r = await api.client.post("/api/agents/alice/logout", headers=ALICE)
    assert r.status_code == 409 and "not logged in" in r.json()["error"]
    assert (await api.client.post("/api/agents/alice/logout", headers=BOB)).status_code == 403
    assert (await api.client.post("/api/agents/nobody/logout", headers=ADMIN)).status_code == 404
    await login(api)
    r = await api.client.post("/api/agents/alice/logout", headers=ALICE)
    assert r.status_code == 200 and r.json() == {"agent": "alice", "state": "logged_out"}
    assert ("remove", ("e2e", "PJSIP/alice")) in api.link.actions


async def test_pause(api: Api) -> None:
    post = api.client.post
    r = await post("/api/agents/alice/pause", json={"code": "BREAK"}, headers=ALICE)
    assert r.status_code == 409 and "not logged in" in r.json()["error"]
    await login(api)
    r = await post("/api/agents/alice/pause", json={}, headers=ALICE)
    assert r.status_code == 422 and r.json()["error"].startswith("code: required")
    r = await post("/api/agents/alice/pause", json={"code": "BREAK"}, headers=ALICE)
    assert r.status_code == 200 and r.json() == {"agent": "alice", "state": "paused", "code": "BREAK"}
    assert ("pause", ("e2e", "PJSIP/alice", True, "BREAK")) in api.link.actions
    assert (await post("/api/agents/alice/pause", json={"code": "BREAK"}, headers=BOB)).status_code == 403
    assert (await post("/api/agents/nobody/pause", json={"code": "BREAK"}, headers=ADMIN)).status_code == 404


async def test_ready(api: Api) -> None:
    r = await api.client.post("/api/agents/alice/ready", headers=ALICE)
    assert r.status_code == 409 and "not logged in" in r.json()["error"]
    assert (await api.client.post("/api/agents/nobody/ready", headers=ADMIN)).status_code == 404
    await login(api)
    r = await api.client.post("/api/agents/alice/ready", headers=ALICE)
    assert r.status_code == 200 and r.json() == {"agent": "alice", "state": "ready"}


async def test_current_call(api: Api) -> None:
    get = api.client.get
    assert (await get("/api/agents/alice/call", headers=BOB)).status_code == 403
    r = await get("/api/agents/nobody/call", headers=ADMIN)
    assert r.status_code == 404 and "unknown agent" in r.json()["error"]
    r = await get("/api/agents/alice/call", headers=ALICE)
    assert r.status_code == 204 and r.content == b""  # no call: No Content
    await login(api)
    api.engine.agent_by_name("alice").call_id = 7
    r = await get("/api/agents/alice/call", headers=ALICE)
    assert r.status_code == 200
    call = r.json()["call"]
    assert call["lead"]["first_name"] == "Mary"
    assert call["script"] == "Hello Mary, this is a test call about Basic 20."
    assert {d["code"] for d in call["dispositions"]} == {"SALE", "REFUSED", "CALLBACK"}
    assert call["connected_at"] == START.isoformat()  # with its offset, though SQLite kept none
    assert call["lead"]["seen_at"] == "2026-01-01 10:00"  # the customer's data as imported
    assert (await get("/api/agents/alice/call", headers=ADMIN)).json()["call"]["call_id"] == 7


async def test_disposition(api: Api) -> None:
    post = api.client.post
    r = await post("/api/calls/7/disposition", json={"code": "SALE"}, headers=BOB)
    assert r.status_code == 403 and "not agent 'bob'" in r.json()["error"]
    r = await post("/api/calls/999/disposition", json={"code": "SALE"}, headers=BOB)
    assert r.status_code == 404 and "unknown call 999" in r.json()["error"]  # missing: 404, not 403
    r = await post("/api/calls/8/disposition", json={"code": "SALE"}, headers=ADMIN)
    assert r.status_code == 409 and "did not reach an agent" in r.json()["error"]
    r = await post("/api/calls/7/disposition", json={"code": "NOPE"}, headers=ALICE)
    assert r.status_code == 422 and "unknown disposition 'NOPE'" in r.json()["error"]
    at = START + timedelta(days=1)
    r = await post("/api/calls/7/disposition", headers=ALICE,
                   json={"code": "CALLBACK", "callback_at": at.isoformat(), "note": "after work"})
    assert r.status_code == 200, r.text
    assert r.json()["next"] == "Callback"
    assert r.json()["next_call_at"].endswith("+00:00")
    async with api.engine.db.connect() as conn:
        lead = (await conn.execute(select(leads).where(leads.c.id == 1))).first()
        call = (await conn.execute(select(calls).where(calls.c.id == 7))).first()
    assert lead.status == "callback"
    assert call.disposition == "CALLBACK" and call.note == "after work"
    r = await post("/api/calls/7/disposition", json={"code": "SALE"}, headers=ALICE)
    assert r.status_code == 409 and "already disposed" in r.json()["error"]
    assert (await post("/api/calls/7/disposition", json={"code": "SALE"})).status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"code": "REFUSED"}, "reason is required"),
        ({"code": "REFUSED", "reason": "WHATEVER"}, "unknown refusal reason 'WHATEVER'"),
        ({"code": "CALLBACK", "callback_at": "2020-01-01T10:00:00+00:00"}, "past"),
        ({"code": "CALLBACK", "callback_at": "tomorrow"}, "callback_at: not an ISO 8601"),
        ({"code": "CALLBACK", "callback_at": "2026-03-03T10:00:00"}, "callback_at: give a time zone offset"),
        ({"code": "SALE", "order": [1, 2]}, "order: must be an object"),
        ({"code": "SALE", "note": 12}, "note: must be a string"),
        ({"code": 12}, "code: must be a string"),
        ({}, "code: required"),
    ],
)
async def test_invalid_dispositions_are_422(api: Api, body: dict, message: str) -> None:
    r = await api.client.post("/api/calls/7/disposition", json=body, headers=ALICE)
    assert r.status_code == 422, r.text
    assert message in r.json()["error"]


async def test_status(api: Api) -> None:
    assert (await api.client.get("/api/status")).status_code == 401
    r = await api.client.get("/api/status", headers=ALICE)
    assert r.status_code == 403 and r.json() == {"error": "admin token required"}
    r = await api.client.get("/api/status", headers=ADMIN)
    assert r.status_code == 200 and r.json()["campaigns"][0]["name"] == "e2e"


async def test_diagnostics(api: Api) -> None:
    get = api.client.get
    r = await get("/api/campaigns/e2e/why", headers=ADMIN)
    assert r.status_code == 200, r.text
    at = datetime.fromisoformat(r.json()["at"])
    assert at.utcoffset() == timedelta(0) and START <= at < START + timedelta(minutes=1)  # the engine's clock
    r = await get("/api/campaigns/e2e/why", params={"at": "2026-03-02T10:00:00"}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["at"] == "2026-03-02T10:00:00+00:00"  # naive: UTC
    r = await get("/api/campaigns/e2e/why", params={"at": "noon"}, headers=ADMIN)
    assert r.status_code == 422 and r.json()["error"] == "at: not an ISO 8601 date and time"
    r = await get("/api/campaigns/nope/why", headers=ADMIN)
    assert r.status_code == 404 and "unknown campaign 'nope'" in r.json()["error"]
    assert (await get("/api/campaigns/e2e/why", headers=ALICE)).status_code == 403
    r = await get("/api/campaigns/e2e/forecast", params={"hours": "3"}, headers=ADMIN)
    assert r.status_code == 200 and len(r.json()["hourly"]) == 3
    assert r.json()["hourly"][0]["start"].endswith("+00:00")
    for hours, message in (("x", "hours: not a whole number"), ("0", "hours: between 1 and 336"),
                           ("9" * 5000, "hours: not a whole number")):
        r = await get("/api/campaigns/e2e/forecast", params={"hours": hours}, headers=ADMIN)
        assert r.status_code == 422 and r.json()["error"] == message
    assert (await get("/api/campaigns/nope/forecast", headers=ADMIN)).status_code == 404
    r = await get("/api/lists/e2e/audit", headers=ADMIN)
    assert r.status_code == 200 and r.json()["leads"] == 1
    r = await get("/api/lists/nope/audit", headers=ADMIN)
    assert r.status_code == 404 and r.json() == {"error": "unknown list 'nope'"}
    assert (await get("/api/lists/e2e/audit", headers=BOB)).status_code == 403


async def test_unknown_routes_and_methods_answer_json(api: Api) -> None:
    r = await api.client.get("/api/nothing", headers=ADMIN)
    assert r.status_code == 404 and r.json() == {"error": "Not Found"}
    r = await api.client.get("/api/agents/alice/login", headers=ALICE)
    assert r.status_code == 405 and r.json() == {"error": "Method Not Allowed"}


def test_every_route_is_documented() -> None:
    from pathlib import Path

    from dialer.api.app import ROUTES
    from dialer.api.health import ROUTES as HEALTH_ROUTES
    from dialer.api.recordings import ROUTES as RECORDING_ROUTES

    docs = (Path(__file__).parents[2] / "docs" / "daemon.md").read_text()
    for route in [*ROUTES, *RECORDING_ROUTES, *HEALTH_ROUTES]:
        for method in route.methods - {"HEAD"}:
            path = route.path.replace("{call_id}", "{id}")
            assert f"`{method} {path}" in docs, f"{method} {path} missing from docs/daemon.md"
