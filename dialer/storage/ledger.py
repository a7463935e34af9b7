"""The campaign-wide abandon ledger (``abandon_minutes``): each node upserts its live answers
per campaign and minute; each node reads the *other* nodes' sums over the rolling hour, 24 hours
and 30 days (:mod:`dialer.pacing.shared`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.models import abandon_minutes as minutes
from dialer.pacing import AbandonCounts, LedgerCounts

WINDOWS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "month": timedelta(days=30)}


def bump_stmt(dialect: str, campaign_id: int, node: str, minute: datetime, abandoned: bool, n: int = 1) -> Any:
    """``n`` more live answers in (campaign, node, minute): an upsert (PostgreSQL or SQLite);
    ``n = -1`` takes one back (a connected call its agent found was an answering machine)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    a, c = (n, 0) if abandoned else (0, n)
    stmt = insert(minutes).values(campaign_id=campaign_id, node=node, minute=minute, abandoned=a, connected=c)
    return stmt.on_conflict_do_update(
        index_elements=[minutes.c.campaign_id, minutes.c.node, minutes.c.minute],
        set_={"abandoned": minutes.c.abandoned + a, "connected": minutes.c.connected + c},
    )


def sums_stmt(now: datetime, *, exclude_node: str | None = None, node: str | None = None) -> Select:
    """Per campaign: abandoned and connected over each window (buckets whose minute is within it)."""
    cols = []
    for name, span in WINDOWS.items():
        since = now - span
        for field in ("abandoned", "connected"):
            col = minutes.c[field]
            cols.append(func.coalesce(func.sum(case((minutes.c.minute >= since, col), else_=0)), 0)
                        .label(f"{name}_{field}"))
    stmt = select(minutes.c.campaign_id, *cols).where(minutes.c.minute >= now - WINDOWS["month"])
    if exclude_node is not None:
        stmt = stmt.where(minutes.c.node != exclude_node)
    if node is not None:
        stmt = stmt.where(minutes.c.node == node)
    return stmt.group_by(minutes.c.campaign_id)


def to_counts(row: Any) -> LedgerCounts:
    m = row._mapping
    return LedgerCounts(*(AbandonCounts(int(m[f"{w}_abandoned"]), int(m[f"{w}_connected"])) for w in WINDOWS))


async def peer_counts(conn: AsyncConnection, node: str, now: datetime) -> dict[int, LedgerCounts]:
    """Every campaign's rolling counts from the nodes other than ``node``."""
    rows = await conn.execute(sums_stmt(now, exclude_node=node))
    return {row.campaign_id: to_counts(row) for row in rows}


async def bump(conn: AsyncConnection, campaign_id: int, node: str, minute: datetime, abandoned: bool,
               n: int = 1) -> None:
    await conn.execute(bump_stmt(conn.dialect.name, campaign_id, node, minute, abandoned, n))
