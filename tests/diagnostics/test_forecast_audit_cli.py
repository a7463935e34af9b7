"""``forecast`` sanity, ``lists audit``, the CLI commands (CliRunner) and the HTTP routes."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from click.testing import CliRunner

from dialer.api import create_app
from dialer.cli import main
from dialer.db import make_async_engine, open_engine
from dialer.services.diagnostics import forecast, why
from dialer.services.listings import audit_list
from lists.audit import export_affected
from tests.diagnostics.helpers import NOW, NY, TOKYO, ago, later, lead, seed


def _forecast_data() -> dict:
    rows = [lead() for _ in range(5)]
    rows += [lead(timezones=TOKYO) for _ in range(4)]  # opens at 23:00 UTC (08:00 Tokyo)
    rows += [lead(status="retry", next_call_at=later(hours=2, minutes=30)) for _ in range(3)]
    rows += [lead(status="callback", next_call_at=later(hours=4, minutes=10))]
    rows += [lead(status="done"), lead(status="retry", next_call_at=later(days=3))]
    calls = [{"lead_id": 1, "phone": "+12125559000", "placed_at": ago(minutes=10 + 20 * i), "outcome": "NO_ANSWER"}
             for i in range(6)]  # 6 dials in the last 3 hours: 2 per hour
    return {"rows": rows, "call_rows": calls}


def test_forecast_sanity(db_url: str) -> None:
    engine = seed(db_url, **_forecast_data())
    with engine.connect() as conn:
        fc = forecast(conn, "c", 24, NOW)
        now = why(conn, "c", NOW)
    h = fc.hourly
    assert len(h) == 24 and h[0].start == NOW
    assert h[0].callable == now.callable == 5
    assert fc.dial_rate == 2.0
    assert h[3].gaps_elapsed == 3 and h[3].became_callable == 3 and h[3].callable == 8  # 18:00
    assert h[5].callbacks_due == 1 and h[5].callable == 9  # 20:00
    assert h[8].windows_opened == 4 and h[8].callable == 13  # 23:00: Tokyo opens
    assert h[7].callable == 9
    assert fc.held == {"done": 1, "due_after_horizon": 1}
    # 2 dials an hour: the supply (5, +3 at 18:00, +1 at 20:00) lasts until ~19:30, and the New
    # York window closes at 02:00 UTC.
    assert fc.runs_dry_at is not None and NOW < fc.runs_dry_at <= later(hours=6)
    assert sum(x.dials for x in h) <= 13.0 + 1e-9
    data = fc.as_dict()
    assert data["hourly"][8]["windows_opened"] == 4 and data["dial_rate_per_hour"] == 2.0


def test_forecast_without_dials(sqlite_url: str) -> None:
    engine = seed(sqlite_url, [lead()])
    with engine.connect() as conn:
        fc = forecast(conn, "c", 3, NOW)
    assert fc.dial_rate == 0 and fc.runs_dry_at is None and [x.callable for x in fc.hourly] == [1, 1, 1]


def _audit_data() -> dict:
    rows = [
        lead(phone="+12125550101", timezones=NY, state="NY", postal_code="10001", country="US"),
        lead(phone="+12125550102", timezones=f"{NY} America/Chicago", country="US"),  # ambiguous
        lead(phone="+12125550103", timezones="America/Los_Angeles", state="CA", country="US"),  # mismatch
        lead(phone="+12125550104", timezones=f"{NY} America/Los_Angeles", state="CA", country="US"),  # both
        lead(phone="+447911123456", timezones="Europe/London", country="GB"),  # a UK mobile
        lead(phone="=1+2", timezones=NY, country="US"),  # a hostile cell
        lead(list_id=2, phone="+12125550101", timezones=NY),  # the duplicate on another list
    ]
    return {"rows": rows, "lists": ({"id": 1, "name": "l1", "active": True}, {"id": 2, "name": "l2", "active": True})}


def test_audit(db_url: str, tmp_path: Path) -> None:
    engine = seed(db_url, **_audit_data())
    with engine.connect() as conn:
        report = audit_list(conn, "l1")
    data = report.as_dict()
    assert data["leads"] == 6 and data["campaign"] == "c"
    issues = data["issues"]
    assert issues["ambiguous_zone"]["count"] == 2
    assert issues["ambiguous_zone"]["example"]["phone"] == "+12125550102"
    assert issues["zone_mismatch"]["count"] == 2
    assert issues["zone_mismatch"]["example"]["phone"] == "+12125550103"
    assert data["zone_mismatch_kinds"]["number_vs_address"] == 2
    assert issues["duplicate"] == {"label": issues["duplicate"]["label"], "count": 1,
                                   "example": {"id": 1, "phone": "+12125550101", "also_on": "l2"}}
    types = data["number_types"]
    assert types["mobile"]["count"] == 1 and types["fixed_line_or_mobile"]["count"] == 4
    out = tmp_path / "affected.csv"
    assert export_affected(report, out) == 4
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert [r["phone"] for r in rows] == ["'+12125550101", "'+12125550102", "'+12125550103", "'+12125550104"]
    assert rows[3]["issues"] == "ambiguous_zone zone_mismatch"


@pytest.fixture
def run(db_url: str, tmp_path: Path):
    env = {"DIALER_DATABASE_URL": db_url, "DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_LOG_LEVEL": "WARNING"}

    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def test_cli(db_url: str, run, tmp_path: Path) -> None:
    seed(db_url, [lead(), lead(timezones=TOKYO), lead(status="retry", next_call_at=later(hours=1))])
    at = NOW.isoformat()
    r = run("campaigns", "why", "c", "--at", at, "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["total"] == 3 and data["callable"] == 1
    assert {x["code"]: x["leads"] for x in data["reasons"]}["window"] == 1
    r = run("campaigns", "why", "c", "--at", at)
    assert r.exit_code == 0 and "callable now" in r.output and "calling window closed" in r.output
    assert "Asia/Tokyo" in r.output
    r = run("campaigns", "forecast", "c", "--hours", "6", "--json")
    assert r.exit_code == 0 and len(json.loads(r.output)["hourly"]) == 6
    r = run("campaigns", "forecast", "c", "--hours", "6")
    assert r.exit_code == 0 and "runs dry" in r.output
    r = run("campaigns", "why", "nope")
    assert r.exit_code != 0 and "unknown campaign 'nope'" in r.output
    out = tmp_path / "a.csv"
    r = run("lists", "audit", "l1", "--json", "--export", str(out))
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["leads"] == 3 and out.exists()
    r = run("lists", "audit", "l1")
    assert r.exit_code == 0 and "number types" in r.output


async def test_api(db_url: str) -> None:
    seed(db_url, **_audit_data())
    db = make_async_engine(db_url)
    app = create_app(SimpleNamespace(db=db), "admin-secret")
    auth = {"Authorization": "Bearer admin-secret"}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            r = await client.get("/api/campaigns/c/why", params={"at": NOW.isoformat()}, headers=auth)
            assert r.status_code == 200, r.text
            assert r.json()["total"] == 7 and r.json()["at"] == NOW.isoformat()
            r = await client.get("/api/campaigns/c/forecast", params={"hours": "3"}, headers=auth)
            assert r.status_code == 200 and len(r.json()["hourly"]) == 3
            r = await client.get("/api/lists/l1/audit", headers=auth)
            assert r.status_code == 200 and r.json()["issues"]["duplicate"]["count"] == 1
            r = await client.get("/api/campaigns/nope/why", headers=auth)
            assert r.status_code == 404 and "unknown campaign" in r.json()["error"]
            r = await client.get("/api/campaigns/c/forecast", params={"hours": "x"}, headers=auth)
            assert r.status_code == 422
            r = await client.get("/api/campaigns/c/why")
            assert r.status_code == 401
    finally:
        await db.dispose()
    open_engine(db_url).dispose()
