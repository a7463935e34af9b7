"""Property: under a jurisdiction's rule pack, the claim never hands out a lead the law forbids.

Hypothesis builds a campaign under a pack (US, a US state, FR, DE, AU, CA, UK), leads across
zones, states and area codes (the state column and the number's area code may disagree), a start
near a daylight-saving change, a public holiday or France's consent date, and a run of steps:
consent given or revoked in random scopes, claims, and a random result per claimed lead turned
into its next step by the daemon's own rules.

Each claimed lead is checked against a *reference* written here from the packs' figures, not
from the engine's code: the hours of every law that applies to the lead (the campaign's
jurisdiction, and for US campaigns the state of its ``state`` column and of its area code) in
every candidate zone, Sunday and public-holiday bans (``holidays`` package, the lead's calendar),
the frequency caps counted over every call to the number (including the ones claimed just
before it in the same batch), the re-call gaps, consent where required, and no revocation in the
campaign's scopes without a later consent.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, update

from campaigns.definition import definition_to_data, parse_definition
from campaigns.rules import CallResult
from dialer.claim import claim_leads, open_zone_sets
from dialer.db import make_async_engine, open_engine
from dialer.storage.leads import apply_rules, zone_keys
from lists.models import consents as consents_t
from tests.claims.conftest import copy_of
from tests.scheduling.helpers import calls_t, campaigns_t, leads_t, lists_t

H = 60
ALL = [[(0, 24 * H)]] * 7
# The law, as the packs' figures state it (Monday first): hours per weekday, holiday calendar.
LAW: dict[str, dict] = {
    "US": {"days": [[(8 * H, 21 * H)]] * 7},
    "US-FL": {"days": [[(8 * H, 20 * H)]] * 7, "cap": (3, 1)},
    "US-OK": {"days": [[(8 * H, 20 * H)]] * 7, "cap": (3, 1)},
    "US-MD": {"days": [[(8 * H, 20 * H)]] * 7, "cap": (3, 1)},
    "US-AL": {"days": [[(8 * H, 20 * H)]] * 6 + [[]], "holidays": ("US", "AL")},
    "US-LA": {"days": [[(8 * H, 20 * H)]] * 6 + [[]], "holidays": ("US", "LA")},
    "US-MS": {"days": [[(8 * H, 20 * H)]] * 6 + [[]], "holidays": ("US", "MS")},
    "FR": {"days": [[(10 * H, 13 * H), (14 * H, 20 * H)]] * 5 + [[], []], "holidays": ("FR", None),
           "cap": (4, 30), "refusal_gap": timedelta(days=60), "consent_from": date(2026, 8, 11)},
    "DE": {"days": [[(8 * H, 20 * H)]] * 6 + [[]], "holidays": ("DE", "lead"), "consent_from": date(1900, 1, 1)},
    "AU": {"days": [[(9 * H, 20 * H)]] * 5 + [[(9 * H, 17 * H)], []], "holidays": ("AU", None)},
    "CA": {"days": [[(9 * H, 21 * H + 30)]] * 5 + [[(10 * H, 18 * H)]] * 2},
    "UK": {"days": ALL, "abandon_gap": timedelta(hours=72), "machine_gap": timedelta(hours=24)},
}
AREA_STATE = {"305": "FL", "212": "NY", "205": "AL", "405": "OK", "504": "LA"}
AREA_ZONE = {"305": "America/New_York", "212": "America/New_York", "205": "America/Chicago",
             "405": "America/Chicago", "504": "America/Chicago"}
SCOPES = ["*", "campaign:p", "acme", "other", "campaign:q"]
APPLYING = {"*", "campaign:p", "acme"}  # the campaign is "p" of seller "acme"
MOMENTS = [  # DST changes, public holidays, France's consent date
    datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 4, 5, 16, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC), datetime(2026, 1, 6, 9, tzinfo=UTC),
    datetime(2026, 5, 14, 9, tzinfo=UTC), datetime(2026, 7, 3, 14, tzinfo=UTC), datetime(2026, 8, 10, 9, tzinfo=UTC),
    datetime(2026, 12, 25, 14, tzinfo=UTC), datetime(2026, 4, 25, 0, tzinfo=UTC),
]
RESULTS = [
    ("BUSY", None, None), ("NO_ANSWER", None, None), ("MACHINE", None, None), ("ABANDONED", None, None),
    ("CONNECTED", "REFUSED", "PRICE"), ("CONNECTED", "NO_CONTACT", None),
]


def _lead(draw: st.DrawFn, jurisdiction: str, i: int) -> dict:
    if jurisdiction.startswith("US"):
        area = draw(st.sampled_from(sorted(AREA_STATE)))
        state = draw(st.sampled_from([None, "FL", "NY", "AL", "OK", AREA_STATE[area]]))
        zones = {AREA_ZONE[area]} | ({"America/Chicago"} if state in ("AL", "OK") else set())
        return {"phone": f"+1{area}555{i % 3:04d}", "zones": " ".join(sorted(zones)), "country": "US", "state": state}
    country, zone, head, states = {
        "FR": ("FR", "Europe/Paris", "+3314455", [None]), "DE": ("DE", "Europe/Berlin", "+4930555", [None, "BY", "BE"]),
        "AU": ("AU", "Australia/Sydney", "+6129555", [None]), "CA": ("CA", "America/Toronto", "+1416555", [None]),
        "UK": ("GB", "Europe/London", "+4420755", [None]),
    }[jurisdiction]
    return {"phone": f"{head}{i % 3:04d}", "zones": zone, "country": country, "state": draw(st.sampled_from(states))}


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    jurisdiction = draw(st.sampled_from(["US", "US-FL", "FR", "DE", "AU", "CA", "UK"]))
    leads = [_lead(draw, jurisdiction, i) for i in range(draw(st.integers(2, 6)))]
    phones = sorted({ld["phone"] for ld in leads})
    steps = [
        {"dt": timedelta(minutes=draw(st.integers(5, 20 * 60))), "n": draw(st.integers(1, 4)),
         "ledger": [(draw(st.sampled_from(phones)), draw(st.sampled_from(["given", "given", "revoked"])),
                     draw(st.sampled_from(SCOPES))) for _ in range(draw(st.integers(0, 2)))],
         "results": [draw(st.integers(0, len(RESULTS) - 1)) for _ in range(4)]}
        for _ in range(draw(st.integers(6, 12)))
    ]
    start = draw(st.sampled_from(MOMENTS)) + timedelta(minutes=draw(st.integers(-2 * 1440, 1440)))
    hours = draw(st.sampled_from(["00:00-24:00", "00:00-24:00", "07:00-22:00", "09:00-12:00, 13:00-21:00"]))
    return {"jurisdiction": jurisdiction, "leads": leads, "steps": steps, "start": start, "hours": hours,
            "seed": draw(st.integers(0, 2**16))}


# --- the reference ---------------------------------------------------------------------------------


def _laws(jurisdiction: str, lead) -> list[dict]:
    names = ["US", jurisdiction] if jurisdiction.startswith("US-") else [jurisdiction]
    if jurisdiction.startswith("US"):
        for state in (lead.state, AREA_STATE.get(lead.phone[2:5])):
            if state and f"US-{state}" in LAW:
                names.append(f"US-{state}")
    return [LAW[n] | {"name": n} for n in dict.fromkeys(names)]


def _holiday(law: dict, lead, day: date) -> bool:
    if "holidays" not in law:
        return False
    country, sub = law["holidays"]
    if sub == "lead":
        sub = lead.state or None
    return day in holidays.country_holidays(country, subdiv=sub, years=day.year)


def _in(ranges, minute: int) -> bool:
    return any(s <= minute < e for s, e in ranges)


def _own_hours(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        a, b = part.strip().split("-")
        out.append((int(a[:2]) * H + int(a[3:]), int(b[:2]) * H + int(b[3:])))
    return out


def _check(state: dict, claimed, earlier: list, scen: dict, at: datetime) -> None:
    lead = state["leads"][claimed.lead_id]
    laws = _laws(scen["jurisdiction"], lead)
    for zone in lead.timezones.split():
        local = at.astimezone(ZoneInfo(zone))
        minute = local.hour * H + local.minute
        assert _in(_own_hours(scen["hours"]), minute), f"outside the campaign's hours in {zone} at {local}"
        for law in laws:
            assert _in(law["days"][local.weekday()], minute), f"{law['name']}: outside the hours in {zone} at {local}"
            assert not _holiday(law, lead, local.date()), f"{law['name']}: a public holiday in {zone} at {local}"
    times = [c.placed_at.replace(tzinfo=UTC) if c.placed_at.tzinfo is None else c.placed_at
             for c in state["calls"] if c.phone == lead.phone] + [at for p in earlier if p == lead.phone]
    history = [c for c in state["calls"] if c.phone == lead.phone]
    for law in laws:
        if "cap" in law:
            cap, days = law["cap"]
            assert sum(t > at - timedelta(days=days) for t in times) < cap, f"{law['name']}: over {cap}/{days}d"
        for c in history:
            placed = c.placed_at.replace(tzinfo=UTC) if c.placed_at.tzinfo is None else c.placed_at
            if c.outcome == "ABANDONED" and "abandon_gap" in law:
                assert at >= placed + law["abandon_gap"], f"{law['name']}: inside the gap after an abandoned call"
            if c.outcome == "MACHINE" and "machine_gap" in law:
                assert at >= placed + law["machine_gap"], f"{law['name']}: inside the gap after a machine"
            if c.refusal_reason is not None and "refusal_gap" in law:
                assert at >= placed + law["refusal_gap"], f"{law['name']}: inside the gap after a refusal"
    entries = sorted((e for e in state["ledger"] if e[0] == lead.phone and e[2] in APPLYING), key=lambda e: e[3])
    revoked = [e for e in entries if e[1] == "revoked"]
    # a revocation holds the number until a later consent; a revocation wins a tie
    given_after = [e for e in entries if e[1] == "given" and revoked and e[3] > revoked[-1][3]]
    assert not revoked or given_after, f"called after a revocation: {entries}"
    need = any(law.get("consent_from") and at.date() >= law["consent_from"] for law in laws)
    if need:
        given = [e for e in entries if e[1] == "given"]
        assert given and not (revoked and revoked[-1][3] >= given[-1][3]), f"no consent on record: {entries}"


# --- the simulation ----------------------------------------------------------------------------------


async def _simulate(url: str, scen: dict) -> tuple[int, int]:
    engine = open_engine(url, migrate=False)
    definition = parse_definition({
        "name": "p", "jurisdiction": scen["jurisdiction"], "compliance": {"seller": "acme"},
        "dial": {"trunk": "PJSIP/{number}@t", "queue": "p"}, "window": {"hours": scen["hours"]},
        "limits": {"max_attempts": 20, "gap_after_refusal": "0s", "gap_after_abandoned": "0s",
                   "gap_after_machine": "0s"},
        "rules": [{"name": "fast", "when": {"outcome": ["BUSY", "NO_ANSWER", "MACHINE", "ABANDONED"]},
                   "action": "retry", "after": "10m"}],
    })
    with engine.begin() as conn:
        cid = conn.execute(insert(campaigns_t).values(name="p", status="active",
                                                      definition=definition_to_data(definition))
                           .returning(campaigns_t.c.id)).scalar_one()
        lid = conn.execute(insert(lists_t).values(name="l", campaign_id=cid, active=True, priority=0)
                           .returning(lists_t.c.id)).scalar_one()
        conn.execute(insert(leads_t), [{"list_id": lid, "phone": ld["phone"], "timezones": ld["zones"],
                                        "country": ld["country"], "state": ld["state"], "alt_phones": [],
                                        "custom": {}, "status": "new"} for ld in scen["leads"]])
    camp = SimpleNamespace(id=cid, name="p", definition=definition)
    rng = random.Random(scen["seed"])
    db = make_async_engine(url)
    at = scen["start"]
    claims = 0
    try:
        for step in scen["steps"]:
            at += step["dt"]
            if step["ledger"]:
                with engine.begin() as conn:
                    conn.execute(insert(consents_t), [
                        {"phone": p, "kind": k, "scope": s, "at": at, "channel": "test"} for p, k, s in step["ledger"]])
            with engine.connect() as conn:
                state = {
                    "leads": {r.id: r for r in conn.execute(select(leads_t))},
                    "calls": conn.execute(select(calls_t)).all(),
                    "ledger": [(r.phone, r.kind, r.scope, r.at) for r in conn.execute(select(consents_t))],
                }
            async with db.begin() as conn:
                open_sets = open_zone_sets(definition.window, await zone_keys(conn, cid), at)
                got = await claim_leads(conn, campaign_id=cid, n=step["n"], now=at, node="n", ring_timeout=25,
                                        open_sets=open_sets)
            earlier: list[str] = []
            for i, claimed in enumerate(got):
                claims += 1
                _check(state, claimed, earlier, scen, at)
                earlier.append(claimed.phone)
                outcome, disposition, reason = RESULTS[step["results"][i % len(step["results"])]]
                ended = at + timedelta(seconds=40)
                async with db.begin() as conn:
                    await conn.execute(update(calls_t).where(calls_t.c.id == claimed.call_id).values(
                        status="ended", outcome=outcome, disposition=disposition, refusal_reason=reason,
                        ended_at=ended))
                    result = CallResult(outcome, attempt=claimed.attempt, placed_at=at, disposition=disposition,
                                        reason=reason, agent="alice" if disposition else None)
                    await apply_rules(conn, camp, claimed.lead_id, result, claimed.call_id, ended, rng,
                                      last_outcome=outcome)
    finally:
        await db.dispose()
        engine.dispose()
    return claims, len(scen["steps"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(scen=scenarios())
def test_no_claim_breaks_the_pack(scen: dict, template_db: Path, tmp_path: Path) -> None:
    with copy_of(template_db, tmp_path) as url:
        asyncio.run(_simulate(url, scen))


@pytest.mark.parametrize("jurisdiction", ["US-FL", "FR", "DE", "UK", "AU", "CA", "US"])
async def test_each_pack_still_claims(jurisdiction: str, tmp_path: Path, template_db: Path) -> None:
    """Guard against a vacuous property: with consent on record, every pack does claim leads."""
    heads = {"US-FL": ("+1305555", "America/New_York", "US", "FL"), "US": ("+1212555", "America/New_York", "US", "NY"),
             "FR": ("+3314455", "Europe/Paris", "FR", None), "DE": ("+4930555", "Europe/Berlin", "DE", "BE"),
             "UK": ("+4420755", "Europe/London", "GB", None), "AU": ("+6129555", "Australia/Sydney", "AU", None),
             "CA": ("+1416555", "America/Toronto", "CA", None)}
    head, zone, country, st_ = heads[jurisdiction]
    leads = [{"phone": f"{head}{i:04d}", "zones": zone, "country": country, "state": st_} for i in range(3)]
    steps = [{"dt": timedelta(hours=3), "n": 3, "ledger": [(ld["phone"], "given", "*") for ld in leads] if k == 0 else [],
              "results": [0, 1]} for k in range(16)]
    scen = {"jurisdiction": jurisdiction, "leads": leads, "steps": steps, "hours": "00:00-24:00", "seed": 1,
            "start": datetime(2026, 9, 14, 0, tzinfo=UTC)}
    with copy_of(template_db, tmp_path) as url:
        claims, _ = await _simulate(url, scen)
    assert claims >= 3
