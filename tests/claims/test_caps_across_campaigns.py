"""Frequency caps count every call to the number, whichever campaign or list placed it (item 5):
three calls in 24 h from one Florida campaign hold the number in another; a revocation recorded
in one campaign's call holds it in every campaign of the scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from dialer.claim import claim_leads
from dialer.db import make_async_engine, open_engine
from lists.models import consents
from tests.scheduling.helpers import calls_t, campaign, lead, lead_list

NOW = datetime(2026, 6, 3, 15, tzinfo=UTC)  # 11:00 in New York, a Wednesday
PHONE, OTHER = "+13055550100", "+13055550101"


async def _claim(url: str, cid: int, open_sets: set[str] | None = None) -> list[str]:
    db = make_async_engine(url)
    try:
        async with db.begin() as conn:
            got = await claim_leads(conn, campaign_id=cid, n=10, now=NOW, node="n", ring_timeout=25,
                                    open_sets=open_sets)
    finally:
        await db.dispose()
    return sorted(c.phone for c in got)


async def test_three_calls_in_a_day_from_one_campaign_hold_the_number_in_another(db_url: str) -> None:
    engine = open_engine(db_url)
    a = campaign(engine, "a", jurisdiction="US-FL", compliance={"seller": "acme"})
    b = campaign(engine, "b", jurisdiction="US-FL", compliance={"seller": "acme"})
    la, lb = lead_list(engine, "la", a), lead_list(engine, "lb", b)
    first = lead(engine, la, PHONE, state="FL", country="US")
    lead(engine, lb, PHONE, state="FL", country="US")
    lead(engine, lb, OTHER, state="FL", country="US")
    with engine.begin() as conn:
        for i, hours in enumerate((23, 10, 2)):
            conn.execute(insert(calls_t).values(campaign_id=a, lead_id=first, phone=PHONE, attempt=i + 1, node="n",
                                                status="ended", outcome="NO_ANSWER", ring_timeout=25,
                                                placed_at=NOW - timedelta(hours=hours), channel_id=f"x{i}"))
    engine.dispose()
    assert await _claim(db_url, b) == [OTHER]


async def test_two_calls_leave_room_for_a_third(db_url: str) -> None:
    engine = open_engine(db_url)
    a = campaign(engine, "a", jurisdiction="US-FL")
    b = campaign(engine, "b", jurisdiction="US-FL")
    la, lb = lead_list(engine, "la", a), lead_list(engine, "lb", b)
    first = lead(engine, la, PHONE, state="FL", country="US")
    lead(engine, lb, PHONE, state="FL", country="US")
    with engine.begin() as conn:
        for i, hours in enumerate((25, 10, 2)):  # the first is older than 24 h
            conn.execute(insert(calls_t).values(campaign_id=a, lead_id=first, phone=PHONE, attempt=i + 1, node="n",
                                                status="ended", outcome="NO_ANSWER", ring_timeout=25,
                                                placed_at=NOW - timedelta(hours=hours), channel_id=f"x{i}"))
    engine.dispose()
    assert await _claim(db_url, b) == [PHONE]


async def test_a_revocation_in_the_sellers_scope_holds_every_campaign_of_the_seller(db_url: str) -> None:
    engine = open_engine(db_url)
    a = campaign(engine, "a", compliance={"seller": "acme"})
    b = campaign(engine, "b", compliance={"seller": "acme"})
    c = campaign(engine, "c", compliance={"seller": "globex"})
    for cid, name in ((a, "la"), (b, "lb"), (c, "lc")):
        lead(engine, lead_list(engine, name, cid), PHONE)
    with engine.begin() as conn:
        conn.execute(insert(consents).values(phone=PHONE, kind="revoked", scope="acme", at=NOW - timedelta(minutes=1),
                                             channel="keypress"))
    engine.dispose()
    assert await _claim(db_url, a) == [] and await _claim(db_url, b) == []
    assert await _claim(db_url, c) == [PHONE]


@pytest.mark.parametrize("open_sets", [None, {"America/New_York"}], ids=["sorted", "walks"])
async def test_one_lead_per_number_in_a_claim(db_url: str, open_sets: set[str] | None) -> None:
    """Found by the property test: two leads of one Florida number claimed together made the
    third and fourth call of the day (the cap counts calls rows, which neither had yet)."""
    engine = open_engine(db_url)
    a = campaign(engine, "a", jurisdiction="US-FL")
    la = lead_list(engine, "la", a)
    first = lead(engine, la, PHONE, state="FL", country="US")
    lead(engine, la, PHONE, state="FL", country="US")
    lead(engine, la, OTHER, state="FL", country="US")
    with engine.begin() as conn:
        for i, hours in enumerate((10, 2)):
            conn.execute(insert(calls_t).values(campaign_id=a, lead_id=first, phone=PHONE, attempt=i + 1, node="n",
                                                status="ended", outcome="NO_ANSWER", ring_timeout=25,
                                                placed_at=NOW - timedelta(hours=hours), channel_id=f"x{i}"))
    engine.dispose()
    assert await _claim(db_url, a, open_sets) == sorted([PHONE, OTHER])  # one of the two, not both
    assert await _claim(db_url, a, open_sets) == []  # the third call of the day was that one
