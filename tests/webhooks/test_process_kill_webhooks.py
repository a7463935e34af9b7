"""Webhooks across a real ``kill -9``: ``dialer run`` as its own process (as in
tests/faults/test_process_kill.py), a receiver on loopback that fails three times, the daemon
SIGKILLed while it delivers an event — after the CRM stored it, before the daemon heard so
— and started again; once the campaign is done every
event of the outbox was acknowledged, twice only if the dead daemon had not recorded it, tries
only after failures, in order per lead (:func:`tests.webhooks.receiver.check_deliveries`)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from sqlalchemy import func, select

from campaigns.definition import load_definition
from dialer.claim import calls, leads
from dialer.db import open_engine
from dialer.models import webhook_outbox
from dialer.services.campaigns import apply_definition
from tests.e2e.conftest import until
from tests.faults.harness import open_site, prepare
from tests.faults.process import SPEED, dispose_all, free_port, login_all, start_run
from tests.webhooks.receiver import Receiver, check_deliveries

AGENTS = 4
SECRET = "kill-webhook-secret"


async def test_sigkill_with_webhooks_in_flight(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    url = f"sqlite:///{data / 'dialer.db'}"
    receiver = await Receiver(SECRET.encode(), script=["fail", "fail", "fail"]).start()
    definition = prepare(url, tmp_path, leads_n=40, sites={"n1": AGENTS}, max_attempts=1)  # done = none left
    campaign_file = tmp_path / "e2e.toml"  # prepare's campaign, with a webhook
    campaign_file.write_text(campaign_file.read_text() + f"""
[webhook]
url = "{receiver.url}"
secret_env = "KILL_WEBHOOK_SECRET"
timeout = 2.0
""")
    db = open_engine(url)
    apply_definition(db, load_definition(campaign_file))
    site = await open_site("n1", url, tmp_path, definition, AGENTS, speed=SPEED)
    env = {"DIALER_DATA_DIR": str(data), "DIALER_AMI_PORT": str(site.server.port),
           "DIALER_HTTP_PORT": str(free_port()), "DIALER_AMI_SECRET": "dialer", "DIALER_LOG_FORMAT": "json",
           "KILL_WEBHOOK_SECRET": SECRET}
    log = tmp_path / "daemon.log"

    def scalar(stmt) -> int:
        with db.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def outbox() -> list:
        with db.connect() as conn:
            return conn.execute(select(webhook_outbox).order_by(webhook_outbox.c.id)).all()

    def done() -> bool:
        left = scalar(select(func.count()).select_from(leads).where(leads.c.status.in_(("new", "retry", "dialing"))))
        undisposed = scalar(select(func.count()).select_from(calls).where(
            calls.c.outcome == "CONNECTED", calls.c.disposition.is_(None), calls.c.next_action.is_(None)))
        return left == 0 and undisposed == 0 and all(r.status == "delivered" for r in outbox())

    stop, desk, proc = asyncio.Event(), None, await start_run(env, log, drain_timeout=60)
    try:
        await login_all(env, site.names, definition.name, log)
        desk = asyncio.create_task(dispose_all(env, stop))
        killed_on: list[str] = []

        def kill_before_answering(event: dict) -> None:
            """The 8th event is stored by the CRM, and the daemon dies before it hears so."""
            if len(receiver.first_seen) == 8 and not killed_on:
                killed_on.append(event["event_id"])
                proc.send_signal(signal.SIGKILL)

        receiver.on_request = kill_before_answering
        await until(lambda: bool(killed_on), 60, "events delivered before the kill")
        assert await proc.wait() == -signal.SIGKILL
        receiver.on_request = None
        at_crash = {r.event_id: r.status for r in outbox()}
        acked_at_crash = set(receiver.acked())
        assert at_crash[killed_on[0]] == "pending"  # acknowledged, not recorded

        proc = await start_run(env, log, drain_timeout=60)
        await until(done, 120, "the campaign done and every event delivered")
        rows = outbox()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    finally:
        stop.set()
        if desk is not None:
            await desk
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        db.dispose()
        await site.server.close()
        await receiver.close()
    assert {"call.connected", "call.disposed", "lead.finished"} <= {r.event for r in rows}
    dups = check_deliveries(receiver, rows, at_crash, acked_at_crash, failures=3)
    assert killed_on[0] in dups  # sent again after the restart, with its id: the receiver dedupes
    print(f"\nSIGKILL with webhooks: {len(rows)} events, {receiver.requests} requests, {len(dups)} sent twice")
