"""The daemon's database writer: the session's write commands, in order, batched, never dropped
for an outage.

Event handlers must not wait for the database, so the engine queues the session's writes
(:data:`dialer.session.WRITES`) here; one task applies them in order, up to 500 per
transaction.  When the database cannot be reached (down, restarting, locked by another writer:
:func:`~dialer.storage.availability.unreachable`) the writes stay queued, in order, and the
same batch is tried again with backoff until it goes through; meanwhile :attr:`Writer.healthy`
is False and the engine places no new calls.  A write the database refuses for itself (a
constraint, a bug) is taken one by one out of its batch, logged with its content and skipped —
retrying it would stop every write after it.

If the daemon stops while the database is still away, the writes left are kept in the journal
(:mod:`dialer.storage.journal`) and :meth:`Writer.open_journal` replays them at the next start,
before anything is read.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dialer.clock import Clock, RealClock
from dialer.errors import Unavailable
from dialer.session.commands import (
    CountAnswer,
    EndCall,
    GiveBack,
    LogAgentState,
    RecordOptOut,
    SetAgentCampaign,
    SetAgentState,
    WriteCallStatus,
)
from dialer.storage import agents, calls, ledger, outbox
from dialer.storage.availability import UNAVAILABLE, unreachable
from dialer.storage.journal import Journal
from dialer.vocabulary import CallStatus, Outcome

log = logging.getLogger("dialer.engine")

BATCH = 500
#: Queued writes above which the writer is not :attr:`~Writer.healthy` (no new calls): the
#: calls already live still queue theirs, so the queue stays bounded by the live calls.
LIMIT = 10_000
#: First and longest wait (clock seconds) between two tries while the database is away.
FIRST_DELAY, MAX_DELAY = 0.05, 2.0


async def store(conn: AsyncConnection, cmd: Any, rng: random.Random) -> None:
    """Apply one write command of the session's (see :mod:`dialer.session.commands`)."""
    if isinstance(cmd, WriteCallStatus):
        await conn.execute(calls.status_stmt(cmd.call_id, cmd.status, answered_at=cmd.answered_at,
                                             connected_at=cmd.connected_at, agent=cmd.agent))
        if cmd.status == CallStatus.CONNECTED:  # the CRM hears of it in the same transaction
            await outbox.call_connected(conn, cmd.call_id, cmd.connected_at)
    elif isinstance(cmd, EndCall):
        await calls.end_call(conn, cmd.call_id, cmd.values, rng, cmd.rules)
        if cmd.values.get("outcome") == Outcome.CONNECTED:  # queued once (its event id), if not yet
            await outbox.call_connected(conn, cmd.call_id, cmd.values.get("connected_at"))
    elif isinstance(cmd, CountAnswer):
        await ledger.bump(conn, cmd.campaign_id, cmd.node, cmd.minute, cmd.abandoned)
    elif isinstance(cmd, LogAgentState):
        await conn.execute(agents.log_stmt(cmd.agent_id, cmd.campaign_id, cmd.state, cmd.pause_code, cmd.started,
                                                cmd.ended))
    elif isinstance(cmd, SetAgentState):
        await conn.execute(agents.state_stmt(cmd.agent_id, cmd.state, cmd.pause_code, cmd.since))
    elif isinstance(cmd, SetAgentCampaign):
        await conn.execute(agents.campaign_stmt(cmd.agent_id, cmd.campaign_id, cmd.node, exact=cmd.exact))
    elif isinstance(cmd, GiveBack):
        await calls.give_back(conn, cmd.leads)
    elif isinstance(cmd, RecordOptOut):
        await calls.record_opt_out(conn, cmd.call_id, cmd.phone, cmd.campaign, cmd.at)
    else:
        raise TypeError(f"not a write command: {cmd!r}")


def backoff(failures: int, first: float = FIRST_DELAY, longest: float = MAX_DELAY) -> float:
    """Seconds to wait after ``failures`` tries in a row failed (doubling, capped)."""
    return min(longest, first * 2 ** min(max(failures - 1, 0), 30))


class Writer:
    """Applies queued write commands in order (:meth:`run` as a task until :meth:`close`).

    ``lock`` is the daemon's database lock: held while a batch is written (never while waiting
    to try again), so that a request that takes it (a claim, a disposition) sees every write
    queued before it once :meth:`flush` returns.  ``clock`` times the backoff and the bounded
    wait at :meth:`close`.
    """

    def __init__(self, db: AsyncEngine, lock: asyncio.Lock, rng: random.Random, clock: Clock | None = None, *,
                 limit: int = LIMIT, stop_timeout: float = 10.0,
                 on_batch: Callable[[float, int], None] | None = None) -> None:
        self.db = db
        self.on_batch = on_batch  # (real seconds, writes) of each batch made (the daemon's metrics)
        self.lock = lock
        self.rng = rng
        self.clock: Clock = clock or RealClock()
        self.limit = limit
        self.stop_timeout = stop_timeout
        self.pending: deque[Any] = deque()
        self.queued = 0  # writes ever queued
        self.done = 0  # writes taken off the queue: made, or rejected by the database
        self.rejected = 0
        self.failures = 0  # tries in a row that found the database away
        self.outages = 0  # times the database was found away
        self.last_error = ""  # what the driver said the last time it found the database away
        self.most_pending = 0  # the longest the queue has been
        self.journal: Journal | None = None
        self.task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self._closing = False
        self._close_deadline = 0.0
        self._one_by_one = 0  # writes to take singly (a batch held a write the database refused)

    @property
    def healthy(self) -> bool:
        """The database takes writes and the queue is short: new calls may be placed."""
        return self.failures == 0 and len(self.pending) < self.limit

    @property
    def backlog(self) -> int:
        return len(self.pending)

    def start(self) -> asyncio.Task:
        """:meth:`run` as a task named ``writer``."""
        self.task = asyncio.create_task(self.run(), name="writer")
        return self.task

    def put(self, cmd: Any) -> None:
        self.pending.append(cmd)
        self.queued += 1
        self.most_pending = max(self.most_pending, len(self.pending))
        if len(self.pending) == self.limit:
            log.warning("database writes queued up to the limit: no new calls until they are written",
                        extra={"pending": len(self.pending)})
        self._wake.set()

    async def write_now(self, cmd: Any) -> None:
        """One write in its own transaction, at once (a request's own write); Unavailable when
        the database cannot be reached."""
        try:
            async with self.lock, self.db.begin() as conn:
                await store(conn, cmd, self.rng)
        except Exception as exc:
            if unreachable(exc):
                log.warning("database unavailable for a request's write", extra={"error": str(exc)[:200]})
                raise Unavailable(UNAVAILABLE) from exc
            raise

    async def try_now(self, write: Callable[[AsyncConnection], Awaitable[Any]], what: str) -> bool:
        """``write(conn)`` in a transaction now, under the lock; skipped (False, a warning) when
        the database is away — for writes a later one supersedes (the pacing statistics)."""
        try:
            async with self.lock, self.db.begin() as conn:
                await write(conn)
        except Exception as exc:
            if not unreachable(exc):
                raise
            log.warning(f"{what} not saved: database unavailable", extra={"error": str(exc)[:200]})
            return False
        return True

    # ------------------------------------------------------------------ the task

    async def run(self) -> None:
        """Write until :meth:`close` and the queue is empty; if the database is still away
        ``stop_timeout`` clock seconds after :meth:`close`, keep what is left in the journal."""
        try:
            while True:
                if not self.pending:
                    if self._closing:
                        return
                    self._wake.clear()
                    await self._wake.wait()
                elif not await self._step():
                    if self._closing and self.clock.monotonic() >= self._close_deadline:
                        self._keep_on_disk()
                        return
                    await self._pause()
        except asyncio.CancelledError:
            self._keep_on_disk()
            raise

    async def _step(self) -> bool:
        """Write the next batch: True when it left the queue (or is to be split), False when
        the database is away (the batch stays, to be tried again)."""
        n = 1 if self._one_by_one else min(BATCH, len(self.pending))
        batch = list(itertools.islice(self.pending, n))
        started = time.perf_counter()
        try:
            async with self.lock, self.db.begin() as conn:
                for w in batch:
                    await store(conn, w, self.rng)
        except Exception as exc:
            if unreachable(exc):
                await self._away(exc)
                return False
            if n > 1:
                log.warning("a database write failed; writing the batch one by one", exc_info=True)
                self._one_by_one = n
                return True
            log.exception("database write rejected: skipped", extra={"write": repr(batch[0])[:1000]})
            self.rejected += 1
        else:
            self._back()
            if self.on_batch is not None:
                self.on_batch(time.perf_counter() - started, n)
        await self._taken(n)
        return True

    async def _taken(self, n: int) -> None:
        for _ in range(n):
            self.pending.popleft()
        self.done += n
        self._one_by_one = max(0, self._one_by_one - n)
        async with self._progress:
            self._progress.notify_all()

    async def _away(self, exc: BaseException) -> None:
        self.last_error = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if self.failures == 0:
            self.outages += 1
            log.warning("database unavailable: writes kept and retried, no new calls until it is back",
                        extra={"pending": len(self.pending), "error": str(exc)[:200]})
        self.failures += 1
        async with self._progress:
            self._progress.notify_all()

    def _back(self) -> None:
        if self.failures:
            log.info("database available again: catching up", extra={"pending": len(self.pending),
                                                                      "tries": self.failures})
        self.failures = 0

    async def _pause(self) -> None:
        delay = backoff(self.failures)
        if self._closing:
            delay = max(0.0, min(delay, self._close_deadline - self.clock.monotonic()))
        await self.clock.sleep(delay)

    def _keep_on_disk(self) -> None:
        if not self.pending:
            return
        if self.journal is None:
            log.error("database writes lost at stop: no journal", extra={"pending": len(self.pending)})
            return
        self.journal.save(list(self.pending))
        log.warning("database unavailable at stop: writes kept in the journal for the next start",
                    extra={"pending": len(self.pending), "journal": str(self.journal.path)})

    # ------------------------------------------------------------------ lifecycle

    async def open_journal(self, path: Path, timeout: float = 30.0) -> int:
        """Keep writes left at a stop in ``path``; replay those a previous run kept there, in
        order, before anything else (Unavailable when the database stays away ``timeout`` clock
        seconds: the journal is kept).  Returns how many were replayed."""
        self.journal = Journal(path)
        writes = self.journal.load()
        if not writes:
            return 0
        log.info("replaying the database writes kept at the last stop", extra={"writes": len(writes)})
        self.pending.extendleft(reversed(writes))
        self.queued += len(writes)
        target, deadline = self.done + len(writes), self.clock.monotonic() + timeout
        while self.done < target:
            if not await self._step():
                if self.clock.monotonic() >= deadline:
                    raise Unavailable(f"database unavailable ({self.last_error}): the writes kept in {path} "
                                      "are not replayed yet; start again once it is back")
                await self._pause()
        self.journal.clear()
        return len(writes)

    async def close(self) -> None:
        """Ask :meth:`run` to finish once everything queued is written (or journaled)."""
        self._closing = True
        self._close_deadline = self.clock.monotonic() + self.stop_timeout
        self._wake.set()

    async def flush(self) -> None:
        """Wait until every write queued so far is done (no wait when the task is not running);
        Unavailable while the database is away."""
        if self.task is None or self.task.done():
            return
        target = self.queued
        async with self._progress:
            await self._progress.wait_for(lambda: self.done >= target or self.failures > 0)
        if self.done < target:
            raise Unavailable(UNAVAILABLE)
