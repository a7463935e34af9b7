"""Issue 19 acceptance: ``/metrics`` scraped during an end-to-end run shows the report's
figures; ``/readyz`` is unready while the PBX link is down and ready when it is back."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from campaigns import store as campaign_store
from dialer.api import create_app
from dialer.claim import calls
from dialer.db import open_engine
from dialer.services.report import build_report
from tests.e2e.conftest import run_until_done, start_demo, until


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scrape: dict, name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


def client_for(run) -> httpx.AsyncClient:
    app = create_app(run.engine, "admin-token", settings=run.settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dialer")


async def test_metrics_during_a_run_equal_the_report(e2e_options) -> None:
    run = await start_demo(e2e_options(mode="predictive", leads=120, agents=5))
    node, camp = "demo", {"campaign": "e2e", "node": "demo"}
    try:
        async with client_for(run) as http:
            await until(lambda: run.engine.counters["connected"] >= 3, what="connected calls")
            mid = await http.get("/metrics")  # scraped while calls are in flight
            assert mid.status_code == 200 and mid.headers["content-type"].startswith("text/plain")
            scrape = samples(mid.text)
            assert value(scrape, "dialer_calls_placed_total", **camp) >= 3
            assert value(scrape, "dialer_calls_connected_total", **camp) >= 3
            assert value(scrape, "dialer_ami_up", node=node) == 1.0
            assert value(scrape, "dialer_pacing_decisions_total", **camp) >= 1
            assert value(scrape, "dialer_claim_seconds_count", node=node) >= 1
            assert value(scrape, "dialer_db_write_seconds_count", node=node) >= 1
            agents = sum(v for (n, labels), v in scrape.items() if n == "dialer_agents" and ("campaign", "e2e") in labels)
            assert agents == 5

            await run_until_done(run)
            await run.agents.drain()
            await run.engine.flush()
            end = samples((await http.get("/metrics")).text)
            now = run.engine.clock.now()
    finally:
        await run.stop()

    db = open_engine(run.settings.database_url)
    with db.connect() as conn:
        report = build_report(conn, campaign_store.find(conn, "e2e").id, "e2e", now=now)
        answered = conn.execute(select(func.count()).select_from(calls).where(calls.c.answered_at.is_not(None))).scalar()
    db.dispose()
    assert report.calls > 0
    assert value(end, "dialer_calls_placed_total", **camp) == report.calls
    assert value(end, "dialer_calls_connected_total", **camp) == report.outcomes.get("CONNECTED", 0) > 0
    assert value(end, "dialer_calls_abandoned_total", **camp) == report.outcomes.get("ABANDONED", 0)
    assert value(end, "dialer_calls_answered_total", **camp) == answered
    for outcome, n in report.outcomes.items():
        assert value(end, "dialer_calls_ended_total", outcome=outcome, **camp) == n, outcome
    # The daemon's rolling 24 h rate is the report's (which rounds to 5 places).
    assert value(end, "dialer_abandon_rate", window="24h", **camp) == pytest.approx(report.abandon_rate_24h, abs=1e-5)
    assert value(end, "dialer_lines_in_use", **camp) == 0
    assert value(end, "dialer_event_loop_lag_probe_seconds_count", node=node) >= 1


async def test_readyz_follows_the_pbx_link(e2e_options) -> None:
    run = await start_demo(e2e_options(mode="progressive", leads=60, agents=3))
    states: list[int] = []
    try:
        async with client_for(run) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json() == {"ready": True, "ami": "logged in", "database": "writable"}

            async def poll() -> None:
                while True:
                    states.append((await http.get("/readyz")).status_code)
                    await asyncio.sleep(0.02)

            poller = asyncio.create_task(poll())
            reconnects = run.daemon.client.reconnects
            outage = asyncio.create_task(run.server.restart(keep_members=True, downtime=1.0))
            await until(lambda: 503 in states, 30, "/readyz to turn unready")
            down = await http.get("/readyz")
            if down.status_code == 503:  # (the link may be back already: the poller saw it down)
                assert down.json()["ami"].startswith("down")
            await outage
            await until(lambda: run.daemon.client.reconnects > reconnects and states[-1] == 200, 60,
                        "/readyz to be ready again")
            poller.cancel()
            scrape = samples((await http.get("/metrics")).text)
            assert value(scrape, "dialer_ami_reconnects_total", node="demo") >= 1
            assert value(scrape, "dialer_ami_up", node="demo") == 1.0
    finally:
        await run.stop()
    assert states[-1] == 200
