"""``dialer demo``: a whole campaign against the built-in PBX simulator, in scaled time.

A fresh SQLite database, a generated lead file imported like any other, the example campaign
``config/campaigns/demo.toml`` in predictive mode, simulated agents who take the calls and
dispose them (random dispositions and refusal reasons from the campaign), the real daemon
(engine, AMI client over TCP, trackers, pacing) — and a live dashboard, then the report.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import random
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from campaigns import store as campaign_store
from campaigns.definition import CampaignDefinition, load_definition
from campaigns.windows import CallingWindow, is_open
from dialer.api import token_hash
from dialer.clock import ScaledClock
from dialer.db import open_engine
from dialer.engine import Engine
from dialer.models import agents as agents_t
from dialer.resources import config_dir, default_data_dir
from dialer.server import Server
from dialer.services.campaigns import apply_definition
from dialer.services.report import build_report
from dialer.settings import Settings
from dialer.sim import Simulator, scenario_from_dict, start_server

log = logging.getLogger("dialer.demo")

DEMO_CAMPAIGN = config_dir() / "campaigns" / "demo.toml"

# (region, number prefix, zone, digits): numbers are the prefix plus random digits, ``digits``
# digits after the "+" in all (each a valid number of its region: a test checks every one).
DEMO_REGIONS = [
    ("US", "+1212555", "America/New_York", 11),
    ("US", "+1312555", "America/Chicago", 11),
    ("US", "+1303555", "America/Denver", 11),
    ("US", "+1213555", "America/Los_Angeles", 11),
    ("GB", "+4420794", "Europe/London", 12),
    ("DE", "+4930901", "Europe/Berlin", 12),
    ("HU", "+3613012", "Europe/Budapest", 10),
    ("IN", "+9111234", "Asia/Calcutta", 12),  # the name phonenumbers gives
    ("JP", "+8133123", "Asia/Tokyo", 11),
    ("AU", "+6129123", "Australia/Sydney", 11),
    ("BR", "+5511312", "America/Sao_Paulo", 12),
]
FIRST = ["Mary", "John", "Anna", "Peter", "Aiko", "Ravi", "Lucas", "Emma", "Noah", "Olga", "Ivan", "Sara"]
LAST = ["Smith", "Kovacs", "Tanaka", "Sharma", "Silva", "Müller", "Brown", "Jones", "Nagy", "Lee"]


@dataclass
class DemoOptions:
    minutes: float = 10.0  # simulated minutes of dialling
    speed: float = 20.0
    agents: int = 8
    leads: int = 1500
    seed: int = 7
    data_dir: Path = field(default_factory=lambda: default_data_dir() / "demo")
    campaign_file: Path = DEMO_CAMPAIGN
    start: datetime | None = None  # the scaled clock's first moment (None: now); tests pin it
    scenario_overrides: dict[str, Any] = field(default_factory=dict)
    http_port: int | None = None  # serve the desktop and the wallboard there (None: no HTTP)
    #: The simulated agents' queue interfaces and device-state interfaces ({n}: 9001, 9002, ...);
    #: Local agent interfaces end in ``/n``, as docs/ami.md asks of a real PBX.
    agent_interface: str = "Local/{n}@sim-agents/n"
    agent_state_interface: str | None = None


#: The demo's desktop accounts: a person may act as agent ``you`` and watch as ``supervisor``.
DEMO_AGENT, DEMO_SUPERVISOR = "you", "supervisor"


@dataclass(frozen=True)
class DemoDesktop:
    """Where the demo serves the pages, and the accounts to sign in with (made for this run)."""

    agent_url: str
    supervisor_url: str
    password: str


def demo_regions(window: CallingWindow, at: datetime, minutes: float) -> list[tuple[str, str, str, int]]:
    """The demo's regions whose calling window is open from ``at`` for ``minutes`` (at every
    hour some are; if none were, all of them: the demo then says nobody can be called)."""
    end = at + timedelta(minutes=minutes)
    regions = [r for r in DEMO_REGIONS
               if is_open(window, [r[2]], at, r[0]) and is_open(window, [r[2]], end, r[0])]
    return regions or list(DEMO_REGIONS)


def write_leads(path: Path, n: int, rng: random.Random, at: datetime, minutes: float,
                window: CallingWindow | None = None) -> list[str]:
    """A lead file with numbers in zones whose calling ``window`` is open for the whole demo;
    every 97th number is cut short (rejected on import, as real lists have a few).  Returns the
    zones used."""
    regions = demo_regions(window or CallingWindow(), at, minutes)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Customer ID", "First Name", "Last Name", "Phone", "Country", "Current Plan"])
        for i in range(n):
            region, prefix, _zone, digits = rng.choice(regions)
            number = prefix + "".join(str(rng.randrange(10)) for _ in range(digits + 1 - len(prefix)))
            if i % 97 == 13:
                number = number[:6]  # a few too short, as real lists have
            out.writerow([f"D-{i + 1:05d}", rng.choice(FIRST), rng.choice(LAST), number, region,
                          rng.choice(["Basic 20", "Home 50", "none"])])
    return sorted({r[2] for r in regions})


class SimulatedAgents:
    """Agent desktops played by the computer: each call is disposed after a wrap-up time."""

    def __init__(self, engine: Engine, definition: CampaignDefinition, rng: random.Random,
                 wrap_up: tuple[float, float] = (4.0, 15.0), humans: frozenset[str] = frozenset()) -> None:
        self.engine = engine
        self.humans = humans  # agents played by a person at the desktop: never disposed here
        self.definition = definition
        self.rng = rng
        self.wrap_up = wrap_up
        self.disposed = 0
        self.errors: list[str] = []
        self._tasks: set[asyncio.Task] = set()
        engine.listeners.append(self._on_event)
        for agent in engine.agents.values():  # calls left undisposed by a previous run
            for call_id in agent.owed:
                self._on_event("disposition_due", {"agent": agent.name, "call_id": call_id})

    def _on_event(self, kind: str, data: dict) -> None:
        if kind == "disposition_due" and data.get("agent") and data["agent"] not in self.humans:
            task = asyncio.get_running_loop().create_task(self._dispose(data["agent"], data["call_id"]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def choose(self, now: datetime) -> dict[str, Any]:
        """A plausible disposition: mostly refusals and no-contacts, some sales and callbacks."""
        weights = {"success": 0.18, "refusal": 0.42, "callback": 0.12, "dnc": 0.05}
        options = list(self.definition.dispositions)
        w = [max((weights.get(f, 0.0) for f in d.flags), default=0.0) or 0.2 for d in options]
        disp = self.rng.choices(options, weights=w)[0]
        out: dict[str, Any] = {"code": disp.code}
        if disp.refusal:
            out["reason"] = self.rng.choice(self.definition.refusal_reasons).code
        if disp.callback:
            out["callback_at"] = now + timedelta(hours=self.rng.choice([2, 4, 20, 26]))
        if disp.success:
            order: dict[str, Any] = {}
            for f in self.definition.order_form:
                if f.type == "choice":
                    order[f.name] = self.rng.choice(f.choices)
                elif f.type == "date":
                    order[f.name] = (now.date() + timedelta(days=self.rng.randint(3, 20))).isoformat()
                elif f.type in ("int", "number"):
                    order[f.name] = self.rng.randint(1, 5)
                elif f.type == "bool":
                    order[f.name] = True
                else:
                    order[f.name] = f"{self.rng.randint(1, 200)} Demo Street"
            out["order_form"] = order
        return out

    async def _dispose(self, agent: str, call_id: int) -> None:
        await self.engine.clock.sleep(self.rng.uniform(*self.wrap_up))
        choice = self.choose(self.engine.clock.now())
        try:
            await self.engine.dispose(call_id, agent_name=agent, **choice)
            self.disposed += 1
        except Exception as exc:  # recorded, shown in the report: a demo must not die of it
            self.errors.append(f"call {call_id}: {exc}")
            log.warning("simulated agent could not dispose", extra={"call": call_id, "error": str(exc)})

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def demo_scenario(seed: int, speed: float, overrides: dict[str, Any]) -> Any:
    text = resources.files("dialer.sim").joinpath("scenarios/default.toml").read_text("utf-8")
    data = tomllib.loads(text)
    data["sim"].update(seed=seed, speed=speed)
    # Agents' softphones answer at once (auto-answer), as on a real predictive floor.
    data["agents"]["answer_delay"] = {"dist": "uniform", "low": 0.2, "high": 0.6}
    data["agents"]["talk_time"] = {"dist": "lognormal", "mean": 75, "sd": 45, "min": 10, "max": 1200}
    data["queues"] = [{"name": "demo", "strategy": "rrmemory", "timeout": 15, "wrapuptime": 0, "ringinuse": False}]
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    return scenario_from_dict(data, "demo")


@dataclass
class DemoRun:
    """Everything a running demo (or an end-to-end test) holds."""

    settings: Settings
    sim: Simulator
    server: Any
    daemon: Server
    engine: Engine
    agents: SimulatedAgents
    definition: CampaignDefinition
    task: asyncio.Task
    import_result: Any
    desktop: DemoDesktop | None = None

    async def stop(self) -> None:
        self.daemon.request_stop()
        await self.task
        await self.agents.drain()
        await self.server.close()


async def start_demo(opts: DemoOptions, *, log_file: Path | None = None) -> DemoRun:
    """Set everything up and start dialling; the caller watches, then ``await run.stop()``."""
    from lists.importer import ImportOptions, import_file

    rng = random.Random(opts.seed)
    data_dir = opts.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    for old in ("dialer.db", "dialer.db-wal", "dialer.db-shm"):
        (data_dir / old).unlink(missing_ok=True)
    settings = Settings(data_dir=data_dir)
    if log_file is not None:
        handler = logging.FileHandler(log_file, encoding="utf-8")
        from dialer.logs import _Formatter

        handler.setFormatter(_Formatter(as_json=True, mask=True))
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)

    clock = ScaledClock(opts.speed, start=opts.start)
    engine = open_engine(settings.database_url)
    definition = load_definition(opts.campaign_file)
    applied = apply_definition(engine, definition)
    leads_file = data_dir / "demo-leads.csv"
    write_leads(leads_file, opts.leads, rng, clock.now(), opts.minutes, definition.window)
    list_name = definition.lists[0].name if definition.lists else definition.name
    result = import_file(engine, leads_file, ImportOptions(list_name=list_name, campaign_id=applied.campaign_id))
    apply_definition(engine, definition)  # attach the list with its priority
    campaign_store.set_status(engine, definition.name, "active")
    names = [f"agent{i + 1:02d}" for i in range(opts.agents)]
    with engine.begin() as conn:
        conn.execute(insert(agents_t), [
            {"name": n, "interface": opts.agent_interface.format(n=9001 + i),
             "state_interface": opts.agent_state_interface.format(n=9001 + i) if opts.agent_state_interface else None,
             "token_hash": token_hash(f"demo-{n}"), "state": "logged_out"} for i, n in enumerate(names)
        ])
        desktop = _desktop_accounts(conn, opts, applied.campaign_id, len(names)) if opts.http_port is not None else None
    engine.dispose()
    del applied

    sim = Simulator(demo_scenario(opts.seed, opts.speed, opts.scenario_overrides), speed=opts.speed, seed=opts.seed)
    server = await start_server(sim, "127.0.0.1", 0)
    settings.ami.port = server.port
    settings.ami.ping_interval = 5.0
    if opts.http_port is not None:
        settings.http.port = opts.http_port
        settings.http.screen_number = "full"  # made-up numbers
    daemon = Server(settings, clock=clock, node="demo", http=opts.http_port is not None, drain_timeout=120.0,
                    pacing_interval=1.0)
    task = asyncio.create_task(daemon.serve())
    started = asyncio.create_task(daemon.started.wait())
    await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        started.cancel()
        await server.close()
        task.result()
    eng = daemon.engine
    assert eng is not None
    agents = SimulatedAgents(eng, definition, random.Random(opts.seed + 1), humans=frozenset({DEMO_AGENT}))
    for n in names:
        await eng.agent_login(n, definition.name)
    return DemoRun(settings, sim, server, daemon, eng, agents, definition, task, result, desktop)


def _desktop_accounts(conn: Any, opts: DemoOptions, campaign_id: int, n: int) -> DemoDesktop:
    """Agent ``you`` (a simulated phone that answers, assigned to the campaign) and a
    ``supervisor``, both with one fresh password printed by ``dialer demo``."""
    import secrets

    from dialer.models import agent_campaigns
    from dialer.web.passwords import hash_password

    password = secrets.token_urlsafe(9)
    hashed = hash_password(password)
    conn.execute(insert(agents_t), [
        {"name": DEMO_AGENT, "interface": opts.agent_interface.format(n=9001 + n),
         "token_hash": token_hash(secrets.token_hex()),
         "state": "logged_out", "password_hash": hashed, "role": "agent"},
        {"name": DEMO_SUPERVISOR, "interface": opts.agent_interface.format(n=9002 + n),
         "token_hash": token_hash(secrets.token_hex()), "state": "logged_out", "password_hash": hashed,
         "role": "supervisor"},
    ])
    you = conn.execute(select(agents_t.c.id).where(agents_t.c.name == DEMO_AGENT)).scalar_one()
    conn.execute(insert(agent_campaigns).values(agent_id=you, campaign_id=campaign_id))
    base = f"http://127.0.0.1:{opts.http_port}"
    return DemoDesktop(f"{base}/agent", f"{base}/supervisor", password)


def final_report(run: DemoRun) -> dict[str, Any]:
    engine = open_engine(run.settings.database_url)
    d = run.definition
    with engine.connect() as conn:
        campaign_id = campaign_store.find(conn, d.name).id
        report = build_report(
            conn, campaign_id, d.name, now=run.engine.clock.now(),
            contact_codes=frozenset(x.code for x in d.dispositions if x.contact),
            success_codes=frozenset(x.code for x in d.dispositions if x.success),
        ).to_dict()
    engine.dispose()
    truth = run.sim.stats
    report["simulator_truth"] = {k: v for k, v in vars(truth).items() if isinstance(v, int | float)}
    report["import"] = run.import_result.as_dict()
    report["agents_disposed"] = run.agents.disposed
    report["disposition_errors"] = run.agents.errors[:10]
    return report


def now_utc() -> datetime:
    return datetime.now(UTC)
