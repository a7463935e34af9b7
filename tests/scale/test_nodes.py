"""Nodes: registration beside the heartbeat (PBX, version), ``dialer nodes ls`` with agents,
lines and the last heartbeat, a gone node's agents shown as lost and its calls purged by another."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select

from dialer import __version__
from dialer.cli import main
from dialer.clock import ManualClock
from dialer.db import open_engine
from dialer.models import agents as agents_t
from dialer.scheduler import JobRunner
from dialer.services.jobs import JobContext, heartbeats, purge_stale_claims
from dialer.services.nodes import node_rows
from tests.scheduling.helpers import calls_t, campaign, lead, lead_list

NOW = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)


def _floor(engine) -> None:
    cid = campaign(engine, "a")
    lst = lead_list(engine, "l", cid)
    with engine.begin() as conn:
        conn.execute(insert(agents_t), [
            {"name": f"{node}-{i}", "interface": f"PJSIP/{node}{i}", "token_hash": "x", "node": node,
             "state": "ready" if i < n_in else "logged_out"}
            for node, n_in in (("n1", 2), ("n2", 3)) for i in range(4)])
    lead_ids = [lead(engine, lst, f"+1212555{i:04d}", status="dialing") for i in range(3)]
    with engine.begin() as conn:
        for i, (node, lead_id) in enumerate(zip(("n1", "n2", "n2"), lead_ids, strict=True)):
            conn.execute(insert(calls_t).values(
                campaign_id=cid, lead_id=lead_id, phone=f"+1212555{i:04d}", attempt=1, node=node,
                status="ringing", ring_timeout=25, placed_at=NOW - timedelta(minutes=10), channel_id=f"ch{i}"))


def test_registration_and_the_floor_with_a_gone_node(db_url: str, tmp_path: Path) -> None:
    engine = open_engine(db_url)
    _floor(engine)
    for node, seen in (("n1", NOW), ("n2", NOW - timedelta(minutes=5))):
        runner = JobRunner(engine, data_dir=tmp_path, node=node, clock=ManualClock(seen))
        runner.heartbeat("daemon", seen - timedelta(hours=1), pbx=f"pbx-{node}:5038")
    with engine.connect() as conn:
        rows = {r["node"]: r for r in node_rows(conn, NOW)}
    n1, n2 = rows["n1"], rows["n2"]
    assert (n1["state"], n1["pbx"], n1["version"], n1["agents"], n1["agents_lost"], n1["lines"]) == (
        "alive", "pbx-n1:5038", __version__, 2, 0, 1)
    assert (n2["state"], n2["agents"], n2["agents_lost"], n2["lines"], n2["heartbeat_age_s"]) == (
        "gone", 0, 3, 2, 300.0)
    # The purge job, run by the live node, closes the gone node's calls and frees their leads.
    res = purge_stale_claims(JobContext(engine, tmp_path, "n1", NOW, live_calls=frozenset({"ch0"})))
    assert res.counts["calls_purged"] == 2
    with engine.connect() as conn:
        assert {r["node"]: r["lines"] for r in node_rows(conn, NOW)} == {"n1": 1, "n2": 0}
        open_ = conn.execute(select(calls_t.c.node).where(calls_t.c.status != "ended")).scalars().all()
    assert open_ == ["n1"]
    engine.dispose()


def test_a_restarted_node_registers_again_with_its_new_start(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    runner = JobRunner(engine, data_dir=tmp_path, node="n1", clock=ManualClock(NOW))
    runner.heartbeat("daemon", NOW - timedelta(hours=3), pbx="a:5038")
    runner.heartbeat("daemon", NOW, pbx="b:5038")
    with engine.connect() as conn:
        [row] = conn.execute(select(heartbeats)).all()
    assert (row.pbx, row.started_at.replace(tzinfo=UTC)) == ("b:5038", NOW)
    engine.dispose()


def test_nodes_ls_json_and_table(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = open_engine(sqlite_url)
    seen = datetime.now(UTC)
    JobRunner(engine, data_dir=tmp_path, node="n1", clock=ManualClock(seen)).heartbeat("daemon", seen, pbx="p:1")
    engine.dispose()
    monkeypatch.setenv("DIALER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DIALER_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    out = runner.invoke(main, ["nodes", "ls", "--json"])
    assert out.exit_code == 0, out.output
    [row] = json.loads(out.stdout)
    assert (row["node"], row["state"], row["pbx"]) == ("n1", "alive", "p:1")
    table = runner.invoke(main, ["nodes", "ls"])
    assert table.exit_code == 0 and "n1" in table.stdout and "alive" in table.stdout
    assert runner.invoke(main, ["nodes", "--help"]).exit_code == 0


def test_a_job_fails_over_when_the_node_holding_its_lock_dies(postgres_url: str, tmp_path: Path) -> None:
    """The advisory lock is the job's: held by a node (its session), another node's run is skipped;
    the holder's connection gone (the process died), the next run goes ahead on the other node."""
    import psycopg

    from dialer.scheduler import lock_key

    engine = open_engine(postgres_url)
    dead = psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    assert dead.execute("SELECT pg_try_advisory_lock(%s)", (lock_key("purge_stale_claims"),)).fetchone()[0]
    other = JobRunner(engine, data_dir=tmp_path, node="n1", clock=ManualClock(NOW))
    skipped = other.run("purge_stale_claims", trigger="cron", scheduled_for=NOW)
    assert (skipped.ran, skipped.message) == (False, "running in another process")
    pid = dead.info.backend_pid
    dead.close()  # kill -9: the server ends the session and its locks ...
    with engine.connect() as conn:  # ... once its backend has exited (not at once): wait for that
        for _ in range(1000):
            if not conn.exec_driver_sql(f"SELECT 1 FROM pg_stat_activity WHERE pid = {int(pid)}").first():
                break
            conn.exec_driver_sql("SELECT pg_sleep(0.01)")
        else:
            pytest.fail("the closed session's backend did not exit")
    ran = other.run("purge_stale_claims", trigger="cron", scheduled_for=NOW)
    assert ran.ran and ran.result == "ok"
    again = JobRunner(engine, data_dir=tmp_path, node="n2", clock=ManualClock(NOW)).run(
        "purge_stale_claims", trigger="cron", scheduled_for=NOW)
    assert not again.ran and "already run" in again.message  # once per scheduled moment
    engine.dispose()
