"""Lead lists in the database: find, create, summarise, delete; campaign lookup by name or id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select

from campaigns.models import Campaign
from dialer.errors import InputError
from lists.models import ImportRun, Lead, LeadList

LL = LeadList.__table__
LEADS = Lead.__table__
RUNS = ImportRun.__table__


def find_campaign(conn: Connection, ref: str) -> int:
    """The id of the campaign named ``ref`` (or with id ``ref``); :class:`InputError` if none."""
    c = Campaign.__table__
    row = conn.execute(select(c.c.id).where(c.c.name == ref)).first()
    if row is None and ref.isdigit():
        row = conn.execute(select(c.c.id).where(c.c.id == int(ref))).first()
    if row is None:
        raise InputError(f"unknown campaign {ref!r}")
    return row[0]


def find_list(conn: Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(select(LL).where(LL.c.name == name)).mappings().first()
    return dict(row) if row else None


def get_list(conn: Connection, name: str) -> dict[str, Any]:
    """The list named ``name``; :class:`InputError` naming it when there is none."""
    found = find_list(conn, name)
    if found is None:
        raise InputError(f"unknown list {name!r} (see `dialer lists ls`)")
    return found


def create_list(conn: Connection, name: str, campaign_id: int | None, source_file: str | None) -> int:
    if not name.strip():
        raise InputError("a list name cannot be empty")
    res = conn.execute(LL.insert().values(name=name, campaign_id=campaign_id, source_file=source_file))
    return res.inserted_primary_key[0]


def list_summaries(conn: Connection) -> list[dict[str, Any]]:
    """Every list with its campaign name and lead counts (total and still ``new``)."""
    c = Campaign.__table__
    counts = (
        select(
            LEADS.c.list_id,
            func.count().label("leads"),
            func.sum((LEADS.c.status == "new").cast(LEADS.c.attempts.type)).label("new"),
        )
        .group_by(LEADS.c.list_id)
        .subquery()
    )
    q = (
        select(LL.c.id, LL.c.name, c.c.name.label("campaign"), LL.c.active, LL.c.priority,
               LL.c.created_at, func.coalesce(counts.c.leads, 0).label("leads"),
               func.coalesce(counts.c.new, 0).label("new"))
        .select_from(LL.outerjoin(c, c.c.id == LL.c.campaign_id).outerjoin(counts, counts.c.list_id == LL.c.id))
        .order_by(LL.c.name)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def list_details(conn: Connection, name: str) -> dict[str, Any]:
    """One list: its fields, lead counts by status, and its import runs (newest first)."""
    info = get_list(conn, name)
    c = Campaign.__table__
    if info["campaign_id"] is not None:
        info["campaign"] = conn.execute(select(c.c.name).where(c.c.id == info["campaign_id"])).scalar()
    else:
        info["campaign"] = None
    by_status = conn.execute(
        select(LEADS.c.status, func.count()).where(LEADS.c.list_id == info["id"]).group_by(LEADS.c.status)
    ).all()
    info["statuses"] = {s: n for s, n in sorted(by_status)}
    info["leads"] = sum(info["statuses"].values())
    runs = conn.execute(select(RUNS).where(RUNS.c.list_id == info["id"]).order_by(RUNS.c.id.desc())).mappings()
    info["imports"] = [dict(r) for r in runs]
    return info


def delete_list(conn: Connection, name: str) -> int:
    """Delete a list and its leads; returns how many leads went with it."""
    info = get_list(conn, name)
    n = conn.execute(select(func.count()).select_from(LEADS).where(LEADS.c.list_id == info["id"])).scalar_one()
    # Explicit deletes: do not rely on ON DELETE CASCADE being enforced by every connection.
    conn.execute(delete(LEADS).where(LEADS.c.list_id == info["id"]))
    conn.execute(delete(RUNS).where(RUNS.c.list_id == info["id"]))
    conn.execute(delete(LL).where(LL.c.id == info["id"]))
    return n
