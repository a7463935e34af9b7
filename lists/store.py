"""Lead lists in the database: find, create, count, delete, archive (the lists' own tables only).

Views that name the list's campaign are in :mod:`dialer.services.listings`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, delete, func, select, update

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


def delete_list(conn: Connection, list_id: int) -> int:
    """Delete a list, its leads and its import runs; returns how many leads went with it.

    The caller checks first that no lead has call history (:mod:`dialer.services.listings`).
    """
    n = conn.execute(select(func.count()).select_from(LEADS).where(LEADS.c.list_id == list_id)).scalar_one()
    # Explicit deletes: do not rely on ON DELETE CASCADE being enforced by every connection.
    conn.execute(delete(LEADS).where(LEADS.c.list_id == list_id))
    conn.execute(delete(RUNS).where(RUNS.c.list_id == list_id))
    conn.execute(delete(LL).where(LL.c.id == list_id))
    return n


def delete_leads_not_in(conn: Connection, list_id: int, keep: Select) -> int:
    """Delete the list's leads whose id is not in ``keep`` (a one-column select of lead ids)
    and that were never attempted; returns how many."""
    res = conn.execute(delete(LEADS).where(
        LEADS.c.list_id == list_id, LEADS.c.attempts == 0, LEADS.c.id.not_in(keep)
    ))
    return res.rowcount


def archive_list(conn: Connection, list_id: int, now: datetime) -> None:
    """Deactivate the list for good: its leads stay (history) and are never claimed again."""
    conn.execute(update(LL).where(LL.c.id == list_id).values(active=False, archived_at=now))
