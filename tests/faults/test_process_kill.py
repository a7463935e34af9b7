"""A real ``kill -9``: ``dialer run`` as its own process, SIGKILLed while calls are in flight and
started again, three times, against the simulator in scaled time; agents log in and dispose
through the CLI (the daemon's HTTP API).  What the in-process kills (test_restarts) show must
hold for the real process too: nothing dialled twice, nothing that reached an agent recorded as
failed, no row left open, no lead left dialling."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from sqlalchemy import func, select

from dialer.claim import calls
from dialer.db import open_engine
from tests.e2e.conftest import until
from tests.faults.harness import open_site, outcome, prepare
from tests.faults.process import SPEED, dispose_all, free_port, login_all, start_run

AGENTS = 6
KILLS = 3


class Daemon:
    """``dialer run`` in a child process, its output in ``log``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.proc = env, log, None

    async def start(self) -> None:
        self.proc = await start_run(self.env, self.log)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        assert await self.proc.wait() == -signal.SIGKILL

    async def term(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 120)


async def test_sigkill_dialer_run_and_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'dialer.db'}"
    (tmp_path / "data").mkdir()
    definition = prepare(url, tmp_path, leads_n=120, sites={"n1": AGENTS})
    site = await open_site("n1", url, tmp_path, definition, AGENTS, speed=SPEED)
    env = {"DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_AMI_PORT": str(site.server.port),
           "DIALER_HTTP_PORT": str(free_port()), "DIALER_AMI_SECRET": "dialer", "DIALER_LOG_FORMAT": "json"}
    daemon = Daemon(env, tmp_path / "daemon.log")
    db = open_engine(url)

    def rows(*where) -> int:
        with db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(calls).where(*where)).scalar_one())

    stop = asyncio.Event()
    desk = None
    try:
        await daemon.start()
        await login_all(env, site.names, definition.name, daemon.log)
        desk = asyncio.create_task(dispose_all(env, stop))
        for k in range(KILLS):
            placed = rows()
            await until(lambda p=placed: rows() >= p + 8 and rows(calls.c.status != "ended") >= 2, 90,
                        f"calls in flight before kill {k + 1}")
            await daemon.kill()
            in_flight, placed = rows(calls.c.status != "ended"), rows()
            assert in_flight >= 2  # killed with calls in flight, left open by the dead process
            await daemon.start()
            await until(lambda p=placed: rows() > p, 90, f"dialling after restart {k + 1}")
        await until(lambda: rows() >= 100, 180, "the campaign dialled on")
        assert await daemon.term() == 0
    finally:
        stop.set()
        if desk is not None:
            await desk
        if daemon.proc is not None and daemon.proc.returncode is None:
            daemon.proc.kill()
        db.dispose()
        await site.server.close()
    got = outcome(url, [site.sim])
    print(f"\n{KILLS} SIGKILLs of dialer run: {got}")
    assert got.dialled_twice == 0
    assert got.reached_agent_failed == 0 and got.reached_agent_unknown == 0, got.failed_detail
    assert got.open_rows == 0 and got.leads_dialing == 0
