"""The floor across nodes (``dialer nodes ls``): every registered daemon or jobs-only node with
its PBX, version and last heartbeat, its agents and lines now, its live answers of the last 24 h;
a node whose heartbeat is older than the purge job's ``node_timeout`` is *gone* and its agents
still marked logged in are *lost* (its calls are closed by the next ``purge_stale_claims``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from dialer.job_models import node_heartbeats as heartbeats
from dialer.models import abandon_minutes, agents, calls
from dialer.services.jobs import NODE_TIMEOUT
from dialer.vocabulary import AgentStatus, CallStatus


def _by_node(conn: Connection, stmt: Any) -> dict[str, Any]:
    return {row[0]: row[1:] for row in conn.execute(stmt)}


def node_rows(conn: Connection, now: datetime, timeout: timedelta = NODE_TIMEOUT) -> list[dict[str, Any]]:
    """One dict per node, by name."""
    agent_n = _by_node(conn, select(agents.c.node, func.count()).where(agents.c.state != AgentStatus.LOGGED_OUT)
                       .group_by(agents.c.node))
    lines = _by_node(conn, select(calls.c.node, func.count()).where(calls.c.status != CallStatus.ENDED)
                     .group_by(calls.c.node))
    day = _by_node(conn, select(abandon_minutes.c.node, func.sum(abandon_minutes.c.abandoned),
                                func.sum(abandon_minutes.c.connected))
                   .where(abandon_minutes.c.minute >= now - timedelta(days=1)).group_by(abandon_minutes.c.node))
    out = []
    for hb in conn.execute(select(heartbeats).order_by(heartbeats.c.node)):
        seen = hb.seen_at if hb.seen_at.tzinfo else hb.seen_at.replace(tzinfo=now.tzinfo)
        alive = seen >= now - timeout
        logged_in = int(agent_n.get(hb.node, (0,))[0])
        abandoned, connected = (int(v or 0) for v in day.get(hb.node, (0, 0)))
        out.append({
            "node": hb.node, "role": hb.role, "state": "alive" if alive else "gone",
            "pbx": hb.pbx, "version": hb.version, "pid": hb.pid,
            "started_at": hb.started_at.isoformat(), "last_heartbeat": seen.isoformat(),
            "heartbeat_age_s": round((now - seen).total_seconds(), 1),
            "agents": logged_in if alive else 0, "agents_lost": 0 if alive else logged_in,
            "lines": int(lines.get(hb.node, (0,))[0]),
            "abandoned_24h": abandoned, "connected_24h": connected,
        })
    return out
