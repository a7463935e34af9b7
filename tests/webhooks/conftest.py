"""A database with a campaign whose webhook is set (secret in ``$WEBHOOK_TEST_SECRET``), leads
and connected calls waiting for their disposition."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from campaigns import store
from campaigns.definition import loads_definition
from dialer.claim import calls, leads, lists_
from dialer.db import make_async_engine, open_engine
from dialer.models import webhook_outbox
from dialer.services.campaigns import apply_definition

SECRET = "test-secret-Zq9"
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

CAMPAIGN = """
name = "NAME"
[dial]
trunk = "PJSIP/{number}@t"
queue = "NAME"
[[refusal_reasons]]
code = "PRICE"
label = "too expensive"
[[order_form]]
name = "plan"
label = "Plan"
"""
HOOK = """
[webhook]
url = "URL"
secret_env = "WEBHOOK_TEST_SECRET"
timeout = 0.5
max_attempts = MAX
"""


@dataclass
class Seeded:
    db: AsyncEngine
    url: str
    campaign_id: int
    calls: list[int]  # connected calls, one lead each
    leads: list[int]


def seed(url: str, *, hook_url: str | None, name: str = "crm", n: int = 3, max_attempts: int = 20) -> tuple[int, list[int], list[int]]:
    text = CAMPAIGN.replace("NAME", name)
    if hook_url is not None:
        text += HOOK.replace("URL", hook_url).replace("MAX", str(max_attempts))
    sync = open_engine(url)
    cid = apply_definition(sync, loads_definition(text, f"{name}.toml")).campaign_id
    store.set_status(sync, name, "active")
    call_ids, lead_ids = [], []
    with sync.begin() as conn:
        list_id = conn.execute(insert(lists_).values(name=f"{name}-list", campaign_id=cid, active=True, priority=0)
                               .returning(lists_.c.id)).scalar_one()
        for i in range(n):
            lead_id = conn.execute(insert(leads).values(
                list_id=list_id, phone=f"+1212555{i:04d}", first_name="Mary", timezones="America/New_York",
                status="dialing", attempts=1, external_id=f"crm-{i}").returning(leads.c.id)).scalar_one()
            call_ids.append(conn.execute(insert(calls).values(
                campaign_id=cid, lead_id=lead_id, phone=f"+1212555{i:04d}", attempt=1, node="n", status="ended",
                outcome="CONNECTED", ring_timeout=15, placed_at=START, connected_at=START, ended_at=START,
                agent="alice", channel_id=f"{name}-{i}").returning(calls.c.id)).scalar_one())
            lead_ids.append(lead_id)
    sync.dispose()
    return cid, call_ids, lead_ids


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv("WEBHOOK_TEST_SECRET", SECRET)
    return SECRET.encode()


@pytest.fixture
async def seeded(db_url: str, secret: bytes) -> AsyncIterator[Seeded]:
    cid, call_ids, lead_ids = seed(db_url, hook_url="http://127.0.0.1:9/hook")
    db = make_async_engine(db_url)
    try:
        yield Seeded(db, db_url, cid, call_ids, lead_ids)
    finally:
        await db.dispose()


async def outbox_rows(db: AsyncEngine) -> list:
    async with db.connect() as conn:
        return list((await conn.execute(select(webhook_outbox).order_by(webhook_outbox.c.id))).all())


__all__ = ["Path", "Seeded", "outbox_rows", "seed"]
