"""Hostile requests (issue 14, "API limits"): each ends in a 4xx with a JSON reason, never a 500,
a hang or a change of state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dialer.settings import Settings
from tests.api.conftest import ADMIN, ALICE, BOB, Api, redefine
from tests.api.test_routes import login


async def test_a_huge_body_is_413(api: Api) -> None:
    body = b'{"campaign": "' + b"x" * 300_000 + b'"}'
    r = await api.client.post("/api/agents/alice/login", content=body, headers=ALICE)
    assert r.status_code == 413 and r.json() == {"error": "request body larger than 65536 bytes"}
    assert not api.link.actions


async def test_a_huge_body_without_a_length_is_cut_off(api: Api) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(10_000):  # 10 MB offered
            sent += 1
            yield b" " * 1024

    r = await api.client.post("/api/calls/7/disposition", content=chunks(), headers=ALICE)
    assert r.status_code == 413
    assert sent < 100  # read no further than the limit


class TestLimitsFromSettings:
    @pytest.fixture
    def settings(self) -> Settings:
        settings = Settings()
        settings.http.max_body_bytes = 2048
        settings.http.body_timeout = 0.05
        return settings

    async def test_the_body_limit_is_a_setting(self, api: Api) -> None:
        note = {"code": "NOPE", "note": "n" * 1500}
        assert (await api.client.post("/api/calls/7/disposition", json=note, headers=ALICE)).status_code == 422
        note["note"] = "n" * 2500
        r = await api.client.post("/api/calls/7/disposition", json=note, headers=ALICE)
        assert r.status_code == 413 and "2048 bytes" in r.json()["error"]

    async def test_a_body_that_never_arrives_is_408(self, api: Api) -> None:
        async def stalled() -> AsyncIterator[bytes]:
            yield b'{"code": '
            await asyncio.Event().wait()  # never: the daemon's body timeout ends it
            yield b""

        r = await api.client.post("/api/calls/7/disposition", content=stalled(), headers=ALICE)
        assert r.status_code == 408 and r.json() == {"error": "request body not received in time"}


@pytest.mark.parametrize("raw", [
    b"[" * 30_000 + b"]" * 30_000,  # just under the body limit
    b'{"campaign": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    b'{"a":' * 5000 + b"1" + b"}" * 5000,
])
async def test_deep_nesting_is_400(api: Api, raw: bytes) -> None:
    r = await api.client.post("/api/agents/alice/login", content=raw, headers=ALICE)
    assert r.status_code == 400 and r.json() == {"error": "request body nested deeper than 32 levels"}


async def test_huge_numbers(api: Api) -> None:
    for call_id in (2**63, 2**64 + 7, int("9" * 300)):
        for headers in (ALICE, ADMIN):
            r = await api.client.post(f"/api/calls/{call_id}/disposition", json={"code": "SALE"}, headers=headers)
            assert r.status_code == 404 and r.json()["error"].startswith("unknown call"), r.text
    r = await api.client.post("/api/calls/7/disposition", content=b'{"code": ' + b"9" * 10_000 + b"}", headers=ALICE)
    assert r.status_code == 400 and r.json() == {"error": "request body is not JSON"}
    r = await api.client.post("/api/calls/7/disposition", json={"code": 2**70}, headers=ALICE)
    assert r.status_code == 422 and r.json() == {"error": "code: must be a string"}


async def test_long_fields_are_422(api: Api) -> None:
    post = api.client.post
    r = await post("/api/calls/7/disposition", json={"code": "S" * 10_000}, headers=ALICE)
    assert r.status_code == 422 and r.json() == {"error": "code: at most 32 characters"}
    r = await post("/api/calls/7/disposition", json={"code": "REFUSED", "reason": "R" * 33}, headers=ALICE)
    assert r.status_code == 422 and r.json() == {"error": "reason: at most 32 characters"}
    r = await post("/api/calls/7/disposition", json={"code": "SALE", "note": "n" * 4001}, headers=ALICE)
    assert r.status_code == 422 and r.json() == {"error": "note: at most 4000 characters"}
    r = await post("/api/agents/alice/login", json={"campaign": "c" * 101}, headers=ALICE)
    assert r.status_code == 422 and r.json() == {"error": "campaign: at most 100 characters"}
    r = await post(f"/api/agents/{'a' * 5000}/login", json={"campaign": "e2e"}, headers=ADMIN)
    assert r.status_code == 404 and len(r.json()["error"]) < 200
    r = await api.client.get(f"/api/campaigns/{'c' * 5000}/why", headers=ADMIN)
    assert r.status_code == 404 and len(r.json()["error"]) < 200


async def test_pause_codes_are_bounded_tokens(api: Api) -> None:
    await login(api)
    before = list(api.link.actions)
    for code in ("B" * 10_000, "B" * 33, "lunch break", "x,DIALER_AGENT=PJSIP/evil", "x\r\nAction: Logoff"):
        r = await api.client.post("/api/agents/alice/pause", json={"code": code}, headers=ALICE)
        assert r.status_code == 422, code[:40]
    assert api.link.actions == before


@pytest.mark.parametrize("code", ["wrapup", "callback", "WrapUp"])
async def test_reserved_pause_codes_are_refused(api: Api, code: str) -> None:
    await login(api)
    before = list(api.link.actions)
    for headers in (ALICE, ADMIN):
        r = await api.client.post("/api/agents/alice/pause", json={"code": code}, headers=headers)
        assert r.status_code == 422 and r.json() == {"error": f"code: {code!r} is reserved for the daemon"}
    assert api.link.actions == before
    assert api.engine.agent_by_name("alice").paused is None


async def test_a_campaign_list_of_pause_codes_is_enforced(api: Api, sqlite_url: str, tmp_path: Path) -> None:
    await redefine(api, sqlite_url, tmp_path, 'pause_codes = ["Lunch break", "Training"]')
    await login(api)
    assert api.engine.agent_by_name("alice").campaign.definition.pause_codes == ("Lunch break", "Training")
    before = list(api.link.actions)
    r = await api.client.post("/api/agents/alice/pause", json={"code": "BREAK"}, headers=ALICE)
    assert r.status_code == 422 and r.json() == {
        "error": "code: 'BREAK' is not one of the campaign's pause codes (Lunch break, Training)"}
    assert api.link.actions == before
    r = await api.client.post("/api/agents/alice/pause", json={"code": "Lunch break"}, headers=ALICE)
    assert r.status_code == 200 and r.json()["code"] == "Lunch break"
    assert api.engine.agent_by_name("alice").paused == "Lunch break"


@pytest.mark.parametrize(("body", "status"), [
    (b"{nope", 400), (b"[]", 400), (b"\xff", 400), (b"null", 400), (b'"x"', 400),
])
async def test_malformed_bodies_are_400(api: Api, body: bytes, status: int) -> None:
    r = await api.client.post("/api/agents/bob/login", content=body, headers=BOB)
    assert r.status_code == status and "error" in r.json()
