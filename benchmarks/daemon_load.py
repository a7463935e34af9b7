"""One daemon against the simulator: 50 agents and about 500 concurrent calls.

The simulator runs in its own process (``dialer sim``), the daemon (engine, AMI client, database
writer, simulated agent desktops) in this one, so that the daemon's CPU share is its own. The
campaign dials in ``ratio`` mode with a high ratio and a no-answer-heavy called-party model, so
that most lines ring for the whole ring timeout and the line count stays near ``max_lines``.

Reported: concurrent calls (mean and peak over the measured window), originations per second,
AMI events per second reaching the engine, the daemon's CPU share (process CPU time / wall
time) and event-loop lag (a 50 ms timer's lateness: p50, p99, max).

    .venv/bin/python benchmarks/daemon_load.py [--seconds 60] [--lines 600] [--agents 50] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CAMPAIGN = """
name = "load"
[[lists]]
name = "load"
[dial]
mode = "ratio"
ratio = {ratio}
trunk = "Local/{{number}}@sim-customers"
queue = "load"
ring_timeout = 45
max_lines = {lines}
amd = true
[window]
hours = "00:00-24:00"
[limits]
max_attempts = 1
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scenario(path: Path, speed: float) -> None:
    text = resources.files("dialer.sim").joinpath("scenarios/default.toml").read_text("utf-8")
    data = tomllib.loads(text)
    lines = [f"[sim]\nseed = 5\nspeed = {speed}\nusername = \"dialer\"\nsecret = \"dialer\"\n"]
    lines.append("[called]\nhuman = 0.03\nmachine = 0.08\nbusy = 0.03\ncongestion = 0.01\n"
                 "invalid = 0.01\nno_answer = 0.84\n")
    lines.append("[agents]\nanswer_delay = 0.3\ntalk_time = { dist = \"lognormal\", mean = 40, sd = 20, min = 5 }\n")
    lines.append('[[queues]]\nname = "load"\nstrategy = "rrmemory"\ntimeout = 15\nwrapuptime = 0\n')
    del data
    path.write_text("\n".join(lines))


async def _measure(args: argparse.Namespace) -> dict:
    from dialer.demo import DemoOptions, SimulatedAgents, write_leads  # noqa: F401
    from dialer.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="dialer-load-"))
    port = _free_port()
    scenario = tmp / "scenario.toml"
    _scenario(scenario, args.speed)
    sim = subprocess.Popen(
        [sys.executable, "-m", "dialer.cli", "sim", "--scenario", str(scenario), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            await asyncio.sleep(0.1)
        return await _run_daemon(args, tmp, port, Settings)
    finally:
        sim.terminate()
        sim.wait(10)


async def _run_daemon(args, tmp: Path, port: int, Settings) -> dict:
    from sqlalchemy import insert

    from campaigns import store
    from campaigns.definition import loads_definition
    from dialer.api import token_hash
    from dialer.clock import ScaledClock
    from dialer.db import open_engine
    from dialer.demo import SimulatedAgents, write_leads
    from dialer.schema import metadata
    from dialer.server import Server
    from dialer.services.campaigns import apply_definition
    from lists.importer import ImportOptions, import_file

    settings = Settings(data_dir=tmp / "data")
    settings.ami.port = port
    settings.log.level = "WARNING"
    from dialer.logs import setup_logging

    setup_logging(settings.log)
    engine = open_engine(settings.database_url)
    definition = loads_definition(CAMPAIGN.format(ratio=min(20.0, args.lines / args.agents * 1.5), lines=args.lines), "load")
    apply_definition(engine, definition)
    leads = tmp / "leads.csv"
    write_leads(leads, args.leads, random.Random(3), datetime.now(UTC), 60 * 24)
    import_file(engine, leads, ImportOptions(list_name="load", campaign="load"))
    store.set_status(engine, "load", "active")
    names = [f"a{i:03d}" for i in range(args.agents)]
    with engine.begin() as conn:
        conn.execute(insert(metadata.tables["agents"]), [
            {"name": n, "interface": f"Local/{7000 + i}@sim-agents", "token_hash": token_hash(n), "state": "logged_out"}
            for i, n in enumerate(names)])
    engine.dispose()

    clock = ScaledClock(args.speed)
    daemon = Server(settings, clock=clock, node="load", http=False, drain_timeout=5)
    task = asyncio.create_task(daemon.serve())
    await daemon.started.wait()
    eng = daemon.engine
    SimulatedAgents(eng, definition, random.Random(1), wrap_up=(2.0, 6.0))
    for n in names:
        await eng.agent_login(n, "load")

    events = 0
    original = eng.handle_event

    def counting(event):
        nonlocal events
        events += 1
        return original(event)

    eng.handle_event = counting  # type: ignore[method-assign]
    # route_to() looked the method up per event: patch the instance so it counts
    lags: list[float] = []
    lines: list[int] = []

    async def probe() -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.05)
            lags.append(loop.time() - t - 0.05)
            lines.append(len(eng.live))

    warm_until = time.monotonic() + args.warmup
    while time.monotonic() < warm_until:
        await asyncio.sleep(0.2)
    probe_task = asyncio.create_task(probe())
    placed0, events0 = eng.counters["placed"], events
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(args.seconds)
    cpu1, wall1 = time.process_time(), time.monotonic()
    placed1, events1 = eng.counters["placed"], events
    probe_task.cancel()
    daemon.request_stop()
    await task
    lags.sort()
    wall = wall1 - wall0
    return {
        "agents": args.agents,
        "max_lines": args.lines,
        "speed": args.speed,
        "measured_seconds": round(wall, 1),
        "concurrent_calls_mean": round(statistics.fmean(lines), 1),
        "concurrent_calls_peak": max(lines),
        "originations_per_s": round((placed1 - placed0) / wall, 1),
        "ami_events_per_s": round((events1 - events0) / wall, 1),
        "daemon_cpu_share": round((cpu1 - cpu0) / wall, 3),
        "loop_lag_ms": {
            "p50": round(lags[len(lags) // 2] * 1000, 2),
            "p99": round(lags[int(len(lags) * 0.99)] * 1000, 2),
            "max": round(lags[-1] * 1000, 2),
        },
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=120.0, help="measured window (real seconds)")
    p.add_argument("--warmup", type=float, default=30.0, help="real seconds before measuring")
    p.add_argument("--lines", type=int, default=600)
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--leads", type=int, default=20000)
    p.add_argument("--speed", type=float, default=1.0, help="scaled time (1 = real time)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    result = asyncio.run(_measure(args))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:24} {v}")


if __name__ == "__main__":
    main()
