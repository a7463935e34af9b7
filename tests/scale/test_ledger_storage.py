"""The campaign-wide abandon ledger in the database (SQLite and PostgreSQL): the writer's upsert
per campaign, node and minute, and the sums over the rolling windows that a node reads of its
peers; a daemon whose reads fail goes progressive and says so."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from campaigns.models import campaigns
from dialer.db import make_async_engine, open_engine
from dialer.models import abandon_minutes
from dialer.pacing import AbandonCounts, LedgerCounts
from dialer.session import CountAnswer
from dialer.storage import ledger
from dialer.storage.writer import store

NOW = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)
MINUTE = NOW.replace(second=0)


async def test_upserts_per_minute_and_sums_the_other_nodes_windows(db_url: str) -> None:
    sync = open_engine(db_url)
    with sync.begin() as conn:
        conn.execute(insert(campaigns), [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    sync.dispose()
    db = make_async_engine(db_url)
    answers = [  # (campaign, node, minutes ago, abandoned)
        (1, "n1", 0, True), (1, "n1", 0, False), (1, "n1", 0, False),
        (1, "n2", 30, False), (1, "n2", 90, True), (1, "n3", 60 * 30, False),  # 30 hours ago: the 30 days only
        (1, "n3", 60 * 24 * 31, True),  # older than 30 days: in no window
        (2, "n2", 5, True),
    ]
    try:
        async with db.begin() as conn:
            for cid, node, ago, abandoned in answers:
                await store(conn, CountAnswer(cid, node, MINUTE - timedelta(minutes=ago), abandoned), None)  # type: ignore[arg-type]
        async with db.connect() as conn:
            rows = (await conn.execute(select(abandon_minutes).where(abandon_minutes.c.node == "n1"))).all()
            assert [(r.abandoned, r.connected) for r in rows] == [(1, 2)]  # one row: the upsert added up
            peers_of_n1 = await ledger.peer_counts(conn, "n1", NOW)
            peers_of_n3 = await ledger.peer_counts(conn, "n3", NOW)
    finally:
        await db.dispose()
    assert peers_of_n1 == {
        1: LedgerCounts(hour=AbandonCounts(0, 1), day=AbandonCounts(1, 1), month=AbandonCounts(1, 2)),
        2: LedgerCounts(hour=AbandonCounts(1, 0), day=AbandonCounts(1, 0), month=AbandonCounts(1, 0)),
    }
    assert peers_of_n3[1] == LedgerCounts(hour=AbandonCounts(1, 3), day=AbandonCounts(2, 3), month=AbandonCounts(2, 3))


async def test_an_engine_that_cannot_read_the_ledger_goes_progressive_and_logs_it(
        caplog: pytest.LogCaptureFixture) -> None:
    from dialer.clock import ManualClock
    from dialer.engine import Engine
    from tests.session.helpers import campaign

    db = make_async_engine("postgresql://nobody@127.0.0.1:9/none")  # nothing listens on port 9
    clock = ManualClock(NOW)
    engine = Engine(db, link=None, clock=clock, node="n1")  # type: ignore[arg-type]
    engine.session.add_campaign(campaign("predictive"))
    try:
        with caplog.at_level(logging.WARNING, logger="dialer.engine"):
            await engine.sync_peers(engine.now())
        assert engine.status()["campaigns"][0]["ledger"] == "progressive"
        assert "campaign abandon ledger unreadable" in caplog.text and "nobody" not in caplog.text
    finally:
        await db.dispose()
