"""``/readyz``'s database check is a write probe: it turns unready while the database is
locked by another writer or opened read-only — where a ``SELECT 1`` still answers — and ready
again once it takes writes; the probe leaves nothing behind."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from dialer.api import health
from dialer.db import SQLITE_BUSY_MS, make_async_engine, open_engine
from dialer.job_models import node_heartbeats
from tests.api.conftest import Api

SEEN = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


async def _ready(api: Api) -> tuple[int, dict]:
    r = await api.client.get("/readyz")
    return r.status_code, r.json()


async def test_locked_database_is_not_ready_and_the_probe_writes_nothing(
        api: Api, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "DB_PROBE_TIMEOUT", 0.3)  # the probe waits 0.15 s for the lock
    node = api.engine.node
    async with api.engine.db.begin() as conn:
        await conn.execute(insert(node_heartbeats).values(node=node, role="daemon", pid=1, started_at=SEEN,
                                                          seen_at=SEEN))
    assert await _ready(api) == (200, {"ready": True, "ami": "logged in", "database": "writable"})

    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    try:
        async with api.engine.db.connect() as conn:  # reads still answer: a SELECT 1 would say ready
            assert (await conn.exec_driver_sql("SELECT 1")).scalar() == 1
        status, body = await _ready(api)
        assert status == 503 and body["database"] == "not writable: unreachable, read-only or locked"
        assert body["ami"] == "logged in" and body["ready"] is False
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert (await _ready(api))[0] == 200  # the lock released: ready again

    async with api.engine.db.connect() as conn:  # rolled back: the heartbeat as it was
        rows = (await conn.execute(select(node_heartbeats.c.node, node_heartbeats.c.seen_at))).all()
    assert [(r.node, r.seen_at.replace(tzinfo=UTC)) for r in rows] == [(node, SEEN)]
    async with api.engine.db.connect() as conn:  # the daemon's own writes still wait as long as ever
        assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_MS


async def test_read_only_database_is_not_ready(api: Api, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = sqlite_url.removeprefix("sqlite:///")
    read_only = create_async_engine(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    try:
        async with read_only.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT 1")).scalar() == 1
        monkeypatch.setattr(api.engine, "db", read_only)
        status, body = await _ready(api)
        assert status == 503 and body["database"].startswith("not writable")
    finally:
        await read_only.dispose()


async def test_postgres_read_only_transactions_are_not_writable(postgres_url: str) -> None:
    open_engine(postgres_url).dispose()  # the schema
    url = make_async_engine(postgres_url).url
    writable = create_async_engine(url)
    read_only = create_async_engine(url, connect_args={"server_settings": {"default_transaction_read_only": "on"}})
    try:
        async with read_only.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT 1")).scalar() == 1
        assert await health._db_writable(SimpleNamespace(db=writable, node="n1"))
        assert not await health._db_writable(SimpleNamespace(db=read_only, node="n1"))
    finally:
        await writable.dispose()
        await read_only.dispose()
