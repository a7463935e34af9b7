"""Lead lists in the database: find, create, count, delete (the lists' own tables only).

Views that name the list's campaign are in :mod:`dialer.services.listings`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select

from dialer.errors import InputError
from lists.models import ImportRun, Lead, LeadList

LL = LeadList.__table__
LEADS = Lead.__table__
RUNS = ImportRun.__table__


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


def lead_counts(conn: Connection, list_id: int) -> dict[str, Any]:
    """A list's lead counts by status (``statuses``), their total (``leads``) and its import
    runs, newest first (``imports``)."""
    by_status = conn.execute(
        select(LEADS.c.status, func.count()).where(LEADS.c.list_id == list_id).group_by(LEADS.c.status)
    ).all()
    statuses = {s: n for s, n in sorted(by_status)}
    runs = conn.execute(select(RUNS).where(RUNS.c.list_id == list_id).order_by(RUNS.c.id.desc())).mappings()
    return {"statuses": statuses, "leads": sum(statuses.values()), "imports": [dict(r) for r in runs]}


def delete_list(conn: Connection, name: str) -> int:
    """Delete a list and its leads; returns how many leads went with it."""
    info = get_list(conn, name)
    n = conn.execute(select(func.count()).select_from(LEADS).where(LEADS.c.list_id == info["id"])).scalar_one()
    # Explicit deletes: do not rely on ON DELETE CASCADE being enforced by every connection.
    conn.execute(delete(LEADS).where(LEADS.c.list_id == info["id"]))
    conn.execute(delete(RUNS).where(RUNS.c.list_id == info["id"]))
    conn.execute(delete(LL).where(LL.c.id == info["id"]))
    return n
