"""Property: the claim never hands out a lead it must not call.

Hypothesis builds a campaign (random limits, calling window, an optional aggressive retry rule),
a handful of leads in random time zones — some sharing a phone number — and a start instant near
a daylight-saving transition.  The simulation then alternates, at random instants: numbers put
on a do-not-call list (global or the campaign's); a claim of a few leads; for each claimed lead
a random result (busy, no answer, machine, abandoned, refused, callback asked for, ...) written
to its call and turned into the lead's next step by the daemon's own ``apply_rules``.

Every claimed lead is checked against an independent oracle at the claim instant: the calling
window open in every candidate zone; the number on no DNC list; under the attempt limit (unless a
callback); under the per-number frequency cap; past every required gap (after a refusal, an
abandoned call, a machine) — counting calls to the same number from every lead.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, update

from campaigns.definition import definition_to_data, parse_definition
from campaigns.rules import CallResult
from campaigns.windows import is_open
from dialer.claim import claim_leads, open_zone_sets
from dialer.db import make_async_engine, open_engine
from dialer.storage.leads import apply_rules, zone_keys
from tests.claims.conftest import copy_of
from tests.scheduling.helpers import calls_t, campaigns_t, dnc_t, leads_t, lists_t

ZONES = ["America/New_York", "America/Los_Angeles", "America/St_Johns", "Europe/London", "Europe/Budapest",
         "Australia/Sydney", "Asia/Kolkata", "Pacific/Chatham", "America/Sao_Paulo"]
TRANSITIONS = [  # DST changes in 2026
    datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 4, 4, 16, tzinfo=UTC), datetime(2026, 10, 3, 16, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC),
]
HOURS = ["08:00-21:00", "09:00-12:00, 14:00-20:00", "10:00-13:00", "00:00-24:00", "18:00-23:30"]
RESULTS = [  # (outcome, disposition, refusal reason, callback)
    ("BUSY", None, None, False), ("NO_ANSWER", None, None, False), ("MACHINE", None, None, False),
    ("ABANDONED", None, None, False), ("CONGESTION", None, None, False), ("FAILED", None, None, False),
    ("CONNECTED", "REFUSED", "PRICE", False), ("CONNECTED", "CALLBACK", None, True),
    ("CONNECTED", "NO_CONTACT", None, False), ("CONNECTED", "DNC", None, False),
]


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    limits = {
        "max_attempts": draw(st.integers(1, 4)),
        "per_days": draw(st.integers(1, 4)),
        "gap_after_refusal": draw(st.sampled_from(["0s", "6h", "2d"])),
        "gap_after_abandoned": draw(st.sampled_from(["0s", "12h", "72h"])),
        "gap_after_machine": draw(st.sampled_from(["0s", "1h", "24h"])),
    }
    cap = draw(st.sampled_from([None, 2, 3]))
    if cap:
        limits["max_calls_per_number"] = cap
    window = {"hours": draw(st.sampled_from(HOURS))}
    if draw(st.booleans()):
        window["weekend"] = draw(st.sampled_from(["closed", "10:00-14:00"]))
    rules = []
    if draw(st.booleans()):  # an aggressive retry that leans on the limits
        rules.append({"name": "fast", "when": {"outcome": ["BUSY", "NO_ANSWER", "MACHINE", "ABANDONED"]},
                      "action": "retry", "after": "10m"})
    phones = [f"+1212555{i:04d}" for i in range(draw(st.integers(2, 5)))]
    leads = [
        {"phone": draw(st.sampled_from(phones)),
         "zones": " ".join(sorted(set(draw(st.lists(st.sampled_from(ZONES), min_size=1, max_size=2)))))}
        for _ in range(draw(st.integers(2, 7)))
    ]
    start = draw(st.sampled_from(TRANSITIONS)) + timedelta(minutes=draw(st.integers(-3 * 1440, 1440)))
    steps = [
        {"dt": timedelta(minutes=draw(st.integers(5, 30 * 60))),
         "n": draw(st.integers(1, 4)),
         "dnc": draw(st.sampled_from([None, None, None, "global", "campaign"])),
         "dnc_phone": draw(st.sampled_from(phones)),
         "results": [draw(st.sampled_from(range(len(RESULTS)))) for _ in range(4)],
         "callback_in": timedelta(minutes=draw(st.integers(-60, 3 * 1440)))}
        for _ in range(draw(st.integers(6, 14)))
    ]
    return {"limits": limits, "window": window, "rules": rules, "leads": leads, "start": start, "steps": steps,
            "seed": draw(st.integers(0, 2**16))}


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _check(conn_rows: dict, claimed, scen: dict, definition, at: datetime, cid: int) -> None:
    """The oracle: every rule the claim must honour, from the database state before the claim."""
    lead = conn_rows["leads"][claimed.lead_id]
    zones = lead.timezones.split()
    assert zones and is_open(definition.window, zones, at), f"outside the window: {zones} at {at}"
    assert not any(p == lead.phone and s in (0, cid) for p, s in conn_rows["dnc"]), "number on DNC"
    if lead.status != "callback":
        assert claimed.attempt - 1 < definition.limits.max_attempts, "over the attempt limit"
    history = [c for c in conn_rows["calls"] if c.phone == lead.phone]
    lim = definition.limits
    if lim.max_calls_per_number:
        recent = [c for c in history if _aware(c.placed_at) > at - timedelta(days=lim.per_days)]
        assert len(recent) < lim.max_calls_per_number, "over the frequency cap"
    for c in history:
        placed = _aware(c.placed_at)
        if c.outcome == "ABANDONED":
            assert at >= placed + lim.gap_after_abandoned, "inside the gap after an abandoned call"
        if c.outcome == "MACHINE":
            assert at >= placed + lim.gap_after_machine, "inside the gap after a machine"
        if c.refusal_reason is not None:
            assert at >= placed + lim.gap_after_refusal, "inside the gap after a refusal"


async def _simulate(url: str, scen: dict) -> int:
    engine = open_engine(url, migrate=False)
    data = {"name": "p", "dial": {"trunk": "PJSIP/{number}@t", "queue": "p"}, "limits": scen["limits"],
            "window": scen["window"]}
    if scen["rules"]:
        data["rules"] = scen["rules"]
    definition = parse_definition(data)
    with engine.begin() as conn:
        cid = conn.execute(insert(campaigns_t).values(name="p", status="active",
                                                      definition=definition_to_data(definition))
                           .returning(campaigns_t.c.id)).scalar_one()
        lid = conn.execute(insert(lists_t).values(name="l", campaign_id=cid, active=True, priority=0)
                           .returning(lists_t.c.id)).scalar_one()
        conn.execute(insert(leads_t), [{"list_id": lid, "phone": ld["phone"], "timezones": ld["zones"],
                                        "alt_phones": [], "custom": {}, "status": "new"} for ld in scen["leads"]])
    camp = SimpleNamespace(id=cid, name="p", definition=definition)
    rng = random.Random(scen["seed"])
    db = make_async_engine(url)
    at = scen["start"]
    claims = 0
    try:
        for step in scen["steps"]:
            at += step["dt"]
            if step["dnc"]:
                with engine.begin() as conn:
                    scope = 0 if step["dnc"] == "global" else cid
                    if not conn.execute(select(dnc_t.c.id).where(dnc_t.c.phone == step["dnc_phone"],
                                                                 dnc_t.c.scope == scope)).first():
                        conn.execute(insert(dnc_t).values(phone=step["dnc_phone"], scope=scope,
                                                          campaign_id=scope or None, created_at=at))
            with engine.connect() as conn:
                state = {
                    "leads": {r.id: r for r in conn.execute(select(leads_t))},
                    "dnc": [(r.phone, r.scope) for r in conn.execute(select(dnc_t))],
                    "calls": conn.execute(select(calls_t)).all(),
                }
            async with db.begin() as conn:
                open_sets = open_zone_sets(definition.window, await zone_keys(conn, cid), at)
                got = await claim_leads(conn, campaign_id=cid, n=step["n"], now=at, node="n", ring_timeout=25,
                                        open_sets=open_sets)
            for i, claimed in enumerate(got):
                claims += 1
                _check(state, claimed, scen, definition, at, cid)
                outcome, disposition, reason, callback = RESULTS[step["results"][i % len(step["results"])]]
                ended = at + timedelta(seconds=40)
                callback_at = at + step["callback_in"] if callback else None
                async with db.begin() as conn:
                    await conn.execute(update(calls_t).where(calls_t.c.id == claimed.call_id).values(
                        status="ended", outcome=outcome, disposition=disposition, refusal_reason=reason,
                        callback_at=callback_at, ended_at=ended))
                    result = CallResult(outcome, attempt=claimed.attempt, placed_at=at, disposition=disposition,
                                        reason=reason, callback_at=callback_at, agent="alice" if disposition else None)
                    await apply_rules(conn, camp, claimed.lead_id, result, claimed.call_id, ended, rng,
                                      last_outcome=outcome)
    finally:
        await db.dispose()
        engine.dispose()
    return claims


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(scen=scenarios())
def test_no_lead_is_claimed_against_the_rules(scen: dict, template_db: Path, tmp_path: Path) -> None:
    with copy_of(template_db, tmp_path) as url:
        asyncio.run(_simulate(url, scen))


async def test_the_simulation_claims_something(tmp_path: Path, template_db: Path) -> None:
    """Guard against a vacuous property: a plain scenario does claim and recycle leads."""
    scen = {"limits": {"max_attempts": 3}, "window": {"hours": "00:00-24:00"}, "rules": [],
            "leads": [{"phone": f"+1212555000{i}", "zones": "America/New_York"} for i in range(3)],
            "start": TRANSITIONS[0], "seed": 1,
            "steps": [{"dt": timedelta(hours=5), "n": 3, "dnc": None, "dnc_phone": "", "results": [0, 1, 2, 3],
                       "callback_in": timedelta(0)} for _ in range(6)]}
    with copy_of(template_db, tmp_path) as url:
        assert await _simulate(url, scen) >= 6
