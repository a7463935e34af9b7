"""``hold_without_consent``: the leads a consent-requiring campaign cannot call are held (a due
time ahead, marked), released at once when consent arrives, counted by ``why`` as consent, and
out of the claim's way."""

from __future__ import annotations

import csv
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, select, update

from campaigns.models import campaigns as campaigns_t
from dialer.claim import claim_leads, open_zone_sets
from dialer.db import make_async_engine
from dialer.services.diagnostics import _window, why
from dialer.services.jobs import CONSENT_HOLD, JobContext, hold_action, hold_without_consent
from dialer.storage.leads import zone_keys
from lists.consent import HELD, import_file, record
from lists.importer import ImportOptions
from lists.importer import import_file as import_leads
from lists.models import consents, leads
from tests.diagnostics.helpers import NOW, ago, later, lead, phone, seed

DE = {"name": "c", "jurisdiction": "DE"}


def run(engine: Engine, at: datetime = NOW) -> dict[str, Any]:
    return hold_without_consent(JobContext(engine, Path("/nonexistent"), "t", at)).counts


def rows(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {r.phone: r for r in conn.execute(select(leads))}


def held(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(leads.c.phone).where(leads.c.last_outcome == HELD)).scalars())


def given_(p: str, **kw: Any) -> dict[str, Any]:
    return {"phone": p, "kind": "given", "scope": "*", "at": ago(days=10), **kw}


def test_the_job_holds_only_the_leads_without_consent(db_url: str) -> None:
    p = {k: phone() for k in ("bare", "ok", "revoked", "retry", "callback", "later", "other", "ok_other_scope",
                              "seller")}
    engine = seed(db_url, [
        lead(phone=p["bare"]), lead(phone=p["ok"]), lead(phone=p["revoked"]),
        lead(phone=p["retry"], status="retry", next_call_at=ago(hours=1), attempts=1),
        lead(phone=p["callback"], status="callback", next_call_at=ago(hours=1), attempts=1),
        lead(phone=p["later"], next_call_at=later(days=2)),
        lead(phone=p["other"], list_id=2),  # campaign "other": no jurisdiction
        lead(phone=p["ok_other_scope"]), lead(phone=p["seller"]),
    ], definition={**DE, "compliance": {"seller": "acme"}},
        lists=({"id": 1, "name": "l1", "active": True}, {"id": 2, "name": "l2", "active": True, "campaign_id": 2}),
        consent_rows=[given_(p["ok"]), given_(p["revoked"]),
                      {"phone": p["revoked"], "kind": "revoked", "scope": "acme", "at": ago(days=1)},
                      given_(p["ok_other_scope"], scope="campaign:other"), given_(p["seller"], scope="acme")])
    counts = run(engine)
    assert held(engine) == {p["bare"], p["revoked"], p["ok_other_scope"]}
    assert counts["held"] == 3 and counts["campaigns"]["c"]["consent_required"]
    r = rows(engine)
    assert r[p["bare"]].status == "new" and r[p["bare"]].next_call_at.replace(tzinfo=UTC) == NOW + CONSENT_HOLD
    assert r[p["retry"]].next_call_at.replace(tzinfo=UTC) == ago(hours=1)
    assert r[p["later"]].next_call_at.replace(tzinfo=UTC) == later(days=2)
    before = rows(engine)
    assert run(engine)["held"] == 0 and rows(engine) == before  # idempotent
    # The hold ran out and consent is still missing: held again, an hour from then.
    assert run(engine, NOW + CONSENT_HOLD + timedelta(minutes=5))["held"] == 3


def test_not_before_the_packs_date(sqlite_url: str) -> None:
    """France requires consent from 2026-08-11: nothing is held before, everything without it after."""
    engine = seed(sqlite_url, [lead(), lead()], definition={"name": "c", "jurisdiction": "FR"})
    assert run(engine, datetime(2026, 8, 10, 12, tzinfo=UTC))["held"] == 0
    assert run(engine, datetime(2026, 8, 11, 12, tzinfo=UTC))["held"] == 2


def test_inactive_campaign_is_not_held(sqlite_url: str) -> None:
    engine = seed(sqlite_url, [lead()], definition=DE, status="paused")
    assert run(engine)["held"] == 0


def test_consent_recorded_releases_at_once_and_revocation_does_not(db_url: str) -> None:
    a, b = phone(), phone()
    engine = seed(db_url, [lead(phone=a), lead(phone=b)], definition=DE)
    run(engine)
    with engine.begin() as conn:
        record(conn, b, "revoked", at=NOW, channel="cli")
    assert held(engine) == {a, b}
    with engine.begin() as conn:
        record(conn, a, "given", at=NOW, channel="web", scope="campaign:c")
    assert held(engine) == {b}
    assert rows(engine)[a].next_call_at is None and rows(engine)[a].last_outcome is None


def test_consent_file_releases_at_once(db_url: str, tmp_path: Path) -> None:
    a, b, c = phone(), phone(), phone()
    engine = seed(db_url, [lead(phone=a), lead(phone=b), lead(phone=c)], definition=DE)
    run(engine)
    f = tmp_path / "crm.csv"
    with f.open("w", newline="") as fh:
        csv.writer(fh).writerows([["phone", "consent"], [a, "yes"], [b, "no"]])
    with engine.begin() as conn:
        import_file(conn, f, at=NOW, column="consent")
    assert held(engine) == {b, c}


def test_lead_import_consent_column_releases_at_once(sqlite_url: str, tmp_path: Path) -> None:
    a, b = "+12125550171", "+12125550172"
    engine = seed(sqlite_url, [lead(phone=a), lead(phone=b)], definition=DE)
    run(engine)
    assert held(engine) == {a, b}
    f = tmp_path / "leads.csv"
    with f.open("w", newline="") as fh:
        csv.writer(fh).writerows([["phone", "consent"], [a, "yes"], [b, "no"]])
    import_leads(engine, f, ImportOptions(list_name="new", region="US"))
    assert held(engine) == {b}


def test_the_job_releases_raced_and_no_longer_required(db_url: str) -> None:
    a, b = phone(), phone()
    engine = seed(db_url, [lead(phone=a), lead(phone=b)], definition=DE)
    run(engine)
    with engine.begin() as conn:  # consent written behind the release's back (a race, a tool)
        conn.execute(insert(consents).values(channel="sql", **given_(a)))
    assert run(engine)["released"] == 1 and held(engine) == {b}
    with engine.begin() as conn:  # the campaign edited: the pack's consent rule overridden
        conn.execute(update(campaigns_t).where(campaigns_t.c.id == 1).values(definition={
            **DE, "compliance": {"override": [{"rule": "consent", "reason": "B2B"}]}}))
    assert run(engine)["released"] == 1 and held(engine) == set()


def test_why_counts_the_held_leads_as_consent(db_url: str) -> None:
    ok = phone()
    engine = seed(db_url, [lead(phone=ok), lead(), lead(), lead(next_call_at=later(hours=3))], definition=DE,
                  consent_rows=[given_(ok)])
    run(engine)
    with engine.connect() as conn:
        report = why(conn, "c", NOW)
    got = {k: v for k, v in report.counts().items() if v}
    assert got == {"callable": 1, "consent": 3}


async def test_the_claim_takes_the_consented_leads_behind_a_held_backlog(db_url: str) -> None:
    """After the job, the consented leads behind 300 held ones (first in the index) are claimed,
    and the held ones are due only after the hold, so the claim's walks stop before them."""
    backlog = [lead(priority=5) for _ in range(300)]
    ok = [phone() for _ in range(3)]
    engine = seed(db_url, [*backlog, *(lead(phone=p, priority=0) for p in ok)], definition=DE,
                  consent_rows=[given_(p) for p in ok])
    run(engine)
    r = rows(engine)
    assert all(r[x["phone"]].next_call_at.replace(tzinfo=UTC) > NOW for x in backlog)
    aengine = make_async_engine(db_url)
    try:
        async with aengine.begin() as conn:
            open_sets = open_zone_sets(_window(DE), await zone_keys(conn, 1), NOW)
            claimed = await claim_leads(conn, campaign_id=1, n=10, now=NOW, node="t", ring_timeout=25,
                                        open_sets=open_sets)
    finally:
        await aengine.dispose()
    assert sorted(c.phone for c in claimed) == sorted(ok)


# -- the decision ----------------------------------------------------------------------------------

STATUSES = ("new", "retry", "callback", "done", "dnc", "dialing")
OUTCOMES = (None, HELD, "NO_ANSWER")


@given(required=st.booleans(), active=st.booleans(), status=st.sampled_from(STATUSES),
       last_outcome=st.sampled_from(OUTCOMES), due=st.booleans(), consented=st.booleans())
def test_hold_action_properties(required: bool, active: bool, status: str, last_outcome: str | None, due: bool,
                                consented: bool) -> None:
    action = hold_action(required=required, active=active, status=status, last_outcome=last_outcome, due=due,
                         consented=consented)
    if action is not None:
        assert status == "new"
    if action == "hold":  # only what the claim would skip anyway, never a lead it may call
        assert required and active and due and not consented and last_outcome in (None, HELD)
    if action == "release":
        assert last_outcome == HELD and (consented or not required)
    # Idempotent: after the action, the same run does nothing more with the lead.
    after = {"hold": (HELD, False), "release": (None, True), None: (last_outcome, due)}[action]
    again = hold_action(required=required, active=active, status=status, last_outcome=after[0], due=after[1],
                        consented=consented)
    assert again is None
    # Never a held lead left that the claim could call: consent standing or not required → not held.
    if consented or not required:
        assert after[0] != HELD or status != "new"


def test_the_sql_is_the_decision(db_url: str) -> None:
    """Every combination the decision reads, in a DE campaign and one without a jurisdiction."""
    combos = list(itertools.product(STATUSES, OUTCOMES, (True, False), (True, False)))
    data: list[dict] = []
    consent_rows = []
    for list_id in (1, 2):
        for status, outcome, due, consented in combos:
            p = phone()
            data.append(lead(phone=p, list_id=list_id, status=status, last_outcome=outcome,
                             next_call_at=ago(minutes=1) if due else later(minutes=30)))
            if consented:
                consent_rows.append(given_(p))
    _check(db_url, data, consent_rows, combos)


def _check(url: str, data: list[dict], consent_rows: list[dict], combos: list) -> None:
    engine = seed(url, data, definition=DE, consent_rows=consent_rows,
                  lists=({"id": 1, "name": "l1", "active": True},
                         {"id": 2, "name": "l2", "active": True, "campaign_id": 2}))
    before = rows(engine)
    run(engine)
    after = rows(engine)
    for row, (status, outcome, due, consented) in zip(data, combos * 2, strict=True):
        action = hold_action(required=row["list_id"] == 1, active=True, status=status, last_outcome=outcome,
                             due=due, consented=consented)
        a, b = before[row["phone"]], after[row["phone"]]
        if action == "hold":
            assert (b.last_outcome, b.next_call_at.replace(tzinfo=UTC)) == (HELD, NOW + CONSENT_HOLD), row
        elif action == "release":
            assert (b.last_outcome, b.next_call_at) == (None, None), row
        else:
            assert (b.last_outcome, b.next_call_at) == (a.last_outcome, a.next_call_at), row
