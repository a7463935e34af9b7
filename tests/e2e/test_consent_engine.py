"""The engine checks the consent ledger again just before the Originate: a revocation recorded
while the claim ran holds the number (the claim's own check is in tests/claims)."""

from __future__ import annotations

from sqlalchemy import insert, select

from dialer import engine as engine_mod
from dialer.claim import calls
from dialer.session import ClaimPlan
from lists.models import consents, leads
from tests.e2e.test_api import api  # noqa: F401  (fixture)

PHONE = "+12125550199"


async def test_a_revocation_during_the_claim_stops_the_originate(api, monkeypatch) -> None:  # noqa: F811
    _client, engine, _link = api
    camp = next(iter(engine.campaigns.values()))
    async with engine.db.begin() as conn:
        await conn.execute(insert(leads).values(id=2, list_id=1, phone=PHONE, timezones="America/New_York",
                                                status="new", attempts=0, custom={}))
    real = engine_mod.claim_leads

    async def claim_then_revoke(conn, **kw):
        got = await real(conn, **kw)
        assert [c.phone for c in got] == [PHONE]  # the claim itself saw no revocation
        await conn.execute(insert(consents).values(phone=PHONE, kind="revoked", scope="*", at=kw["now"],
                                                   channel="keypress"))
        return got

    monkeypatch.setattr(engine_mod, "claim_leads", claim_then_revoke)
    monkeypatch.setattr(engine.session, "open_sets", lambda campaign_id, at: None)  # windows aside here
    claimed = await engine._claim(ClaimPlan(camp.id, 5, 1, False), engine.now())
    assert claimed == []
    async with engine.db.connect() as conn:
        assert (await conn.execute(select(calls.c.id).where(calls.c.phone == PHONE))).all() == []
        lead = (await conn.execute(select(leads.c.status, leads.c.attempts).where(leads.c.id == 2))).one()
    assert lead.attempts == 0
    # and the next claim does not take it again (the ledger's revocation holds it)
    monkeypatch.setattr(engine_mod, "claim_leads", real)
    assert await engine._claim(ClaimPlan(camp.id, 5, 1, False), engine.now()) == []



async def test_a_dnc_decision_is_recorded_as_a_revocation(api) -> None:  # noqa: F811
    from campaigns.rules import AddToDnc
    from dialer.storage.leads import _write_step

    _client, engine, _link = api
    camp = next(iter(engine.campaigns.values()))
    async with engine.db.begin() as conn:
        lead = (await conn.execute(select(leads).where(leads.c.id == 1))).one()
        now = engine.clock.now()
        await _write_step(conn, camp, lead, AddToDnc("customer asked", "r", "global"), {}, now)
        rows = (await conn.execute(select(consents.c.phone, consents.c.kind, consents.c.scope, consents.c.channel,
                                          consents.c.evidence))).all()
        from lists.models import dnc_numbers

        entry = (await conn.execute(select(dnc_numbers.c.requested_at, dnc_numbers.c.honour_until))).one()
    assert [tuple(r) for r in rows] == [("+12125550143", "revoked", "*", "disposition", "customer asked")]
    # a US number: the US pack applies whatever the campaign's jurisdiction, and it says for ever
    assert entry.requested_at == now and entry.honour_until is None


async def test_the_opt_out_write_lists_the_number_and_revokes(api) -> None:  # noqa: F811
    from datetime import UTC, datetime

    from dialer.storage.calls import record_opt_out
    from lists.models import dnc_numbers

    _client, engine, _link = api
    at = datetime(2026, 12, 1, 15, tzinfo=UTC)
    async with engine.db.begin() as conn:
        await record_opt_out(conn, 7, "+12125550143", "e2e", at)
        await record_opt_out(conn, 8, "+12125550143", "e2e", at)  # a second call's keypress
        listed = (await conn.execute(select(dnc_numbers.c.phone, dnc_numbers.c.scope))).all()
        ledger = (await conn.execute(select(consents.c.kind, consents.c.channel, consents.c.scope,
                                            consents.c.evidence))).all()
    assert [tuple(r) for r in listed] == [("+12125550143", 0)]
    assert [tuple(r) for r in ledger] == [("revoked", "keypress", "*", "call 7"), ("revoked", "keypress", "*", "call 8")]


async def test_revocation_through_the_api(api) -> None:  # noqa: F811
    from tests.e2e.test_api import auth

    client, engine, _link = api
    r = await client.post("/api/consent/revoke", json={"number": "2125550198", "region": "us", "scope": "acme",
                                                       "evidence": "CRM opt-out #12"}, headers=auth("tok-alice"))
    assert r.status_code == 403  # an agent's token: no
    r = await client.post("/api/consent/revoke", json={"number": "12"}, headers=auth("admin-token"))
    assert r.status_code == 422 and "not a usable phone number" in r.json()["error"]
    r = await client.post("/api/consent/revoke", json={"number": "2125550198", "region": "us", "scope": "acme",
                                                       "evidence": "CRM opt-out #12"}, headers=auth("admin-token"))
    assert r.status_code == 200, r.text
    assert r.json()["number"] == "+12125550198"
    async with engine.db.connect() as conn:
        rows = (await conn.execute(select(consents.c.phone, consents.c.kind, consents.c.scope, consents.c.channel,
                                          consents.c.evidence))).all()
    assert [tuple(x) for x in rows] == [("+12125550198", "revoked", "acme", "api", "CRM opt-out #12")]
