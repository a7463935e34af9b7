"""Agent rows and the agent state log (talk minutes per hour, pause reports)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Select, Update, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from dialer.errors import NotFound
from dialer.storage.tables import agent_log, agents
from dialer.vocabulary import AgentStatus


def by_name_stmt(name: str) -> Select:
    return select(agents).where(agents.c.name == name)


def logged_in_stmt(node: str | None = None) -> Select:
    """Agents logged in; with ``node``: those of that node and those of no node yet (rows from
    before agents had a node: adopted only when the node's PBX lists them in a queue)."""
    stmt = select(agents).where(agents.c.state != AgentStatus.LOGGED_OUT)
    if node is None:
        return stmt
    return stmt.where(or_(agents.c.node == node, agents.c.node.is_(None)))


def state_stmt(agent_id: int, state: AgentStatus, code: str | None, since: datetime | None) -> Update:
    return update(agents).where(agents.c.id == agent_id).values(state=state, pause_code=code, state_since=since)


def campaign_stmt(agent_id: int, campaign_id: int | None, node: str | None = None, *, exact: bool = False) -> Update:
    """The campaign the agent is logged in to; with ``node``: through that node (its PBX);
    ``exact``: ``node`` is written even when None."""
    values: dict[str, Any] = {"campaign_id": campaign_id}
    if node is not None or exact:
        values["node"] = node
    return update(agents).where(agents.c.id == agent_id).values(**values)


def log_stmt(agent_id: int, campaign_id: int, state: AgentStatus, code: str | None, started: datetime,
             ended: datetime) -> Insert:
    """A span of time the agent spent in one state."""
    return insert(agent_log).values(agent_id=agent_id, campaign_id=campaign_id, state=state,
                                    pause_code=code or None, started_at=started, ended_at=ended)


async def by_name(conn: AsyncConnection, name: str) -> Any:
    """The agent's row; :class:`~dialer.errors.NotFound` when there is no such agent."""
    row = (await conn.execute(by_name_stmt(name))).first()
    if row is None:
        raise NotFound(f"unknown agent {name!r}")
    return row


async def logged_in(conn: AsyncConnection, node: str | None = None) -> list[Any]:
    return list((await conn.execute(logged_in_stmt(node))).all())
