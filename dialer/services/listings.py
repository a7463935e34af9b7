"""Lead lists as the CLI and the API show them: with their campaign's name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from campaigns.models import campaigns as campaigns_t
from campaigns.store import name_of
from lists import audit
from lists.models import lead_lists, leads
from lists.store import get_list, lead_counts


def list_summaries(conn: Connection) -> list[dict[str, Any]]:
    """Every list with its campaign name and lead counts (total and still ``new``)."""
    c = campaigns_t
    counts = (
        select(
            leads.c.list_id,
            func.count().label("leads"),
            func.sum((leads.c.status == "new").cast(leads.c.attempts.type)).label("new"),
        )
        .group_by(leads.c.list_id)
        .subquery()
    )
    q = (
        select(lead_lists.c.id, lead_lists.c.name, c.c.name.label("campaign"), lead_lists.c.active,
               lead_lists.c.priority, lead_lists.c.created_at, func.coalesce(counts.c.leads, 0).label("leads"),
               func.coalesce(counts.c.new, 0).label("new"))
        .select_from(lead_lists.outerjoin(c, c.c.id == lead_lists.c.campaign_id)
                     .outerjoin(counts, counts.c.list_id == lead_lists.c.id))
        .order_by(lead_lists.c.name)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def list_details(conn: Connection, name: str) -> dict[str, Any]:
    """One list: its fields, its campaign's name, lead counts by status, and its import runs
    (newest first)."""
    info = get_list(conn, name)
    info["campaign"] = name_of(conn, info["campaign_id"])
    info.update(lead_counts(conn, info["id"]))
    return info


def audit_list(conn: Connection, name: str) -> audit.AuditReport:
    """:func:`lists.audit.audit_list`, the report naming the list's campaign."""
    return audit.audit_list(conn, name, campaign=name_of(conn, get_list(conn, name)["campaign_id"]))

