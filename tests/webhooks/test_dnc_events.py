"""``dnc.added`` for every way a number goes on a DNC list: the agent's button, the opt-out
keypress, a DNC disposition (tests/webhooks/test_outbox.py), and ``dialer dnc add/import``; each
in the transaction that adds the number."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dialer.cli import main
from dialer.errors import Forbidden
from dialer.models import audit_log
from dialer.storage import calls as calls_storage
from dialer.storage import dispositions
from lists.models import dnc_numbers
from tests.webhooks.conftest import START, Seeded, outbox_rows, seed

AT = START + timedelta(minutes=2)


async def test_the_agents_button_queues_one_dnc_added_per_call(seeded: Seeded) -> None:
    call, lead = seeded.calls[0], seeded.leads[0]
    with pytest.raises(Forbidden):  # refused: nothing added, no event
        await dispositions.add_dnc_request(seeded.db, call, agent_name="bob", actor="bob", source=None, now=AT)
    assert await outbox_rows(seeded.db) == []
    out = await dispositions.add_dnc_request(seeded.db, call, agent_name="alice", actor="alice",
                                             source="127.0.0.1", now=AT)
    assert out["added"]
    # the DNC disposition afterwards is the same fact (the number of this call on a DNC list): one event
    await dispositions.dispose(seeded.db, call, code="DNC", now=AT + timedelta(minutes=1), rng=random.Random(1))
    rows = await outbox_rows(seeded.db)
    assert [(r.event_id, r.lead_id) for r in rows] == [
        (f"call-{call}-dnc-added", lead), (f"call-{call}-disposed", lead), (f"call-{call}-lead-finished", lead)]
    body = rows[0].payload
    assert body["event"] == "dnc.added" and body["call_id"] == call and body["occurred_at"] == AT.isoformat()
    assert body["dnc"] == {"phone": "+12125550000", "scope": "global", "reason": f"asked during call {call}",
                           "source": "agent"}
    assert body["lead"] == {"id": lead, "external_id": "crm-0", "phone": "+12125550000"}


async def test_the_opt_out_keypress_queues_dnc_added_in_its_transaction(seeded: Seeded) -> None:
    call = seeded.calls[1]
    with pytest.raises(RuntimeError):  # the transaction fails after: neither the entry nor the event
        async with seeded.db.begin() as conn:
            await calls_storage.record_opt_out(conn, call, "+12125550001", "crm", AT)
            raise RuntimeError("the write failed")
    assert await outbox_rows(seeded.db) == []
    async with seeded.db.begin() as conn:
        await calls_storage.record_opt_out(conn, call, "+12125550001", "crm", AT)
    [row] = await outbox_rows(seeded.db)
    assert row.event_id == f"call-{call}-dnc-added" and row.lead_id == seeded.leads[1]
    assert row.payload["dnc"] == {"phone": "+12125550001", "scope": "global",
                                  "reason": calls_storage.OPT_OUT_REASON, "source": "opt_out"}


async def test_no_webhook_no_dnc_event(db_url: str, secret: bytes) -> None:
    from dialer.db import make_async_engine

    _, call_ids, _ = seed(db_url, hook_url=None, name="quiet", n=1)
    db = make_async_engine(db_url)
    try:
        await dispositions.add_dnc_request(db, call_ids[0], agent_name=None, actor="admin", source=None, now=AT)
        async with db.begin() as conn:
            await calls_storage.record_opt_out(conn, call_ids[0], "+12125550000", "quiet", AT)
        assert await outbox_rows(db) == []
    finally:
        await db.dispose()


async def test_cli_dnc_add_and_import_queue_an_event_per_lead_holding_the_number(
        seeded: Seeded, tmp_path: Path) -> None:
    seed(seeded.url, hook_url=None, name="quiet", n=4)  # same numbers, a campaign without webhook
    env = {"DIALER_DATABASE_URL": seeded.url, "DIALER_DATA_DIR": str(tmp_path / "data")}

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, ["dnc", *args], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    await asyncio.to_thread(run, "add", "+12125550000", "--reason", "letter")
    await asyncio.to_thread(run, "add", "+12125550000")  # already listed: no second event
    await asyncio.to_thread(run, "add", "+12125559999")  # no lead holds it: nothing to report
    await asyncio.to_thread(run, "add", "+12125550001", "--campaign", "quiet")  # quiet has no webhook
    await asyncio.to_thread(run, "add", "+12125550002", "--campaign", "crm")  # crm's own list
    numbers = tmp_path / "dnc.txt"
    numbers.write_text("# from the CRM\n+12125550001\n+12125550002\n+12125558888\n")
    await asyncio.to_thread(run, "import", str(numbers))
    rows = await outbox_rows(seeded.db)
    async with seeded.db.connect() as conn:
        entry = dict((await conn.execute(select(dnc_numbers.c.phone, dnc_numbers.c.id)
                                         .where(dnc_numbers.c.scope == 0))).all())
        own = (await conn.execute(select(dnc_numbers.c.id).where(dnc_numbers.c.scope == seeded.campaign_id))).scalar()
        audit = (await conn.execute(select(audit_log.c.action, audit_log.c.target, audit_log.c.detail)
                                    .order_by(audit_log.c.id))).all()
    assert [(r.event_id, r.lead_id, r.campaign_id) for r in rows] == [
        (f"dnc-{entry['+12125550000']}-lead-{seeded.leads[0]}", seeded.leads[0], seeded.campaign_id),
        (f"dnc-{own}-lead-{seeded.leads[2]}", seeded.leads[2], seeded.campaign_id),
        (f"dnc-{entry['+12125550001']}-lead-{seeded.leads[1]}", seeded.leads[1], seeded.campaign_id),
        (f"dnc-{entry['+12125550002']}-lead-{seeded.leads[2]}", seeded.leads[2], seeded.campaign_id)]
    assert rows[0].payload["call_id"] is None and rows[0].payload["campaign"] == "crm"
    assert rows[0].payload["dnc"] == {"phone": "+12125550000", "scope": "global", "reason": "letter",
                                      "source": "cli"}
    assert rows[1].payload["dnc"] == {"phone": "+12125550002", "scope": "campaign", "reason": None, "source": "cli"}
    assert rows[2].payload["dnc"]["reason"] is None
    assert [(a.action, a.target) for a in audit] == [
        ("dnc_added", "+12125550000"), ("dnc_added", "+12125559999"), ("dnc_added", "+12125550001"),
        ("dnc_added", "+12125550002"), ("dnc_imported", str(numbers))]
    assert audit[0].detail["webhook_events"] == 1 and audit[1].detail["webhook_events"] == 0
    assert audit[4].detail["added"] == 3 and audit[4].detail["webhook_events"] == 2


async def test_the_dnc_inbox_job_queues_dnc_added(seeded: Seeded, tmp_path: Path) -> None:
    from dialer.db import open_engine
    from dialer.services.jobs import JobContext, dnc_refresh

    inbox = tmp_path / "dnc-inbox"
    inbox.mkdir()
    (inbox / "tps.txt").write_text("+12125550001\n+12125557777\n")
    sync = open_engine(seeded.url)
    try:
        res = await asyncio.to_thread(dnc_refresh, JobContext(sync, tmp_path, "n1", AT))
    finally:
        sync.dispose()
    assert res.counts["added"] == 2 and res.counts["webhook_events"] == 1
    [row] = await outbox_rows(seeded.db)
    assert row.lead_id == seeded.leads[1] and row.event_id.startswith("dnc-")
    assert row.payload["dnc"] == {"phone": "+12125550001", "scope": "global", "reason": None, "source": "dnc_inbox"}
    assert row.payload["occurred_at"] == AT.isoformat()
