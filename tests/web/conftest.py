"""Browser tests: the daemon (engine, AMI client, the built-in simulator in scaled time) serving
the desktop and the wallboard, driven by the system's Chromium through Playwright.

Chromium is Debian's ``chromium`` package (``apt-get install -y chromium``); Playwright's own
browser download is never used.  Without it the tests fail with that instruction (not a skip).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from dialer.demo import DemoOptions, DemoRun, start_demo
from dialer.models import agent_campaigns, agents
from dialer.web.passwords import hash_password
from tests.api.conftest import api, settings  # noqa: F401  (the API fixture, for tests without a browser)
from tests.e2e.conftest import DISPOSITIONS, E2E_START

INSTALL = ("the browser tests need Debian's chromium: run `apt-get install -y chromium` as root "
           "(or set DIALER_CHROMIUM to a Chromium binary); never `playwright install`")

CAMPAIGN = """
name = "web"
script = "Hello {first_name}, about your {current_plan} plan."
pause_codes = ["BREAK", "LUNCH", "Team meeting"]

[[lists]]
name = "web"

[dial]
mode = "progressive"
trunk = "Local/{number}@sim-customers"
queue = "web"
ring_timeout = 15

[window]
hours = "08:00-21:00"

""" + DISPOSITIONS + """

[[dispositions]]
code = "DNC"
label = "Do not call"
flags = ["contact", "dnc", "final"]

[[refusal_reasons]]
code = "PRICE"
label = "too expensive"

[[refusal_reasons]]
code = "HAS_PROVIDER"
label = "already has a provider"

[[order_form]]
name = "plan"
label = "Plan"
type = "choice"
required = true
choices = ["Basic", "Plus"]
"""

#: A lead field that would run script if the page wrote it as HTML.
HOSTILE = '<img src=x onerror="window.pwned=1">Mary'
PASSWORD = "wendy-secret-1"


def chromium_path() -> str:
    path = os.environ.get("DIALER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path or not Path(path).exists():
        pytest.fail(INSTALL, pytrace=False)
    return path


@dataclass
class Daemon:
    run: DemoRun
    url: str
    port: int = 0
    server: Any = None
    task: asyncio.Task | None = None

    async def start_http(self) -> None:
        """Serve the desktop and the wallboard on :attr:`port` (a new app: a fresh event hub)."""
        import uvicorn

        from dialer.api import create_app

        app = create_app(self.run.engine, "admin-token", settings=self.run.settings)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            assert not self.task.done(), "the HTTP server did not start"
            await asyncio.sleep(0.01)

    async def stop_http(self, *, drop: bool = False) -> None:
        """Stop serving; with ``drop``, cut the open connections (the event streams) at once, as a
        daemon that stops does."""
        assert self.server is not None and self.task is not None
        if drop:
            for connection in list(self.server.server_state.connections):
                connection.transport.close()
            self.server.force_exit = True
        self.server.should_exit = True
        await self.task


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(run: DemoRun) -> None:
    """A desktop agent (wendy) assigned to the campaign, a supervisor (sam), hostile lead names."""
    from dialer.db import open_engine
    from lists.models import leads

    db = open_engine(run.settings.database_url)
    with db.begin() as conn:
        from campaigns.models import campaigns

        cid = conn.execute(select(campaigns.c.id).where(campaigns.c.name == "web")).scalar_one()
        conn.execute(insert(agents), [
            {"name": "wendy", "interface": "Local/9101@sim-agents", "token_hash": "-", "state": "logged_out",
             "password_hash": hash_password(PASSWORD), "role": "agent"},
            {"name": "sam", "interface": "Local/9199@sim-agents", "token_hash": "-", "state": "logged_out",
             "password_hash": hash_password(PASSWORD), "role": "supervisor"},
        ])
        wendy = conn.execute(select(agents.c.id).where(agents.c.name == "wendy")).scalar_one()
        conn.execute(insert(agent_campaigns).values(agent_id=wendy, campaign_id=cid))
        conn.execute(update(leads).values(first_name=HOSTILE))
    db.dispose()


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    chromium_path()
    campaign = tmp_path / "web.toml"
    campaign.write_text(CAMPAIGN)
    opts = DemoOptions(
        minutes=60, speed=10.0, agents=1, leads=30, seed=5, data_dir=tmp_path / "data", start=E2E_START,
        campaign_file=campaign,
        scenario_overrides={
            "called": {"human": 1.0, "machine": 0.0, "busy": 0.0, "congestion": 0.0, "invalid": 0.0,
                       "no_answer": 0.0, "ring_time": 2.0, "talk_time": 40.0},
            "agents": {"answer_delay": 0.3, "talk_time": 40.0},
        },
    )
    run = await start_demo(opts)
    # The demo's one simulated agent leaves: the desktop's agent takes every call, and disposes it.
    run.engine.listeners.remove(run.agents._on_event)
    await run.engine.agent_logout("agent01")
    async with run.engine._db_lock:  # beside the running daemon: its writes wait (one SQLite writer)
        await asyncio.to_thread(_prepare, run)
    port = _free_port()
    daemon = Daemon(run, f"http://127.0.0.1:{port}", port)
    await daemon.start_http()
    try:
        yield daemon
    finally:
        await daemon.stop_http()
        await run.stop()


@pytest.fixture
async def browser(daemon: Daemon) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            await b.close()
