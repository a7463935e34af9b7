from __future__ import annotations

import pytest

from dialer.sim import ManualClock, Simulator, capture_scenario, start_server
from tests.sim.amiclient import RawClient


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    return Simulator(capture_scenario(), clock=clock, epoch=1_795_374_000.0)


@pytest.fixture
async def server(sim: Simulator):
    srv = await start_server(sim, "127.0.0.1", 0)
    yield srv
    await srv.close()


@pytest.fixture
async def client(server):
    c = await RawClient.connect(server.port)
    resp = await c.login()
    assert resp["Response"] == "Success"
    yield c
    await c.close()
