"""Per-agent performance: ``dialer services agents_report``, ``dialer report agents``, the CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import insert

from campaigns.definition import load_definition
from dialer.cli import main
from dialer.db import open_engine
from dialer.models import agent_state_log, agents, calls
from dialer.services.agents_report import agent_report, report_csv
from dialer.services.campaigns import apply_definition
from lists.models import lead_lists, leads
from tests.e2e.conftest import write_campaign

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def seed(url: str, tmp_path: Path) -> None:
    db = open_engine(url)
    cid = apply_definition(db, load_definition(write_campaign(tmp_path, "progressive"))).campaign_id
    with db.begin() as conn:
        conn.execute(insert(lead_lists).values(id=1, name="l", campaign_id=cid, active=True, priority=0))
        conn.execute(insert(leads).values(id=1, list_id=1, phone="+12125550143", timezones="America/New_York"))
        conn.execute(insert(agents), [
            {"id": 1, "name": "=alice", "interface": "PJSIP/a", "token_hash": "-", "state": "ready"},
            {"id": 2, "name": "bob", "interface": "PJSIP/b", "token_hash": "-", "state": "ready"}])
        base = {"campaign_id": cid, "lead_id": 1, "phone": "+12125550143", "attempt": 1, "node": "n",
                "status": "ended", "outcome": "CONNECTED", "ring_timeout": 15, "refusal_reason": None}
        conn.execute(insert(calls), [
            {**base, "id": 1, "agent": "=alice", "disposition": "SALE", "placed_at": T, "connected_at": T},
            {**base, "id": 2, "agent": "=alice", "disposition": "REFUSED", "refusal_reason": "PRICE",
             "placed_at": T, "connected_at": T + timedelta(minutes=5)},
            {**base, "id": 3, "agent": "=alice", "disposition": "REFUSED", "refusal_reason": "PRICE",
             "placed_at": T, "connected_at": T + timedelta(minutes=9)},
            {**base, "id": 4, "agent": "bob", "disposition": None, "placed_at": T, "connected_at": T},
            {**base, "id": 5, "agent": "bob", "disposition": "SALE", "placed_at": T - timedelta(days=1),
             "connected_at": T - timedelta(days=1)},  # before the range
        ])
        span = {"campaign_id": cid, "pause_code": None}
        conn.execute(insert(agent_state_log), [
            {**span, "agent_id": 1, "state": "talking", "started_at": T, "ended_at": T + timedelta(minutes=4)},
            {**span, "agent_id": 1, "state": "wrapup", "started_at": T + timedelta(minutes=4),
             "ended_at": T + timedelta(minutes=5)},
            {**span, "agent_id": 1, "state": "talking", "started_at": T + timedelta(minutes=5),
             "ended_at": T + timedelta(minutes=11)},
            {**span, "agent_id": 1, "state": "paused", "pause_code": "LUNCH", "started_at": T + timedelta(minutes=11),
             "ended_at": T + timedelta(minutes=41)},
            # the daemon's own "wrapup" queue pause is wrap-up time, not a pause
            {**span, "agent_id": 1, "state": "paused", "pause_code": "wrapup", "started_at": T + timedelta(minutes=41),
             "ended_at": T + timedelta(minutes=42)},
            # a span that started before the range: only its part inside counts
            {**span, "agent_id": 2, "state": "paused", "pause_code": "BREAK", "started_at": T - timedelta(minutes=10),
             "ended_at": T + timedelta(minutes=5)},
        ])
    db.dispose()


def test_per_agent_figures(sqlite_url: str, tmp_path: Path) -> None:
    seed(sqlite_url, tmp_path)
    db = open_engine(sqlite_url)
    with db.connect() as conn:
        report = agent_report(conn, T, T + timedelta(hours=8))
    alice, bob = report["agents"]
    assert (alice["agent"], alice["calls"], alice["contacts"], alice["successes"]) == ("=alice", 3, 3, 1)
    assert alice["conversion"] == round(1 / 3, 4)
    assert alice["refusals"] == {"PRICE": 2}
    assert (alice["talk_s"], alice["wrapup_s"], alice["aht_s"]) == (600.0, 120.0, 240.0)
    assert alice["pause_by_code"] == {"LUNCH": 1800.0}
    assert (bob["calls"], bob["contacts"], bob["conversion"]) == (1, 0, 0.0)
    assert bob["pause_by_code"] == {"BREAK": 300.0}  # clipped to the range
    # the CSV: one row per agent, and a name that would be a formula is quoted
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    assert rows[0][:3] == ["agent", "calls", "contacts"] and "pause:LUNCH_s" in rows[0]
    assert rows[1][0] == "'=alice" and rows[1][rows[0].index("refusals")] == "PRICE=2"
    db.dispose()


def test_report_agents_cli(sqlite_url: str, tmp_path: Path, monkeypatch) -> None:
    seed(sqlite_url, tmp_path)
    monkeypatch.setenv("DIALER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DIALER_DATA_DIR", str(tmp_path / "data"))
    run = CliRunner()
    since, until = T.isoformat(), (T + timedelta(hours=8)).isoformat()
    out = run.invoke(main, ["report", "agents", "--since", since, "--until", until, "--json",
                            "--csv", str(tmp_path / "a.csv")])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert [a["agent"] for a in data["agents"]] == ["=alice", "bob"]
    assert (tmp_path / "a.csv").read_text().startswith("agent,calls")
    table = run.invoke(main, ["report", "agents", "--since", since, "--until", until, "--campaign", "e2e"])
    assert table.exit_code == 0 and "LUNCH" in table.output and "4:00" in table.output  # AHT
    bad = run.invoke(main, ["report", "agents", "--since", until, "--until", since])
    assert bad.exit_code != 0 and "--until must be after --since" in bad.output
    unknown = run.invoke(main, ["report", "agents", "--campaign", "nope"])
    assert unknown.exit_code != 0 and "unknown campaign 'nope'" in unknown.output
    # the campaign report is still `dialer report CAMPAIGN`
    assert run.invoke(main, ["report", "e2e", "--json"]).exit_code == 0
    assert "agents" in run.invoke(main, ["report", "--help"]).output
