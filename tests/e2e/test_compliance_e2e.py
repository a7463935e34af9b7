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
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from campaigns.store import find_id
from dialer.claim import calls
from dialer.db import open_engine
from dialer.demo import DemoOptions, start_demo
from dialer.services.compliance import campaign_report
from lists.consent import record
from lists.importer import ImportOptions, import_file
from tests.e2e.conftest import DISPOSITIONS, until

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
""" + DISPOSITIONS + """
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
# Each pack's run: slices of SLICE simulated minutes over several days, each across a moment its
# window opens or closes (local time, the pack's country), or a day it must stay shut (Sunday,
# a public holiday); the nights between are leapt over with nothing in flight.
SLICES: dict[str, tuple[str, list[str]]] = {
    "US-FL": ("America/New_York", ["2026-03-05 19:48", "2026-03-06 07:48", "2026-03-06 19:48", "2026-03-07 07:48"]),
    # New York closes at 21:00 (the Florida numbers at 20:00); Monday is after the DST change
    "US": ("America/New_York", ["2026-03-05 20:48", "2026-03-06 07:48", "2026-03-09 07:48"]),
    # lunch, evening close, Armistice Day (a holiday: shut), the next morning; consent required
    "FR": ("Europe/Paris", ["2026-11-10 12:48", "2026-11-10 19:48", "2026-11-11 09:48", "2026-11-12 09:48"]),
    # Saturday evening, Easter Sunday and Easter Monday (shut), Tuesday morning
    "DE": ("Europe/Berlin", ["2026-04-04 19:48", "2026-04-05 07:48", "2026-04-06 07:48", "2026-04-07 07:48"]),
    # Friday close at 20:00, Saturday's at 17:00, Sunday (shut), Monday 09:00
    "AU": ("Australia/Sydney", ["2026-03-06 19:48", "2026-03-07 16:48", "2026-03-08 08:48", "2026-03-09 08:48"]),
    # Friday close at 21:30, weekend 10:00-18:00, Monday 09:00 after the DST change
    "CA": ("America/Toronto", ["2026-03-06 21:18", "2026-03-07 09:48", "2026-03-07 17:48", "2026-03-09 08:48"]),
    "UK": ("Europe/London", ["2026-03-04 10:00", "2026-03-04 16:00", "2026-03-05 10:00", "2026-03-07 12:00"]),
}
# Days a pack's own numbers must not be called at all (local dates), and the number prefix.
SHUT = {"DE": ("+49", {"2026-04-05", "2026-04-06"}), "FR": ("+33", {"2026-11-11"}), "AU": ("+61", {"2026-03-08"})}
SLICE = 24
SPEED = 360.0


def _slices(jurisdiction: str) -> list[datetime]:
    zone, starts = SLICES[jurisdiction]
    tz = ZoneInfo(zone)
    return [datetime.fromisoformat(s).replace(tzinfo=tz).astimezone(UTC) for s in starts]


def _leads_file(path: Path, per_region: int = 5) -> list[str]:
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


async def _set_status(run, engine, status: str) -> None:  # type: ignore[no-untyped-def]
    from campaigns import store as campaign_store

    async with run.engine._db_lock:  # the daemon's writes wait meanwhile (one SQLite writer)
        await asyncio.to_thread(campaign_store.set_status, engine, "pack", status)
    await run.engine.reload_campaigns()


async def _leap(run, engine, to: datetime, meanwhile=None) -> None:  # type: ignore[no-untyped-def]
    """Pause the campaign, let the calls in flight end and their dispositions be written, step
    the daemon's clock over the night to ``to`` (then run ``meanwhile()`` in a thread, under
    the daemon's write lock), and start the campaign again."""
    await _set_status(run, engine, "paused")
    await until(lambda: not run.engine.live, timeout=60, what="the calls in flight to end")
    await run.agents.drain()
    await run.engine.flush()
    run.engine.clock.leap(to)
    if meanwhile is not None:
        async with run.engine._db_lock:
            await asyncio.to_thread(meanwhile)
    await _set_status(run, engine, "active")


def _fresh_file(path: Path) -> list[str]:
    """Numbers not called yet, in every pack's regions (imported before a pack's shut days: the
    engine must hold them through those days and call them after)."""
    numbers = []
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Phone", "Country", "State", "First Name"])
        for country, state, head, digits in REGIONS:
            for i in range(3):
                number = head + str(900 + i).rjust(digits + 1 - len(head), "0")
                numbers.append(number)
                out.writerow([number, country, state, "Bo"])
    return numbers


async def _run_pack(tmp_path: Path, jurisdiction: str) -> tuple[list, list, list[str]]:
    campaign_file = tmp_path / "pack.toml"
    campaign_file.write_text(CAMPAIGN.replace("JURISDICTION", jurisdiction))
    slices = _slices(jurisdiction)
    start = slices[0]
    opts = DemoOptions(minutes=SLICE, speed=SPEED, agents=4, leads=20, seed=5, data_dir=tmp_path / "data",
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

        async with run.engine._db_lock:
            cid = await asyncio.to_thread(prepare)
        zone = ZoneInfo(SLICES[jurisdiction][0])
        shut = SHUT.get(jurisdiction, ("", set()))[1]
        first_shut = next((i for i, at in enumerate(slices) if at.astimezone(zone).date().isoformat() in shut), None)
        fresh = _fresh_file(tmp_path / "fresh.csv")

        def add_fresh() -> None:
            with engine.begin() as conn:
                for n in fresh:  # with consent: only the calendar holds them
                    record(conn, n, "given", at=start - timedelta(days=30), channel="web", scope="acme")
            import_file(engine, tmp_path / "fresh.csv", ImportOptions(list_name="pack", campaign_id=cid, workers=0))

        for i, at in enumerate(slices):
            if i:
                await _leap(run, engine, at, add_fresh if i == first_shut else None)
            await until(lambda at=at: run.engine.clock.now() >= at + timedelta(minutes=SLICE),
                        timeout=SLICE * 60 / SPEED + 60, what=f"the simulated slice from {at}")
    finally:
        await run.stop()
    with engine.connect() as conn:
        rows = conn.execute(select(calls)).all()
        days = sorted({d for at in slices for d in (at.date(), (at + timedelta(minutes=SLICE)).date())})
        reports = [campaign_report(conn, cid, day, UTC, "UTC") for day in days]
    engine.dispose()
    return rows, reports, numbers + fresh


def _local_days(rows: list, prefix: str, zone: str) -> set[str]:
    tz = ZoneInfo(zone)
    return {(r.placed_at if r.placed_at.tzinfo else r.placed_at.replace(tzinfo=UTC)).astimezone(tz).date().isoformat()
            for r in rows if r.phone.startswith(prefix)}


@pytest.mark.parametrize("jurisdiction", sorted(SLICES))
async def test_a_campaign_under_each_pack_breaks_none_of_its_rules_over_several_days(
        tmp_path: Path, jurisdiction: str) -> None:
    rows, reports, numbers = await _run_pack(tmp_path, jurisdiction)
    assert len(rows) >= 10, "the run placed too few calls to show anything"
    assert {r.phone for r in rows} & set(numbers), "none of the pack's own leads was called"
    assert len({r.placed_at.date() for r in rows}) >= 2, "the calls do not span several days"
    for rep in reports:
        assert rep.jurisdiction == jurisdiction and rep.packs
        assert (rep.outside_window, rep.no_consent_calls, rep.after_revocation_calls, rep.dnc_calls,
                rep.over_cap_calls, rep.inside_gap_calls) == (0, 0, 0, 0, 0, 0), rep.problems
    assert "+13055550002" not in {r.phone for r in rows}  # revoked the day before
    if jurisdiction in SHUT:
        prefix, shut = SHUT[jurisdiction]
        days = _local_days(rows, prefix, SLICES[jurisdiction][0])
        assert not days & shut, days
        # the fresh numbers, there through the shut days, are called on the day after them
        fresh = [r for r in rows if r.phone.startswith(prefix) and r.phone in numbers[-3 * len(REGIONS):]]
        last = SLICES[jurisdiction][1][-1][:10]
        assert last in _local_days(fresh, prefix, SLICES[jurisdiction][0]), (
            f"the fresh {prefix} leads were not dialled after the shut days: {days}")


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
