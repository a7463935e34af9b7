"""The issue's own symptom: after a kill -9 and a restart, logging in again an agent the PBX
still has in the queue failed with ``AMI QueueAdd failed: Unable to add interface: Already
there``.  Now: the restarted daemon adopts the members, the re-login is answered 200 (the PBX's
"Already there" taken as done), the agent is ready and calls reach it."""

from __future__ import annotations

from pathlib import Path

import httpx

from dialer.api import create_app
from dialer.pbx import MemberExists
from dialer.tracking.agents import AgentState
from dialer.vocabulary import WRAPUP_PAUSE
from tests.e2e.conftest import until
from tests.faults.harness import open_site, outcome, prepare

SPEED = 10.0
AGENTS = 4


async def test_relogin_of_an_agent_still_in_the_queue_after_a_restart(tmp_path: Path, sqlite_url: str) -> None:
    definition = prepare(sqlite_url, tmp_path, leads_n=120, sites={"n1": AGENTS})
    site = await open_site("n1", sqlite_url, tmp_path, definition, AGENTS, speed=SPEED)
    await site.start(login=True)
    assert site.sim.pbx.queues[definition.dial.queue].config.wrapuptime == 2  # as shipped
    try:
        await until(lambda: site.engine.counters["placed"] >= 8 and site.engine.live, 60, "calls in flight")
        await site.crash()
        await site.start()
        members = {m.name: m for m in site.sim.members(definition.name)}
        assert sorted(members) == site.names  # the PBX kept them through the daemon's death
        taken = {name: m.calls_taken for name, m in members.items()}
        exists: list[str] = []
        link, queue_add = site.engine.link, site.engine.link.queue_add

        async def spied(queue, interface, member_name, *a, **k):
            try:
                await queue_add(queue, interface, member_name, *a, **k)
            except MemberExists:
                exists.append(member_name)
                raise

        link.queue_add = spied
        app = create_app(site.engine, "admin-token")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     headers={"Authorization": "Bearer admin-token"}) as client:
            for name in site.names:
                r = await client.post(f"/api/agents/{name}/login", json={"campaign": definition.name})
                assert r.status_code == 200, r.text
        assert sorted(exists) == site.names  # each was "Already there": taken as done
        for name in site.names:
            agent = site.engine.agent_by_name(name)
            snap = site.engine.session.agent_tracker.get(agent.interface)
            assert agent.campaign.name == definition.name and snap.state is not AgentState.LOGGED_OUT
            # ready, on a call, or paused only while it owes a disposition (wrap-up)
            assert snap.state is not AgentState.PAUSED or snap.pause_code == WRAPUP_PAUSE, (name, snap)
        # Calls reach every agent logged in again.
        await until(lambda: all(m.calls_taken > taken[m.name] for m in site.sim.members(definition.name)), 60,
                    "a call for every agent logged in again")
    finally:
        await site.stop()
        await site.server.close()
    got = outcome(sqlite_url, [site.sim])
    assert got.dialled_twice == 0 and got.reached_agent_failed == 0 and got.open_rows == 0, got
