"""A campaign's day hour by hour, for the wallboard's charts: calls placed, connected and
abandoned, contacts and successes, the abandon rate so far, talk minutes, agents by state; and
the day's totals of the wallboard's tiles (placed, answered, connected, abandoned today).

Both read the calls table, so they survive a restart of the daemon (the engine's own counters
start from zero); "the day" is whatever ``start`` says: the wallboard gives it the site's day
(midnight in ``[scheduler] timezone``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection

from campaigns.definition import definition_from_data
from campaigns.models import campaigns
from dialer.errors import NotFound
from dialer.models import agent_state_log, calls
from dialer.vocabulary import Outcome

STATES = ("ready", "talking", "wrapup", "paused")


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


#: The tiles' figures, per call placed in the range: ``answered`` a person or a machine picked up
#: (or AMD / the queue has not decided yet), ``connected`` it reached an agent (a call still in
#: progress counts once it has), ``abandoned`` the answered party got no agent in time.
TOTALS = ("placed", "answered", "connected", "abandoned")
_ANSWERED = (Outcome.CONNECTED, Outcome.ABANDONED, Outcome.MACHINE, Outcome.ANSWERED)


def day_totals(conn: Connection, start: datetime, end: datetime) -> dict[int, dict[str, int]]:
    """Per campaign id, the calls placed in ``[start, end)`` (aware): placed, answered, connected,
    abandoned (:data:`TOTALS`); a campaign without calls is left out."""
    q = (select(calls.c.campaign_id, func.count().label("placed"),
                func.count().filter(or_(calls.c.answered_at.is_not(None), calls.c.outcome.in_(_ANSWERED)))
                .label("answered"),
                func.count().filter(or_(calls.c.outcome == Outcome.CONNECTED,
                                        calls.c.outcome.is_(None) & calls.c.connected_at.is_not(None)))
                .label("connected"),
                func.count().filter(calls.c.outcome == Outcome.ABANDONED).label("abandoned"))
         .where(calls.c.placed_at >= _aware(start), calls.c.placed_at < _aware(end))
         .group_by(calls.c.campaign_id))
    return {r.campaign_id: {k: int(getattr(r, k)) for k in TOTALS} for r in conn.execute(q)}


def day_series(conn: Connection, campaign: str, start: datetime, hours: int = 24) -> dict[str, Any]:
    """Per hour from ``start`` (aware; the labels are hours in its time zone): the figures the
    charts draw."""
    row = conn.execute(select(campaigns.c.id, campaigns.c.definition).where(campaigns.c.name == campaign)).first()
    if row is None:
        raise NotFound(f"unknown campaign {campaign!r}")
    d = definition_from_data(row.definition, f"campaign {campaign}")
    contact = {x.code for x in d.dispositions if x.contact}
    success = {x.code for x in d.dispositions if x.success}
    zone = _aware(start).tzinfo
    start = _aware(start).astimezone(UTC)  # hours are counted in UTC: a DST change does not move them
    end = start + timedelta(hours=hours)
    zero = [0] * hours
    out: dict[str, Any] = {k: list(zero) for k in ("placed", "connected", "abandoned", "contacts", "successes")}
    out["talk_min"] = [0.0] * hours
    out.update({f"agents_{s}": [0.0] * hours for s in STATES})
    q = (select(calls.c.placed_at, calls.c.outcome, calls.c.disposition)
         .where(calls.c.campaign_id == row.id, calls.c.placed_at >= start, calls.c.placed_at < end))
    for c in conn.execute(q):
        h = int((_aware(c.placed_at) - start).total_seconds() // 3600)
        out["placed"][h] += 1
        out["connected"][h] += c.outcome == "CONNECTED"
        out["abandoned"][h] += c.outcome == "ABANDONED"
        out["contacts"][h] += c.disposition in contact
        out["successes"][h] += c.disposition in success
    q = (select(agent_state_log.c.state, agent_state_log.c.started_at, agent_state_log.c.ended_at)
         .where(agent_state_log.c.campaign_id == row.id, agent_state_log.c.started_at < end,
                agent_state_log.c.ended_at > start))
    for s in conn.execute(q):
        a, b = max(_aware(s.started_at), start), min(_aware(s.ended_at), end)
        while a < b:  # split the span over the hours it covers
            h = int((a - start).total_seconds() // 3600)
            cut = min(b, start + timedelta(hours=h + 1))
            seconds = (cut - a).total_seconds()
            if s.state in STATES:
                out[f"agents_{s.state}"][h] += seconds / 3600  # agents on average over the hour
            if s.state == "talking":
                out["talk_min"][h] += seconds / 60
            a = cut
    abandoned = connected = 0
    rate: list[float | None] = []
    for h in range(hours):
        abandoned += out["abandoned"][h]
        connected += out["connected"][h]
        rate.append(round(100 * abandoned / (abandoned + connected), 2) if abandoned + connected else None)
    out["abandon_rate_pct"] = rate
    out["labels"] = [(start + timedelta(hours=h)).astimezone(zone).strftime("%H") for h in range(hours)]
    out["target_pct"] = round(100 * d.dial.abandon_target, 2)
    return out
