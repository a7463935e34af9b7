"""The daily compliance report: per campaign and day, what a regulator would ask.

For each campaign and local day (the scheduler's time zone): calls placed, live answers,
abandoned calls and the abandon rate — *abandoned / (abandoned + connected to an agent)* — for
the day and the rolling 30 days ending with it; calls placed outside the calling window (each
call's ``placed_at`` checked against its lead's candidate zones and the campaign's window: must
be 0); calls to numbers that were on a do-not-call list (global or the campaign's) before the
call was placed (must be 0); and the shortest ring timeout used (at least 15 s).

Under a jurisdiction (``campaigns.packs``): the packs and their versions; the window checked
with the pack applied and for both the lead's state column and its number's area code; calls
to numbers without the consent the pack requires (0) and calls after a revocation in the
campaign's scopes (0), both from the consent ledger as it stood when the call was placed;
calls over a frequency cap (0) and calls inside a required gap after an abandoned call, an
answering machine or a refusal (0), each judged against the number's calls in every campaign;
the abandon rate by the pack's definition — per calendar day with an estimate of AMD false
positives (machine verdicts × (1 − the campaign's ``amd_accuracy``)) where the pack says so
(UK), else over 30 days — against the pack's limit; and the opt-outs received that day.

Records kept per pack (``[records]`` of each pack: how long an internal do-not-call request is
honoured, consent evidence and call records kept; the longest applies), and the do-not-call
requests taken that day from numbers the campaign called, with those recorded for a shorter
period than the packs that apply to the number require now (must be 0).

:func:`write_reports` writes ``compliance-<campaign>-<day>.json`` and ``.csv`` into a folder;
the CSV is spreadsheet-safe (text cells that a spreadsheet would run as a formula are prefixed
with an apostrophe).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection, Engine

from campaigns.definition import MAX_ABANDON_TARGET, MIN_RING_TIMEOUT, Limits, definition_from_data
from campaigns.models import campaigns as campaigns_t
from campaigns.packs import dnc_honour_until, lead_regions, records_required
from campaigns.windows import is_open, region_code
from dialer.models import calls
from lists.consent import standing
from lists.csvsafe import safe_row
from lists.models import campaign_scopes, consents, leads
from lists.models import dnc_numbers as dnc


@dataclass
class ComplianceReport:
    campaign: str
    day: str
    timezone: str
    calls: int = 0
    live_answers: int = 0
    connected: int = 0
    abandoned: int = 0
    abandon_rate: float = 0.0
    calls_30d: int = 0
    connected_30d: int = 0
    abandoned_30d: int = 0
    abandon_rate_30d: float = 0.0
    outside_window: int = 0
    dnc_calls: int = 0
    min_ring_timeout: int | None = None
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    outside_window_call_ids: list[int] = field(default_factory=list)
    dnc_call_ids: list[int] = field(default_factory=list)
    jurisdiction: str | None = None
    packs: str = ""  # "US@2026.2 US-FL@2026.1"
    no_consent_calls: int = 0
    after_revocation_calls: int = 0
    abandon_definition: str = "30 days"
    amd_false_positives_estimate: float = 0.0
    abandon_rate_pack: float = 0.0
    abandon_limit: float = MAX_ABANDON_TARGET
    opt_outs: int = 0
    no_consent_call_ids: list[int] = field(default_factory=list)
    after_revocation_call_ids: list[int] = field(default_factory=list)
    over_cap_calls: int = 0
    inside_gap_calls: int = 0
    over_cap_call_ids: list[int] = field(default_factory=list)
    inside_gap_call_ids: list[int] = field(default_factory=list)
    #: "US@2026.2 dnc_request=forever consent=5y calls=5y; US-FL@2026.1 -" (per pack)
    records_kept: str = ""
    #: the longest of the campaign's packs per kind ("5y", "forever", None: none stated)
    records_required: dict[str, str | None] = field(default_factory=dict)
    dnc_requests: int = 0
    dnc_requests_short: int = 0
    dnc_requests_short_numbers: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate(abandoned: int, connected: int) -> float:
    return round(abandoned / (abandoned + connected), 6) if abandoned + connected else 0.0


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants where the local ``day`` starts and ends."""
    start = datetime.combine(day, time(0)).replace(tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0)).replace(tzinfo=tz).astimezone(UTC)
    return start, end


def _outcomes(conn: Connection, campaign_id: int, start: datetime, end: datetime) -> tuple[int, int, int]:
    row = conn.execute(
        select(
            func.count(),
            func.count().filter(calls.c.outcome == "CONNECTED"),
            func.count().filter(calls.c.outcome == "ABANDONED"),
        ).where(calls.c.campaign_id == campaign_id, calls.c.placed_at >= start, calls.c.placed_at < end)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def campaign_report(conn: Connection, campaign_id: int, day: date, tz: tzinfo, tz_name: str) -> ComplianceReport:
    """The compliance figures of one campaign for one local day."""
    camp = conn.execute(select(campaigns_t).where(campaigns_t.c.id == campaign_id)).one()
    definition = definition_from_data(camp.definition, f"campaign {camp.name}")
    start, end = day_bounds(day, tz)
    rep = ComplianceReport(camp.name, day.isoformat(), tz_name)
    rep.calls, rep.connected, rep.abandoned = _outcomes(conn, campaign_id, start, end)
    rep.live_answers = rep.connected + rep.abandoned
    rep.abandon_rate = _rate(rep.abandoned, rep.connected)
    rep.calls_30d, rep.connected_30d, rep.abandoned_30d = _outcomes(conn, campaign_id, end - timedelta(days=30), end)
    rep.abandon_rate_30d = _rate(rep.abandoned_30d, rep.connected_30d)
    rep.min_ring_timeout = conn.execute(
        select(func.min(calls.c.ring_timeout)).where(
            calls.c.campaign_id == campaign_id, calls.c.placed_at >= start, calls.c.placed_at < end)
    ).scalar()
    # Each call against its lead's zones and the campaign's window (the definition as it is now,
    # the jurisdiction's packs applied), for the lead's state column and its area code alike.
    day_calls = conn.execute(
        select(calls.c.id, calls.c.placed_at, calls.c.phone, leads.c.timezones, leads.c.country, leads.c.state)
        .select_from(calls.join(leads, leads.c.id == calls.c.lead_id))
        .where(calls.c.campaign_id == campaign_id, calls.c.placed_at >= start, calls.c.placed_at < end)
        .order_by(calls.c.id)
    ).all()
    for call_id, placed_at, phone, zones, country, state in day_calls:
        zone_list = (zones or "").split()
        regions = {region_code(country, state)}
        if definition.jurisdiction:
            regions |= set(lead_regions(country, state, phone))
        try:
            inside = all(is_open(definition.window, zone_list, _aware(placed_at), r) for r in regions)
        except Exception:  # an unknown zone: the call cannot be shown to be inside the window
            inside = False
        if not inside:
            rep.outside_window_call_ids.append(call_id)
    rep.outside_window = len(rep.outside_window_call_ids)
    _consent_checks(conn, rep, definition, camp.name, day_calls)
    rep.over_cap_call_ids, rep.inside_gap_call_ids = frequency_breaches(
        [c.id for c in day_calls], _history(conn, sorted({c.phone for c in day_calls}), start, definition.limits),
        definition.limits)
    rep.over_cap_calls, rep.inside_gap_calls = len(rep.over_cap_call_ids), len(rep.inside_gap_call_ids)
    _pack_abandon(conn, rep, definition, campaign_id, start, end)
    _records(conn, rep, definition, start, end, day_calls)
    rep.opt_outs = conn.execute(select(func.count()).where(
        consents.c.channel == "keypress", consents.c.source == f"campaign {camp.name}",
        consents.c.at >= start, consents.c.at < end)).scalar_one()
    rep.dnc_call_ids = list(conn.execute(
        select(calls.c.id).where(
            calls.c.campaign_id == campaign_id, calls.c.placed_at >= start, calls.c.placed_at < end,
            select(dnc.c.id).where(
                dnc.c.phone == calls.c.phone,
                or_(dnc.c.scope == 0, dnc.c.scope == campaign_id),
                dnc.c.created_at <= calls.c.placed_at,
            ).exists(),
        ).order_by(calls.c.id)
    ).scalars())
    rep.dnc_calls = len(rep.dnc_call_ids)
    if rep.outside_window:
        rep.problems.append(f"{rep.outside_window} calls placed outside the calling window")
    if rep.dnc_calls:
        rep.problems.append(f"{rep.dnc_calls} calls to numbers on a do-not-call list")
    if rep.min_ring_timeout is not None and rep.min_ring_timeout < MIN_RING_TIMEOUT:
        rep.problems.append(f"ring timeout of {rep.min_ring_timeout} s used (minimum {MIN_RING_TIMEOUT} s)")
    if rep.abandon_rate_30d > MAX_ABANDON_TARGET:
        rep.problems.append(f"abandon rate over 30 days {rep.abandon_rate_30d:.2%} above {MAX_ABANDON_TARGET:.0%}")
    if rep.jurisdiction and rep.abandon_rate_pack > rep.abandon_limit:
        rep.problems.append(f"abandon rate ({rep.abandon_definition}) {rep.abandon_rate_pack:.2%} above "
                            f"{rep.abandon_limit:.0%} ({rep.jurisdiction})")
    if rep.over_cap_calls:
        rep.problems.append(f"{rep.over_cap_calls} calls over a frequency cap per number")
    if rep.inside_gap_calls:
        rep.problems.append(f"{rep.inside_gap_calls} calls inside a required gap (after an abandoned call, "
                            "a machine or a refusal)")
    if rep.no_consent_calls:
        rep.problems.append(f"{rep.no_consent_calls} calls to numbers without the consent {rep.jurisdiction} requires")
    if rep.after_revocation_calls:
        rep.problems.append(f"{rep.after_revocation_calls} calls after consent was revoked")
    if rep.dnc_requests_short:
        rep.problems.append(f"{rep.dnc_requests_short} do-not-call requests recorded for less than the packs require")
    rep.ok = not rep.problems
    return rep


def _consent_checks(conn: Connection, rep: ComplianceReport, definition: Any, name: str, day_calls: list) -> None:
    """Calls after a revocation, and calls without the consent the pack requires, each judged
    by the ledger as it stood when the call was placed."""
    phones = sorted({row.phone for row in day_calls})
    entries: dict[str, list[dict]] = {}
    if phones:
        for r in conn.execute(select(consents).where(consents.c.phone.in_(phones))).mappings():
            entries.setdefault(r["phone"], []).append(dict(r) | {"at": _aware(r["at"])})
    scopes = campaign_scopes(name, definition.compliance.seller)
    for row in day_calls:
        placed = _aware(row.placed_at)
        known = [e for e in entries.get(row.phone, []) if e["at"] <= placed]
        standing_now = standing(known, scopes)
        if standing_now == "revoked":
            rep.after_revocation_call_ids.append(row.id)
        elif definition.consent_required(placed) and standing_now != "given":
            rep.no_consent_call_ids.append(row.id)
    rep.after_revocation_calls = len(rep.after_revocation_call_ids)
    rep.no_consent_calls = len(rep.no_consent_call_ids)


@dataclass(frozen=True)
class PastCall:
    """What the frequency checks need of a call to a number (any campaign)."""

    id: int
    phone: str
    placed_at: datetime
    ended_at: datetime | None
    outcome: str | None
    refused: bool


def _history(conn: Connection, phones: list[str], start: datetime, limits: Limits) -> list[PastCall]:
    """Every call to ``phones`` (all campaigns) from the longest look-back before ``start`` on."""
    look_back = max([limits.gap_after_refusal, limits.gap_after_abandoned, limits.gap_after_machine,
                     timedelta(days=limits.per_days), *(timedelta(days=d) for _, d in limits.caps)])
    out: list[PastCall] = []
    for i in range(0, len(phones), 500):
        out += [PastCall(r.id, r.phone, _aware(r.placed_at), _aware(r.ended_at) if r.ended_at else None,
                         r.outcome, r.refusal_reason is not None)
                for r in conn.execute(
                    select(calls.c.id, calls.c.phone, calls.c.placed_at, calls.c.ended_at, calls.c.outcome,
                           calls.c.refusal_reason)
                    .where(calls.c.phone.in_(phones[i:i + 500]), calls.c.placed_at >= start - look_back,
                           calls.c.placed_at.is_not(None)))]
    return out


def frequency_breaches(call_ids: list[int], history: list[PastCall], limits: Limits) -> tuple[list[int], list[int]]:
    """Of ``call_ids`` (in ``history``), those placed when their number had already reached a cap
    — ``calls`` in the last ``days`` days, or ``max_calls_per_number`` in ``per_days`` — and those
    placed inside a gap after an earlier call to the number that had ended abandoned, on a
    machine or refused.  Earlier: placed before (ties by id).  Pure; the claim's SQL says the
    same (``dialer.claim.number_filter``)."""
    caps = list(limits.caps) + ([(limits.max_calls_per_number, limits.per_days)] if limits.max_calls_per_number else [])
    by_phone: dict[str, list[PastCall]] = {}
    for c in sorted(history, key=lambda c: (c.placed_at, c.id)):
        by_phone.setdefault(c.phone, []).append(c)
    gaps: list[tuple[timedelta, Callable[[PastCall], bool]]] = [
        (limits.gap_after_abandoned, lambda p: p.outcome == "ABANDONED"),
        (limits.gap_after_machine, lambda p: p.outcome == "MACHINE"),
        (limits.gap_after_refusal, lambda p: p.refused)]
    wanted, over, inside = set(call_ids), [], []
    for row in by_phone.values():
        for i, c in enumerate(row):
            if c.id not in wanted:
                continue
            before = row[:i]
            if any(sum(1 for p in before if p.placed_at > c.placed_at - timedelta(days=days)) >= cap
                   for cap, days in caps):
                over.append(c.id)
            if any(p.ended_at is not None and p.ended_at <= c.placed_at and started(p)
                   and p.placed_at > c.placed_at - gap for p in before for gap, started in gaps if gap):
                inside.append(c.id)
    return sorted(over), sorted(inside)
def _records(conn: Connection, rep: ComplianceReport, definition: Any, start: datetime, end: datetime,
             day_calls: list) -> None:
    """Records kept per pack; the day's do-not-call requests from numbers the campaign called,
    and those whose honour period is shorter than the packs that apply require now."""
    packs = definition.packs
    rep.records_kept = "; ".join(
        f"{p.label} " + (" ".join(f"{k}={v}" for k, v in p.records.as_dict().items() if v) or "-") for p in packs)
    rep.records_required = records_required(packs).as_dict()
    phones = sorted({row.phone for row in day_calls})
    if not phones:
        return
    requests = conn.execute(select(dnc.c.phone, dnc.c.requested_at, dnc.c.honour_until).where(
        dnc.c.phone.in_(phones), dnc.c.requested_at >= start, dnc.c.requested_at < end)).all()
    rep.dnc_requests = len(requests)
    for phone, requested, until in requests:
        required = dnc_honour_until(definition.jurisdiction, phone, _aware(requested))
        if until is not None and (required is None or _aware(until) < required):
            rep.dnc_requests_short_numbers.append(phone)
    rep.dnc_requests_short = len(rep.dnc_requests_short_numbers)


def _pack_abandon(conn: Connection, rep: ComplianceReport, definition: Any, campaign_id: int,
                  start: datetime, end: datetime) -> None:
    """The abandon rate as the jurisdiction defines it, and its limit."""
    packs = definition.packs
    if not packs:
        rep.abandon_rate_pack = rep.abandon_rate_30d
        return
    rep.jurisdiction = definition.jurisdiction
    rep.packs = " ".join(p.label for p in packs)
    rep.abandon_limit = min([MAX_ABANDON_TARGET, *(p.abandon_max for p in packs if p.abandon_max is not None)])
    if any(p.abandon_period == "day" for p in packs):
        rep.abandon_definition = "calendar day"
        abandoned, connected = rep.abandoned, rep.connected
        if any(p.amd_false_positives for p in packs) and definition.dial.amd:
            machines = conn.execute(select(func.count()).where(
                calls.c.campaign_id == campaign_id, calls.c.placed_at >= start, calls.c.placed_at < end,
                calls.c.outcome == "MACHINE", calls.c.connected_at.is_(None))).scalar_one()  # AMD's, not an agent's
            accuracy = definition.compliance.amd_accuracy
            # without a stated accuracy, every machine verdict counts as a possible person
            rep.amd_false_positives_estimate = round(machines * (1 - (accuracy if accuracy is not None else 0.0)), 3)
            rep.abandon_definition = "calendar day, with AMD false positives"
        fp = rep.amd_false_positives_estimate
        total = abandoned + connected + fp
        rep.abandon_rate_pack = round((abandoned + fp) / total, 6) if total else 0.0
    else:
        rep.abandon_rate_pack = rep.abandon_rate_30d


def reportable_campaigns(conn: Connection, day: date, tz: tzinfo) -> list[int]:
    """Campaigns that placed calls that day, and every active campaign."""
    start, end = day_bounds(day, tz)
    with_calls = select(calls.c.campaign_id).where(calls.c.placed_at >= start, calls.c.placed_at < end)
    return list(conn.execute(
        select(campaigns_t.c.id).where(or_(campaigns_t.c.status == "active", campaigns_t.c.id.in_(with_calls)))
        .order_by(campaigns_t.c.id)
    ).scalars())


CSV_FIELDS = (
    "campaign", "day", "timezone", "calls", "live_answers", "connected", "abandoned", "abandon_rate",
    "calls_30d", "connected_30d", "abandoned_30d", "abandon_rate_30d", "outside_window", "dnc_calls",
    "min_ring_timeout", "jurisdiction", "packs", "no_consent_calls", "after_revocation_calls",
    "over_cap_calls", "inside_gap_calls",
    "abandon_definition", "amd_false_positives_estimate", "abandon_rate_pack", "abandon_limit", "opt_outs",
    "records_kept", "dnc_requests", "dnc_requests_short", "ok", "problems",
)


def _file_stem(campaign: str, day: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in campaign)
    return f"compliance-{safe}-{day}"


def write_report(report: ComplianceReport, out_dir: Path) -> list[Path]:
    """``compliance-<campaign>-<day>.json`` and ``.csv`` in ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = _file_stem(report.campaign, report.day)
    json_path, csv_path = out_dir / f"{stem}.json", out_dir / f"{stem}.csv"
    json_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    data = report.to_dict()
    data["problems"] = "; ".join(report.problems)
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(CSV_FIELDS)
        writer.writerow(safe_row([data[k] for k in CSV_FIELDS]))
    return [json_path, csv_path]


def write_reports(engine: Engine, out_dir: Path, day: date, tz: tzinfo, tz_name: str) -> list[ComplianceReport]:
    """Write the day's report of every reportable campaign; returns the reports."""
    with engine.connect() as conn:
        reports = [campaign_report(conn, cid, day, tz, tz_name) for cid in reportable_campaigns(conn, day, tz)]
    for rep in reports:
        write_report(rep, out_dir)
    return reports


__all__ = ["ComplianceReport", "campaign_report", "day_bounds", "write_report", "write_reports"]
