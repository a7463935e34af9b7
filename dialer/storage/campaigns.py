"""Campaign rows as the daemon reads them, and each campaign's learned pacing state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from campaigns.definition import definition_from_data
from dialer.session.commands import CampaignRef
from dialer.storage.tables import campaigns, import_runs, pacing_state
from dialer.vocabulary import CampaignStatus


def active_stmt() -> Select:
    return select(campaigns).where(campaigns.c.status == CampaignStatus.ACTIVE)


def all_stmt() -> Select:
    return select(campaigns)


def by_id_stmt(campaign_id: int) -> Select:
    return select(campaigns).where(campaigns.c.id == campaign_id)


def pacing_stmt(campaign_id: int) -> Select:
    return select(pacing_state.c.data).where(pacing_state.c.campaign_id == campaign_id)


def latest_import_stmt() -> Select:
    """The newest lead import (its id grows with every import, finished or not)."""
    return select(func.max(import_runs.c.id))


async def latest_import(conn: AsyncConnection) -> int | None:
    return (await conn.execute(latest_import_stmt())).scalar()


async def rows(conn: AsyncConnection, *, active: bool) -> list[Any]:
    return list((await conn.execute(active_stmt() if active else all_stmt())).all())


async def by_id(conn: AsyncConnection, campaign_id: int) -> Any:
    return (await conn.execute(by_id_stmt(campaign_id))).first()


async def pacing_data(conn: AsyncConnection, campaign_id: int) -> dict | None:
    return (await conn.execute(pacing_stmt(campaign_id))).scalar()


async def save_pacing(conn: AsyncConnection, stats: dict[int, dict], at: datetime) -> None:
    """Store campaigns' pacing statistics, by campaign id (update, or insert the first time)."""
    for campaign_id, data in stats.items():
        n = (await conn.execute(update(pacing_state).where(pacing_state.c.campaign_id == campaign_id)
                                .values(data=data, updated_at=at))).rowcount
        if not n:
            await conn.execute(insert(pacing_state).values(campaign_id=campaign_id, data=data, updated_at=at))


async def ref(conn: AsyncConnection, campaign_id: int) -> CampaignRef | None:
    """The campaign's id, name and parsed definition (None: no such campaign)."""
    row = await by_id(conn, campaign_id)
    if row is None:
        return None
    return CampaignRef(row.id, row.name, definition_from_data(row.definition, f"campaign {row.name}"))
