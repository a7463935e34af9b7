"""A crash (the daemon killed mid-campaign, its pending writes lost) and a restart: the new
daemon adopts the calls the database says were in flight, reconciles them with the PBX
(CoreShowChannels), and nothing is lost or dialled twice."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from dialer.claim import calls, leads
from dialer.db import open_engine
from tests.e2e.conftest import crash_demo, restart_demo, run_until_done, start_demo, until


async def test_crash_and_restart(e2e_options) -> None:
    run = await start_demo(e2e_options(mode="progressive", leads=60, agents=4))
    try:
        await until(lambda: run.engine.counters["placed"] >= 12 and len(run.engine.live) >= 2, what="calls")
        in_flight = set(run.engine.live)
        await crash_demo(run)  # (tests/faults/harness.py does the same, ten times over)

        engine = open_engine(run.settings.database_url)
        with engine.connect() as conn:
            unfinished = {r.channel_id for r in conn.execute(select(calls).where(calls.c.status != "ended"))}
        engine.dispose()
        assert in_flight <= unfinished  # the database knows which calls were in flight

        await restart_demo(run)
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
