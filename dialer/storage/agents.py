"""Agent rows and the agent state log (talk minutes per hour, pause reports)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Select, Update, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.errors import NotFound
from dialer.storage.tables import agent_log, agents
from dialer.vocabulary import AgentStatus


def by_name_stmt(name: str) -> Select:
    return select(agents).where(agents.c.name == name)


def logged_in_stmt() -> Select:
    return select(agents).where(agents.c.state != AgentStatus.LOGGED_OUT)


def state_stmt(agent_id: int, state: AgentStatus, code: str | None, since: datetime | None) -> Update:
    return update(agents).where(agents.c.id == agent_id).values(state=state, pause_code=code, state_since=since)


def campaign_stmt(agent_id: int, campaign_id: int | None) -> Update:
    return update(agents).where(agents.c.id == agent_id).values(campaign_id=campaign_id)


def log_stmt(agent_id: int, campaign_id: int, state: AgentStatus, code: str | None, started: datetime,
             ended: datetime) -> Insert:
    """A span of time the agent spent in one state."""
    return insert(agent_log).values(agent_id=agent_id, campaign_id=campaign_id, state=state,
                                    pause_code=code or None, started_at=started, ended_at=ended)


async def by_name(conn: AsyncConnection, name: str) -> Any:  # noqa: ANN401 - a Row
    """The agent's row; :class:`~dialer.errors.NotFound` when there is no such agent."""
    row = (await conn.execute(by_name_stmt(name))).first()
    if row is None:
        raise NotFound(f"unknown agent {name!r}")
    return row


async def logged_in(conn: AsyncConnection) -> list[Any]:
    return list((await conn.execute(logged_in_stmt())).all())
