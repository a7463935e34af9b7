"""The audit log: who did what, when and from where (table ``audit_log``, append-only).

One call for every writer: :func:`record` (sync connection: the CLI, the jobs) or
:func:`record_async` (the daemon's async engine: sign-in, pauses, dispositions, supervisor
actions).  Nothing here updates or deletes a row; the database refuses it too (triggers,
migration 0008).  Details must never hold secrets: :func:`entry_stmt` drops keys that look like
one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Insert, Select, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.models import audit_log
from dialer.vocabulary import AuditAction

#: Keys never written into ``detail`` (a password typed into the wrong field, a token).
SECRET_KEYS = frozenset({"secret", "password", "token", "csrf", "authorization"})
_LIMITS = {"actor": 100, "target": 200, "source": 100}


def entry_stmt(action: AuditAction, actor: str, *, target: object = None, source: str | None = None,
               detail: dict[str, Any] | None = None, at: datetime | None = None) -> Insert:
    """The insert of one entry; text fields cut to their columns, secret-looking keys dropped."""
    values: dict[str, Any] = {"actor": actor, "target": None if target is None else str(target), "source": source}
    for key, limit in _LIMITS.items():
        if values[key] is not None:
            values[key] = values[key][:limit]
    clean = {k: v for k, v in (detail or {}).items() if k.lower() not in SECRET_KEYS} or None
    return insert(audit_log).values(at=at or datetime.now(UTC), action=AuditAction(action).value,
                                    detail=clean, **values)


def record(conn: Connection, action: AuditAction, actor: str, **fields: Any) -> None:
    """Write one entry on a sync connection (in the caller's transaction)."""
    conn.execute(entry_stmt(action, actor, **fields))


async def record_async(db: AsyncEngine, action: AuditAction, actor: str, **fields: Any) -> None:
    """Write one entry in its own transaction on the daemon's async engine."""
    async with db.begin() as conn:
        await conn.execute(entry_stmt(action, actor, **fields))


def entries_stmt(*, since: datetime | None = None, until: datetime | None = None,
                 action: AuditAction | None = None, actor: str | None = None, limit: int = 1000) -> Select:
    """Entries, oldest first, filtered by time (``since`` inclusive, ``until`` exclusive)."""
    stmt = select(audit_log).order_by(audit_log.c.at, audit_log.c.id)
    if since is not None:
        stmt = stmt.where(audit_log.c.at >= since)
    if until is not None:
        stmt = stmt.where(audit_log.c.at < until)
    if action is not None:
        stmt = stmt.where(audit_log.c.action == AuditAction(action).value)
    if actor is not None:
        stmt = stmt.where(audit_log.c.actor == actor)
    return stmt.limit(limit)


def entries(conn: Connection, **filters: Any) -> list[dict[str, Any]]:
    """Entries as dicts (``at`` aware UTC)."""
    return [dict(row._mapping) for row in conn.execute(entries_stmt(**filters))]
