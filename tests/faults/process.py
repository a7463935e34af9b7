"""``dialer run`` as its own process beside the simulator, for the tests that SIGKILL it; the
agents' desktops as CLI calls against its HTTP API."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import Iterable
from pathlib import Path

from click.testing import CliRunner

from dialer.cli import main

SPEED = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    """``dialer ARGS`` with ``env``: its exit code and standard output (the logs go to stderr)."""
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)
    return result.exit_code, result.stdout


async def start_run(env: dict[str, str], log: Path, *, drain_timeout: float = 120.0) -> asyncio.subprocess.Process:
    """``dialer run --node n1`` at :data:`SPEED`, its output appended to ``log``."""
    with open(log, "ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dialer.cli", "run", "--node", "n1", "--speed", str(SPEED),
            "--drain-timeout", str(drain_timeout), env={**os.environ, **env}, stdout=out, stderr=out)


async def login_all(env: dict[str, str], names: Iterable[str], campaign: str, log: Path) -> None:
    """Log each agent in through the daemon's API, once it answers (its log if it never does)."""
    for name in names:
        for _ in range(300):
            if (await cli(env, "agents", "login", name, "--campaign", campaign))[0] == 0:
                break
            await asyncio.sleep(0.05)  # a poll interval while the daemon starts
        else:
            raise AssertionError(log.read_text())


async def dispose_all(env: dict[str, str], stop: asyncio.Event) -> None:
    """The agents' desktops: every call awaiting a disposition is disposed (while a daemon
    answers; a refused or failed request is tried again on the next round)."""
    while not stop.is_set():
        code, out = await cli(env, "calls", "ls", "--undisposed", "--json")
        for row in json.loads(out) if code == 0 else []:
            await cli(env, "calls", "dispose", str(row["id"]), "--code", "REFUSED", "--reason", "PRICE")
        await asyncio.sleep(0.1)  # a poll interval, not a wait for an outcome
