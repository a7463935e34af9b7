"""Recordings: the retention job deletes files past their campaign's retention days and clears
the path (never a younger one, never another campaign's); ``dialer calls recording``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import insert, select

from dialer.cli import main
from dialer.db import open_engine
from dialer.services.jobs import JOBS, JobContext, purge_recordings
from tests.scheduling.helpers import calls_t, campaign, lead, lead_list

NOW = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)


def _recorded_call(engine, campaign_id: int, lead_id: int, ended: datetime, path: str | None) -> int:
    with engine.begin() as conn:
        return conn.execute(insert(calls_t).values(
            campaign_id=campaign_id, lead_id=lead_id, phone="+12125550100", attempt=1, node="n", status="ended",
            outcome="CONNECTED", ring_timeout=25, placed_at=ended - timedelta(minutes=3), ended_at=ended,
            recording_path=path).returning(calls_t.c.id)).scalar_one()


def _file(tmp_path: Path, name: str) -> str:
    path = tmp_path / "rec" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"RIFF")
    return str(path)


def test_retention_deletes_old_recordings_only(db_url: str, tmp_path: Path) -> None:
    engine = open_engine(db_url)
    short = campaign(engine, "short", recording={"enabled": True, "retention_days": 7})
    long = campaign(engine, "long", recording={"enabled": True, "retention_days": 90})
    lst = lead_list(engine, "l", short)
    lid = lead(engine, lst, "+12125550100")
    old = _recorded_call(engine, short, lid, NOW - timedelta(days=8), _file(tmp_path, "old.wav"))
    young = _recorded_call(engine, short, lid, NOW - timedelta(days=6), _file(tmp_path, "young.wav"))
    other = _recorded_call(engine, long, lid, NOW - timedelta(days=30), _file(tmp_path, "other.wav"))
    gone = _recorded_call(engine, short, lid, NOW - timedelta(days=20), str(tmp_path / "rec" / "gone.wav"))

    result = purge_recordings(JobContext(engine, tmp_path, "n", NOW))

    assert result.counts == {"deleted": 1, "missing": 1, "failed": 0} and result.result == "ok"
    with engine.connect() as conn:
        paths = dict(conn.execute(select(calls_t.c.id, calls_t.c.recording_path)).all())
    assert paths[old] is None and paths[gone] is None
    assert paths[young] and paths[other]
    assert not Path(tmp_path / "rec" / "old.wav").exists()
    assert Path(paths[young]).exists() and Path(paths[other]).exists()
    # Run again: nothing left to do.
    assert purge_recordings(JobContext(engine, tmp_path, "n", NOW)).counts["deleted"] == 0
    assert JOBS["purge_recordings"].func is purge_recordings
    engine.dispose()


def test_a_file_that_cannot_be_deleted_keeps_its_path(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    cid = campaign(engine, "c", recording={"enabled": True, "retention_days": 1})
    lid = lead(engine, lead_list(engine, "l", cid), "+12125550100")
    stuck = tmp_path / "rec" / "dir.wav"
    stuck.mkdir(parents=True)  # a directory: unlink fails (not "missing")
    call = _recorded_call(engine, cid, lid, NOW - timedelta(days=2), str(stuck))
    result = purge_recordings(JobContext(engine, tmp_path, "n", NOW))
    assert result.counts["failed"] == 1 and result.result == "warning"
    with engine.connect() as conn:
        assert conn.execute(select(calls_t.c.recording_path).where(calls_t.c.id == call)).scalar() == str(stuck)
    engine.dispose()


def test_calls_recording_cli(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    cid = campaign(engine, "c", recording={"enabled": True})
    lid = lead(engine, lead_list(engine, "l", cid), "+12125550100")
    with_rec = _recorded_call(engine, cid, lid, NOW, "/var/spool/asterisk/monitor/dialer/call-1.wav")
    without = _recorded_call(engine, cid, lid, NOW, None)
    engine.dispose()
    run = CliRunner().invoke
    env = {"DIALER_DATABASE_URL": sqlite_url}
    r = run(main, ["calls", "recording", str(with_rec)], env=env)
    assert r.exit_code == 0 and r.output.strip() == "/var/spool/asterisk/monitor/dialer/call-1.wav"
    r = run(main, ["calls", "recording", str(without), "--json"], env=env)
    assert r.exit_code != 0 and "has no recording" in r.output
    r = run(main, ["calls", "recording", "999"], env=env)
    assert r.exit_code != 0 and "unknown call 999" in r.output
    r = run(main, ["calls", "recording", "--help"], env=env)
    assert r.exit_code == 0
