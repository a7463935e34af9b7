"""Issue 19 acceptance, recordings and webhooks, end to end against the simulator over TCP.

Recordings: every connected call has its recording (stored path, file written by the
simulator's MixMonitor), no other call has one; the retention job purges them once older than
the campaign's retention days, and not before.

Webhooks: with a receiver on loopback that fails 3 times, then times out, then comes back,
across a daemon killed mid-campaign (every task cancelled at once, as
tests/e2e/test_crash_recovery.py does), every event of the outbox reaches the receiver, once
per event id, in order per lead — asserted on every request the receiver saw and its answer
(tests/webhooks/test_process_kill_webhooks.py does the same across a real SIGKILL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dialer.claim import calls
from dialer.db import open_engine
from dialer.demo import DemoOptions
from dialer.models import webhook_outbox
from dialer.services.jobs import JobContext, purge_recordings
from tests.e2e.conftest import (
    E2E_CAMPAIGN,
    E2E_START,
    crash_demo,
    restart_demo,
    run_until_done,
    start_demo,
    until,
)
from tests.webhooks.receiver import Receiver, check_deliveries

SECRET = "e2e-webhook-secret"


def _options(tmp_path: Path, extra: str, leads: int) -> DemoOptions:
    path = tmp_path / "e2e.toml"
    path.write_text(E2E_CAMPAIGN.replace("MODE", "progressive") + extra)
    return DemoOptions(minutes=60, speed=60.0, agents=4, leads=leads, seed=11, data_dir=tmp_path / "data",
                       start=E2E_START, campaign_file=path,
                       scenario_overrides={"agents": {"talk_time": {"dist": "lognormal", "mean": 25, "sd": 10,
                                                                     "min": 5}}})


async def test_recordings_stored_for_connected_calls_and_purged(tmp_path: Path) -> None:
    rec_dir = tmp_path / "recordings"
    run = await start_demo(_options(tmp_path, f"""
[recording]
retention_days = 3
directory = "{rec_dir}"
""", leads=40))
    try:
        await run_until_done(run)
        await run.agents.drain()
    finally:
        await run.stop()
    engine = open_engine(run.settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(calls)).all()
    connected = [r for r in rows if r.outcome == "CONNECTED"]
    assert connected and len(connected) < len(rows)
    for r in rows:
        if r.outcome == "CONNECTED":
            assert r.recording_path == f"{rec_dir}/call-{r.id}.wav"
            assert Path(r.recording_path).read_bytes()[:4] == b"RIFF"
        else:
            assert r.recording_path is None
    assert sorted(p.name for p in rec_dir.iterdir()) == sorted(f"call-{r.id}.wav" for r in connected)

    last_end = max(r.ended_at for r in rows)
    kept = purge_recordings(JobContext(engine, tmp_path, "n", last_end + timedelta(days=2)))
    assert kept.counts["deleted"] == 0 and len(list(rec_dir.iterdir())) == len(connected)
    purged = purge_recordings(JobContext(engine, tmp_path, "n", last_end + timedelta(days=3, minutes=1)))
    assert purged.counts == {"deleted": len(connected), "missing": 0, "failed": 0}
    with engine.connect() as conn:
        assert conn.execute(select(calls.c.id).where(calls.c.recording_path.is_not(None))).all() == []
    assert list(rec_dir.iterdir()) == []
    engine.dispose()


async def test_webhooks_survive_a_crash_once_per_id_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Asserted on the receiver's raw log (every request and its answer), not only on what a
    deduplicating receiver keeps: see :func:`check_deliveries`."""
    monkeypatch.setenv("E2E_WEBHOOK_SECRET", SECRET)
    receiver = await Receiver(SECRET.encode(), script=["fail", "fail", "fail", "hang"], hang_seconds=4.0).start()
    run = await start_demo(_options(tmp_path, f"""
[webhook]
url = "{receiver.url}"
secret_env = "E2E_WEBHOOK_SECRET"
timeout = 2.0
""", leads=50))
    sync = open_engine(run.settings.database_url)

    def outbox() -> list:
        with sync.connect() as conn:
            return conn.execute(select(webhook_outbox).order_by(webhook_outbox.c.id)).all()

    try:
        await until(lambda: len(receiver.first_seen) >= 5 and run.engine.counters["placed"] >= 15,
                    timeout=90, what="some events delivered")
        await crash_demo(run)  # webhook delivery included
        at_crash = {r.event_id: r.status for r in outbox()}
        acked_at_crash = set(receiver.acked())
        delivered_before = len(receiver.first_seen)

        await restart_demo(run)
        await run_until_done(run, timeout=120)
        await run.agents.drain()
        await until(lambda: all(r.status == "delivered" for r in outbox()), timeout=60, what="every event delivered")
        rows = outbox()
    finally:
        sync.dispose()
        await run.stop()
        await receiver.close()

    assert len(receiver.first_seen) > delivered_before  # delivery went on after the restart
    kinds = {r.event for r in rows}
    assert {"call.connected", "call.disposed", "lead.finished"} <= kinds
    dups = check_deliveries(receiver, rows, at_crash, acked_at_crash, failures=4)
    print(f"\n{len(rows)} events, {receiver.requests} requests, {len(dups)} acknowledged twice (the crash)")
