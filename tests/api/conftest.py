"""An API over a started engine on a SQLite database: campaign ``e2e`` running, agents alice
and bob (logged out), call 7 connected to alice and waiting for her disposition, call 8
unanswered.  No PBX: the link records the queue actions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert, select

from campaigns import store
from campaigns.definition import load_definition
from dialer.api import create_app, token_hash
from dialer.claim import calls, leads, lists_
from dialer.clock import ScaledClock
from dialer.db import make_async_engine, open_engine
from dialer.engine import Engine
from dialer.schema import metadata
from dialer.services.campaigns import apply_definition
from dialer.settings import Settings
from tests.e2e.conftest import write_campaign
from tests.fakelink import FakeLink

#: The engine's clock starts here (not the wall clock: the answers are checked against it).
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
ADMIN = {"Authorization": "Bearer admin-token"}
ALICE = {"Authorization": "Bearer tok-alice"}
BOB = {"Authorization": "Bearer tok-bob"}


@dataclass
class Api:
    client: httpx.AsyncClient
    engine: Engine
    link: FakeLink
    settings: Settings = field(default_factory=Settings)


def seed(url: str, tmp_path: Path) -> None:
    sync = open_engine(url)
    cid = apply_definition(sync, load_definition(write_campaign(tmp_path, "progressive"))).campaign_id
    store.set_status(sync, "e2e", "active")
    placed = START
    with sync.begin() as conn:
        conn.execute(insert(lists_).values(id=1, name="e2e", campaign_id=cid, active=True, priority=0))
        conn.execute(insert(leads).values(id=1, list_id=1, phone="+12125550143", first_name="Mary",
                                          timezones="America/New_York", status="dialing", attempts=1,
                                          custom={"Current Plan": "Basic 20", "seen_at": "2026-01-01 10:00"}))
        conn.execute(insert(metadata.tables["agents"]), [
            {"name": "alice", "interface": "PJSIP/alice", "token_hash": token_hash("tok-alice"), "state": "logged_out"},
            {"name": "bob", "interface": "PJSIP/bob", "token_hash": token_hash("tok-bob"), "state": "logged_out"},
        ])
        # both may log in to the campaign (an unassigned agent may not: 403)
        conn.execute(insert(metadata.tables["agent_campaigns"]), [
            {"agent_id": a, "campaign_id": cid} for a in conn.execute(select(metadata.tables["agents"].c.id)).scalars()])
        common = {"campaign_id": cid, "lead_id": 1, "phone": "+12125550143", "attempt": 1, "node": "n",
                  "status": "ended", "ring_timeout": 15, "placed_at": placed, "ended_at": placed}
        conn.execute(insert(calls), [
            {**common, "id": 7, "outcome": "CONNECTED", "connected_at": placed, "agent": "alice", "channel_id": "dlr-7"},
            {**common, "id": 8, "outcome": "NO_ANSWER", "connected_at": None, "agent": None, "channel_id": "dlr-8"},
        ])
    sync.dispose()


async def redefine(api: Api, url: str, tmp_path: Path, top: str) -> None:
    """Apply campaign ``e2e`` again with ``top`` (TOML keys) added at the top, as ``dialer campaigns
    apply`` would, and let the running engine pick it up."""
    path = write_campaign(tmp_path, "progressive")
    path.write_text(top + "\n" + path.read_text())
    sync = open_engine(url)
    try:
        apply_definition(sync, load_definition(path))
    finally:
        sync.dispose()
    await api.engine.reload_campaigns()


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
async def api(tmp_path: Path, sqlite_url: str, settings: Settings) -> AsyncIterator[Api]:
    seed(sqlite_url, tmp_path)
    db = make_async_engine(sqlite_url)
    link = FakeLink()
    engine = Engine(db, link, ScaledClock(1.0, start=START))
    await engine.start()
    app = create_app(engine, "admin-token", settings=settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield Api(client, engine, link, settings)
    finally:
        await db.dispose()
