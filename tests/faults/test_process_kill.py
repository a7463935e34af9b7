"""A real ``kill -9``: ``dialer run`` as its own process, SIGKILLed while calls are in flight and
started again, three times, against the simulator in scaled time; agents log in and dispose
through the CLI (the daemon's HTTP API).  What the in-process kills (test_restarts) show must
hold for the real process too: nothing dialled twice, nothing that reached an agent recorded as
failed, no row left open, no lead left dialling."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from dialer.claim import calls
from dialer.cli import main
from dialer.db import open_engine
from tests.e2e.conftest import until
from tests.faults.harness import open_site, outcome, prepare

SPEED = 10.0
AGENTS = 6
KILLS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)
    return result.exit_code, result.stdout  # (the logs go to stderr)


class Daemon:
    """``dialer run`` in a child process, its output in ``log``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.proc = env, log, None

    async def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "dialer.cli", "run", "--node", "n1", "--speed", str(SPEED),
                "--drain-timeout", "120", env={**os.environ, **self.env}, stdout=out, stderr=out)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        assert await self.proc.wait() == -signal.SIGKILL

    async def term(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 120)


async def _dispose_all(env: dict[str, str], stop: asyncio.Event) -> None:
    """The agents' desktops: every call awaiting a disposition is disposed (while a daemon
    answers; a refused or failed request is tried again on the next round)."""
    while not stop.is_set():
        code, out = await _cli(env, "calls", "ls", "--undisposed", "--json")
        for row in json.loads(out) if code == 0 else []:
            await _cli(env, "calls", "dispose", str(row["id"]), "--code", "REFUSED", "--reason", "PRICE")
        await asyncio.sleep(0.1)  # a poll interval, not a wait for an outcome


async def test_sigkill_dialer_run_and_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'dialer.db'}"
    (tmp_path / "data").mkdir()
    definition = prepare(url, tmp_path, leads_n=120, sites={"n1": AGENTS})
    site = await open_site("n1", url, tmp_path, definition, AGENTS, speed=SPEED)
    env = {"DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_AMI_PORT": str(site.server.port),
           "DIALER_HTTP_PORT": str(_free_port()), "DIALER_AMI_SECRET": "dialer", "DIALER_LOG_FORMAT": "json"}
    daemon = Daemon(env, tmp_path / "daemon.log")
    db = open_engine(url)

    def rows(*where) -> int:
        with db.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(calls).where(*where)).scalar_one())

    stop = asyncio.Event()
    desk = None
    try:
        await daemon.start()
        for name in site.names:  # the API answers once the daemon is up
            for _ in range(300):
                if (await _cli(env, "agents", "login", name, "--campaign", definition.name))[0] == 0:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(daemon.log.read_text())
        desk = asyncio.create_task(_dispose_all(env, stop))
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
