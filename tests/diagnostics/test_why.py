"""``why``: every reason alone and combined, the precedence, ``--at``, and agreement with the claim."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from campaigns.windows import CallingWindow
from dialer.claim import claim_leads, open_zone_sets
from dialer.db import make_async_engine
from dialer.services.diagnostics import REASONS, top_reason, why
from dialer.storage.leads import zone_keys
from tests.diagnostics.helpers import NOW, NY, TOKYO, ago, later, lead, phone, seed

ZERO = {"callable": 0, **{code: 0 for code, _ in REASONS}}


def counts(url: str, at=NOW) -> dict[str, int]:
    from dialer.db import open_engine

    engine = open_engine(url)
    with engine.connect() as conn:
        report = why(conn, "c", at)
    engine.dispose()
    got = report.counts()
    assert sum(got.values()) == report.total
    return got


def expect(**kw: int) -> dict[str, int]:
    return {**ZERO, **kw}


def _alone(case: str) -> dict:
    """(seed keyword arguments, expected counts) for a campaign with 2 callable leads and 3 held back."""
    p = [phone() for _ in range(3)]
    held: list[dict] = []
    extra: dict = {}
    if case == "inactive":
        extra["lists"] = ({"id": 1, "name": "l1", "active": True}, {"id": 2, "name": "l2", "active": False})
        held = [lead(list_id=2) for _ in range(3)]
    elif case == "dnc":
        held = [lead(phone=p[0]), lead(phone=p[1]), lead(status="dnc")]
        extra["dnc_rows"] = [{"phone": p[0], "scope": 0}, {"phone": p[1], "scope": 1, "campaign_id": 1},
                             {"phone": "+12125550000", "scope": 2, "campaign_id": 2}]
    elif case == "consent":  # revoked in every campaign's scope, the seller's, the campaign's
        held = [lead(phone=x) for x in p]
        extra["definition"] = {"name": "c", "compliance": {"seller": "acme"}}
        extra["consent_rows"] = [
            {"phone": p[0], "kind": "revoked", "scope": "*", "at": ago(days=1)},
            {"phone": p[1], "kind": "revoked", "scope": "acme", "at": ago(days=1)},
            {"phone": p[2], "kind": "given", "scope": "*", "at": ago(days=2)},
            {"phone": p[2], "kind": "revoked", "scope": "campaign:c", "at": ago(days=1)},
            {"phone": p[2], "kind": "given", "scope": "other-seller", "at": ago(hours=1)},
        ]
    elif case == "done":
        held = [lead(status="done") for _ in range(3)]
    elif case == "attempts":
        held = [lead(status="retry", attempts=10, next_call_at=ago(hours=1)) for _ in range(2)]
        held.append(lead(status="new", attempts=12))
    elif case == "cap":
        extra["definition"] = {"limits": {"max_calls_per_number": 2, "per_days": 7}}
        held = [lead(phone=x, status="retry", attempts=2, next_call_at=ago(hours=1)) for x in p]
        extra["call_rows"] = [{"lead_id": 1, "phone": x, "placed_at": ago(days=d), "outcome": "NO_ANSWER"}
                              for x in p for d in (1, 2)]
    elif case == "gap":
        held = [lead(status="retry", next_call_at=later(hours=h)) for h in (1, 2)]
        held.append(lead(phone=p[0], status="retry", next_call_at=ago(hours=1)))
        extra["call_rows"] = [{"lead_id": 1, "phone": p[0], "placed_at": ago(hours=2), "outcome": "ABANDONED"}]
    elif case == "no_timezone":
        held = [lead(timezones="") for _ in range(3)]
    elif case == "window":
        held = [lead(timezones=TOKYO) for _ in range(2)] + [lead(timezones=f"{NY} {TOKYO}")]
    elif case == "callback_later":
        held = [lead(status="callback", next_call_at=later(hours=h)) for h in (2, 3, 4)]
    elif case == "callback_owner":
        held = [lead(status="callback", next_call_at=ago(minutes=5), callback_owner="ann",
                     callback_exclusive_until=later(hours=1)) for _ in range(3)]
        extra["agents"] = [{"name": "ann", "campaign_id": 1, "state": "logged_out"}]
    elif case == "in_progress":
        held = [lead(status="dialing", attempts=10) for _ in range(3)]
    elif case == "other":
        held = [lead(status="archived") for _ in range(3)]
    rows = [lead(), lead(status="callback", next_call_at=ago(minutes=1)), *held]
    return {"rows": rows, **extra}


@pytest.mark.parametrize("reason", [code for code, _ in REASONS])
def test_each_reason_alone(db_url: str, reason: str) -> None:
    seed(db_url, **_alone(reason))
    assert counts(db_url) == expect(callable=2, **{reason: 3})


def test_consent_required_by_the_jurisdiction(db_url: str) -> None:
    """Germany requires consent: leads without it on record are held, and the claim agrees."""
    p = [phone() for _ in range(4)]
    seed(db_url, [lead(phone=x) for x in p], definition={"name": "c", "jurisdiction": "DE"}, consent_rows=[
        {"phone": p[0], "kind": "given", "scope": "*", "at": ago(days=3)},
        {"phone": p[1], "kind": "given", "scope": "campaign:c", "at": ago(days=3)},
        {"phone": p[2], "kind": "given", "scope": "*", "at": ago(days=3)},
        {"phone": p[2], "kind": "revoked", "scope": "*", "at": ago(days=1)},
        {"phone": p[3], "kind": "given", "scope": "campaign:other", "at": ago(days=3)},
    ])
    assert counts(db_url) == expect(callable=2, consent=2)


def test_consent_requirement_starts_on_the_packs_date(sqlite_url: str) -> None:
    """France requires consent from 2026-08-11: ``why --at`` judges by the date asked about."""
    p = [phone() for _ in range(2)]
    seed(sqlite_url, [lead(phone=x) for x in p], definition={"name": "c", "jurisdiction": "FR"},
         consent_rows=[{"phone": p[0], "kind": "given", "scope": "*", "at": ago(days=200)}])
    before = NOW.replace(year=2026, month=8, day=10)
    assert counts(sqlite_url, at=before) == expect(callable=2)
    assert counts(sqlite_url) == expect(callable=1, consent=1)


def test_earliest_moments(sqlite_url: str) -> None:
    from dialer.db import open_engine

    rows = [lead(status="retry", next_call_at=later(hours=2)), lead(status="retry", next_call_at=later(hours=1)),
            lead(status="callback", next_call_at=later(hours=5)), lead(timezones=TOKYO),
            lead(phone="+12125551111", status="retry", next_call_at=ago(hours=1))]
    calls = [{"lead_id": 1, "phone": "+12125551111", "placed_at": ago(minutes=30), "outcome": "ABANDONED"}]
    seed(sqlite_url, rows, call_rows=calls)
    with open_engine(sqlite_url).connect() as conn:
        report = why(conn, "c", NOW)
        by = {r.code: r for r in report.reasons}
        assert by["gap"].leads == 3 and by["gap"].earliest == later(hours=1)
        assert by["callback_later"].earliest == later(hours=5)
        # 08:00 in Tokyo is 23:00 UTC
        assert by["window"].earliest == NOW.replace(hour=23)
        assert by["window"].detail == [{"zones": TOKYO, "leads": 1, "opens_at": NOW.replace(hour=23)}]
        data = report.as_dict()
        assert data["reasons"][8]["detail"][0]["opens_at"] == "2026-11-23T23:00:00+00:00"
        assert top_reason(conn, 1, NOW).startswith("gap not elapsed (3 leads; first due 2026-11-23 16:00 UTC)")


def test_precedence_combined(db_url: str) -> None:
    """Each lead matches several reasons; it is counted under the first in the order."""
    dnc_phone, capped, gapped = phone(), phone(), phone()
    rows = [
        lead(list_id=2, status="done", phone=dnc_phone, attempts=20, timezones=""),  # inactive
        lead(status="done", phone=dnc_phone),  # dnc
        lead(status="done", attempts=20, timezones=TOKYO),  # done
        lead(status="retry", attempts=10, phone=capped, next_call_at=later(hours=1)),  # attempts
        lead(status="retry", attempts=3, phone=capped, next_call_at=later(hours=1), timezones=TOKYO),  # cap
        lead(status="retry", attempts=3, next_call_at=later(hours=1), timezones=""),  # gap
        lead(status="retry", attempts=3, phone=gapped, next_call_at=ago(hours=1), timezones=TOKYO),  # gap (a call)
        lead(status="retry", attempts=3),  # other: recycled without a due time
        lead(status="new", timezones=""),  # no zone
        lead(status="callback", next_call_at=later(hours=1), timezones=TOKYO),  # window
        lead(status="callback", next_call_at=later(hours=1)),  # callback later
        lead(status="callback", attempts=30, next_call_at=ago(hours=1)),  # callable (callbacks exempt)
        lead(status="dialing", timezones=TOKYO),  # in progress
    ]
    calls = [{"lead_id": 1, "phone": capped, "placed_at": ago(days=1), "outcome": "NO_ANSWER"},
             {"lead_id": 1, "phone": capped, "placed_at": ago(days=2), "outcome": "NO_ANSWER"},
             {"lead_id": 1, "phone": gapped, "placed_at": ago(hours=3), "outcome": "MACHINE"}]
    seed(db_url, rows, definition={"limits": {"max_calls_per_number": 2, "max_attempts": 10}},
         lists=({"id": 1, "name": "l1", "active": True}, {"id": 2, "name": "l2", "active": False}),
         dnc_rows=[{"phone": dnc_phone, "scope": 0}], call_rows=calls)
    assert counts(db_url) == expect(callable=1, inactive=1, dnc=1, done=1, attempts=1, cap=1, gap=2,
                                    no_timezone=1, window=1, callback_later=1, in_progress=1, other=1)


def test_campaign_inactive_counts_everything(db_url: str) -> None:
    seed(db_url, [lead(), lead(status="done"), lead(timezones=TOKYO)], status="paused")
    from dialer.db import open_engine

    with open_engine(db_url).connect() as conn:
        report = why(conn, "c", NOW)
        assert report.counts() == expect(inactive=3)
        assert report.if_started == expect(callable=1, done=1, window=1)
        assert report.reasons[0].detail[0] == {"campaign": "paused"}
        assert top_reason(conn, 1, NOW) == "campaign is paused"


def test_at_a_future_moment(db_url: str) -> None:
    rows = [lead(), lead(status="retry", next_call_at=later(hours=1)), lead(timezones=TOKYO),
            lead(status="callback", next_call_at=later(hours=5))]
    seed(db_url, rows)
    assert counts(db_url) == expect(callable=1, gap=1, window=1, callback_later=1)
    # 18:00 UTC: 13:00 in New York, 03:00 in Tokyo
    assert counts(db_url, later(hours=3)) == expect(callable=2, window=1, callback_later=1)
    # 23:30 UTC: 18:30 in New York, 08:30 in Tokyo
    assert counts(db_url, later(hours=8, minutes=30)) == expect(callable=4)
    # 03:00 UTC: 22:00 in New York (closed), 12:00 in Tokyo
    assert counts(db_url, later(hours=12)) == expect(callable=1, window=3)


def test_empty_and_unknown(sqlite_url: str) -> None:
    from dialer.db import open_engine
    from dialer.errors import InputError

    engine = seed(sqlite_url, [], lists=())
    with engine.connect() as conn:
        report = why(conn, "c", NOW)
        assert report.total == 0 and report.counts() == ZERO
        assert top_reason(conn, 1, NOW) == "the campaign has no leads"
        with pytest.raises(InputError, match="unknown campaign 'nope'"):
            why(conn, "nope", NOW)
    open_engine(sqlite_url).dispose()


def _mixed(n: int) -> dict:
    """Many leads of every kind, several zone sets, number gaps and caps from the calls table."""
    zones = [NY, TOKYO, "Europe/Budapest", "America/Los_Angeles", f"{NY} America/Chicago", ""]
    statuses = ["new", "new", "retry", "retry", "callback", "done", "dialing", "dnc"]
    rows, calls, dnc_rows = [], [], []
    for i in range(n):
        st = statuses[i % len(statuses)]
        due = [None, ago(hours=2), later(hours=3), ago(minutes=1)][i % 4]
        p = f"+1312555{i:04d}"
        rows.append(lead(phone=p, list_id=1 + (i % 7 == 0), status=st, timezones=zones[i % len(zones)],
                         attempts=i % 13, next_call_at=due if st != "new" or i % 3 == 0 else None,
                         country="US", state=["NY", "CA", None][i % 3],
                         callback_owner="ann" if i % 5 == 0 else None,
                         callback_exclusive_until=later(hours=1) if i % 10 == 0 else None))
        if i % 11 == 0:
            dnc_rows.append({"phone": p, "scope": 0 if i % 2 else 1, "campaign_id": None if i % 2 else 1})
        if i % 6 == 0:
            calls += [{"lead_id": 1, "phone": p, "placed_at": ago(hours=h), "outcome": "NO_ANSWER"} for h in (5, 30)]
        if i % 9 == 0:
            calls.append({"lead_id": 1, "phone": p, "placed_at": ago(hours=20),
                          "outcome": ["MACHINE", "ABANDONED", "CONNECTED"][i % 3],
                          "refusal_reason": "PRICE" if i % 27 == 0 else None})
    return {"rows": rows, "call_rows": calls, "dnc_rows": dnc_rows,
            "lists": ({"id": 1, "name": "l1", "active": True}, {"id": 2, "name": "l2", "active": False}),
            "agents": [{"name": "ann", "campaign_id": 1, "state": "logged_out"}],
            "definition": {"limits": {"max_calls_per_number": 2, "per_days": 3, "max_attempts": 8},
                           "window": {"hours": "09:00-20:00", "regions": {"US-CA": {"hours": "10:00-19:00"}}}}}


@pytest.mark.parametrize("hours", [0, 7, 14])
async def test_callable_count_agrees_with_the_claim(db_url: str, hours: int) -> None:
    """``why``'s callable count is what a claim of a huge n takes, on the same data and instant."""
    from dialer.db import open_engine

    data = _mixed(400)
    seed(db_url, **data)
    at = NOW + timedelta(hours=hours)
    with open_engine(db_url).connect() as conn:
        report = why(conn, "c", at)
    assert report.total == 400
    engine = make_async_engine(db_url)
    try:
        async with engine.begin() as conn:
            conn: AsyncConnection
            from dialer.services.diagnostics import _window

            window: CallingWindow = _window(data["definition"])
            open_sets = open_zone_sets(window, await zone_keys(conn, 1), at)
            claimed = await claim_leads(conn, campaign_id=1, n=10**6, now=at, node="t", ring_timeout=25,
                                        open_sets=open_sets)
    finally:
        await engine.dispose()
    assert report.callable == len(claimed)
    assert report.callable > 0
