"""Webhooks across a real ``kill -9``: ``dialer run`` as its own process (as in
tests/faults/test_process_kill.py), a receiver on loopback that fails three times, the daemon
SIGKILLed while it delivers an event — after the CRM stored it, before the daemon heard so
— and started again; once the campaign is done every
event of the outbox was acknowledged, twice only if the dead daemon had not recorded it, tries
only after failures, in order per lead (:func:`tests.webhooks.receiver.check_deliveries`)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from campaigns.definition import load_definition
from dialer.claim import calls, leads
from dialer.cli import main
from dialer.db import open_engine
from dialer.models import webhook_outbox
from dialer.services.campaigns import apply_definition
from tests.e2e.conftest import until
from tests.faults.harness import open_site, prepare
from tests.webhooks.receiver import Receiver, check_deliveries

SPEED = 10.0
AGENTS = 4
SECRET = "kill-webhook-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)
    return result.exit_code, result.stdout


async def _start(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with open(log, "ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dialer.cli", "run", "--node", "n1", "--speed", str(SPEED),
            "--drain-timeout", "60", env={**os.environ, **env}, stdout=out, stderr=out)


async def _desk(env: dict[str, str], stop: asyncio.Event) -> None:
    """The agents' desktops: every call awaiting a disposition is disposed (a refused request,
    while no daemon answers, is tried again on the next round)."""
    while not stop.is_set():
        code, out = await _cli(env, "calls", "ls", "--undisposed", "--json")
        for row in json.loads(out) if code == 0 else []:
            await _cli(env, "calls", "dispose", str(row["id"]), "--code", "REFUSED", "--reason", "PRICE")
        await asyncio.sleep(0.1)  # a poll interval, not a wait for an outcome


async def test_sigkill_with_webhooks_in_flight(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    url = f"sqlite:///{data / 'dialer.db'}"
    receiver = await Receiver(SECRET.encode(), script=["fail", "fail", "fail"]).start()
    definition = prepare(url, tmp_path, leads_n=40, sites={"n1": AGENTS})
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
           "DIALER_HTTP_PORT": str(_free_port()), "DIALER_AMI_SECRET": "dialer", "DIALER_LOG_FORMAT": "json",
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

    stop, desk, proc = asyncio.Event(), None, await _start(env, log)
    try:
        for name in site.names:  # the API answers once the daemon is up
            for _ in range(300):
                if (await _cli(env, "agents", "login", name, "--campaign", definition.name))[0] == 0:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(log.read_text())
        desk = asyncio.create_task(_desk(env, stop))
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

        proc = await _start(env, log)
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
