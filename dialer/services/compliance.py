"""The daily compliance report: per campaign and day, what a regulator would ask.

For each campaign and local day (the scheduler's time zone): calls placed, live answers,
abandoned calls and the abandon rate — *abandoned / (abandoned + connected to an agent)* — for
the day and the rolling 30 days ending with it; calls placed outside the calling window (each
call's ``placed_at`` checked against its lead's candidate zones and the campaign's window: must
be 0); calls to numbers that were on a do-not-call list (global or the campaign's) before the
call was placed (must be 0); and the shortest ring timeout used (at least 15 s).

:func:`write_reports` writes ``compliance-<campaign>-<day>.json`` and ``.csv`` into a folder;
the CSV is spreadsheet-safe (text cells that a spreadsheet would run as a formula are prefixed
with an apostrophe).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection, Engine

from campaigns.definition import MAX_ABANDON_TARGET, MIN_RING_TIMEOUT, definition_from_data
from campaigns.models import campaigns as campaigns_t
from campaigns.windows import is_open, region_code
from dialer.models import calls
from lists.csvsafe import safe_row
from lists.models import dnc_numbers as dnc
from lists.models import leads


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
    # Each call against its lead's zones and the campaign's window (the definition as it is now).
    for call_id, placed_at, zones, country, state in conn.execute(
        select(calls.c.id, calls.c.placed_at, leads.c.timezones, leads.c.country, leads.c.state)
        .select_from(calls.join(leads, leads.c.id == calls.c.lead_id))
        .where(calls.c.campaign_id == campaign_id, calls.c.placed_at >= start, calls.c.placed_at < end)
        .order_by(calls.c.id)
    ):
        zone_list = (zones or "").split()
        try:
            inside = is_open(definition.window, zone_list, _aware(placed_at), region_code(country, state))
        except Exception:  # an unknown zone: the call cannot be shown to be inside the window
            inside = False
        if not inside:
            rep.outside_window_call_ids.append(call_id)
    rep.outside_window = len(rep.outside_window_call_ids)
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
    rep.ok = not rep.problems
    return rep


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
    "min_ring_timeout", "ok", "problems",
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
