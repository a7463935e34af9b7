"""The jobs themselves: stale-claim purge, DNC inbox, zone check, compliance report, CLI."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select

from dialer.db import open_engine
from dialer.models import webhook_outbox
from dialer.services.jobs import (
    JobContext,
    compliance_report,
    dnc_refresh,
    heartbeats,
    purge_stale_claims,
    tz_refresh,
)
from lists.csvsafe import safe_cell
from tests.scheduling.helpers import (
    aware,
    calls_t,
    campaign,
    dnc_t,
    lead,
    lead_list,
    lead_row,
    leads_t,
)

NOW = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)


def _call(engine, lead_id: int, node: str, placed: datetime, status: str = "ringing", **kw) -> int:
    with engine.begin() as conn:
        phone = conn.execute(select(leads_t.c.phone).where(leads_t.c.id == lead_id)).scalar()
        return conn.execute(insert(calls_t).values(
            campaign_id=1, lead_id=lead_id, phone=phone, attempt=1, node=node, status=status,
            ring_timeout=25, placed_at=placed, channel_id=f"ch-{lead_id}-{node}", **kw,
        ).returning(calls_t.c.id)).scalar_one()


def test_stale_claim_purge_never_touches_a_live_call(db_url: str, tmp_path: Path) -> None:
    engine = open_engine(db_url)
    cid = campaign(engine, "a")
    lst = lead_list(engine, "l", cid)
    ids = {name: lead(engine, lst, f"+1212555{i:04d}", status="dialing")
           for i, name in enumerate(["dead_old", "alive_old", "mine_live", "mine_lost", "dead_recent",
                                     "dead_talking", "dead_talking_long"])}
    old = NOW - timedelta(minutes=10)
    with engine.begin() as conn:
        conn.execute(insert(heartbeats), [
            {"node": "alive", "role": "daemon", "started_at": NOW - timedelta(hours=1), "seen_at": NOW - timedelta(seconds=20)},
            {"node": "dead", "role": "daemon", "started_at": NOW - timedelta(hours=2), "seen_at": NOW - timedelta(hours=1)},
        ])
    call = {
        "dead_old": _call(engine, ids["dead_old"], "dead", old),
        "alive_old": _call(engine, ids["alive_old"], "alive", old),
        "mine_live": _call(engine, ids["mine_live"], "me", old),
        "mine_lost": _call(engine, ids["mine_lost"], "me", old, status="placing"),
        "dead_recent": _call(engine, ids["dead_recent"], "dead", NOW - timedelta(seconds=30)),
        "dead_talking": _call(engine, ids["dead_talking"], "dead", old, status="connected"),
        "dead_talking_long": _call(engine, ids["dead_talking_long"], "dead", NOW - timedelta(hours=5),
                                   status="connected"),
    }
    ctx = JobContext(engine, tmp_path, "me", NOW, live_calls=frozenset({f"ch-{ids['mine_live']}-me"}))
    res = purge_stale_claims(ctx)
    purged = {"dead_old", "mine_lost", "dead_talking_long"}
    assert res.counts["calls_purged"] == 3 and res.counts["leads_released"] == 3
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(calls_t))}
    for name, call_id in call.items():
        row = rows[call_id]
        if name in purged:
            assert (row.status, row.outcome, row.detail) == ("ended", "UNKNOWN", "stale claim purged"), name
            lr = lead_row(engine, ids[name])
            # as a restarted node's unknown calls: not before the re-call gap (may have been abandoned)
            assert lr.status == "retry" and aware(lr.next_call_at) >= NOW + timedelta(hours=72), name
            assert lr.last_outcome == "UNKNOWN" and row.next_action.startswith("retry at"), name
        else:
            assert row.status != "ended" and row.outcome is None, name
            assert lead_row(engine, ids[name]).status == "dialing", name
    # Without an engine in this process, its own calls are left alone.
    assert purge_stale_claims(JobContext(engine, tmp_path, "me", NOW + timedelta(hours=1))).counts["calls_purged"] == 2
    engine.dispose()


def test_a_purged_call_that_was_the_leads_last_attempt_finishes_the_lead(db_url: str, tmp_path: Path) -> None:
    """A one-attempt campaign: the gone node's call used the lead's attempt; the lead is done
    (outcome unknown), not left in ``retry`` where no claim would ever take it."""
    engine = open_engine(db_url)
    cid = campaign(engine, "a", limits={"max_attempts": 1},
                   webhook={"url": "http://127.0.0.1:9/hook", "secret_env": "WEBHOOK_TEST_SECRET"})
    lst = lead_list(engine, "l", cid)
    lead_id = lead(engine, lst, "+12125550001", status="dialing", attempts=1)
    with engine.begin() as conn:
        conn.execute(insert(heartbeats).values(node="dead", role="daemon", started_at=NOW - timedelta(hours=2),
                                               seen_at=NOW - timedelta(hours=1)))
    call_id = _call(engine, lead_id, "dead", NOW - timedelta(minutes=10))
    res = purge_stale_claims(JobContext(engine, tmp_path, "me", NOW, live_calls=frozenset()))
    assert res.counts | {"nodes": []} == {"calls_purged": 1, "leads_released": 0, "leads_finished": 1, "nodes": []}
    lr = lead_row(engine, lead_id)
    assert (lr.status, lr.next_call_at, lr.last_outcome) == ("done", None, "UNKNOWN")
    with engine.connect() as conn:
        assert conn.execute(select(calls_t.c.next_action).where(calls_t.c.id == call_id)).scalar().startswith(
            "finish: maximum attempts reached")
        events = conn.execute(select(webhook_outbox.c.event_id, webhook_outbox.c.payload)).all()
    engine.dispose()
    # the CRM hears of it as of a lead the rules finished
    assert [e.event_id for e in events] == [f"call-{call_id}-lead-finished"]
    assert events[0].payload["status"] == "done" and events[0].payload["lead"]["id"] == lead_id


def test_dnc_refresh_imports_the_inbox(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    cid = campaign(engine, "a")
    lst = lead_list(engine, "l", cid)
    blocked = lead(engine, lst, "+12125550143")
    free = lead(engine, lst, "+12125550144")
    inbox = tmp_path / "dnc-inbox"
    inbox.mkdir()
    (inbox / "tps.txt").write_text("# weekly\n+12125550143\n+12125550199\nnot a number\n")
    (inbox / "empty.csv").write_text("")
    (inbox / "notes.doc").write_text("ignored")
    res = dnc_refresh(JobContext(engine, tmp_path, "n1", NOW))
    assert res.counts["files"] == 1 and res.counts["failed_files"] == 1
    assert res.counts["added"] == 2 and res.counts["rejected"] == 1
    assert res.counts["dnc_swept"] == 1
    assert lead_row(engine, blocked).status == "dnc" and lead_row(engine, free).status == "new"
    assert [p.name for p in (inbox / "processed").iterdir()] == ["20261123T160000-tps.txt"]
    assert [p.name for p in (inbox / "failed").iterdir()] == ["20261123T160000-empty.csv"]
    assert (inbox / "notes.doc").exists()
    with engine.connect() as conn:
        assert conn.execute(select(dnc_t.c.source).where(dnc_t.c.phone == "+12125550199")).scalar() == \
            "dnc-inbox/tps.txt"
    # Nothing new: nothing to do.
    assert dnc_refresh(JobContext(engine, tmp_path, "n1", NOW)).counts["files"] == 0
    engine.dispose()


def test_tz_refresh_counts_unknown_zones(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    lst = lead_list(engine, "l", campaign(engine, "a"))
    lead(engine, lst, "+12125550101", "America/New_York")
    lead(engine, lst, "+12125550102", "Mars/Olympus_Mons America/Chicago")
    lead(engine, lst, "+12125550103", "")
    res = tz_refresh(JobContext(engine, tmp_path, "n1", datetime(2026, 10, 28, tzinfo=UTC)))
    assert res.counts["unknown_zones"] == 1 and res.counts["leads_with_unknown_zone"] == 1
    assert res.counts["leads_without_zone"] == 1
    assert res.counts["dst_changes_next_7d"] == ["America/Chicago", "America/New_York"]  # 1 November
    engine.dispose()


def test_compliance_report(db_url: str, tmp_path: Path) -> None:
    engine = open_engine(db_url)
    cid = campaign(engine, "retention")
    lst = lead_list(engine, "l", cid)
    ny = lead(engine, lst, "+12125550101", "America/New_York")
    night = lead(engine, lst, "+12125550102", "America/New_York")
    listed = lead(engine, lst, "+12125550103", "America/New_York")
    day = datetime(2026, 11, 22, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(dnc_t).values(phone="+12125550103", scope=0, created_at=day))
        rows = [
            (ny, day + timedelta(hours=15), "CONNECTED", 25),   # 10:00 in New York
            (ny, day + timedelta(hours=16), "ABANDONED", 20),
            (night, day + timedelta(hours=4), "NO_ANSWER", 25),  # 23:00 the day before in New York
            (listed, day + timedelta(hours=17), "BUSY", 25),    # after it went on the DNC list
            (ny, day - timedelta(days=3), "CONNECTED", 25),     # in the 30 days, not the day
        ]
        for i, (lid, at, outcome, ring) in enumerate(rows):
            conn.execute(insert(calls_t).values(
                campaign_id=cid, lead_id=lid, phone=f"+1212555010{[ny, night, listed].index(lid) + 1}", attempt=1,
                node="n", status="ended", outcome=outcome, ring_timeout=ring, placed_at=at, channel_id=f"c{i}"))
    res = compliance_report(JobContext(engine, tmp_path, "n1", datetime(2026, 11, 23, 0, 5, tzinfo=UTC)))
    assert res.counts["day"] == "2026-11-22" and res.counts["outside_window"] == 1 and res.counts["dnc_calls"] == 1
    (json_file,) = (tmp_path / "reports").glob("*.json")
    data = json.loads(json_file.read_text())
    assert (data["calls"], data["live_answers"], data["abandoned"], data["connected"]) == (4, 2, 1, 1)
    assert data["abandon_rate"] == 0.5 and data["abandon_rate_30d"] == pytest.approx(1 / 3, abs=1e-5)
    assert data["min_ring_timeout"] == 20 and data["ok"] is False
    with (tmp_path / "reports" / json_file.name.replace(".json", ".csv")).open() as fh:
        header, row = list(csv.reader(fh))
    cells = dict(zip(header, row, strict=True))
    assert cells["campaign"] == "retention" and cells["outside_window"] == "1" and cells["ok"] == "False"
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and safe_cell("+1212") == "'+1212" and safe_cell(3) == "3"
    engine.dispose()


def test_jobs_cli(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dialer.cli import main

    monkeypatch.setenv("DIALER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DIALER_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    out = runner.invoke(main, ["jobs", "run", "tz_refresh", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["result"] == "ok"
    listing = json.loads(runner.invoke(main, ["jobs", "ls", "--json"]).stdout)
    by_name = {r["job"]: r for r in listing}
    assert by_name["tz_refresh"]["last_result"] == "ok" and by_name["recycle"]["schedule"] == "30 2 * * *"
    assert by_name["recycle"]["next_run"] is not None
    history = json.loads(runner.invoke(main, ["jobs", "history", "tz_refresh", "--json"]).stdout)
    assert [h["trigger"] for h in history] == ["manual"]
    assert runner.invoke(main, ["jobs", "run", "nope"]).exit_code != 0
    assert runner.invoke(main, ["jobs", "ls"]).exit_code == 0
