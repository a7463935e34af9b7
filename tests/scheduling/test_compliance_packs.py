"""The daily compliance report under a jurisdiction: packs and versions, the pack's window (area
code and state), calls without the required consent, calls after a revocation, the abandon rate
by the pack's definition (UK: calendar day with the AMD false-positive estimate), opt-outs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from dialer.db import open_engine
from dialer.services.compliance import campaign_report
from lists.models import consents
from tests.scheduling.helpers import calls_t, campaign, lead, lead_list

PARIS = ZoneInfo("Europe/Paris")


def _call(conn, cid: int, lead_id: int, phone: str, at: datetime, outcome: str, i: int) -> None:
    conn.execute(insert(calls_t).values(campaign_id=cid, lead_id=lead_id, phone=phone, attempt=1, node="n",
                                        status="ended", outcome=outcome, ring_timeout=25, placed_at=at,
                                        channel_id=f"c{cid}-{i}"))


def test_france_consent_revocation_window_and_opt_outs(db_url: str) -> None:
    engine = open_engine(db_url)
    cid = campaign(engine, "fr", jurisdiction="FR", compliance={"seller": "acme"})
    lst = lead_list(engine, "l", cid)
    phones = [f"+3314455{i:04d}" for i in range(5)]
    ids = [lead(engine, lst, p, "Europe/Paris", country="FR") for p in phones]
    day = datetime(2026, 9, 15, tzinfo=PARIS)  # a Tuesday, after the consent date
    at = day.replace(hour=11).astimezone(UTC)
    with engine.begin() as conn:
        conn.execute(insert(consents), [
            {"phone": phones[0], "kind": "given", "scope": "acme", "at": at - timedelta(days=10), "channel": "web"},
            {"phone": phones[1], "kind": "given", "scope": "*", "at": at - timedelta(days=10), "channel": "web"},
            {"phone": phones[1], "kind": "revoked", "scope": "*", "at": at - timedelta(days=1), "channel": "api"},
            {"phone": phones[2], "kind": "given", "scope": "other-seller", "at": at - timedelta(days=10),
             "channel": "web"},
            {"phone": phones[3], "kind": "given", "scope": "*", "at": at - timedelta(days=10), "channel": "web"},
            {"phone": phones[4], "kind": "given", "scope": "*", "at": at - timedelta(days=10), "channel": "web"},
        ])
        conn.execute(insert(consents).values(  # revoked after the call: not a violation
            phone=phones[4], kind="revoked", scope="*", at=at + timedelta(hours=1), channel="keypress",
            source="campaign fr"))
        _call(conn, cid, ids[0], phones[0], at, "CONNECTED", 0)  # consent in the seller's scope
        _call(conn, cid, ids[1], phones[1], at, "NO_ANSWER", 1)  # after a revocation
        _call(conn, cid, ids[2], phones[2], at, "BUSY", 2)  # consent for another seller only
        _call(conn, cid, ids[3], phones[3], day.replace(hour=13, minute=30).astimezone(UTC), "BUSY", 3)  # lunch
        _call(conn, cid, ids[4], phones[4], at, "ABANDONED", 4)
    with engine.connect() as conn:
        rep = campaign_report(conn, cid, day.date(), PARIS, "Europe/Paris")
    assert (rep.jurisdiction, rep.packs) == ("FR", "FR@2026.2")
    assert rep.after_revocation_calls == 1 and rep.no_consent_calls == 1
    assert rep.outside_window == 1 and rep.opt_outs == 1
    assert rep.abandon_definition == "30 days" and rep.abandon_rate_pack == 0.5
    assert not rep.ok and any("after consent was revoked" in p for p in rep.problems)
    engine.dispose()


def test_before_the_consent_date_france_needs_none(db_url: str) -> None:
    engine = open_engine(db_url)
    cid = campaign(engine, "fr", jurisdiction="FR")
    lst = lead_list(engine, "l", cid)
    lid = lead(engine, lst, "+33144550000", "Europe/Paris", country="FR")
    day = datetime(2026, 8, 10, tzinfo=PARIS)  # a Monday, the day before
    with engine.begin() as conn:
        _call(conn, cid, lid, "+33144550000", day.replace(hour=11).astimezone(UTC), "CONNECTED", 0)
    with engine.connect() as conn:
        rep = campaign_report(conn, cid, day.date(), PARIS, "Europe/Paris")
    assert rep.no_consent_calls == 0 and rep.ok, rep.problems
    engine.dispose()


def test_uk_abandon_rate_per_day_with_amd_false_positives(db_url: str) -> None:
    engine = open_engine(db_url)
    cid = campaign(engine, "uk", jurisdiction="UK", dial={"trunk": "PJSIP/{number}@t", "queue": "uk", "amd": True},
                   compliance={"amd_accuracy": 0.9}, window={"hours": "00:00-24:00"})
    lst = lead_list(engine, "l", cid)
    london = ZoneInfo("Europe/London")
    day = datetime(2026, 11, 18, tzinfo=london)
    outcomes = ["CONNECTED"] * 96 + ["ABANDONED"] * 2 + ["MACHINE"] * 20
    phones = [f"+442075{i:06d}" for i in range(len(outcomes))]
    ids = [lead(engine, lst, p, "Europe/London", country="GB") for p in phones]
    with engine.begin() as conn:
        for i, outcome in enumerate(outcomes):
            _call(conn, cid, ids[i], phones[i], day.replace(hour=10).astimezone(UTC) + timedelta(seconds=i),
                  outcome, i)
    with engine.connect() as conn:
        rep = campaign_report(conn, cid, day.date(), london, "Europe/London")
    # 2 abandoned + 20 machines x (1 - 0.9) = 2 possible people: 4 / 100
    assert rep.amd_false_positives_estimate == 2.0 and rep.abandon_definition.startswith("calendar day")
    assert rep.abandon_rate == round(2 / 98, 6) and rep.abandon_rate_pack == 0.04  # 2 % without the estimate
    assert not rep.ok and any("calendar day" in p for p in rep.problems)
    engine.dispose()


def test_a_us_lead_is_judged_by_its_area_codes_state_too(db_url: str) -> None:
    engine = open_engine(db_url)
    cid = campaign(engine, "us", jurisdiction="US")
    lst = lead_list(engine, "l", cid)
    ny = ZoneInfo("America/New_York")
    day = datetime(2026, 6, 3, tzinfo=ny)
    evening = day.replace(hour=20, minute=30).astimezone(UTC)
    fl = lead(engine, lst, "+13055550100", "America/New_York", country="US", state="NY")  # a Florida number
    nyc = lead(engine, lst, "+12125550100", "America/New_York", country="US", state="NY")
    with engine.begin() as conn:
        _call(conn, cid, fl, "+13055550100", evening, "BUSY", 0)
        _call(conn, cid, nyc, "+12125550100", evening, "BUSY", 1)
    with engine.connect() as conn:
        rep = campaign_report(conn, cid, day.date(), ny, "America/New_York")
    assert rep.outside_window == 1 and rep.packs == "US@2026.2"
    engine.dispose()
