"""A crash (the daemon killed mid-campaign, its pending writes lost) and a restart: the new
daemon adopts the calls the database says were in flight, reconciles them with the PBX
(CoreShowChannels), and nothing is lost or dialled twice."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from sqlalchemy import select

from dialer.claim import calls, leads
from dialer.db import open_engine
from dialer.demo import SimulatedAgents
from dialer.server import Server
from tests.e2e.conftest import run_until_done, start_demo, until


async def test_crash_and_restart(e2e_options) -> None:
    run = await start_demo(e2e_options(mode="progressive", leads=60, agents=4))
    try:
        await until(lambda: run.engine.counters["placed"] >= 12 and len(run.engine.live) >= 2, what="calls")
        in_flight = set(run.engine.live)
        # A crash: every task of the daemon cancelled at once (no drain, queued writes lost),
        # nothing of it runs on (tests/faults/harness.py does the same, ten times over).
        engine = run.engine
        doomed = [*engine._tasks, *engine._place_tasks, *run.agents._tasks]
        for task in doomed:
            task.cancel()
        engine.listeners.clear()
        engine.link.reconcile_soon = lambda: None  # a dead process asks nothing
        run.task.cancel()
        await asyncio.gather(run.task, *doomed, return_exceptions=True)

        engine = open_engine(run.settings.database_url)
        with engine.connect() as conn:
            unfinished = {r.channel_id for r in conn.execute(select(calls).where(calls.c.status != "ended"))}
        engine.dispose()
        assert in_flight <= unfinished  # the database knows which calls were in flight

        daemon = Server(run.settings, clock=run.engine.clock, node="demo", http=False, drain_timeout=120)
        run.daemon, run.task = daemon, asyncio.create_task(daemon.serve())
        await daemon.started.wait()
        run.engine = daemon.engine
        run.agents = SimulatedAgents(daemon.engine, run.definition, random.Random(5))
        await run_until_done(run, timeout=120)
        await run.agents.drain()
    finally:
        await run.stop()

    engine = open_engine(run.settings.database_url)
    with engine.connect() as conn:
        call_rows = conn.execute(select(calls)).all()
        lead_rows = conn.execute(select(leads)).all()
    engine.dispose()
    assert all(r.status == "ended" and r.outcome for r in call_rows)
    assert {r.id for r in lead_rows} == {r.lead_id for r in call_rows}
    assert all(r.status in ("done", "dnc", "callback") for r in lead_rows)
    # max_attempts = 1: each lead was dialled once, crash or not.
    assert set(Counter(r.lead_id for r in call_rows).values()) == {1}
