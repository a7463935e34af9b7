"""The job scheduler: APScheduler's ``AsyncIOScheduler`` (3.x) around the jobs of
:mod:`dialer.services.jobs`, inside the daemon or alone (``dialer scheduler``).

Guarantees, whatever the number of processes on one database:

- **One at a time.** A job runs under a lock: ``pg_try_advisory_lock`` on PostgreSQL (held on a
  dedicated connection for the run), an exclusive ``flock`` on a file beside the database on
  SQLite.  A process that does not get the lock skips the run.
- **Once per schedule.** Every run is a ``job_runs`` row written when it starts; a cron or
  catch-up run covers one scheduled moment (``scheduled_for``), and a process that gets the lock
  after another one already started a run at or after that moment skips it — two schedulers
  firing the same 02:00 run it once.
- **Missed runs caught up once.** APScheduler's memory job store forgets; at start the last run
  of each job is compared with its cron schedule, and a job whose latest scheduled moment passed
  with no run since runs once (coalesced), in the background.  A job that never ran is not
  caught up (nothing says it was due).
- **Recorded.** Start, end, node, trigger, result (``ok``/``error``), counts (JSON), message.

API for the daemon (``dialer.server.Server._serve``)::

    jobs = JobScheduler(settings, node=node, clock=clock, live_calls=lambda: engine.live.keys())
    await jobs.start()      # after the engine started
    ...
    await jobs.stop()       # before the engine stops (waits for a running job, bounded)
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from dialer import __version__
from dialer.clock import Clock, RealClock
from dialer.errors import ConfigError, InputError
from dialer.job_models import job_runs
from dialer.job_models import node_heartbeats as heartbeats
from dialer.services.jobs import JOBS, JobContext, JobResult
from dialer.settings import Settings

log = logging.getLogger("dialer.scheduler")


# --- schedules ---------------------------------------------------------------------------------


def job_schedules(settings: Settings) -> dict[str, str]:
    """Job name → cron expression: the defaults, overridden by ``[scheduler.jobs]`` ("" disables)."""
    schedules = {name: spec.cron for name, spec in JOBS.items()}
    for name, expr in settings.scheduler.jobs.items():
        if name not in JOBS:
            raise ConfigError(f"[scheduler.jobs]: unknown job {name!r} (known: {', '.join(JOBS)})")
        schedules[name] = expr.strip()
    return {name: expr for name, expr in schedules.items() if expr}


def make_trigger(expr: str, timezone: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(expr, timezone=timezone)
    except ValueError as exc:
        raise ConfigError(f"[scheduler.jobs]: bad cron expression {expr!r}: {exc}") from None


def previous_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest moment ≤ ``now`` the trigger fires at (looked for up to a year back)."""
    for span in (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=367)):
        t = trigger.get_next_fire_time(None, now - span)
        last = None
        while t is not None and t <= now:
            last = t
            t = trigger.get_next_fire_time(t, t + timedelta(microseconds=1))
        if last is not None:
            return last.astimezone(UTC)
    return None


# --- locks -------------------------------------------------------------------------------------


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a job."""
    return int.from_bytes(hashlib.sha1(f"dialer.job:{name}".encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def job_lock(engine: Engine, name: str, lock_dir: Path) -> Iterator[bool]:
    """Hold the job's cross-process lock for the block; yields whether it was obtained."""
    if engine.dialect.name == "postgresql":
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (lock_key(name),)).scalar())
            try:
                yield got
            finally:
                if got:
                    conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (lock_key(name),))
        except BaseException:
            conn.invalidate()  # never hand a connection that may hold the lock back to the pool
            raise
        finally:
            conn.close()
        return
    database = engine.url.database
    base = Path(database) if database and database != ":memory:" else lock_dir / "jobs"
    path = Path(f"{base}.job-{name}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# --- running a job -----------------------------------------------------------------------------


@dataclass
class RunOutcome:
    job: str
    ran: bool
    result: str  # ok | error | skipped
    run_id: int | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"job": self.job, "ran": self.ran, "result": self.result, "run_id": self.run_id,
                "counts": self.counts, "message": self.message}


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


class JobRunner:
    """Runs jobs under their lock and records them (synchronous; the scheduler calls it in a thread)."""

    def __init__(
        self,
        engine: Engine,
        *,
        data_dir: Path,
        node: str,
        clock: Clock | None = None,
        timezone: str = "UTC",
        live_calls: Callable[[], Collection[str]] | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.data_dir = Path(data_dir)
        self.node = node
        self.clock = clock or RealClock()
        self.timezone = timezone
        self.live_calls = live_calls
        self.context = context or {}  # extra JobContext fields (margins, timeouts)

    def run(self, name: str, *, trigger: str = "manual", scheduled_for: datetime | None = None) -> RunOutcome:
        """Run ``name`` now if no other process runs it and (for a scheduled run) nobody ran it yet."""
        if name not in JOBS:
            raise InputError(f"unknown job {name!r} (known: {', '.join(JOBS)})")
        with job_lock(self.engine, name, self.data_dir) as got:
            if not got:
                log.info("job already running elsewhere; skipped", extra={"job": name})
                return RunOutcome(name, False, "skipped", message="running in another process")
            if scheduled_for is not None:
                done = self._run_since(name, scheduled_for)
                if done is not None:
                    return RunOutcome(name, False, "skipped", done.id,
                                      message=f"already run for {scheduled_for.isoformat()} by {done.node}")
            return self._run_locked(name, trigger, scheduled_for)

    def _run_since(self, name: str, moment: datetime) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                select(job_runs.c.id, job_runs.c.node).where(job_runs.c.job == name, job_runs.c.started_at >= moment)
                .order_by(job_runs.c.id).limit(1)
            ).first()

    def _run_locked(self, name: str, trigger: str, scheduled_for: datetime | None) -> RunOutcome:
        started = self.clock.now()
        with self.engine.begin() as conn:
            run_id = conn.execute(insert(job_runs).values(
                job=name, node=self.node, trigger=trigger, scheduled_for=scheduled_for, started_at=started,
                result="running", counts={}).returning(job_runs.c.id)).scalar_one()
        live = self.live_calls() if self.live_calls is not None else None
        ctx = JobContext(self.engine, self.data_dir, self.node, started, self.timezone,
                         frozenset(live) if live is not None else None, **self.context)
        log.info("job started", extra={"job": name, "trigger": trigger, "run": run_id})
        try:
            res: JobResult = JOBS[name].func(ctx)
            outcome = RunOutcome(name, True, res.result, run_id, res.counts, res.message)
        except Exception as exc:  # a failed job is recorded, never kills the scheduler
            log.exception("job failed", extra={"job": name, "run": run_id})
            outcome = RunOutcome(name, True, "error", run_id, {}, f"{type(exc).__name__}: {exc}"[:2000])
        with self.engine.begin() as conn:
            conn.execute(update(job_runs).where(job_runs.c.id == run_id).values(
                finished_at=self.clock.now(), result=outcome.result, counts=outcome.counts,
                message=outcome.message))
        log.info("job finished", extra={"job": name, "run": run_id, "result": outcome.result})
        return outcome

    # --- reading back ---------------------------------------------------------------------

    def last_runs(self) -> dict[str, Any]:
        """The latest run of each job."""
        out: dict[str, Any] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(select(job_runs).order_by(job_runs.c.id)):
                out[row.job] = row
        return out

    def history(self, name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        q = select(job_runs).order_by(job_runs.c.id.desc()).limit(limit)
        if name:
            q = q.where(job_runs.c.job == name)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [
            {"id": r.id, "job": r.job, "node": r.node, "trigger": r.trigger,
             "scheduled_for": _iso(r.scheduled_for), "started_at": _iso(r.started_at),
             "finished_at": _iso(r.finished_at), "result": r.result, "counts": r.counts, "message": r.message}
            for r in rows
        ]

    def missed(self, schedules: dict[str, str], now: datetime) -> dict[str, datetime]:
        """Jobs whose latest scheduled moment passed with no run since: job → that moment."""
        last = self.last_runs()
        out: dict[str, datetime] = {}
        for name, expr in schedules.items():
            row = last.get(name)
            if row is None:
                continue  # never ran: nothing says it was due
            due = previous_fire_time(make_trigger(expr, self.timezone), now)
            if due is not None and _aware(row.started_at) < due:
                out[name] = due
        return out

    def heartbeat(self, role: str, started_at: datetime, pbx: str | None = None) -> None:
        """Say this node is alive (and, a node's registration, which PBX and version it runs)."""
        now = self.clock.now()
        values = {"role": role, "pid": os.getpid(), "started_at": started_at, "seen_at": now,
                  "pbx": pbx, "version": __version__}
        with self.engine.begin() as conn:
            if conn.execute(update(heartbeats).where(heartbeats.c.node == self.node).values(**values)).rowcount:
                return
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(heartbeats).values(node=self.node, **values))
        except IntegrityError:
            pass  # another process of the same node name wrote it first


def _iso(value: datetime | None) -> str | None:
    return _aware(value).isoformat() if value is not None else None


# --- the asyncio scheduler ---------------------------------------------------------------------


class JobScheduler:
    """APScheduler's ``AsyncIOScheduler`` running the configured jobs.  ``start()`` / ``stop()``."""

    def __init__(
        self,
        settings: Settings,
        *,
        node: str,
        clock: Clock | None = None,
        engine: Engine | None = None,
        live_calls: Callable[[], Collection[str]] | None = None,
        role: str = "daemon",
        catch_up: bool = True,
        heartbeat_interval: float = 30.0,
        context: dict[str, Any] | None = None,
        pbx: str | None = None,
    ) -> None:
        self.settings = settings
        self.pbx = pbx
        self.node = node
        self.clock = clock or RealClock()
        self.role = role
        self.catch_up_at_start = catch_up
        self.heartbeat_interval = heartbeat_interval
        self.schedules = job_schedules(settings)
        self.timezone = settings.scheduler.timezone
        self.triggers = {name: make_trigger(expr, self.timezone) for name, expr in self.schedules.items()}
        self._own_engine = engine is None
        self._engine = engine
        self._live_calls = live_calls
        self._context = context
        self.runner: JobRunner | None = None
        self.aps: AsyncIOScheduler | None = None
        self._tasks: set[asyncio.Task] = set()
        self._started_at = self.clock.now()

    async def start(self) -> None:
        """Register the jobs, start APScheduler, say we are alive, catch missed runs up (in the background)."""
        if self._engine is None:
            from dialer.db import open_engine

            self._engine = await asyncio.to_thread(open_engine, self.settings.database_url)
        self.runner = JobRunner(self._engine, data_dir=self.settings.data_dir, node=self.node, clock=self.clock,
                                timezone=self.timezone, live_calls=self._live_calls,
                                context={"default_region": self.settings.lists.default_region or None,
                                         **(self._context or {})})
        self.aps = AsyncIOScheduler(timezone=self.timezone)
        for name, trigger in self.triggers.items():
            self.aps.add_job(self.fire, trigger, args=[name], id=name, name=name, coalesce=True,
                             max_instances=1, misfire_grace_time=300, replace_existing=True)
        self.aps.add_job(self.beat, IntervalTrigger(seconds=self.heartbeat_interval), id="_heartbeat",
                         coalesce=True, max_instances=1)
        self.aps.start()
        await self.beat()
        if self.catch_up_at_start:
            self._spawn(self.catch_up())
        log.info("scheduler started", extra={"node": self.node, "jobs": sorted(self.schedules)})

    async def stop(self, timeout: float = 60.0) -> None:
        """Stop firing; wait (bounded) for a job in progress to finish and be recorded."""
        if self.aps is not None and self.aps.running:
            self.aps.shutdown(wait=False)
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
        if self._own_engine and self._engine is not None:
            self._engine.dispose()
        log.info("scheduler stopped", extra={"node": self.node})

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def fire(self, name: str) -> RunOutcome:
        """A cron firing: the run covers the latest scheduled moment (skipped if already run)."""
        assert self.runner is not None
        now = self.clock.now()
        scheduled = previous_fire_time(self.triggers[name], now + timedelta(seconds=1)) or now
        return await self._run(name, "cron", scheduled)

    async def _run(self, name: str, trigger: str, scheduled_for: datetime | None) -> RunOutcome:
        assert self.runner is not None
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            return await asyncio.to_thread(self.runner.run, name, trigger=trigger, scheduled_for=scheduled_for)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def run_now(self, name: str) -> RunOutcome:
        """Run a job at once (a manual run: under the lock, never skipped as already done)."""
        return await self._run(name, "manual", None)

    async def catch_up(self) -> list[RunOutcome]:
        """Run, once each, the jobs whose latest scheduled moment passed with no run since."""
        assert self.runner is not None
        missed = await asyncio.to_thread(self.runner.missed, self.schedules, self.clock.now())
        outcomes = []
        for name, due in sorted(missed.items(), key=lambda kv: kv[1]):
            log.info("catching up a missed run", extra={"job": name, "scheduled_for": due.isoformat()})
            outcomes.append(await self._run(name, "catch-up", due))
        return outcomes

    async def beat(self) -> None:
        assert self.runner is not None
        try:
            await asyncio.to_thread(self.runner.heartbeat, self.role, self._started_at, self.pbx)
        except Exception:
            log.exception("heartbeat failed")

    def next_runs(self) -> dict[str, datetime | None]:
        """Next firing of each job (from APScheduler when running, else from the cron)."""
        out: dict[str, datetime | None] = {}
        for name, trigger in self.triggers.items():
            job = self.aps.get_job(name) if self.aps is not None and self.aps.running else None
            out[name] = job.next_run_time if job is not None else trigger.get_next_fire_time(None, self.clock.now())
        return out
