"""A whole daemon against the built-in simulator over TCP, in scaled time."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gc
import os
import random
import sqlite3
import sys
import threading
import traceback
import weakref
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

from dialer.demo import DemoOptions, DemoRun, start_demo

#: The test campaigns' disposition codes (a sale, a refusal that needs a reason, a callback).
DISPOSITIONS = """
[[dispositions]]
code = "SALE"
label = "Sale"
flags = ["contact", "success", "final"]

[[dispositions]]
code = "REFUSED"
label = "Refused"
flags = ["contact", "refusal", "final"]

[[dispositions]]
code = "CALLBACK"
label = "Call back"
flags = ["contact", "callback"]
"""

E2E_CAMPAIGN = """
name = "e2e"
script = "Hello {first_name}, this is a test call about {current_plan}."

[[lists]]
name = "e2e"

[dial]
mode = "MODE"
ratio = 3.0
trunk = "Local/{number}@sim-customers"
queue = "e2e"
ring_timeout = 15
max_lines = 40
abandon_target = 0.03

[window]
hours = "00:00-24:00"

[limits]
max_attempts = 1

""" + DISPOSITIONS + """

[[refusal_reasons]]
code = "PRICE"
label = "too expensive"
"""


#: Where the end-to-end runs' scaled clock starts: a fixed Wednesday afternoon (UTC), so that no
#: run depends on the hour or the date it is started at.
#: ``DIALER_TEST_E2E_START=2026-03-04T06:30:00+00:00`` runs them from another instant (to show
#: that no hour breaks them: tests/edges/README.md).
E2E_START = datetime.fromisoformat(os.environ.get("DIALER_TEST_E2E_START", "2026-03-04T15:00:00+00:00"))


async def until(condition, timeout: float = 60.0, what: str = "condition") -> None:
    """Wait (real seconds, polling) until ``condition()`` is true; fail instead of hanging."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def write_campaign(tmp_path: Path, mode: str) -> Path:
    path = tmp_path / "e2e.toml"
    path.write_text(E2E_CAMPAIGN.replace("MODE", mode))
    return path


async def run_until_done(run: DemoRun, timeout: float = 90.0) -> None:
    """Dial until no lead is left to call and nothing is in flight (or fail after ``timeout`` s)."""
    from sqlalchemy import func, select

    from dialer.claim import leads

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        await asyncio.sleep(0.2)
        if run.engine.live:
            continue
        async with run.engine.db.connect() as conn:
            left = (await conn.execute(select(func.count()).select_from(leads).where(
                leads.c.status.in_(("new", "retry", "dialing"))))).scalar()
        if left == 0:
            return
    pytest.fail(f"campaign did not finish in {timeout} s: {run.engine.status()} {run.agents.errors}")


@pytest.fixture
def e2e_options(tmp_path: Path):
    def make(mode: str = "predictive", leads: int = 200, agents: int = 6, speed: float = 60.0) -> DemoOptions:
        return DemoOptions(
            minutes=60, speed=speed, agents=agents, leads=leads, seed=11, data_dir=tmp_path / "data", start=E2E_START,
            campaign_file=write_campaign(tmp_path, mode),
            scenario_overrides={"agents": {"talk_time": {"dist": "lognormal", "mean": 25, "sd": 10, "min": 5}}},
        )

    return make


__all__ = ["E2E_START", "run_until_done", "start_demo", "until", "write_campaign", "csv", "random"]


#: Every SQLite connection an async engine of this process opened, by pool: a killed daemon's
#: are closed as its process's death would close them (:func:`kill_daemon`).
_OPENED: weakref.WeakKeyDictionary[Pool, list[Any]] = weakref.WeakKeyDictionary()


@event.listens_for(Pool, "connect")
def _opened(dbapi_connection: Any, record: Any) -> None:
    driver = getattr(dbapi_connection, "driver_connection", None)
    if type(driver).__module__.startswith("aiosqlite"):
        _OPENED.setdefault(record._ConnectionRecord__pool, []).append(driver)  # (its pool: no public name)


async def _close_like_a_dead_process(db: Any) -> None:
    """Close each SQLite connection the engine ``db`` opened, in or out of its pool, open
    transaction or not: a task cancelled at the wrong moment (in the middle of a transaction's
    cleanup) can leave one checked out with SQLite's write lock, which only the process's death
    would release — the next start's journal replay then found the database locked."""
    for driver in _OPENED.pop(db.sync_engine.pool, []):
        with contextlib.suppress(Exception):
            await driver.close()


async def kill_daemon(engine: Any, task: asyncio.Task, others: Iterable[asyncio.Task] = ()) -> None:
    """kill -9 of a daemon as the database and the PBX see it: every task of it cancelled at
    once (pacing, the writer with its queued writes, Originates, ``others``: webhook delivery,
    the simulated desktops), its listeners gone, its connections closed; a dead process asks
    nothing more."""
    doomed = [*engine._tasks, *engine._place_tasks, *others]
    for t in doomed:
        t.cancel()
    engine.listeners.clear()
    engine.link.reconcile_soon = lambda: None
    task.cancel()
    await asyncio.gather(task, *doomed, return_exceptions=True)
    # ... and its database connections closed, as the process's death closes them: SQLite's
    # lock of a transaction the cancellation interrupted is released, as after a real kill -9.
    await _close_like_a_dead_process(engine.db)
    await engine.db.dispose()
    await _released(engine.db.url)


def _close_sqlite_connections() -> None:
    """Close every SQLite connection of this process.  Called only while a killed daemon's
    database stays locked and before anything else uses it: a lock a cancelled transaction of
    the dead daemon left in SQLite's per-process lock state (seen in about one in six in-process
    kill runs, with no connection in a transaction any more) goes with the process's last
    connection to the file, as a real process's death releases it."""
    for conn in [o for o in gc.get_objects() if isinstance(o, sqlite3.Connection)]:
        with contextlib.suppress(Exception):
            conn.close()  # every one: SQLite keeps a process's locks on a file until its last connection to it closes
    # A connection closed with a statement still running stays open inside SQLite, with its locks,
    # until that statement is finalized: the statement belongs to a cursor that the frames of the
    # cancelled tasks' tracebacks still hold. Let those frames go.
    for exc in [o for o in gc.get_objects() if isinstance(o, asyncio.CancelledError)]:
        tb = exc.__traceback__
        while tb is not None:
            with contextlib.suppress(RuntimeError):  # a frame still running is not cleared
                tb.tb_frame.clear()
            tb = tb.tb_next
        exc.__traceback__ = None
    for cur in [o for o in gc.get_objects() if isinstance(o, sqlite3.Cursor)]:
        with contextlib.suppress(Exception):
            cur.close()
    gc.collect()


async def _released(url: Any, seconds: float = 20.0) -> None:
    """Wait (bounded, real time) until no one holds a SQLite database's write lock: work the
    killed daemon handed to threads (a job's sync transaction) ends on its own in the test's
    process, while a dead process's would have ended with it."""
    if url.get_backend_name() != "sqlite" or not url.database:
        return
    loop = asyncio.get_running_loop()
    deadline, closed = loop.time() + seconds, False
    while True:
        conn = sqlite3.connect(url.database, timeout=0.05)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.rollback()
            if closed:
                print(f"kill: {url.database} released once the process's SQLite connections were closed")
            return
        except sqlite3.OperationalError:
            gc.collect()  # a dead daemon's connection left unreachable is closed when collected
            _close_sqlite_connections()
            closed = True
            if loop.time() >= deadline:
                held = [o for o in gc.get_objects() if isinstance(o, sqlite3.Connection)]
                tx = []
                for o in held:
                    try:
                        tx.append(o.in_transaction)
                    except Exception as exc:
                        tx.append(f"{type(exc).__name__}: {exc}")
                names = {t.ident: t.name for t in threading.enumerate()}
                stacks = {names.get(i, i): "".join(traceback.format_stack(f)[-6:])
                          for i, f in sys._current_frames().items() if names.get(i) != "MainThread"}
                raise AssertionError(f"{url.database} still locked {seconds} s after the kill; "
                                     f"sqlite3 connections in a transaction: {tx}; threads: {stacks}") from None
        finally:
            conn.close()
        await asyncio.sleep(0.05)  # a poll interval while the lock holder finishes


async def crash_demo(run: DemoRun) -> None:
    """kill -9 of the demo's daemon (:func:`kill_daemon`), webhook delivery included."""
    webhooks = getattr(run.daemon, "webhooks_task", None)
    await kill_daemon(run.engine, run.task, [*run.agents._tasks, *([webhooks] if webhooks else [])])


async def restart_demo(run: DemoRun, seed: int = 5) -> None:
    """A new daemon on the demo's settings and clock, with new simulated desktops."""
    from dialer.demo import SimulatedAgents
    from dialer.server import Server

    daemon = Server(run.settings, clock=run.engine.clock, node="demo", http=False, drain_timeout=120)
    run.daemon, run.task = daemon, asyncio.create_task(daemon.serve())
    started = asyncio.create_task(daemon.started.wait())
    done, _ = await asyncio.wait({run.task, started}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if run.task in done:
        run.task.result()  # it ended: its error
    if started not in done:
        started.cancel()
        pytest.fail("the restarted daemon did not start within 60 s")
    run.engine = daemon.engine
    run.agents = SimulatedAgents(daemon.engine, run.definition, random.Random(seed))

