"""A crash (the daemon killed mid-campaign, its pending writes lost) and a restart: the new
daemon adopts the calls the database says were in flight, reconciles them with the PBX
(CoreShowChannels), and nothing is lost or dialled twice."""

from __future__ import annotations

import asyncio
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


async def test_a_stop_during_a_claim_gives_the_claimed_leads_back(e2e_options) -> None:
    """SIGTERM while a pacing pass holds freshly claimed leads (their ``calls`` rows written, no
    Originate yet) and calls are in flight: the pass ends and gives them back, to be dialled
    later; no row is left ``placing`` (cancelled mid-pass, the claim stayed open, its lead
    ``dialing``, until a restart); the calls in flight end during the drain, the PBX link still
    open (``engine.stop()`` called first here, the daemon's own stop waits for it: it closed the
    link under the drain, which waited its whole timeout for events that could not come)."""
    run = await start_demo(e2e_options(mode="progressive", leads=60, agents=4))
    engine, interrupted, stopping, in_flight = run.engine, [], [], []
    claim = engine._claim

    async def claim_then_sigterm(plan, now):
        claimed = await claim(plan, now)
        if claimed and engine.live and not stopping:
            interrupted.extend(c.lead_id for c in claimed)
            in_flight.extend(c.call_id for c in engine.live.values())
            stopping.append(asyncio.create_task(engine.stop()))
            while not engine._stopping.is_set():
                await asyncio.sleep(0)
        return claimed

    engine._claim = claim_then_sigterm
    try:
        await until(lambda: bool(stopping), what="a claim")
        await stopping[0]
        assert not engine.live  # every call in flight ended while draining
    finally:
        await run.stop()
    db = open_engine(run.settings.database_url)
    with db.connect() as conn:
        placing = conn.execute(select(calls.c.id).where(calls.c.status == "placing")).all()
        drained = conn.execute(select(calls.c.status, calls.c.outcome).where(calls.c.id.in_(in_flight))).all()
        back = conn.execute(select(leads.c.status, leads.c.attempts).where(leads.c.id.in_(interrupted))).all()
        rows_of_back = conn.execute(select(calls.c.id).where(calls.c.lead_id.in_(interrupted))).all()
    db.dispose()
    assert interrupted and placing == [] and rows_of_back == []
    assert {tuple(r) for r in back} == {("callback", 0)}  # due again, the attempt not counted
    assert in_flight and len(drained) == len(in_flight)
    assert all(status == "ended" and outcome not in (None, "UNKNOWN") for status, outcome in drained), drained
