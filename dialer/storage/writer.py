"""The daemon's database writer: the session's write commands, in order, batched.

Event handlers must not wait for the database, so the engine queues the session's writes
(:data:`dialer.session.WRITES`) here; one task applies them in order, up to 500 per
transaction, and one by one when a batch fails (a failed write is logged and dropped).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dialer.session.commands import (
    EndCall,
    GiveBack,
    LogAgentState,
    SetAgentCampaign,
    SetAgentState,
    WriteCallStatus,
)
from dialer.storage import agents, calls

log = logging.getLogger("dialer.engine")

BATCH = 500


async def store(conn: AsyncConnection, cmd: Any, rng: random.Random) -> None:  # noqa: ANN401 - a write command
    """Apply one write command of the session's (see :mod:`dialer.session.commands`)."""
    if isinstance(cmd, WriteCallStatus):
        await conn.execute(calls.status_stmt(cmd.call_id, cmd.status, answered_at=cmd.answered_at,
                                             connected_at=cmd.connected_at, agent=cmd.agent))
    elif isinstance(cmd, EndCall):
        await calls.end_call(conn, cmd.call_id, cmd.values, rng, cmd.rules)
    elif isinstance(cmd, LogAgentState):
        await conn.execute(agents.log_stmt(cmd.agent_id, cmd.campaign_id, cmd.state, None, cmd.started, cmd.ended))
    elif isinstance(cmd, SetAgentState):
        await conn.execute(agents.state_stmt(cmd.agent_id, cmd.state, cmd.pause_code, cmd.since))
    elif isinstance(cmd, SetAgentCampaign):
        await conn.execute(agents.campaign_stmt(cmd.agent_id, cmd.campaign_id))
    elif isinstance(cmd, GiveBack):
        await calls.give_back(conn, cmd.leads)
    else:
        raise TypeError(f"not a write command: {cmd!r}")


class Writer:
    """Applies queued write commands in order (:meth:`run` as a task until :meth:`close`).

    ``lock`` is the daemon's database lock: held while a batch is written, so that a request
    that takes it (a claim, a disposition) sees every write queued before it once :meth:`flush`
    returns.
    """

    def __init__(self, db: AsyncEngine, lock: asyncio.Lock, rng: random.Random) -> None:
        self.db = db
        self.lock = lock
        self.rng = rng
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.task: asyncio.Task | None = None

    def start(self) -> asyncio.Task:
        """:meth:`run` as a task named ``writer``."""
        self.task = asyncio.create_task(self.run(), name="writer")
        return self.task

    def put(self, cmd: Any) -> None:  # noqa: ANN401
        self.queue.put_nowait(cmd)

    async def write_now(self, cmd: Any) -> None:  # noqa: ANN401
        """One write in its own transaction, at once (a request's own write)."""
        async with self.lock, self.db.begin() as conn:
            await store(conn, cmd, self.rng)

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty() and len(batch) < BATCH:
                batch.append(self.queue.get_nowait())
            await self._write([w for w in batch if w is not None])
            if None in batch:
                return

    async def _write(self, writes: list[Any]) -> None:
        if not writes:
            return
        try:
            async with self.lock, self.db.begin() as conn:
                for w in writes:
                    await store(conn, w, self.rng)
        except Exception:
            log.exception("database write failed; retrying one by one")
            for w in writes:
                try:
                    await self.write_now(w)
                except Exception:
                    log.exception("database write lost")

    async def close(self) -> None:
        """Ask :meth:`run` to finish once everything queued before is written."""
        await self.queue.put(None)

    async def flush(self) -> None:
        """Wait until every queued write is done (no wait when the task is not running)."""
        if self.task is None or self.task.done():
            return
        while not self.queue.empty():
            await asyncio.sleep(0.01)
        async with self.lock:
            pass
