"""Per-agent performance for a day or a range (``dialer report agents``, the wallboard, its CSV):
calls, contacts, successes, conversion, refusals by reason, average handle time, and time
talking, in wrap-up, ready and paused by pause code (from the agent state log)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from campaigns.definition import definition_from_data
from campaigns.models import campaigns
from dialer.models import agent_state_log, agents, calls
from dialer.vocabulary import CALLBACK_PAUSE, WRAPUP_PAUSE
from lists.csvsafe import safe_row

#: The CSV export's columns (pause time by code follows as ``pause:<CODE>_s``).
COLUMNS = ["agent", "calls", "contacts", "successes", "conversion", "aht_s", "talk_s", "wrapup_s", "ready_s",
           "paused_s", "refusals"]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _codes(conn: Connection, campaign: str | None) -> tuple[dict[int, tuple[set, set, set]], int | None]:
    """Per campaign id: (contact, success, refusal) codes; and the id of ``campaign`` if named."""
    out: dict[int, tuple[set, set, set]] = {}
    wanted = None
    for row in conn.execute(select(campaigns.c.id, campaigns.c.name, campaigns.c.definition)):
        d = definition_from_data(row.definition, f"campaign {row.name}")
        out[row.id] = ({x.code for x in d.dispositions if x.contact}, {x.code for x in d.dispositions if x.success},
                       {x.code for x in d.dispositions if x.refusal})
        if row.name == campaign:
            wanted = row.id
    if campaign is not None and wanted is None:
        from dialer.errors import NotFound

        raise NotFound(f"unknown campaign {campaign!r}")
    return out, wanted


def agent_report(conn: Connection, since: datetime, until: datetime, campaign: str | None = None) -> dict[str, Any]:
    """Every agent with calls or logged time from ``since`` to ``until`` (calls by when they
    connected; state spans clipped to the range)."""
    since, until = _aware(since), _aware(until)
    codes, campaign_id = _codes(conn, campaign)
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "calls": 0, "contacts": 0, "successes": 0, "refusals": defaultdict(int), "talk_s": 0.0, "wrapup_s": 0.0,
        "ready_s": 0.0, "paused_s": 0.0, "pause_by_code": defaultdict(float)})
    q = (select(calls.c.agent, calls.c.campaign_id, calls.c.disposition, calls.c.refusal_reason)
         .where(calls.c.agent.is_not(None), calls.c.connected_at >= since, calls.c.connected_at < until))
    if campaign_id is not None:
        q = q.where(calls.c.campaign_id == campaign_id)
    for c in conn.execute(q):
        r = rows[c.agent]
        contact, success, refusal = codes.get(c.campaign_id, (set(), set(), set()))
        r["calls"] += 1
        r["contacts"] += c.disposition in contact
        r["successes"] += c.disposition in success
        if c.disposition in refusal:
            r["refusals"][c.refusal_reason or "?"] += 1
    log = agent_state_log
    q = (select(agents.c.name, log.c.state, log.c.pause_code, log.c.started_at, log.c.ended_at)
         .select_from(log.join(agents, agents.c.id == log.c.agent_id))
         .where(log.c.started_at < until, log.c.ended_at > since))
    if campaign_id is not None:
        q = q.where(log.c.campaign_id == campaign_id)
    for s in conn.execute(q):
        seconds = (min(_aware(s.ended_at), until) - max(_aware(s.started_at), since)).total_seconds()
        r = rows[s.name]
        state = s.state
        if state == "paused" and s.pause_code == WRAPUP_PAUSE:
            state = "wrapup"  # the queue pause the daemon sets for a wrap-up is wrap-up time
        elif state == "paused" and s.pause_code == CALLBACK_PAUSE:
            state = "reserved"  # held for an owned callback: not a pause the agent took
        key = {"talking": "talk_s", "wrapup": "wrapup_s", "ready": "ready_s", "paused": "paused_s"}.get(state)
        if key:
            r[key] += seconds
        if state == "paused":
            r["pause_by_code"][s.pause_code or "-"] += seconds
    out = []
    for name in sorted(rows):
        r = rows[name]
        out.append({
            "agent": name, "calls": r["calls"], "contacts": r["contacts"], "successes": r["successes"],
            "conversion": round(r["successes"] / r["contacts"], 4) if r["contacts"] else 0.0,
            "aht_s": round((r["talk_s"] + r["wrapup_s"]) / r["calls"], 1) if r["calls"] else 0.0,
            **{k: round(r[k], 1) for k in ("talk_s", "wrapup_s", "ready_s", "paused_s")},
            "pause_by_code": {k: round(v, 1) for k, v in sorted(r["pause_by_code"].items())},
            "refusals": dict(sorted(r["refusals"].items())),
        })
    return {"since": since.isoformat(), "until": until.isoformat(), "campaign": campaign, "agents": out}


def report_csv(report: dict[str, Any]) -> str:
    """The report as CSV, safe to open in a spreadsheet (no cell starts a formula)."""
    codes = sorted({c for a in report["agents"] for c in a["pause_by_code"]})
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(safe_row([*COLUMNS, *(f"pause:{c}_s" for c in codes)]))
    for a in report["agents"]:
        refusals = "; ".join(f"{k}={v}" for k, v in a["refusals"].items())
        values = [a[k] for k in COLUMNS[:-1]] + [refusals] + [a["pause_by_code"].get(c, 0.0) for c in codes]
        writer.writerow(safe_row(values))
    return buf.getvalue()
