"""Claiming leads: atomic, DNC- and window-aware, ordered; never the same lead twice, even with
several daemons claiming concurrently on one PostgreSQL database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from campaigns.windows import CallingWindow
from dialer.claim import calls, claim_leads, dnc, leads, lists_, open_zone_sets
from dialer.db import make_async_engine, open_engine
from dialer.schema import metadata
from dialer.storage.leads import zone_keys

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York, 16:00 in Budapest


def _seed(url: str, n: int = 20) -> None:
    engine = open_engine(url)
    campaigns = metadata.tables["campaigns"]
    with engine.begin() as conn:
        conn.execute(insert(campaigns), [{"id": 1, "name": "a", "status": "active", "definition": {}},
                                         {"id": 2, "name": "b", "status": "active", "definition": {}}])
        conn.execute(insert(lists_), [{"id": 1, "name": "l1", "campaign_id": 1, "priority": 0, "active": True},
                                      {"id": 2, "name": "l2", "campaign_id": 1, "priority": 5, "active": True},
                                      {"id": 3, "name": "inactive", "campaign_id": 1, "priority": 0, "active": False},
                                      {"id": 4, "name": "other", "campaign_id": 2, "priority": 0, "active": True}])
        rows = [{"list_id": 1, "phone": f"+1212555{i:04d}", "timezones": "America/New_York", "status": "new"}
                for i in range(n)]
        rows += [{"list_id": 3, "phone": "+12125559990", "timezones": "America/New_York", "status": "new"},
                 {"list_id": 4, "phone": "+12125559991", "timezones": "America/New_York", "status": "new"},
                 {"list_id": 2, "phone": "+36301234567", "timezones": "Europe/Budapest", "status": "new"},
                 {"list_id": 1, "phone": "+12125559992", "timezones": "America/New_York", "status": "retry",
                  "next_call_at": NOW + timedelta(hours=1)},
                 {"list_id": 1, "phone": "+12125559993", "timezones": "America/New_York", "status": "callback",
                  "next_call_at": NOW - timedelta(minutes=1)},
                 {"list_id": 1, "phone": "+12125559994", "timezones": "America/New_York", "status": "done"},
                 {"list_id": 1, "phone": "+12125559995", "timezones": "Asia/Tokyo", "status": "new"},
                 {"list_id": 1, "phone": "+12125559996", "timezones": "", "status": "new"},
                 {"list_id": 1, "phone": "+12125559997", "timezones": "America/New_York", "status": "new"}]
        conn.execute(insert(leads), [{"next_call_at": None, **r} for r in rows])
        conn.execute(insert(dnc), [{"phone": "+12125559997", "scope": 0}])
    engine.dispose()


async def _claim(url: str, n: int, open_sets=None, node: str = "n1"):
    engine = make_async_engine(url)
    try:
        async with engine.begin() as conn:
            return await claim_leads(conn, campaign_id=1, n=n, now=NOW, node=node, ring_timeout=25,
                                     open_sets=open_sets)
    finally:
        await engine.dispose()


async def test_claim_order_and_exclusions(db_url: str) -> None:
    _seed(db_url)
    window = CallingWindow()
    engine = make_async_engine(db_url)
    async with engine.connect() as conn:
        keys = await zone_keys(conn, 1)
    await engine.dispose()
    open_sets = open_zone_sets(window, keys, NOW)
    assert open_sets == {"America/New_York", "Europe/Budapest"}  # Tokyo is at midnight
    # callback due first, then the higher-priority list, then new leads in id order
    assert [c.phone for c in await _claim(db_url, 1, open_sets)] == ["+12125559993"]
    assert [c.phone for c in await _claim(db_url, 1, open_sets)] == ["+36301234567"]
    first3 = await _claim(db_url, 3, open_sets)
    assert sorted(c.phone for c in first3) == [f"+1212555{i:04d}" for i in range(3)]
    rest = await _claim(db_url, 100, open_sets)
    assert sorted(c.phone for c in rest) == [f"+1212555{i:04d}" for i in range(3, 20)]
    claimed = [*first3, *rest]
    phones = ["+12125559993", "+36301234567", *(c.phone for c in claimed)]
    excluded = {"+12125559990", "+12125559991", "+12125559992", "+12125559994", "+12125559995",
                "+12125559996", "+12125559997"}
    assert not excluded & set(phones)
    assert all(c.attempt == 1 for c in claimed)
    # Every claimed lead is now 'dialing' with a calls row written before any Originate.
    engine = open_engine(db_url)
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(leads.c.phone, leads.c.status)).all())
        call_rows = conn.execute(select(calls.c.lead_id, calls.c.status, calls.c.channel_id)).all()
    engine.dispose()
    assert all(statuses[p] == "dialing" for p in phones)
    assert len(call_rows) == len(phones) and {r.status for r in call_rows} == {"placing"}
    assert len({r.channel_id for r in call_rows}) == len(call_rows)
    # Nothing left: a second claim gets nothing.
    assert await _claim(db_url, 10, open_sets) == []


async def test_concurrent_claims_never_share_a_lead(postgres_url: str) -> None:
    _seed(postgres_url, n=300)
    results = await asyncio.gather(*[_claim(postgres_url, 7, None, node=f"n{i}") for i in range(12)])
    ids = [c.lead_id for batch in results for c in batch]
    assert len(ids) == len(set(ids))
    assert len(ids) == 12 * 7


@pytest.mark.parametrize("n", [0, -1])
async def test_claim_nothing(sqlite_url: str, n: int) -> None:
    _seed(sqlite_url)
    assert await _claim(sqlite_url, n) == []


async def test_sqlite_one_trip_claim_matches_the_general_path(tmp_path, monkeypatch) -> None:
    """The SQLite claim run in one trip to aiosqlite's thread claims the same leads, in the same
    order, with the same ``calls`` rows, as the same statements issued one by one."""
    import dialer.claim as claim_mod

    results = {}
    for one_trip in (True, False):
        url = f"sqlite:///{tmp_path}/claim-{one_trip}.db"
        _seed(url)
        monkeypatch.setattr(claim_mod, "SQLITE_ONE_TRIP", one_trip)
        got = [await _claim(url, 2, {"America/New_York", "Europe/Budapest"}) for _ in range(3)]
        engine = open_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(select(calls.c.lead_id, calls.c.phone, calls.c.attempt, calls.c.status,
                                       calls.c.placed_at, calls.c.ring_timeout, calls.c.node)
                                .order_by(calls.c.id)).all()
        engine.dispose()
        results[one_trip] = ([[(c.lead_id, c.phone, c.attempt, c.timezones, c.callback_owner) for c in g]
                              for g in got], rows)
    assert results[True] == results[False]
    assert [len(g) for g in results[True][0]] == [2, 2, 2]
    assert results[True][1][0].placed_at == NOW  # aware UTC read back (UtcDateTime)


@pytest.mark.parametrize("windows", [True, False], ids=["walks", "sorted"])
async def test_a_claim_rolled_back_leaves_every_lead_as_it_was(db_url: str, windows: bool) -> None:
    """The claim's UPDATE and its ``calls`` rows are one transaction: nothing of a claim the caller
    rolls back is kept (on SQLite a statement that begins with ``WITH`` would not open the driver's
    implicit transaction and the UPDATE would commit alone)."""
    _seed(db_url)
    engine = open_engine(db_url)
    with engine.connect() as conn:
        before = conn.execute(select(leads).order_by(leads.c.id)).all()
    adb = make_async_engine(db_url)
    try:
        async with adb.begin() as conn:
            got = await claim_leads(conn, campaign_id=1, n=3, now=NOW, node="n1", ring_timeout=25,
                                    open_sets={"America/New_York"} if windows else None)
            assert len(got) == 3
            await conn.rollback()
    finally:
        await adb.dispose()
    with engine.connect() as conn:
        assert conn.execute(select(leads).order_by(leads.c.id)).all() == before
        assert conn.execute(select(calls)).all() == []
    engine.dispose()


async def test_one_claim_statement_whatever_the_number_of_leads(sqlite_url: str) -> None:
    """The pacing asks for a different number of leads on every pass: the claim statement is
    built and compiled once for the campaign's shape, not once per size (that cost ~0.1-2 s)."""
    import dialer.claim as claim_mod

    _seed(sqlite_url)
    claim_mod._claim_sql.cache_clear()
    got = [len(await _claim(sqlite_url, n, {"America/New_York"})) for n in (1, 2, 3, 4)]
    assert got == [1, 2, 3, 4]
    assert claim_mod._claim_sql.cache_info().currsize == 1
