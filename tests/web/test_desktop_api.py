"""The desktop's API pieces without a browser: "do not call me", supervisor actions, my
callbacks, the screen pop's masking and history (over the API fixture of tests/api)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from campaigns.definition import Disposition
from dialer.models import audit_log, calls
from lists.models import dnc_numbers
from tests.api.conftest import ADMIN, ALICE, BOB, Api


def with_dnc_code(api: Api) -> None:
    camp = next(iter(api.engine.campaigns.values()))
    extra = Disposition("DNC", "Do not call", contact=True, dnc=True, final=True)
    camp.definition = dataclasses.replace(camp.definition, dispositions=(*camp.definition.dispositions, extra))


async def audit_rows(api: Api, action: str) -> list[dict]:
    async with api.engine.db.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(
            select(audit_log).where(audit_log.c.action == action).order_by(audit_log.c.id))]


async def test_do_not_call_adds_the_number_at_once_and_disposes_the_call(api: Api) -> None:
    with_dnc_code(api)
    post = api.client.post
    assert (await post("/api/calls/7/dnc", headers=BOB)).status_code == 403  # not bob's call
    assert (await post("/api/calls/8/dnc", headers=ADMIN)).status_code == 409  # never reached an agent
    r = await post("/api/calls/7/dnc", json={"note": "asked twice"}, headers=ALICE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["phone"], body["added"], body["disposition"]) == ("+12125550143", True, "DNC")
    assert body["at"].endswith("+00:00")
    async with api.engine.db.connect() as conn:
        listed = (await conn.execute(select(dnc_numbers.c.scope, dnc_numbers.c.source, dnc_numbers.c.reason)
                                     .where(dnc_numbers.c.phone == "+12125550143"))).all()
        call = (await conn.execute(select(calls.c.disposition, calls.c.note).where(calls.c.id == 7))).one()
    assert (0, "agent alice", "asked during call 7") in [tuple(x) for x in listed]  # global scope
    assert tuple(call) == ("DNC", "asked twice")
    [entry] = await audit_rows(api, "dnc_added")
    assert (entry["actor"], entry["target"], entry["detail"]["call_id"]) == ("alice", "+12125550143", 7)
    assert (await post("/api/calls/7/dnc", headers=ALICE)).status_code == 409  # disposed already


async def test_do_not_call_without_a_dnc_disposition_still_lists_the_number(api: Api) -> None:
    r = await api.client.post("/api/calls/7/dnc", headers=ALICE)
    assert r.status_code == 200 and r.json()["disposition"] is None and "no do-not-call" in r.json()["error"]
    async with api.engine.db.connect() as conn:
        assert (await conn.execute(select(dnc_numbers.c.id).where(dnc_numbers.c.phone == "+12125550143"))).first()


async def test_supervisor_actions_force_pause_log_out_and_pause_resume_a_campaign(api: Api) -> None:
    post = api.client.post
    assert (await post("/api/agents/alice/login", json={"campaign": "e2e"}, headers=ALICE)).status_code == 200
    r = await post("/api/agents/alice/pause", json={"code": "MEETING"}, headers=ADMIN)
    assert r.status_code == 200
    assert ("pause", ("e2e", "PJSIP/alice", True, "MEETING")) in api.link.actions
    assert (await post("/api/agents/alice/logout", headers=ADMIN)).status_code == 200
    assert ("remove", ("e2e", "PJSIP/alice")) in api.link.actions
    [paused] = await audit_rows(api, "force_pause")
    [out] = await audit_rows(api, "force_logout")
    assert (paused["actor"], paused["target"], paused["detail"]) == ("admin", "alice", {"code": "MEETING"})
    assert (out["actor"], out["target"]) == ("admin", "alice")

    # campaigns: an agent may not; pause drops it from the engine, resume brings it back
    assert (await post("/api/campaigns/e2e/pause", headers=ALICE)).status_code == 403
    assert (await post("/api/campaigns/nope/pause", headers=ADMIN)).status_code == 404
    r = await post("/api/campaigns/e2e/pause", headers=ADMIN)
    assert r.status_code == 200 and r.json() == {"campaign": "e2e", "status": "paused", "previous": "active"}
    assert not api.engine.campaigns
    r = await post("/api/campaigns/e2e/pause", headers=ADMIN)
    assert r.status_code == 409 and "is paused, not active" in r.json()["error"]
    assert (await post("/api/campaigns/e2e/resume", headers=ADMIN)).status_code == 200
    assert [c.name for c in api.engine.campaigns.values()] == ["e2e"]
    assert [r["action"] for r in await audit_rows(api, "campaign_paused")] == ["campaign_paused"]
    assert len(await audit_rows(api, "campaign_started")) == 1


def test_numbers_are_masked_as_the_settings_say() -> None:
    from dialer.web.masking import mask_phone, mask_screen

    assert mask_phone("+12125550143", "full") == "+12125550143"
    assert mask_phone("+12125550143", "last4") == "+•••••••0143"
    assert mask_phone("+12125550143", "hidden") == "•••"
    assert mask_phone("123", "last4") == "•••"
    screen = {"call_id": 1, "lead": {"phone": "+447700900123", "first_name": "Ann"}}
    assert mask_screen(screen, "last4")["lead"] == {"phone": "+••••••••0123", "first_name": "Ann"}
    assert screen["lead"]["phone"] == "+447700900123"  # a copy
    assert mask_screen(None, "last4") is None


async def test_screen_pop_masks_the_number_and_shows_attempts_and_last_outcomes(api: Api) -> None:
    from datetime import timedelta

    from sqlalchemy import insert

    from tests.api.conftest import START

    async with api.engine.db.begin() as conn:  # two earlier calls to the same lead
        common = {"campaign_id": next(iter(api.engine.campaigns)), "lead_id": 1, "phone": "+12125550143",
                  "node": "n", "status": "ended", "ring_timeout": 15}
        await conn.execute(insert(calls), [
            {**common, "id": 3, "attempt": 1, "outcome": "NO_ANSWER", "disposition": None, "agent": None,
             "placed_at": START - timedelta(days=2)},
            {**common, "id": 4, "attempt": 2, "outcome": "CONNECTED", "disposition": "CALLBACK", "agent": "bob",
             "placed_at": START - timedelta(days=1)},
        ])
    await api.client.post("/api/agents/alice/login", json={"campaign": "e2e"}, headers=ALICE)
    api.engine.agent_by_name("alice").call_id = 7
    r = await api.client.get("/api/agents/alice/call", headers=ALICE)
    call = r.json()["call"]
    assert call["lead"]["phone"] == "+•••••••0143" and call["phone_masked"] == "last4"
    assert "+12125550143" not in r.text
    assert [(h["outcome"], h["disposition"], h["agent"]) for h in call["history"]] == [
        ("CONNECTED", "CALLBACK", "bob"), ("NO_ANSWER", None, None)]
    assert call["history"][0]["placed_at"].endswith("+00:00") and call["attempt"] == 1
    api.settings.http.screen_number = "full"
    assert (await api.client.get("/api/agents/alice/call", headers=ALICE)).json()["call"]["lead"]["phone"] == \
        "+12125550143"


async def test_callback_picker_offers_only_the_window_and_the_server_refuses_outside(api: Api) -> None:
    from sqlalchemy import update

    from campaigns.models import campaigns
    from lists.models import leads

    async with api.engine.db.begin() as conn:  # the lead's window: 09:00-20:00 its time (New York)
        data = (await conn.execute(select(campaigns.c.definition))).scalar_one()
        await conn.execute(update(campaigns).values(definition={**data, "window": {"hours": "09:00-20:00"}}))
    get, post = api.client.get, api.client.post
    assert (await get("/api/calls/7/callback-slots", headers=BOB)).status_code == 403
    r = await get("/api/calls/7/callback-slots?days=2", headers=ALICE)
    assert r.status_code == 200
    offered = r.json()["slots"]
    assert r.json()["zones"] == ["America/New_York"] and offered
    assert all(s.endswith("+00:00") for s in offered)
    hours = {int(s[11:13]) for s in offered}  # UTC hours: 09-20 in New York (EST) is 14-01 UTC
    assert hours <= {14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 0}
    assert "2026-03-03T03:00:00+00:00" not in offered

    r = await post("/api/calls/7/disposition", json={"code": "CALLBACK", "callback_at": "2026-03-03T03:00:00+00:00"},
                   headers=ALICE)
    assert r.status_code == 422
    assert r.json()["error"] == ("callback_at: 2026-03-03T03:00:00+00:00 is outside the lead's calling window "
                                 "(America/New_York)")
    r = await post("/api/calls/7/disposition", json={"code": "CALLBACK", "callback_at": offered[-1],
                                                      "callback_owner": "anyone"}, headers=ALICE)
    assert r.status_code == 200, r.text
    async with api.engine.db.connect() as conn:
        lead = (await conn.execute(select(leads.c.status, leads.c.callback_owner, leads.c.next_call_at))).one()
    assert lead.status == "callback" and lead.callback_owner is None  # anyone may take it


async def test_an_owned_callback_goes_to_the_agent(api: Api) -> None:
    from lists.models import leads

    slot = (await api.client.get("/api/calls/7/callback-slots", headers=ALICE)).json()["slots"][3]
    r = await api.client.post("/api/calls/7/disposition", json={"code": "CALLBACK", "callback_at": slot},
                              headers=ALICE)
    assert r.status_code == 200, r.text
    async with api.engine.db.connect() as conn:
        assert (await conn.execute(select(leads.c.callback_owner))).scalar_one() == "alice"
    bad = await api.client.post("/api/calls/7/disposition", json={"code": "CALLBACK", "callback_at": slot,
                                                                  "callback_owner": "boss"}, headers=ALICE)
    assert bad.status_code == 422 and bad.json()["error"] == "callback_owner: 'me' or 'anyone'"


async def test_my_callbacks_are_the_agents_owned_ones_due_today(api: Api) -> None:
    from datetime import timedelta

    from sqlalchemy import insert

    from lists.models import leads
    from tests.api.conftest import START

    base = {"list_id": 1, "timezones": "America/New_York", "status": "callback", "attempts": 1}
    async with api.engine.db.begin() as conn:
        await conn.execute(insert(leads), [
            {**base, "id": 11, "phone": "+12125550111", "first_name": "Ann", "callback_owner": "alice",
             "next_call_at": START + timedelta(hours=3)},
            {**base, "id": 12, "phone": "+12125550112", "first_name": "Ben", "callback_owner": "alice",
             "next_call_at": START + timedelta(hours=20)},  # tomorrow in UTC, today in Tokyo
            {**base, "id": 13, "phone": "+12125550113", "first_name": "Cid", "callback_owner": "bob",
             "next_call_at": START + timedelta(hours=1)},  # bob's
            {**base, "id": 14, "phone": "+12125550114", "first_name": "Dee", "callback_owner": "alice",
             "next_call_at": START + timedelta(hours=1)},
        ])
    r = await api.client.get("/api/agents/alice/callbacks", headers=ALICE)
    assert r.status_code == 200
    body = r.json()
    assert body["day"] == "2026-03-02"
    assert [(c["lead_id"], c["name"], c["phone"]) for c in body["callbacks"]] == [
        (14, "Dee", "+•••••••0114"), (11, "Ann", "+•••••••0111")]
    assert body["callbacks"][0]["at"] == "2026-03-02T16:00:00+00:00"
    # in Tokyo it is already 3 March (00:00): Ben's callback (20:00 there) is today's
    tokyo = (await api.client.get("/api/agents/alice/callbacks?tz=Asia/Tokyo", headers=ALICE)).json()
    assert tokyo["day"] == "2026-03-03" and [c["lead_id"] for c in tokyo["callbacks"]] == [14, 11, 12]
    assert (await api.client.get("/api/agents/alice/callbacks", headers=BOB)).status_code == 403
    bad = await api.client.get("/api/agents/alice/callbacks?tz=Mars/Base", headers=ALICE)
    assert bad.status_code == 422 and "unknown time zone" in bad.json()["error"]


async def test_web_forms_have_limits_with_clear_statuses(api: Api) -> None:
    post = api.client.post
    big = await post("/signin", content=b"name=" + b"a" * 5000,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413 and big.json() == {"error": "form larger than 4096 bytes"}
    long = await post("/signin", data={"name": "a" * 300, "secret": "x", "csrf": "y"})
    assert long.status_code == 422 and long.json() == {"error": "name: at most 256 characters"}
    many = await post("/signin", content="&".join(f"f{i}=1" for i in range(30)).encode(),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert many.status_code == 413
