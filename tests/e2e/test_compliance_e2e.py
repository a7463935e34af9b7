"""Issue 17 acceptance, end to end: the daemon against the simulator over TCP, in scaled time, a
campaign under each rule pack, started shortly before the pack's window closes for some of its
leads and run past it; leads in every pack's regions (some with consent, some without); the
daily compliance report then shows calls, and zero calls outside the window, without required
consent or after a revocation.  And a revocation recorded during a call holds the number in
every campaign from then on."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from campaigns.store import find_id
from dialer.claim import calls
from dialer.db import open_engine
from dialer.demo import DemoOptions, start_demo
from dialer.services.compliance import campaign_report
from lists.consent import record
from lists.importer import ImportOptions, import_file
from tests.e2e.conftest import until

CAMPAIGN = """
name = "pack"
jurisdiction = "JURISDICTION"
[compliance]
seller = "acme"
[[lists]]
name = "pack"
[dial]
mode = "progressive"
trunk = "Local/{number}@sim-customers"
queue = "pack"
ring_timeout = 15
max_lines = 20
[window]
hours = "00:00-24:00"
[limits]
max_attempts = 5
[[rules]]
name = "again"
when = { outcome = ["BUSY", "NO_ANSWER", "CONGESTION", "FAILED"] }
action = "retry"
after = "5m"
[[dispositions]]
code = "SALE"
label = "Sale"
flags = ["contact", "success", "final"]
[[dispositions]]
code = "REFUSED"
label = "Refused"
flags = ["contact", "refusal", "final"]
[[dispositions]]
code = "CALLBACK"
label = "Call back"
flags = ["contact", "callback"]
[[refusal_reasons]]
code = "PRICE"
label = "too expensive"
"""

# (country, state, number head, digits) of the leads added to every run: each pack's regions.
REGIONS = [
    ("US", "FL", "+1305555", 11), ("US", "NY", "+1212555", 11), ("US", "NY", "+1305556", 11),  # a FL number in NY
    ("FR", "", "+3314455", 11), ("DE", "BE", "+4930901", 12), ("DE", "", "+4930902", 12),
    ("GB", "", "+4420794", 12), ("AU", "", "+6129123", 11), ("CA", "ON", "+1416555", 11),
]
# Each pack's run starts 45 simulated minutes before its window closes for some of its leads.
STARTS = {
    "US-FL": datetime(2026, 3, 5, 0, 15, tzinfo=UTC),   # 19:15 in Miami: closes at 20:00
    "US": datetime(2026, 3, 5, 1, 15, tzinfo=UTC),      # 20:15 in New York: 21:00 (Florida's 20:00)
    "FR": datetime(2026, 9, 15, 10, 15, tzinfo=UTC),    # 12:15 in Paris: lunch at 13:00; consent needed
    "DE": datetime(2026, 3, 4, 18, 15, tzinfo=UTC),     # 19:15 in Berlin: closes at 20:00
    "AU": datetime(2026, 3, 7, 5, 15, tzinfo=UTC),      # Saturday 16:15 in Sydney: closes at 17:00
    "CA": datetime(2026, 3, 5, 1, 45, tzinfo=UTC),      # 20:45 in Toronto: closes at 21:30
    "UK": datetime(2026, 3, 4, 15, 0, tzinfo=UTC),      # no hours: the gaps only
}
MINUTES = 90
SPEED = 360.0


def _leads_file(path: Path, per_region: int = 4) -> list[str]:
    numbers = []
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Phone", "Country", "State", "First Name"])
        for country, state, head, digits in REGIONS:
            for i in range(per_region):
                number = head + str(i).rjust(digits + 1 - len(head), "0")
                numbers.append(number)
                out.writerow([number, country, state, "Ann"])
    return numbers


async def _run_pack(tmp_path: Path, jurisdiction: str) -> tuple[list, list, list[str]]:
    campaign_file = tmp_path / "pack.toml"
    campaign_file.write_text(CAMPAIGN.replace("JURISDICTION", jurisdiction))
    start = STARTS[jurisdiction]
    opts = DemoOptions(minutes=MINUTES, speed=SPEED, agents=4, leads=20, seed=5, data_dir=tmp_path / "data",
                       start=start, campaign_file=campaign_file,
                       scenario_overrides={"agents": {"talk_time": {"dist": "lognormal", "mean": 60, "sd": 20,
                                                                    "min": 10}}})
    run = await start_demo(opts)
    try:
        engine = open_engine(run.settings.database_url)
        numbers = _leads_file(tmp_path / "more.csv")

        def prepare() -> int:
            with engine.begin() as conn:
                cid = find_id(conn, "pack")
                for n in numbers[::2]:  # every other number has consent on record
                    record(conn, n, "given", at=start - timedelta(days=30), channel="web", scope="acme")
                record(conn, numbers[2], "revoked", at=start - timedelta(days=1), channel="api")
            import_file(engine, tmp_path / "more.csv", ImportOptions(list_name="pack", campaign_id=cid, workers=0))
            return cid

        async with run.engine._db_lock:  # the daemon's writes wait meanwhile (one SQLite writer)
            cid = await asyncio.to_thread(prepare)
        await until(lambda: run.engine.clock.now() >= start + timedelta(minutes=MINUTES),
                    timeout=MINUTES * 60 / SPEED + 60, what="the simulated run")
    finally:
        await run.stop()
    end = run.engine.clock.now()
    with engine.connect() as conn:
        rows = conn.execute(select(calls)).all()
        reports = [campaign_report(conn, cid, day, UTC, "UTC")
                   for day in sorted({start.date(), end.date()})]
    engine.dispose()
    return rows, reports, numbers


@pytest.mark.parametrize("jurisdiction", sorted(STARTS))
async def test_a_campaign_under_each_pack_breaks_none_of_its_rules(tmp_path: Path, jurisdiction: str) -> None:
    rows, reports, numbers = await _run_pack(tmp_path, jurisdiction)
    assert len(rows) >= 10, "the run placed too few calls to show anything"
    assert {r.phone for r in rows} & set(numbers), "none of the pack's own leads was called"
    for rep in reports:
        assert rep.jurisdiction == jurisdiction and rep.packs
        assert (rep.outside_window, rep.no_consent_calls, rep.after_revocation_calls, rep.dnc_calls) == (0, 0, 0, 0), (
            rep.outside_window_call_ids, rep.no_consent_call_ids, rep.after_revocation_call_ids)
    assert "+13055550002" not in {r.phone for r in rows}  # revoked the day before


REVOKED = "+12125550777"


async def test_a_revocation_made_mid_call_holds_the_number_in_every_campaign(tmp_path: Path) -> None:
    from campaigns import store as campaign_store
    from campaigns.definition import load_definition
    from dialer.services.campaigns import apply_definition
    from dialer.vocabulary import CallStatus
    from tests.e2e.conftest import E2E_START

    first = tmp_path / "pack.toml"
    first.write_text(CAMPAIGN.replace('jurisdiction = "JURISDICTION"\n', ""))
    second = tmp_path / "second.toml"
    second.write_text(CAMPAIGN.replace('jurisdiction = "JURISDICTION"\n', "")
                      .replace('name = "pack"', 'name = "second"').replace('queue = "pack"', 'queue = "second"'))
    opts = DemoOptions(minutes=60, speed=120.0, agents=4, leads=4, seed=9, data_dir=tmp_path / "data",
                       start=E2E_START, campaign_file=first,
                       scenario_overrides={"called": {"human": 1, "machine": 0, "busy": 0, "congestion": 0,
                                                      "invalid": 0, "no_answer": 0},
                                           "agents": {"talk_time": {"dist": "uniform", "low": 120, "high": 180}}})
    run = await start_demo(opts)
    engine = open_engine(run.settings.database_url)
    try:
        with (tmp_path / "revoked.csv").open("w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["Phone", "Country"])
            out.writerow([REVOKED, "US"])
        others = [f"+1212555{i:04d}" for i in range(800, 806)]
        with (tmp_path / "second.csv").open("w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["Phone", "Country"])
            for n in [REVOKED, *others]:
                out.writerow([n, "US"])

        def prepare() -> None:
            with engine.begin() as conn:
                cid = find_id(conn, "pack")
            import_file(engine, tmp_path / "revoked.csv", ImportOptions(list_name="pack", campaign_id=cid, workers=0))
            definition = load_definition(second)
            applied = apply_definition(engine, definition)
            import_file(engine, tmp_path / "second.csv",
                        ImportOptions(list_name="second", campaign_id=applied.campaign_id, workers=0))
            apply_definition(engine, definition)

        async with run.engine._db_lock:
            await asyncio.to_thread(prepare)

        def talking() -> bool:
            return any(c.phone == REVOKED and c.status is CallStatus.CONNECTED for c in run.engine.live.values())

        await until(talking, timeout=60, what="a call to the number reaching an agent")
        revoked_at = run.engine.clock.now()

        def revoke() -> None:
            with engine.begin() as conn:
                record(conn, REVOKED, "revoked", at=revoked_at, channel="api", evidence="customer asked mid-call")
            campaign_store.set_status(engine, "second", "active")  # a second campaign with the number starts

        async with run.engine._db_lock:
            await asyncio.to_thread(revoke)
        await until(lambda: any(c.name == "second" for c in run.engine.campaigns.values()), timeout=30,
                    what="the second campaign to be loaded")
        for name in ("agent03", "agent04"):
            await run.engine.agent_logout(name)
            await run.engine.agent_login(name, "second")
        end = revoked_at + timedelta(minutes=40)
        await until(lambda: run.engine.clock.now() >= end, timeout=40 * 60 / 120 + 60, what="40 simulated minutes")
    finally:
        await run.stop()
    with engine.connect() as conn:
        rows = conn.execute(select(calls.c.phone, calls.c.campaign_id, calls.c.placed_at)).all()
    engine.dispose()
    to_revoked = sorted(r.placed_at.replace(tzinfo=UTC) if r.placed_at.tzinfo is None else r.placed_at
                        for r in rows if r.phone == REVOKED)
    assert to_revoked and to_revoked[-1] < revoked_at, "a call to the number after it was revoked"
    assert {r.phone for r in rows} >= set(others), "the second campaign did not dial its other leads"


async def test_germany_over_the_easter_weekend(tmp_path: Path) -> None:
    """Several simulated days: Saturday evening to Tuesday morning around Easter 2026 in Berlin
    (Sunday, and Easter Monday a public holiday): the German leads are dialled on Tuesday from
    08:00 and never in between; none without consent."""
    global MINUTES, SPEED
    saved = MINUTES, SPEED, STARTS["DE"]
    MINUTES, SPEED = (3 * 24 - 6) * 60 + 45, 7200.0
    STARTS["DE"] = datetime(2026, 4, 4, 17, 15, tzinfo=UTC)  # Saturday 19:15 in Berlin
    try:
        rows, reports, _ = await _run_pack(tmp_path, "DE")
    finally:
        MINUTES, SPEED, STARTS["DE"] = saved
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    days = sorted({(r.placed_at if r.placed_at.tzinfo else r.placed_at.replace(tzinfo=UTC)).astimezone(berlin).date()
                   for r in rows if r.phone.startswith("+49")})
    # the German leads waited through Sunday and Easter Monday and were dialled on Tuesday (at
    # this speed the Saturday evening may pass before the import is seen)
    assert "2026-04-07" in {d.isoformat() for d in days}, days
    assert not {d.isoformat() for d in days} & {"2026-04-05", "2026-04-06"}, days
    for rep in reports:
        assert (rep.outside_window, rep.no_consent_calls, rep.after_revocation_calls) == (0, 0, 0)
