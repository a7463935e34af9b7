"""`dialer run` as a real process against the simulator: agents log in through the CLI and the
HTTP API, it dials, and SIGTERM stops it gracefully — exit 0, every call recorded."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from campaigns.definition import load_definition
from dialer.claim import calls
from dialer.cli import main
from dialer.db import open_engine
from dialer.demo import demo_scenario, write_leads
from dialer.sim import Simulator, start_server
from tests.e2e.conftest import E2E_START, until, write_campaign

SPEED = 40.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def _cli(env: dict, *args: str) -> str:
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


async def test_run_agents_and_sigterm(tmp_path: Path) -> None:
    import random

    sim = Simulator(demo_scenario(3, SPEED, {}), speed=SPEED, seed=3)
    server = await start_server(sim, "127.0.0.1", 0)
    http_port = _free_port()
    env = {"DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_AMI_PORT": str(server.port),
           "DIALER_HTTP_PORT": str(http_port), "DIALER_AMI_SECRET": "dialer", "DIALER_LOG_FORMAT": "json"}
    leads = tmp_path / "leads.csv"
    campaign = write_campaign(tmp_path, "progressive")
    write_leads(leads, 80, random.Random(1), E2E_START, 60, load_definition(campaign).window)
    await _cli(env, "campaigns", "apply", str(campaign))
    await _cli(env, "lists", "import", str(leads), "--list", "e2e", "--campaign", "e2e", "--json")
    await _cli(env, "campaigns", "start", "e2e")
    out = await _cli(env, "agents", "add", "ann", "--interface", "Local/9001@sim-agents")
    assert "API token" in out

    log = open(tmp_path / "daemon.log", "wb")  # noqa: SIM115
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer.cli", "run", "--node", "t1", "--speed", str(SPEED), "--drain-timeout", "60",
        env={**os.environ, **env}, stdout=log, stderr=log,
    )
    try:
        for _ in range(200):  # the API answers once the daemon is up
            try:
                await _cli(env, "agents", "login", "ann", "--campaign", "e2e")
                break
            except AssertionError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError((tmp_path / "daemon.log").read_text())
        await until(lambda: sim.stats.connected >= 1, what="a connected call")
        # The agent is in wrap-up until the call is disposed: dispose it through the CLI.
        for _ in range(300):
            rows = json.loads(await _cli(env, "calls", "ls", "--undisposed", "--json"))
            if rows:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("no undisposed call appeared")
        out = await _cli(env, "calls", "dispose", str(rows[0]["id"]), "--code", "REFUSED", "--reason", "PRICE")
        assert "REFUSED recorded" in out
        # ... which makes the agent ready for the next call.
        await until(lambda: sim.stats.connected >= 2, what="a second connected call")
        out = await _cli(env, "agents", "ls", "--json")
        assert '"campaign": "e2e"' in out
        # Operations over real HTTP: the probes and the metrics; SIGHUP (systemd's ExecReload)
        # reloads and the daemon keeps running.
        base = f"http://127.0.0.1:{http_port}"
        assert await asyncio.to_thread(_get, f"{base}/healthz") == (200, '{"status":"ok"}')
        status, ready = await asyncio.to_thread(_get, f"{base}/readyz")
        assert status == 200 and '"ready":true' in ready
        status, metrics = await asyncio.to_thread(_get, f"{base}/metrics")
        assert status == 200 and 'dialer_calls_connected_total{campaign="e2e",node="t1"}' in metrics
        proc.send_signal(signal.SIGHUP)
        await until(lambda: '"msg": "reloaded"' in (tmp_path / "daemon.log").read_text(), what="the reload")
        assert proc.returncode is None
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
        log.close()
        await server.close()
    text = (tmp_path / "daemon.log").read_text()
    assert "shutdown requested" in text and '"msg": "stopped"' in text
    assert "dialer" not in text.split('"secret"')[-1][:40]  # no secret near a "secret" key
    engine = open_engine(f"sqlite:///{tmp_path / 'data' / 'dialer.db'}")
    with engine.connect() as conn:
        rows = conn.execute(select(calls.c.status, calls.c.outcome)).all()
    engine.dispose()
    assert rows and all(r.status == "ended" and r.outcome for r in rows)


async def test_run_with_the_pbx_down_at_start_retries_until_it_is_up(tmp_path: Path) -> None:
    """Issue 16: ``dialer run`` started while nothing listens on the AMI port does not exit: it
    logs each failed attempt (never the secret) and retries with backoff; once the PBX listens
    it logs in and dials."""
    import random

    ami_port, http_port = _free_port(), _free_port()
    env = {"DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_AMI_PORT": str(ami_port),
           "DIALER_HTTP_PORT": str(http_port), "DIALER_AMI_SECRET": "dialer-S3cret", "DIALER_LOG_FORMAT": "json",
           "DIALER_AMI_RECONNECT_MAX_DELAY": "1"}
    leads = tmp_path / "leads.csv"
    campaign = write_campaign(tmp_path, "progressive")
    write_leads(leads, 20, random.Random(1), E2E_START, 60, load_definition(campaign).window)
    await _cli(env, "campaigns", "apply", str(campaign))
    await _cli(env, "lists", "import", str(leads), "--list", "e2e", "--campaign", "e2e", "--json")
    await _cli(env, "campaigns", "start", "e2e")
    await _cli(env, "agents", "add", "ann", "--interface", "Local/9001@sim-agents")
    log_path = tmp_path / "daemon.log"
    log = open(log_path, "wb")  # noqa: SIM115
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer.cli", "run", "--node", "t1", "--speed", str(SPEED), "--drain-timeout", "5",
        env={**os.environ, **env}, stdout=log, stderr=log,
    )
    server = None
    try:
        await until(lambda: log_path.read_text().count("PBX not reachable") >= 2, timeout=30,
                    what="two failed attempts logged")
        assert proc.returncode is None  # still running
        sim = Simulator(demo_scenario(3, SPEED, {}), speed=SPEED, seed=3, secret="dialer-S3cret")
        server = await start_server(sim, "127.0.0.1", ami_port)
        for _ in range(200):  # the API answers once the daemon is up
            try:
                await _cli(env, "agents", "login", "ann", "--campaign", "e2e")
                break
            except AssertionError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError(log_path.read_text())
        await until(lambda: sim.stats.placed >= 1, what="a call placed")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
        log.close()
        if server is not None:
            await server.close()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    retries = [r for r in lines if r.get("msg") == "PBX not reachable; retrying"]
    assert retries, lines
    assert all(f"cannot connect to AMI at 127.0.0.1:{ami_port}" in r["error"] and r["retry_in"] > 0
               for r in retries), retries
    assert [r["attempt"] for r in retries[:2]] == [1, 2]
    assert any(r.get("msg") == "dialer running" for r in lines)
    assert "dialer-S3cret" not in log_path.read_text()


async def test_stop_while_waiting_for_the_pbx_exits_cleanly(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM (``request_stop``) while the PBX has not answered yet: no engine was started,
    the daemon returns at once."""
    import logging

    from dialer.server import Server
    from dialer.settings import Settings

    settings = Settings(data_dir=tmp_path / "data")
    settings.ami.port = _free_port()
    server = Server(settings, http=False)
    caplog.set_level(logging.INFO)
    task = asyncio.create_task(server.serve())
    await until(lambda: any("PBX not reachable" in r.getMessage() for r in caplog.records), 10, "a retry")
    server.request_stop()
    await asyncio.wait_for(task, 5)
    assert server.engine is None and not server.started.is_set()
    assert any("shutdown requested before the PBX could be reached" in r.getMessage() for r in caplog.records)
