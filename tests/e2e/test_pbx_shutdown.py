"""Issue 16 item 5 end to end: the simulator stops as Asterisk does on ``core stop gracefully``
(recording 06: every action refused "Asterisk is shutting down", live calls run to their end,
``Shutdown``, the connections close, later it is back).  Originates refused meanwhile are not
the leads' fault: their attempt is given back and they are dialled again once the PBX is back."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import select

from dialer.claim import calls, leads
from dialer.db import open_engine
from tests.e2e.conftest import run_until_done, start_demo, until


async def test_originates_refused_during_a_shutdown_are_given_back_and_redialled(e2e_options) -> None:
    run = await start_demo(e2e_options(mode="predictive", leads=60, agents=5))
    run.settings.ami.reconnect_max_delay = 1.0  # real seconds: back soon after the PBX is
    try:
        await until(lambda: run.engine.counters["placed"] >= 10 and run.engine.live, what="live calls")
        # The stop begins just as the dialler sends its next Originate (which is refused), with
        # calls still live (they run to their end); Shutdown 2 s after the last one.
        link, send = run.engine.link, run.engine.link.originate

        async def originate(*args, **kwargs):  # type: ignore[no-untyped-def]
            link.originate = send  # once
            run.server.stop_gracefully(downtime=1.0)
            return await send(*args, **kwargs)

        link.originate = originate
        await until(lambda: run.engine.session.pbx_stopping, 30, "the dialler to see the shutdown")
        seen_at = run.engine.clock.now()
        await until(lambda: run.server.stopped.is_set(), 30, "the PBX to stop")
        stopped_at = run.engine.clock.now()
        placed = run.engine.counters["placed"]
        await until(lambda: run.engine.counters["placed"] >= placed + 10, 60, "dialling to resume")
        await run_until_done(run, timeout=120)
        await run.agents.drain()
    finally:
        await run.stop()

    engine = open_engine(run.settings.database_url)
    with engine.connect() as conn:
        call_rows = conn.execute(select(calls)).all()
        lead_rows = {r.id: r for r in conn.execute(select(leads)).all()}
    engine.dispose()
    down = [r for r in call_rows if r.outcome == "PBX_DOWN"]
    assert down, Counter(r.outcome for r in call_rows)
    assert all(r.detail.startswith("PBX shutting down") for r in down)
    # Refused: never dialled (the PBX has no trace of them).
    assert not {r.channel_id for r in down} & set(run.sim.truth)
    by_lead = defaultdict(list)
    for r in call_rows:
        by_lead[r.lead_id].append(r)
    for lead_id, rows in by_lead.items():
        real = [r for r in rows if r.outcome != "PBX_DOWN"]
        # max_attempts = 1: exactly one attempt charged, the refused ones given back.
        assert len(real) == 1 and lead_rows[lead_id].attempts == 1, [(r.outcome, r.detail) for r in rows]
        assert lead_rows[lead_id].status in ("done", "dnc", "callback")
    assert all(r.status == "ended" and r.outcome for r in call_rows)
    # Once the dialler knew, nothing new reached the PBX (only a claim already under way was
    # placed, and refused).
    window = [r for r in call_rows if seen_at < r.placed_at.replace(tzinfo=seen_at.tzinfo) < stopped_at]
    assert all(r.outcome == "PBX_DOWN" for r in window), [(r.outcome, r.detail) for r in window]
