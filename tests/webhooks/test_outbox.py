"""The outbox is written in the transaction of the outcome: each fact once, in order per lead,
nothing when the outcome is not stored, nothing for a campaign without a webhook."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dialer.claim import calls
from dialer.db import make_async_engine
from dialer.errors import Conflict
from dialer.session.commands import EndCall, WriteCallStatus
from dialer.storage import dispositions
from dialer.storage.writer import store
from dialer.vocabulary import CallStatus, Outcome
from tests.webhooks.conftest import START, Seeded, outbox_rows, seed


async def _dispose(s: Seeded, call_id: int, code: str, **kw) -> dict:
    return await dispositions.dispose(s.db, call_id, code=code, now=START + timedelta(minutes=5),
                                      rng=random.Random(1), **kw)


async def test_connected_is_queued_once(seeded: Seeded) -> None:
    call = seeded.calls[0]
    cmd = WriteCallStatus(call, CallStatus.CONNECTED, START, START, "alice")
    for _ in range(2):  # written again (a reconnect, a replayed journal): one event
        async with seeded.db.begin() as conn:
            await store(conn, cmd, random.Random(1))
    async with seeded.db.begin() as conn:  # and the end of the call says it again
        await store(conn, EndCall(call, {"status": CallStatus.ENDED, "outcome": Outcome.CONNECTED,
                                         "connected_at": START}), random.Random(1))
    rows = await outbox_rows(seeded.db)
    assert [(r.event, r.event_id, r.status) for r in rows] == [("call.connected", f"call-{call}-connected", "pending")]
    body = rows[0].payload
    assert body["lead"] == {"id": seeded.leads[0], "external_id": "crm-0", "phone": "+12125550000"}
    assert body["call"]["agent"] == "alice" and body["campaign"] == "crm"


async def test_disposition_events_in_order(seeded: Seeded) -> None:
    refused, sale, dnc = seeded.calls
    await _dispose(seeded, refused, "REFUSED", reason="PRICE", note="call me never")
    await _dispose(seeded, sale, "SALE", order_form={"plan": "Gold"})
    await _dispose(seeded, dnc, "DNC")
    with pytest.raises(Conflict):
        await _dispose(seeded, refused, "SALE")  # already disposed: no new event
    rows = await outbox_rows(seeded.db)
    assert [(r.event_id, r.lead_id) for r in rows] == [
        (f"call-{refused}-disposed", seeded.leads[0]), (f"call-{refused}-lead-finished", seeded.leads[0]),
        (f"call-{sale}-disposed", seeded.leads[1]), (f"call-{sale}-lead-finished", seeded.leads[1]),
        (f"call-{dnc}-disposed", seeded.leads[2]), (f"call-{dnc}-dnc-added", seeded.leads[2]),
        (f"call-{dnc}-lead-finished", seeded.leads[2]),
    ]
    first = rows[0].payload["disposition"]
    assert first == {"code": "REFUSED", "label": "Refused", "refusal_reason": "PRICE",
                     "refusal_label": "too expensive", "callback_at": None, "order_form": {},
                     "note": "call me never"}
    assert rows[2].payload["disposition"]["order_form"] == {"plan": "Gold"}
    assert rows[5].payload["dnc"] == {"phone": "+12125550002", "scope": "global", "reason": "asked not to be called",
                                     "source": "rules"}
    assert rows[6].payload["status"] == "dnc"


async def test_no_outcome_stored_no_event(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same transaction: when applying the rules fails, neither the disposition nor its
    event is stored."""

    async def broken(*args, **kwargs):
        raise RuntimeError("the rules broke")

    monkeypatch.setattr(dispositions, "apply_rules", broken)
    with pytest.raises(RuntimeError):
        await _dispose(seeded, seeded.calls[0], "SALE")
    assert await outbox_rows(seeded.db) == []
    async with seeded.db.connect() as conn:
        assert (await conn.execute(select(calls.c.disposition).where(calls.c.id == seeded.calls[0]))).scalar() is None


async def test_no_webhook_no_events(sqlite_url: str) -> None:
    _, call_ids, _ = seed(sqlite_url, hook_url=None, name="quiet", n=1)
    db = make_async_engine(sqlite_url)
    try:
        s = Seeded(db, sqlite_url, 0, call_ids, [])
        async with db.begin() as conn:
            await store(conn, WriteCallStatus(call_ids[0], CallStatus.CONNECTED, START, START, "alice"),
                        random.Random(1))
        await _dispose(s, call_ids[0], "DNC")
        assert await outbox_rows(db) == []
    finally:
        await db.dispose()


async def test_purge_webhooks_keeps_what_is_not_delivered(sqlite_url: str, secret: bytes) -> None:
    from sqlalchemy import update

    from dialer.db import open_engine
    from dialer.models import webhook_outbox
    from dialer.services.jobs import JobContext, purge_webhooks

    _, call_ids, _ = seed(sqlite_url, hook_url="http://127.0.0.1:9/h", n=3)
    db = make_async_engine(sqlite_url)
    s = Seeded(db, sqlite_url, 0, call_ids, [])
    for call_id in call_ids:
        await _dispose(s, call_id, "NO_CONTACT")  # call.disposed only: the lead goes on
    rows = await outbox_rows(db)
    async with db.begin() as conn:
        old, recent, _pending = (r.id for r in rows)
        await conn.execute(update(webhook_outbox).where(webhook_outbox.c.id == old).values(
            status="delivered", delivered_at=START - timedelta(days=31)))
        await conn.execute(update(webhook_outbox).where(webhook_outbox.c.id == recent).values(
            status="delivered", delivered_at=START - timedelta(days=29)))
    await db.dispose()
    engine = open_engine(sqlite_url)
    result = purge_webhooks(JobContext(engine, Path("."), "n", START))
    engine.dispose()
    assert result.counts == {"deleted": 1}
    db = make_async_engine(sqlite_url)
    assert [r.id for r in await outbox_rows(db)] == [recent, _pending]
    await db.dispose()
