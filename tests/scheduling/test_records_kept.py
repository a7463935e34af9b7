"""Records kept as the packs require, against the database: a request taken by the dialer
records its honour period (the longest of the packs that apply), `dnc remove` refuses it before
the end, `dnc ls` shows it, no scheduled job ever removes a consent, DNC entry or call row, and
the compliance report shows the records kept per pack."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from campaigns.packs import add_years
from dialer.cli import main
from dialer.db import make_async_engine, open_engine
from dialer.services.compliance import campaign_report
from dialer.services.jobs import JOBS, JobContext
from dialer.storage.calls import record_opt_out
from dialer.storage.dnc_requests import record_request
from lists.dnc import add_numbers
from lists.models import consents
from tests.scheduling.helpers import calls_t, campaign, dnc_t, lead, lead_list

AT = datetime(2026, 3, 2, 15, tzinfo=UTC)
CANADA, NEW_YORK = "+14165550143", "+12125550143"


async def _request(db_url: str, phone: str, jurisdiction: str | None, at: datetime = AT) -> bool:
    engine = make_async_engine(db_url)
    try:
        async with engine.begin() as conn:
            return await record_request(conn, phone, 0, jurisdiction=jurisdiction, at=at, source="t", reason="asked")
    finally:
        await engine.dispose()


def _entry(engine, phone: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(dnc_t).where(dnc_t.c.phone == phone)).mappings().one())


async def test_a_request_records_its_period_and_cannot_be_removed_before(db_url: str, tmp_path: Path) -> None:
    engine = open_engine(db_url)
    env = {"DIALER_DATABASE_URL": db_url, "DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_LOG_LEVEL": "WARNING"}

    def run(*args: str):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    assert await _request(db_url, CANADA, "CA")  # CA: 3 years
    e = _entry(engine, CANADA)
    assert (e["requested_at"], e["honour_until"]) == (AT, datetime(2029, 3, 2, 15, tzinfo=UTC))
    r = run("dnc", "remove", CANADA)
    assert r.exit_code == 2 and "must be honoured until 2029-03-02" in r.output and "not removed" in r.output
    assert not await _request(db_url, CANADA, "US", AT + timedelta(days=1))  # a US campaign: for ever
    assert _entry(engine, CANADA)["honour_until"] is None and _entry(engine, CANADA)["requested_at"] == AT
    r = run("dnc", "ls", "--requests", "--json")
    assert [(x["number"], x["honoured"]) for x in json.loads(r.output)] == [(CANADA, "for ever")]
    r = run("dnc", "check", CANADA)
    assert r.exit_code == 1 and "request honoured for ever" in r.output

    with engine.begin() as conn:  # the operator's own entry: removable, until a request lands on it
        add_numbers(conn, ["+14165550144"], source="cli")
    assert run("dnc", "remove", "+14165550144").exit_code == 0
    with engine.begin() as conn:
        add_numbers(conn, ["+14165550144"], source="cli")
    assert not await _request(db_url, "+14165550144", None)  # no jurisdiction: CA by the number's country
    assert _entry(engine, "+14165550144")["honour_until"] == add_years(AT, 3)
    assert run("dnc", "remove", "+14165550144").exit_code == 2
    r = run("dnc", "ls")
    assert r.exit_code == 0 and "2029-03-02" in r.output


async def test_the_opt_out_keypress_records_the_campaigns_period(db_url: str) -> None:
    engine = open_engine(db_url)
    campaign(engine, "ca", jurisdiction="CA")
    adb = make_async_engine(db_url)
    try:
        async with adb.begin() as conn:
            await record_opt_out(conn, 7, "+33144556677", "ca", AT)  # CA campaign, FR number: CA's 3 years
    finally:
        await adb.dispose()
    e = _entry(engine, "+33144556677")
    assert (e["scope"], e["requested_at"], e["honour_until"]) == (0, AT, add_years(AT, 3))


def test_no_job_ever_removes_a_consent_dnc_entry_or_call(sqlite_url: str, tmp_path: Path) -> None:
    engine = open_engine(sqlite_url)
    cid = campaign(engine, "us", jurisdiction="US")
    lid = lead_list(engine, "l", cid)
    lead_id = lead(engine, lid, NEW_YORK)
    with engine.begin() as conn:
        conn.execute(insert(dnc_t).values(phone=CANADA, scope=0, source="t", created_at=AT, requested_at=AT,
                                          honour_until=add_years(AT, 3)))
        add_numbers(conn, [NEW_YORK], source="import")
        conn.execute(insert(consents).values(phone=NEW_YORK, kind="given", scope="*", at=AT, channel="web"))
        conn.execute(insert(calls_t).values(campaign_id=cid, lead_id=lead_id, phone=NEW_YORK, attempt=1, node="n",
                                            status="ended", outcome="CONNECTED", ring_timeout=25, placed_at=AT,
                                            channel_id="c1", recording_path=str(tmp_path / "r.wav")))

    def snapshot() -> tuple:
        with engine.connect() as conn:
            return tuple(conn.execute(select(func.count(), func.min(t.c.id), func.max(t.c.id))).one()
                         for t in (consents, dnc_t, calls_t))

    before = snapshot()

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.integers(0, 40 * 365))
    def every_job_at(days: int) -> None:
        ctx = JobContext(engine=engine, data_dir=tmp_path / "data", node="n", now=AT + timedelta(days=days))
        for spec in JOBS.values():
            spec.func(ctx)
        assert snapshot() == before

    every_job_at()


def test_the_report_shows_the_records_kept_per_pack(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    cid = campaign(engine, "fl", jurisdiction="US-FL")
    lid = lead_list(engine, "l", cid)
    lead_id = lead(engine, lid, NEW_YORK)
    with engine.begin() as conn:
        conn.execute(insert(calls_t).values(campaign_id=cid, lead_id=lead_id, phone=NEW_YORK, attempt=1, node="n",
                                            status="ended", outcome="CONNECTED", ring_timeout=25, placed_at=AT,
                                            channel_id="c1"))
        # a request recorded for 3 years only (before this work's figures, say): short for a US number
        conn.execute(insert(dnc_t).values(phone=NEW_YORK, scope=0, source="t", created_at=AT, requested_at=AT,
                                          honour_until=add_years(AT, 3)))
    with engine.connect() as conn:
        rep = campaign_report(conn, cid, date(2026, 3, 2), UTC, "UTC")
    assert rep.records_kept.startswith("US@2026.2 dnc_request=forever consent=5y calls=5y; US-FL@")
    assert rep.records_kept.endswith(" -")
    assert rep.records_required == {"dnc_request": "forever", "consent": "5y", "calls": "5y"}
    assert (rep.dnc_requests, rep.dnc_requests_short, rep.dnc_requests_short_numbers) == (1, 1, [NEW_YORK])
    assert "1 do-not-call requests recorded for less than the packs require" in rep.problems


def test_the_migration_makes_the_dialers_earlier_entries_requests_for_ever(db_url: str) -> None:
    from sqlalchemy import create_engine, text

    from dialer.db import sync_url, upgrade

    upgrade(db_url, "0011")
    raw = create_engine(sync_url(db_url))
    with raw.begin() as conn:
        for i, source in enumerate(("campaign c", "agent ann", "cli", "dnc-inbox/x.txt", None)):
            conn.execute(text("INSERT INTO dnc_numbers (phone, scope, source, created_at) "
                              "VALUES (:p, 0, :s, :at)"), {"p": f"+1212555010{i}", "s": source, "at": AT})
    raw.dispose()
    upgrade(db_url, "0012")
    engine = open_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(select(dnc_t.c.source, dnc_t.c.requested_at, dnc_t.c.honour_until)
                            .order_by(dnc_t.c.phone)).all()
    assert [tuple(r) for r in rows] == [("campaign c", AT, None), ("agent ann", AT, None), ("cli", None, None),
                                        ("dnc-inbox/x.txt", None, None), (None, None, None)]
