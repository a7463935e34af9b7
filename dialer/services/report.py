"""Campaign results from the database: outcomes, dispositions, refusal reasons, abandon rate,
agent productivity and list exhaustion.  Plain SQL aggregates; no daemon needed."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection

from dialer.models import agent_state_log, calls
from lists.models import lead_lists, leads

ABANDON_OUTCOMES = ("ABANDONED",)
CONNECTED_OUTCOME = "CONNECTED"


def abandon_rate(abandoned: int, connected: int) -> float:
    """Abandoned / (abandoned + connected to an agent); machines, no-answers and failures are not in it."""
    total = abandoned + connected
    return abandoned / total if total else 0.0


@dataclass
class CampaignReport:
    campaign: str
    since: str | None
    generated_at: str
    calls: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    dispositions: dict[str, int] = field(default_factory=dict)
    refusal_reasons: dict[str, int] = field(default_factory=dict)
    contacts: int = 0
    successes: int = 0
    per_hour: list[dict] = field(default_factory=list)
    abandon_rate_24h: float = 0.0
    abandon_rate_30d: float = 0.0
    abandoned_24h: int = 0
    connected_24h: int = 0
    talk_minutes_per_agent_hour: float = 0.0
    agent_hours: float = 0.0
    average_handle_time_s: float = 0.0
    average_wait_between_calls_s: float = 0.0
    leads_total: int = 0
    leads_by_status: dict[str, int] = field(default_factory=dict)
    leads_remaining: int = 0
    list_exhaustion: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def _abandon_counts(conn: Connection, campaign_id: int, since: datetime) -> tuple[int, int]:
    row = conn.execute(
        select(
            func.coalesce(func.sum(case((calls.c.outcome == "ABANDONED", 1), else_=0)), 0),
            func.coalesce(func.sum(case((calls.c.outcome == CONNECTED_OUTCOME, 1), else_=0)), 0),
        ).where(calls.c.campaign_id == campaign_id, calls.c.placed_at >= since)
    ).one()
    return int(row[0]), int(row[1])


def build_report(
    conn: Connection,
    campaign_id: int,
    campaign_name: str,
    *,
    now: datetime,
    since: datetime | None = None,
    contact_codes: frozenset[str] = frozenset(),
    success_codes: frozenset[str] = frozenset(),
) -> CampaignReport:
    log = agent_state_log
    report = CampaignReport(campaign_name, since.isoformat() if since else None, now.isoformat())
    where = [calls.c.campaign_id == campaign_id]
    if since is not None:
        where.append(calls.c.placed_at >= since)
    cond = and_(*where)

    outcome_col = func.coalesce(calls.c.outcome, "IN_PROGRESS")
    for outcome, n in conn.execute(select(outcome_col, func.count()).where(cond).group_by(outcome_col)):
        report.outcomes[outcome] = n
    report.calls = sum(report.outcomes.values())
    for code, n in conn.execute(
        select(calls.c.disposition, func.count()).where(cond, calls.c.disposition.is_not(None))
        .group_by(calls.c.disposition)
    ):
        report.dispositions[code] = n
    for reason, n in conn.execute(
        select(calls.c.refusal_reason, func.count()).where(cond, calls.c.refusal_reason.is_not(None))
        .group_by(calls.c.refusal_reason)
    ):
        report.refusal_reasons[reason] = n
    report.contacts = sum(n for c, n in report.dispositions.items() if c in contact_codes)
    report.successes = sum(n for c, n in report.dispositions.items() if c in success_codes)

    # Per hour of placement: calls, connected, abandoned, contacts, successes.
    hourly: dict[str, dict] = {}
    rows = conn.execute(select(calls.c.placed_at, calls.c.outcome, calls.c.disposition).where(cond))
    for placed_at, outcome, disposition in rows:
        key = placed_at.strftime("%Y-%m-%d %H:00")
        h = hourly.setdefault(key, {"hour": key, "calls": 0, "connected": 0, "abandoned": 0, "contacts": 0, "successes": 0})
        h["calls"] += 1
        h["connected"] += outcome == CONNECTED_OUTCOME
        h["abandoned"] += outcome == "ABANDONED"
        h["contacts"] += disposition in contact_codes
        h["successes"] += disposition in success_codes
    report.per_hour = [hourly[k] for k in sorted(hourly)]

    a24, c24 = _abandon_counts(conn, campaign_id, now - timedelta(hours=24))
    a30, c30 = _abandon_counts(conn, campaign_id, now - timedelta(days=30))
    report.abandoned_24h, report.connected_24h = a24, c24
    report.abandon_rate_24h = round(abandon_rate(a24, c24), 5)
    report.abandon_rate_30d = round(abandon_rate(a30, c30), 5)

    # Agent time: seconds per state from the state log.
    lwhere = [log.c.campaign_id == campaign_id]
    if since is not None:
        lwhere.append(log.c.started_at >= since)
    seconds: dict[str, float] = {}
    ready_spans: list[float] = []
    for state, started, ended in conn.execute(select(log.c.state, log.c.started_at, log.c.ended_at).where(*lwhere)):
        dur = (ended - started).total_seconds()
        seconds[state] = seconds.get(state, 0.0) + dur
        if state == "ready":
            ready_spans.append(dur)
    logged_in = sum(v for k, v in seconds.items() if k != "logged_out")
    report.agent_hours = round(logged_in / 3600, 3)
    if logged_in:
        report.talk_minutes_per_agent_hour = round(seconds.get("talking", 0.0) / 60 / (logged_in / 3600), 2)
    connected = report.outcomes.get(CONNECTED_OUTCOME, 0)
    if connected:
        report.average_handle_time_s = round((seconds.get("talking", 0.0) + seconds.get("wrapup", 0.0)) / connected, 1)
    if ready_spans:
        report.average_wait_between_calls_s = round(sum(ready_spans) / len(ready_spans), 1)

    lists_ = lead_lists
    for status, n in conn.execute(
        select(leads.c.status, func.count())
        .select_from(leads.join(lists_, leads.c.list_id == lists_.c.id))
        .where(lists_.c.campaign_id == campaign_id)
        .group_by(leads.c.status)
    ):
        report.leads_by_status[status] = n
    report.leads_total = sum(report.leads_by_status.values())
    report.leads_remaining = sum(n for s, n in report.leads_by_status.items() if s in REMAINING_STATUSES)
    if report.leads_total:
        report.list_exhaustion = round(1 - report.leads_remaining / report.leads_total, 4)
    return report


# Lead statuses that still have calls ahead of them.
REMAINING_STATUSES = frozenset({"new", "retry", "callback", "dialing"})
