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

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dialer.claim import calls
from dialer.db import open_engine
from dialer.demo import DemoOptions, DemoRun
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


class SilentReceiver:
    """A CRM that takes the connection and the request and never answers."""

    def __init__(self) -> None:
        self.connections = 0
        self.bytes = 0
        self._writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> SilentReceiver:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/hook"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        while chunk := await reader.read(65536):
            self.bytes += len(chunk)

    async def close(self) -> None:
        for w in self._writers:
            w.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def _dial_all(tmp_path: Path, extra: str) -> tuple[float, DemoRun]:
    """Dial a campaign of 30 leads (the same, seeded) to the end; the scaled minutes it took."""
    tmp_path.mkdir()
    run = await start_demo(_options(tmp_path, extra, leads=30))
    try:
        await run_until_done(run, timeout=60)
        took = (run.engine.clock.now() - E2E_START).total_seconds() / 60
        await run.agents.drain()
    finally:
        await run.stop()
    return took, run


async def test_a_receiver_that_never_answers_does_not_slow_dialling(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The campaign dials to its end as fast with every webhook request hanging (the CRM takes
    them and never answers, for the longest time-out, 120 s) as without webhooks: delivery is a
    task of its own that holds nothing the dialling needs while it waits."""
    monkeypatch.setenv("E2E_WEBHOOK_SECRET", SECRET)
    silent = await SilentReceiver().start()
    try:
        baseline, plain = await _dial_all(tmp_path / "plain", "")
        hung, run = await _dial_all(tmp_path / "hung", f"""
[webhook]
url = "{silent.url}"
secret_env = "E2E_WEBHOOK_SECRET"
timeout = 120
""")
    finally:
        await silent.close()
    def read(run: DemoRun) -> tuple[Counter, int]:
        sync = open_engine(run.settings.database_url)
        with sync.connect() as conn:
            statuses = Counter(conn.execute(select(webhook_outbox.c.status)).scalars())
            dialled = len(conn.execute(select(calls.c.lead_id).distinct()).all())
        sync.dispose()
        return statuses, dialled

    statuses, dialled = read(run)
    _, dialled_plain = read(plain)
    print(f"\n30 leads dialled in {baseline:.1f} scaled minutes without webhooks, {hung:.1f} with a silent CRM")
    assert silent.connections >= 1 and silent.bytes > 0  # requests were sent and left hanging ...
    assert statuses["delivered"] == 0 and statuses["pending"] > 0  # ... none answered, all still owed
    assert dialled == dialled_plain >= 25  # every lead dialled meanwhile
    assert hung <= baseline * 1.3 + 1, (hung, baseline)
