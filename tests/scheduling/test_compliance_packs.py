"""The daily compliance report under a jurisdiction: packs and versions, the pack's window (area
code and state), calls without the required consent, calls after a revocation, the abandon rate
by the pack's definition (UK: calendar day with the AMD false-positive estimate), opt-outs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert

from campaigns.definition import Limits
from dialer.db import open_engine
from dialer.services.compliance import PastCall, campaign_report, frequency_breaches
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


# ------------------------------------------------------------------ caps and gaps in the report

T0 = datetime(2026, 9, 15, 9, 0, tzinfo=UTC)


def _past(i: int, hours: float, outcome: str | None = "NO_ANSWER", refused: bool = False,
          phone: str = "+33144550000") -> PastCall:
    at = T0 + timedelta(hours=hours)
    return PastCall(i, phone, at, at + timedelta(minutes=1), outcome, refused)


def test_a_call_over_a_cap_is_reported_and_one_under_it_is_not() -> None:
    limits = Limits(caps=((3, 1),), gap_after_abandoned=timedelta(0), gap_after_machine=timedelta(0),
                    gap_after_refusal=timedelta(0))
    history = [_past(1, 0), _past(2, 1), _past(3, 2), _past(4, 3), _past(5, 25.5),
               _past(6, 3, phone="+33144550001")]  # another number's calls never count
    assert frequency_breaches([1, 2, 3, 4, 5, 6], history, limits) == ([4], [])
    # The cap counts every campaign's calls: calls not asked about still count.
    assert frequency_breaches([4], history, limits) == ([4], [])
    limits30 = Limits(max_calls_per_number=4, per_days=30, gap_after_abandoned=timedelta(0),
                      gap_after_machine=timedelta(0), gap_after_refusal=timedelta(0))
    month = [_past(i, i * 24 * 7) for i in range(1, 6)]  # weekly: the 5th is within 30 days of the 1st
    assert frequency_breaches([c.id for c in month], month, limits30) == ([5], [])


def test_calls_inside_a_gap_after_an_abandoned_call_a_machine_or_a_refusal_are_reported() -> None:
    limits = Limits(gap_after_abandoned=timedelta(hours=72), gap_after_machine=timedelta(hours=24),
                    gap_after_refusal=timedelta(days=60))
    history = [_past(1, 0, "ABANDONED"), _past(2, 71), _past(3, 73),  # 2: inside the 72 h
               _past(4, 80, "MACHINE"), _past(5, 100), _past(6, 105, "CONNECTED", refused=True),
               _past(7, 105 + 59 * 24), _past(8, 105 + 61 * 24)]
    assert frequency_breaches([c.id for c in history], history, limits) == ([], [2, 5, 7])


def test_a_call_placed_while_an_earlier_one_was_still_ringing_is_not_inside_its_gap() -> None:
    """The claim can only see outcomes of calls that ended; the report judges the same way."""
    limits = Limits(gap_after_abandoned=timedelta(hours=72))
    first = PastCall(1, "+33144550000", T0, T0 + timedelta(minutes=2), "ABANDONED", False)
    second = PastCall(2, "+33144550000", T0 + timedelta(minutes=1), None, "NO_ANSWER", False)
    assert frequency_breaches([2], [first, second], limits) == ([], [])


@given(st.lists(st.tuples(st.integers(0, 24 * 40), st.sampled_from(["NO_ANSWER", "ABANDONED", "MACHINE"])),
                max_size=25),
       st.integers(1, 5), st.integers(1, 10), st.integers(0, 96), st.integers(0, 48))
def test_the_breaches_match_a_brute_force_reading_of_the_rules(
        calls: list[tuple[int, str]], cap: int, days: int, abandon_gap: int, machine_gap: int) -> None:
    limits = Limits(caps=((cap, days),), gap_after_abandoned=timedelta(hours=abandon_gap),
                    gap_after_machine=timedelta(hours=machine_gap), gap_after_refusal=timedelta(0))
    history = [_past(i, hours, outcome) for i, (hours, outcome) in enumerate(calls)]
    over, inside = frequency_breaches([c.id for c in history], history, limits)
    for c in history:
        earlier = [p for p in history if (p.placed_at, p.id) < (c.placed_at, c.id)]
        in_window = [p for p in earlier if c.placed_at - p.placed_at < timedelta(days=days)]
        assert (c.id in over) == (len(in_window) >= cap)
        blocked = any(
            p.ended_at is not None and p.ended_at <= c.placed_at
            and ((p.outcome == "ABANDONED" and c.placed_at - p.placed_at < timedelta(hours=abandon_gap))
                 or (p.outcome == "MACHINE" and c.placed_at - p.placed_at < timedelta(hours=machine_gap)))
            for p in earlier)
        assert (c.id in inside) == blocked


def test_the_report_counts_calls_over_the_packs_cap_across_campaigns(db_url: str) -> None:
    """France: at most 4 calls per 30 days to a number, whatever the campaign."""
    engine = open_engine(db_url)
    cid = campaign(engine, "fr", jurisdiction="FR", compliance={"seller": "acme"})
    other = campaign(engine, "fr2", compliance={"seller": "acme"})
    lst, lst2 = lead_list(engine, "l", cid), lead_list(engine, "l2", other)
    phone = "+33144550042"
    mine, theirs = lead(engine, lst, phone, "Europe/Paris", country="FR"), lead(engine, lst2, phone, "Europe/Paris")
    day = datetime(2026, 9, 15, tzinfo=PARIS)
    with engine.begin() as conn:
        conn.execute(insert(consents).values(phone=phone, kind="given", scope="acme", at=day - timedelta(days=60),
                                             channel="web"))
        for i in range(3):  # three calls by the other campaign in the last weeks
            _call(conn, other, theirs, phone, (day - timedelta(days=7 * (i + 1))).replace(hour=11).astimezone(UTC),
                  "NO_ANSWER", 100 + i)
        _call(conn, cid, mine, phone, day.replace(hour=11).astimezone(UTC), "NO_ANSWER", 1)  # the 4th: allowed
        _call(conn, cid, mine, phone, day.replace(hour=15).astimezone(UTC), "NO_ANSWER", 2)  # the 5th: not
    with engine.connect() as conn:
        rep = campaign_report(conn, cid, day.date(), PARIS, "Europe/Paris")
    engine.dispose()
    assert rep.over_cap_calls == 1 and rep.inside_gap_calls == 0 and not rep.ok
    assert any("frequency cap" in p for p in rep.problems), rep.problems
