"""Delivery against a receiver on loopback that fails 3 times, times out, and comes back:
every event delivered, once per event id, in order per lead, with backoff between tries; a
missing secret or a receiver that never comes back gives up after max_attempts, and
``dialer webhooks retry`` sends again."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import timedelta

import httpx
import pytest
from click.testing import CliRunner

from dialer.cli import main
from dialer.clock import ManualClock
from dialer.db import make_async_engine
from dialer.storage import dispositions
from dialer.webhooks.delivery import Deliverer
from tests.webhooks.conftest import SECRET, START, outbox_rows, seed
from tests.webhooks.receiver import Receiver


async def _events(url: str, hook_url: str, *, max_attempts: int = 20, n: int = 3):
    """``n`` leads, each with call.disposed then lead.finished queued."""
    _, call_ids, lead_ids = seed(url, hook_url=hook_url, n=n, max_attempts=max_attempts)
    db = make_async_engine(url)
    for call_id in call_ids:
        await dispositions.dispose(db, call_id, code="SALE", now=START, rng=random.Random(1))
    return db, lead_ids


async def _drive(deliverer: Deliverer, clock: ManualClock, client: httpx.AsyncClient, passes: int) -> list[int]:
    """Run passes, moving the clock past each backoff; returns how many were tried per pass."""
    tried = []
    for _ in range(passes):
        tried.append(await deliverer.deliver_due(client))
        clock.advance(3600)
    return tried


async def test_fails_three_times_times_out_comes_back(db_url: str, secret: bytes) -> None:
    receiver = await Receiver(secret, script=["fail", "fail", "fail", "hang"], hang_seconds=2.0).start()
    clock = ManualClock(START + timedelta(hours=1))
    db, lead_ids = await _events(db_url, receiver.url)
    try:
        deliverer = Deliverer(db, clock, concurrency=1)  # one at a time: the script hits one event
        async with httpx.AsyncClient() as client:
            first = await deliverer.deliver_due(client)
            assert first == 3  # the head of each lead's line, not their second events
            rows = await outbox_rows(db)
            assert [r.status for r in rows] == ["pending"] * 6
            tried = [r for r in rows if r.attempts == 1]
            assert len(tried) == 3 and {r.event for r in tried} == {"call.disposed"}
            assert all(r.last_error == "HTTP 500" for r in tried)
            assert all(r.next_attempt_at == clock.now() + timedelta(seconds=2) for r in tried)  # backoff
            assert await deliverer.deliver_due(client) == 0  # nothing due before the backoff
            await _drive(deliverer, clock, client, 6)
    finally:
        await receiver.close()
    rows = await outbox_rows(db)
    await db.dispose()
    assert [r.status for r in rows] == ["delivered"] * 6
    assert any(r.last_error is None and r.attempts == 3 for r in rows)  # failed, timed out, delivered
    assert receiver.requests == 6 + 4 and receiver.bad_signatures == 0
    # Once per event id, in order per lead.
    assert sorted(receiver.ids()) == sorted(r.event_id for r in rows)
    for lead_id in lead_ids:
        mine = [e["event"] for e in receiver.first_seen if e["lead"]["id"] == lead_id]
        assert mine == ["call.disposed", "lead.finished"]


async def test_gives_up_then_retry_sends_again(sqlite_url: str, secret: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = await Receiver(secret, script=["fail"] * 3).start()
    clock = ManualClock(START + timedelta(hours=1))
    db, _ = await _events(sqlite_url, receiver.url, max_attempts=3, n=1)
    try:
        deliverer = Deliverer(db, clock)
        async with httpx.AsyncClient() as client:
            await _drive(deliverer, clock, client, 5)
            rows = await outbox_rows(db)
            assert [(r.status, r.attempts) for r in rows] == [("failed", 3), ("pending", 0)]  # the lead waits
            run = CliRunner().invoke
            env = {"DIALER_DATABASE_URL": sqlite_url}
            r = run(main, ["webhooks", "ls", "--status", "failed", "--json"], env=env)
            assert r.exit_code == 0 and '"call.disposed"' in r.output and "HTTP 500" in r.output
            r = run(main, ["webhooks", "retry"], env=env)
            assert r.exit_code == 0 and "1 failed event" in r.output
            await _drive(deliverer, clock, client, 3)
    finally:
        await receiver.close()
    rows = await outbox_rows(db)
    await db.dispose()
    assert [r.status for r in rows] == ["delivered", "delivered"]
    assert [e["event"] for e in receiver.first_seen] == ["call.disposed", "lead.finished"]


async def test_missing_secret_is_named_never_shown(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = await Receiver(SECRET.encode()).start()
    monkeypatch.delenv("WEBHOOK_TEST_SECRET", raising=False)
    clock = ManualClock(START + timedelta(hours=1))
    db, _ = await _events(sqlite_url, receiver.url, n=1)
    try:
        async with httpx.AsyncClient() as client:
            await Deliverer(db, clock).deliver_due(client)
    finally:
        await receiver.close()
    rows = await outbox_rows(db)
    await db.dispose()
    assert rows[0].last_error == "webhook secret: environment variable WEBHOOK_TEST_SECRET is not set"
    assert rows[0].status == "pending" and receiver.requests == 0


async def test_webhooks_test_command(sqlite_url: str, secret: bytes) -> None:
    receiver = await Receiver(secret, script=["ok", "fail"]).start()
    seed(sqlite_url, hook_url=receiver.url, n=0)
    seed(sqlite_url, hook_url=None, name="quiet", n=0)
    env = {"DIALER_DATABASE_URL": sqlite_url}

    def run(*args: str):
        return CliRunner().invoke(main, ["webhooks", *args], env=env)

    try:
        ok = await asyncio.to_thread(run, "test", "crm", "--json")
        failed = await asyncio.to_thread(run, "test", "crm")
        quiet = await asyncio.to_thread(run, "test", "quiet")
    finally:
        await receiver.close()
    assert ok.exit_code == 0 and json.loads(ok.output)["status"] == 200
    assert receiver.first_seen[0]["event"] == "webhook.test" and receiver.bad_signatures == 0
    assert failed.exit_code != 0 and "answered HTTP 500" in failed.output
    assert quiet.exit_code != 0 and "has no [webhook]" in quiet.output
    assert SECRET not in ok.output + failed.output + quiet.output


async def test_two_daemons_send_an_event_once(db_url: str, secret: bytes) -> None:
    """Two daemons sharing the database: the lease gives each due event to one of them."""
    receiver = await Receiver(secret).start()
    clock = ManualClock(START + timedelta(hours=1))
    db, _ = await _events(db_url, receiver.url, n=4)
    other = make_async_engine(db_url)
    try:
        one, two = Deliverer(db, clock), Deliverer(other, clock)
        async with httpx.AsyncClient() as client:
            tried = await asyncio.gather(one.deliver_due(client), two.deliver_due(client))
    finally:
        await receiver.close()
        await other.dispose()
    rows = await outbox_rows(db)
    await db.dispose()
    assert sum(tried) == 4 and receiver.requests == 4  # each lead's first event, sent once
    assert sorted(e["event_id"] for e in receiver.accepted) == sorted(r.event_id for r in rows if r.status == "delivered")
