"""A fault-injection harness: daemons (``dialer.server.Server``) on one database, each against
its own simulated PBX, in scaled time; crash and restart them, break their PBX link, and check
what the database and the simulators' truth say afterwards."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from campaigns import store as campaign_store
from campaigns.definition import CampaignDefinition, load_definition
from dialer.api import token_hash
from dialer.claim import calls, leads
from dialer.clock import ScaledClock
from dialer.db import open_engine
from dialer.demo import SimulatedAgents, demo_scenario, write_leads
from dialer.models import agents as agents_t
from dialer.server import Server
from dialer.services.campaigns import apply_definition
from dialer.settings import Settings
from dialer.sim import Simulator, start_server
from dialer.sim.scenario import QueueConfig
from lists.importer import ImportOptions, import_file
from tests.e2e.conftest import E2E_CAMPAIGN, E2E_START, kill_daemon

#: The simulated called parties and agents: short talks (25 s scaled), wrap-up by the simulated
#: agents' desktops 4-15 s.
SCENARIO = {"agents": {"talk_time": {"dist": "lognormal", "mean": 25, "sd": 10, "min": 5}}}


def shipped_queue(name: str) -> QueueConfig:
    """The campaign's queue as config/asterisk/queues-dialer.conf ships it (``wrapuptime = 2``);
    the demo scenario configures only ``demo``, and a queue it creates on the first QueueAdd
    would have none."""
    return QueueConfig(name, strategy="rrmemory", timeout=15, wrapuptime=2, ringinuse=False)


#: The fault campaign: up to 3 attempts per lead, but no second call due within a run (at 10x a
#: run is under 15 min scaled): whatever the outcome, the next call is 6 h or more away (the
#: default rules' re-call gaps, 72 h after an abandoned or unknown call, next day after a
#: connected call or a machine; callbacks booked 2 h ahead or more).  So a lead called twice in
#: a run is a re-dial the daemon should not have made (e.g. after a restart), not a retry.
MAX_ATTEMPTS = 3
NOT_IN_THIS_RUN = """
[[rules]]
name = "fault:not-in-this-run"
when = { outcome = ["BUSY", "CONGESTION", "FAILED", "NO_ANSWER"] }
action = "retry"
after = "6h"
"""


def fault_campaign(tmp_path: Path, max_attempts: int = MAX_ATTEMPTS) -> Path:
    path = tmp_path / "e2e.toml"
    text = E2E_CAMPAIGN.replace("MODE", "predictive")
    assert "max_attempts = 1" in text
    path.write_text(text.replace("max_attempts = 1", f"max_attempts = {max_attempts}") + NOT_IN_THIS_RUN)
    return path


def prepare(url: str, tmp_path: Path, *, leads_n: int, sites: dict[str, int], seed: int = 11,
            max_attempts: int = MAX_ATTEMPTS) -> CampaignDefinition:
    """The campaign (:func:`fault_campaign`), its leads, and ``sites``' agents (node -> count)."""
    definition = load_definition(fault_campaign(tmp_path, max_attempts))
    assert definition.limits.max_attempts == max_attempts
    engine = open_engine(url)
    cid = apply_definition(engine, definition).campaign_id
    path = tmp_path / "leads.csv"
    write_leads(path, leads_n, random.Random(seed), E2E_START, 60, definition.window)
    import_file(engine, path, ImportOptions(list_name="e2e", campaign_id=cid))
    apply_definition(engine, definition)
    campaign_store.set_status(engine, definition.name, "active")
    with engine.begin() as conn:
        conn.execute(insert(agents_t), [
            {"name": f"{node}-a{i:02d}", "interface": f"Local/{9001 + 100 * k + i}@sim-agents",
             "token_hash": token_hash(f"{node}{i}"), "state": "logged_out"}
            for k, (node, n) in enumerate(sites.items()) for i in range(n)
        ])
    engine.dispose()
    return definition


@dataclass
class Site:
    """One node: its simulated PBX and, while it runs, its daemon."""

    node: str
    url: str
    data_dir: Path
    definition: CampaignDefinition
    clock: ScaledClock
    sim: Simulator
    server: Any
    agents_n: int
    daemon: Server | None = None
    task: asyncio.Task | None = None
    desk: SimulatedAgents | None = None
    synced: list[float] = field(default_factory=list)  # scaled s from start to the PBX's state known
    paced: list[float] = field(default_factory=list)  # scaled s from start to the first pacing decision
    resumed: list[float] = field(default_factory=list)  # scaled s from the first call wanted to it placed
    crashes: int = 0

    @property
    def engine(self) -> Any:
        assert self.daemon is not None and self.daemon.engine is not None
        return self.daemon.engine

    @property
    def names(self) -> list[str]:
        return [f"{self.node}-a{i:02d}" for i in range(self.agents_n)]

    def settings(self) -> Settings:
        settings = Settings(data_dir=self.data_dir)
        settings.database.url = self.url
        settings.ami.port = self.server.port
        settings.ami.ping_interval = 5.0
        return settings

    async def start(self, *, login: bool = False) -> None:
        """Start the daemon and wait until it dials again; records how long (scaled seconds)
        until the PBX's state was known (:attr:`synced`), until the first pacing decision on it
        (:attr:`paced`), and from the first call the governor wanted to it placed
        (:attr:`resumed`).  Until the governor wants a call, the daemon is not stalled: calls
        adopted still ringing cover the agents free (the same decision as without a restart)."""
        self.daemon = Server(self.settings(), clock=self.clock, node=self.node, http=False, drain_timeout=60)
        self.task = asyncio.create_task(self.daemon.serve())
        started = asyncio.create_task(self.daemon.started.wait())
        await asyncio.wait({self.task, started}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            self.task.result()
        if not started.done():
            started.cancel()
            pytest.fail(f"{self.node}: the daemon did not start within 60 s")
        t0 = self.clock.now()
        decisions = self._watch_decisions()
        self.desk = SimulatedAgents(self.engine, self.definition, random.Random(len(self.resumed)))
        if login:
            for name in self.names:
                await self.engine.agent_login(name, self.definition.name)
        await self._until_dialling(t0, decisions)

    def _watch_decisions(self) -> dict[str, Any]:
        """The scaled times of the first pacing decision and of the first one wanting a call."""
        session, seen = self.engine.session, {}
        plan_claim = session.plan_claim

        def watched(campaign_id: int, now: float) -> Any:
            plan = plan_claim(campaign_id, now)
            if session.synced and session.link_up and campaign_id in session.campaigns:
                seen.setdefault("paced", self.clock.now())
                if plan is not None and plan.n > 0:
                    seen.setdefault("wanted", self.clock.now())
            return plan

        session.plan_claim = watched
        return seen

    async def _until_dialling(self, t0: Any, decisions: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        synced = None
        while self.engine.counters["placed"] == 0:
            now = self.clock.now()
            session = self.engine.session
            if synced is None and session.synced and session.link_up:
                synced = now
            campaigns = self.engine.status()["campaigns"] if synced is not None else []
            if any(c["idle_reason"].startswith("idle: no callable leads") for c in campaigns):
                break  # nothing left to dial: dialling is as resumed as it can be
            if loop.time() > deadline:
                pytest.fail(f"{self.node} did not dial again: {self.engine.status()}")
            await asyncio.sleep(0.005)
        placed = self.clock.now()
        self.synced.append(((synced or placed) - t0).total_seconds())
        self.paced.append((decisions.get("paced", placed) - t0).total_seconds())
        self.resumed.append((placed - decisions.get("wanted", placed)).total_seconds())

    async def crash(self) -> None:
        """kill -9 as seen from the database and the PBX: every task of the daemon cancelled at
        once (pacing, writer with its queued writes, Originates, the agents' desktops), then
        its AMI connection closed; nothing of it runs on."""
        assert self.task is not None
        await kill_daemon(self.engine, self.task, self.desk._tasks if self.desk else ())
        self.crashes += 1

    async def stop(self) -> None:
        if self.daemon is not None and self.task is not None and not self.task.done():
            self.daemon.request_stop()
            await self.task
        if self.desk is not None:
            await self.desk.drain()


async def open_site(node: str, url: str, tmp_path: Path, definition: CampaignDefinition, agents_n: int, *,
                    speed: float, seed: int = 11) -> Site:
    scenario = replace(demo_scenario(seed, speed, SCENARIO), queues=(shipped_queue(definition.dial.queue),))
    sim = Simulator(scenario, speed=speed, seed=seed)
    server = await start_server(sim, "127.0.0.1", 0)
    data_dir = tmp_path / node
    data_dir.mkdir(parents=True, exist_ok=True)
    return Site(node, url, data_dir, definition, ScaledClock(speed, start=E2E_START), sim, server, agents_n)


async def finish(sites: list[Site], timeout: float = 180.0) -> None:
    """Dial until no lead is left to call in this run (none new or dialling, none due) and
    nothing is in flight, then stop every daemon."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    engine = open_engine(sites[0].url)
    try:
        while True:
            with engine.connect() as conn:
                due = leads.c.status.in_(("retry", "callback")) & (leads.c.next_call_at <= sites[0].clock.now())
                left = conn.execute(select(leads.c.id).where(leads.c.status.in_(("new", "dialing")) | due)).all()
            owed = sum(len(s.engine.session.owed_since) + len(s.engine.live) for s in sites)
            if not left and not owed:
                break
            if loop.time() > deadline:
                with engine.connect() as conn:
                    stuck = conn.execute(select(leads.c.id, leads.c.status, leads.c.next_call_at).where(
                        leads.c.id.in_([r.id for r in left]))).all()
                    rows = conn.execute(select(calls).where(calls.c.lead_id.in_([r.id for r in left]))).all()
                pytest.fail(f"campaign did not finish: {stuck} {rows}, {owed} calls live or owed")
            await asyncio.sleep(0.2)
    finally:
        engine.dispose()
    for site in sites:
        await site.stop()
        await site.server.close()


@dataclass
class Outcome:
    """What the database and the simulators' truth say after a run."""

    dialled_twice: int
    reached_agent_failed: int  # reached an agent (the simulator says), recorded as neither CONNECTED nor UNKNOWN
    reached_agent_unknown: int  # ... recorded UNKNOWN: connected and ended while no daemon ran
    open_rows: int
    leads_dialing: int
    abandoned_counted: int
    abandoned_truth: int
    unknown: int
    calls: int
    failed_detail: list = field(default_factory=list)


def outcome(url: str, sims: list[Simulator]) -> Outcome:
    engine = open_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(calls)).all()
        dialing = conn.execute(select(leads.c.id).where(leads.c.status == "dialing")).all()
    engine.dispose()
    truth = {k: v for sim in sims for k, v in sim.truth.items()}
    per_lead = Counter(r.lead_id for r in rows)
    reached = [r for r in rows if (t := truth.get(r.channel_id)) is not None and t.connected]
    return Outcome(
        dialled_twice=sum(1 for n in per_lead.values() if n > 1),
        reached_agent_failed=sum(1 for r in reached if r.outcome not in ("CONNECTED", "UNKNOWN")),
        reached_agent_unknown=sum(1 for r in reached if r.outcome == "UNKNOWN"),
        open_rows=sum(1 for r in rows if r.status != "ended"),
        leads_dialing=len(dialing),
        abandoned_counted=sum(1 for r in rows if r.outcome == "ABANDONED"),
        abandoned_truth=sum(1 for t in truth.values() if t.dropped or t.caller_abandoned),
        unknown=sum(1 for r in rows if r.outcome == "UNKNOWN"),
        calls=len(rows),
        failed_detail=[(r.id, r.outcome, r.detail, r.agent, r.connected_at, truth[r.channel_id])
                       for r in reached if r.outcome not in ("CONNECTED", "UNKNOWN")],
    )
