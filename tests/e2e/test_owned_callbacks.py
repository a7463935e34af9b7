"""Owned callbacks end to end: the whole daemon against the simulator over TCP, in scaled time.

A callback booked by an agent is offered to that agent only — claimed while they are ready, the
agent reserved (paused ``callback``, ``RESERVED`` for the pacing), the answered call dialled
straight to them — and to anyone through the queue once the grace period is over.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from campaigns import store
from campaigns.definition import load_definition
from dialer import pacing
from dialer.api import token_hash
from dialer.claim import calls, leads, lists_
from dialer.clock import ScaledClock
from dialer.db import open_engine
from dialer.demo import demo_scenario
from dialer.engine import Engine
from dialer.schema import metadata
from dialer.server import Server
from dialer.services.campaigns import apply_definition
from dialer.services.diagnostics import why
from dialer.settings import Settings
from dialer.sim import Simulator, start_server
from dialer.tracking.agents import AgentState
from tests.e2e.conftest import E2E_START, until, write_campaign

agents_t = metadata.tables["agents"]
SPEED = 20.0
NAMES = ["agent01", "agent02", "agent03"]
OWNER = "agent02"


def interface(name: str) -> str:
    return f"Local/{9000 + int(name[-2:])}@sim-agents"


@dataclass
class Run:
    engine: Engine
    sim: Simulator
    clock: ScaledClock
    settings: Settings
    server: Any
    daemon: Server
    task: asyncio.Task
    campaign_id: int
    screens: list[dict] = field(default_factory=list)  # the agent's call screen at disposition time
    agent_events: list[dict] = field(default_factory=list)
    tasks: set = field(default_factory=set)
    callbacks: list[dict] = field(default_factory=list)

    async def stop(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        self.daemon.request_stop()
        await self.task
        await self.server.close()

    async def call_rows(self) -> list:
        await self.engine.flush()
        async with self.engine.db.connect() as conn:
            return (await conn.execute(select(calls).where(calls.c.disposition.is_(None))
                                       .order_by(calls.c.id))).all()

    async def lead(self, lead_id: int):
        async with self.engine.db.connect() as conn:
            return (await conn.execute(select(leads).where(leads.c.id == lead_id))).first()

    async def make_due(self) -> datetime:
        """The callbacks become due ``due`` seconds from now, exclusive for ``grace`` more; returns
        when the first one's grace period ends."""
        now = self.clock.now()
        ends = []
        async with self.engine.db.begin() as conn:
            for i, cb in enumerate(self.callbacks, start=1):
                due = now + timedelta(seconds=cb.get("due", 0))
                ends.append(due + timedelta(seconds=cb.get("grace", 900)))
                await conn.execute(update(leads).where(leads.c.id == i).values(
                    next_call_at=due, callback_exclusive_until=ends[-1]))
        return ends[0]


async def start(tmp_path: Path, callbacks: list[dict], *, login: list[str] = NAMES,
                agents: dict[str, Any] | None = None, hold: bool = False) -> Run:
    """A progressive campaign whose only leads are ``callbacks`` (each booked by an earlier
    connected call), three agents (``login`` logged in), everyone answering, agents taking calls
    at once unless ``agents`` says otherwise.  Every connected call is disposed ``SALE`` by its
    agent after a moment, the agent's screen being recorded first.  The callbacks become due
    once the agents are ready (:meth:`Run.make_due`; with ``hold``, when the test says)."""
    clock = ScaledClock(SPEED, start=E2E_START)
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sync = open_engine(settings.database_url)
    definition = load_definition(write_campaign(tmp_path, "progressive"))
    cid = apply_definition(sync, definition).campaign_id
    now = clock.now()
    with sync.begin() as conn:
        conn.execute(insert(lists_).values(id=1, name="e2e", campaign_id=cid, active=True, priority=0))
        conn.execute(insert(agents_t), [
            {"name": n, "interface": interface(n), "token_hash": token_hash(n), "state": "logged_out"}
            for n in [*NAMES, "agent09"]
        ])
        for i, cb in enumerate(callbacks, start=1):
            due = now + timedelta(days=1)  # until make_due
            conn.execute(insert(leads).values(
                id=i, list_id=1, phone=f"+1212555{i:04d}", first_name=f"Lead{i}", timezones="America/New_York",
                status="callback", attempts=1, next_call_at=due, callback_owner=cb["owner"],
                callback_exclusive_until=due + timedelta(seconds=cb.get("grace", 900)),
                custom={"Current Plan": "Basic 20"}))
            conn.execute(insert(calls).values(
                campaign_id=cid, lead_id=i, phone=f"+1212555{i:04d}", attempt=1, node="t", status="ended",
                outcome="CONNECTED", ring_timeout=15, placed_at=now - timedelta(days=1),
                connected_at=now - timedelta(days=1), ended_at=now - timedelta(days=1), agent=cb["owner"],
                disposition="CALLBACK", callback_at=due, note=f"call {cb['owner']} back after work",
                disposed_at=now - timedelta(days=1), channel_id=f"old-{i}"))
    apply_definition(sync, definition)
    store.set_status(sync, "e2e", "active")
    sync.dispose()
    overrides = {
        "called": {"human": 1, "machine": 0, "busy": 0, "congestion": 0, "invalid": 0, "no_answer": 0,
                   "unavailable": 0, "ring_time": 2.0, "patience": 300, "talk_time": 20},
        "agents": {"answer_delay": 0.2, "talk_time": 20, "break_probability": 0, **(agents or {})},
    }
    sim = Simulator(demo_scenario(5, SPEED, overrides), speed=SPEED, seed=5)
    server = await start_server(sim, "127.0.0.1", 0)
    settings.ami.port = server.port
    daemon = Server(settings, clock=clock, node="t", http=False, drain_timeout=30.0, pacing_interval=1.0)
    task = asyncio.create_task(daemon.serve())
    await until(lambda: daemon.started.is_set() or task.done(), 30, "the daemon to start")
    if task.done():
        await server.close()
        task.result()
    engine = daemon.engine
    run = Run(engine, sim, clock, settings, server, daemon, task, cid, callbacks=callbacks)

    def on_event(kind: str, data: dict) -> None:
        if kind == "agent":
            run.agent_events.append(data)
        if kind == "disposition_due" and data.get("agent"):
            t = asyncio.get_running_loop().create_task(dispose(data["agent"], data["call_id"]))
            run.tasks.add(t)
            t.add_done_callback(run.tasks.discard)

    async def dispose(agent: str, call_id: int) -> None:
        run.screens.append({"agent": agent, **(await engine.current_call(agent) or {})})
        await clock.sleep(3.0)
        await engine.dispose(call_id, agent_name=agent, code="SALE")

    engine.listeners.append(on_event)
    for name in login:
        await engine.agent_login(name, "e2e")
    await until(lambda: all(_state(engine, n) is AgentState.READY for n in login), 20, "agents ready")
    if not hold:
        await run.make_due()
    return run


def _state(engine: Engine, name: str) -> AgentState | None:
    snap = engine.agent_tracker.get(interface(name))
    return None if snap is None else snap.state


def talked(run: Run, name: str) -> bool:
    return any(e["agent"] == name and e["state"] == "talking" for e in run.agent_events)


def sim_truth(run: Run, channel_id: str):
    return run.sim.truth[channel_id]


async def test_owned_callback_is_connected_to_its_owner_only(tmp_path: Path) -> None:
    run = await start(tmp_path, [{"owner": OWNER}])
    try:
        camp = next(iter(run.engine.campaigns.values()))
        seen: list[pacing.Snapshot] = []

        def at_reservation(kind: str, data: dict) -> None:
            if kind == "agent" and data["agent"] == OWNER and data["state"] == "reserved" and not seen:
                seen.append(run.engine.session.snapshot(camp, run.engine.now()))

        run.engine.listeners.append(at_reservation)
        await until(lambda: run.screens, 30, "the callback to reach an agent")
        [screen] = run.screens
        assert screen["agent"] == OWNER
        assert screen["callback"] is True and screen["callback_note"] == f"call {OWNER} back after work"
        assert screen["callback_booked_by"] == OWNER and screen["callback_at"]
        await until(lambda: not run.engine.live and not run.tasks, 30, "the call to end and be disposed")
        async with run.engine.db.connect() as conn:
            row = (await conn.execute(select(calls).where(calls.c.lead_id == 1).order_by(calls.c.id.desc()))).first()
        assert (row.outcome, row.agent, row.disposition) == ("CONNECTED", OWNER, "SALE")
        assert row.connected_at is not None and row.ended_at > row.connected_at
        truth = sim_truth(run, row.channel_id)
        assert truth.routed_to == interface(OWNER) and truth.agent == interface(OWNER) and not truth.queued
        assert not talked(run, "agent01") and not talked(run, "agent03")
        assert run.sim.stats.routed == 1 and run.sim.stats.connected == 1
        assert (await run.lead(1)).status == "done"
        # While the call was being placed the owner counted as reserved, not ready, and the call
        # was not a ringing line waiting for a ready agent: progressive dials for the two others.
        [snap] = seen
        assert snap.ready == 2 and snap.count_agents(pacing.AgentState.RESERVED) == 1
        assert snap.calls == [] and snap.lines_busy == 1
        assert pacing.make_policy("progressive").decide(snap) == 2
        # The owner went through wrap-up and is back in the queue's rotation.
        await until(lambda: _state(run.engine, OWNER) is AgentState.READY, 20, "the owner ready again")
        assert run.engine.agent_by_name(OWNER).paused is None
    finally:
        await run.stop()


async def test_busy_owner_keeps_the_callback_until_ready(tmp_path: Path) -> None:
    run = await start(tmp_path, [{"owner": OWNER}], hold=True)
    try:
        await run.engine.agent_pause(OWNER, "BREAK")  # before the callback is due
        await until(lambda: _state(run.engine, OWNER) is AgentState.PAUSED, 10, "the owner paused")
        await run.make_due()
        await run.engine.clock.sleep(30)  # others ready, the callback due: not dialled
        assert run.sim.stats.placed == 0 and (await run.lead(1)).status == "callback"
        assert run.engine.campaigns[run.campaign_id].idle_reason.startswith("idle: no callable leads")
        sync = open_engine(run.settings.database_url)
        with sync.connect() as conn:
            report = why(conn, "e2e", run.clock.now())
        sync.dispose()
        owner_reason = next(r for r in report.reasons if r.code == "callback_owner")
        assert owner_reason.leads == 1 and report.callable == 0
        await run.engine.agent_ready(OWNER)
        await until(lambda: run.screens, 30, "the callback to reach its owner")
        assert [s["agent"] for s in run.screens] == [OWNER] and run.screens[0]["callback"] is True
        assert not talked(run, "agent01") and not talked(run, "agent03")
    finally:
        await run.stop()


async def test_busy_owner_past_the_grace_period_anyone_takes_it(tmp_path: Path) -> None:
    run = await start(tmp_path, [{"owner": OWNER, "grace": 30}], hold=True)
    try:
        await run.engine.agent_pause(OWNER, "BREAK")
        await until(lambda: _state(run.engine, OWNER) is AgentState.PAUSED, 10, "the owner paused")
        grace_ends = await run.make_due()
        await until(lambda: run.screens, 30, "the callback to reach an agent after the grace period")
        [screen] = run.screens
        assert screen["agent"] in ("agent01", "agent03") and screen["callback"] is True
        async with run.engine.db.connect() as conn:
            row = (await conn.execute(select(calls).where(calls.c.lead_id == 1).order_by(calls.c.id.desc()))).first()
        placed = row.placed_at if row.placed_at.tzinfo else row.placed_at.replace(tzinfo=grace_ends.tzinfo)
        assert placed >= grace_ends
        assert sim_truth(run, row.channel_id).queued and run.sim.stats.routed == 0
    finally:
        await run.stop()


async def test_logged_out_owner_callback_goes_to_anyone_after_grace(tmp_path: Path) -> None:
    run = await start(tmp_path, [{"owner": "agent09", "grace": 40}], hold=True)
    try:
        grace_ends = await run.make_due()
        await until(lambda: run.screens, 30, "the callback to reach an agent after the grace period")
        [screen] = run.screens
        assert screen["agent"] in ("agent01", "agent02", "agent03") and screen["callback"] is True
        async with run.engine.db.connect() as conn:
            row = (await conn.execute(select(calls).where(calls.c.lead_id == 1).order_by(calls.c.id.desc()))).first()
        placed = row.placed_at if row.placed_at.tzinfo else row.placed_at.replace(tzinfo=grace_ends.tzinfo)
        assert placed >= grace_ends  # not before the grace period ended
        truth = sim_truth(run, row.channel_id)
        assert truth.queued and truth.routed_to == "" and run.sim.stats.routed == 0
    finally:
        await run.stop()


async def test_owner_not_answering_in_two_seconds_is_an_abandoned_call(tmp_path: Path) -> None:
    run = await start(tmp_path, [{"owner": OWNER}], agents={"answer_delay": 3.0})
    try:
        await until(lambda: run.sim.stats.dropped == 1 and not run.engine.live, 30, "the drop")
        await run.engine.flush()
        async with run.engine.db.connect() as conn:
            row = (await conn.execute(select(calls).where(calls.c.lead_id == 1).order_by(calls.c.id.desc()))).first()
        assert row.outcome == "ABANDONED" and row.agent is None
        status = run.engine.status()["campaigns"][0]
        assert status["abandoned_24h"] == 1 and status["connected_24h"] == 0
        assert run.engine.counters["abandoned"] == 1
        assert sim_truth(run, row.channel_id).routed_to == interface(OWNER)
        lead = await run.lead(1)
        assert lead.last_outcome == "ABANDONED"  # the rules judged it as any abandoned call
        # The owner was released: back in the rotation, not stuck in the reservation.
        await until(lambda: _state(run.engine, OWNER) is AgentState.READY, 10, "the owner released")
        assert run.engine.agent_by_name(OWNER).reserved is None and not run.screens
    finally:
        await run.stop()


async def test_two_callbacks_of_one_owner_one_at_a_time(tmp_path: Path) -> None:
    run = await start(tmp_path, [{"owner": OWNER}, {"owner": OWNER}], login=[OWNER, "agent01"])
    try:
        await until(lambda: len(run.screens) == 2, 60, "both callbacks to reach the owner")
        assert [s["agent"] for s in run.screens] == [OWNER, OWNER]
        assert not talked(run, "agent01")
        await until(lambda: not run.engine.live and not run.tasks, 30, "both calls disposed")
        async with run.engine.db.connect() as conn:
            rows = (await conn.execute(select(calls).where(calls.c.disposition == "SALE"))).all()
        assert sorted(r.lead_id for r in rows) == [1, 2] and {r.agent for r in rows} == {OWNER}
        # The second was claimed only after the first had been disposed (no call placed twice).
        first, second = sorted(rows, key=lambda r: r.placed_at)
        assert second.placed_at >= first.disposed_at
    finally:
        await run.stop()
