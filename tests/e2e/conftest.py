"""A whole daemon against the built-in simulator over TCP, in scaled time."""

from __future__ import annotations

import asyncio
import csv
import os
import random
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

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
    await engine.db.dispose()


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

