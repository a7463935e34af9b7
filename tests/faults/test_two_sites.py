"""Two daemons (one per PBX) on one PostgreSQL database, each with its own agents; one is killed
and restarted twice: it adopts only its own agents (0 QueueAdd of another site's agent sent to
its PBX, not only none left there at the end) and no lead is dialled twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from dialer.sim import server as sim_server
from tests.e2e.conftest import until
from tests.faults.harness import finish, open_site, outcome, prepare


def count_queue_adds(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Every QueueAdd any simulator is sent, counted by (its PBX, the member's name)."""
    adds: Counter = Counter()
    original = sim_server._HANDLERS["queueadd"]

    def counted(conn, h, v, aid):
        adds[(id(conn.pbx), h.get("membername", h.get("interface", "")))] += 1
        return original(conn, h, v, aid)

    monkeypatch.setitem(sim_server._HANDLERS, "queueadd", counted)
    return adds

SPEED = 10.0
AGENTS = 8


async def test_two_daemons_one_killed(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    adds = count_queue_adds(monkeypatch)
    definition = prepare(postgres_url, tmp_path, leads_n=160, sites={"n1": AGENTS, "n2": AGENTS})
    sites = [await open_site(node, postgres_url, tmp_path, definition, AGENTS, speed=SPEED, seed=11 + k)
             for k, node in enumerate(("n1", "n2"))]
    for site in sites:
        await site.start(login=True)
    a, b = sites
    for _ in range(2):
        placed = b.engine.counters["placed"]
        await until(lambda p=placed: b.engine.counters["placed"] >= p + 10 and b.engine.live, 60, "calls on n2")
        await b.crash()
        await b.start()
    await finish(sites)
    foreign = {site.node: [m.name for m in site.sim.members(definition.name)
                           if not m.name.startswith(site.node + "-")] for site in sites}
    got = outcome(postgres_url, [s.sim for s in sites])
    site_of = {id(s.sim.pbx): s.node for s in sites}
    cross = {(site_of[pbx], name): n for (pbx, name), n in adds.items() if not name.startswith(site_of[pbx] + "-")}
    print(f"\ntwo sites: {got}, foreign members {foreign}, QueueAdds {sum(adds.values())}, cross-site {cross}")
    assert cross == {}  # no QueueAdd of another site's agent was ever sent to a PBX
    assert {name for _, name in adds} == set(sites[0].names + sites[1].names)  # (the count sees them all)
    assert foreign == {"n1": [], "n2": []}
    assert all(m.name.startswith(s.node) for s in sites for m in s.sim.members(definition.name))
    assert got.dialled_twice == 0 and got.reached_agent_failed == 0 and got.open_rows == 0
