"""Reliability: the PBX link drops and the PBX restarts mid-campaign; no lead is lost or dialled
twice at once, every call ends with an outcome, and the daemon keeps dialling afterwards."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from dialer.claim import calls, leads
from dialer.db import open_engine
from tests.e2e.conftest import run_until_done, start_demo, until


async def test_link_drops_and_pbx_restart(e2e_options) -> None:
    run = await start_demo(e2e_options(mode="predictive", leads=150, agents=5))
    try:
        for fault in ("drop", "restart", "drop"):
            await until(lambda: run.engine.counters["placed"] >= 10 and run.engine.live, what="live calls")
            placed = run.engine.counters["placed"]
            if fault == "drop":
                assert run.server.drop_connections() >= 1
            else:
                await run.server.restart(keep_members=False)
            # The daemon reconnects, reconciles, re-adds its agents, and dials on.
            await until(lambda p=placed: run.engine.counters["placed"] >= p + 15, 90, "dialling to resume")
        await run_until_done(run, timeout=120)
        await run.agents.drain()
    finally:
        await run.stop()
    assert run.daemon.client.reconnects >= 3

    engine = open_engine(run.settings.database_url)
    with engine.connect() as conn:
        call_rows = conn.execute(select(calls)).all()
        lead_rows = conn.execute(select(leads)).all()
    engine.dispose()
    # Nothing lost: every lead was dialled and has a final status; every call has an outcome.
    assert {r.id for r in lead_rows} == {r.lead_id for r in call_rows}
    assert all(r.status in ("done", "dnc", "callback") for r in lead_rows)
    assert all(r.status == "ended" and r.outcome for r in call_rows)
    # Never two calls to one lead at the same time.
    by_lead = defaultdict(list)
    for r in call_rows:
        by_lead[r.lead_id].append((r.placed_at, r.ended_at))
    for spans in by_lead.values():
        spans.sort()
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False))
    # Every call the PBX saw has a row; an Originate lost with the link (never reached the PBX)
    # still has its row, recorded as UNKNOWN or FAILED — nothing silently dropped.
    seen = set(run.sim.truth)
    assert seen <= {r.channel_id for r in call_rows}
    assert all(r.outcome in ("UNKNOWN", "FAILED") for r in call_rows if r.channel_id not in seen)
