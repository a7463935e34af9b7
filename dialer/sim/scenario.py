"""Scenario files (TOML): who the called parties and agents are, and how the PBX is set up.

See ``docs/simulator.md`` for the format; ``scenarios/default.toml`` is a commented example.
Every duration is in simulated seconds; a distribution is either a number (fixed) or a table
``{dist = "fixed" | "uniform" | "exponential" | "normal" | "lognormal" | "gamma", ...}`` read
by :func:`dialer.distributions.parse_distribution` (the pacing simulator's parser too).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from dialer.distributions import (
    Distribution,
    Fixed,
    LogNormal,
    PartyOutcome,
    Uniform,
    parse_distribution,
)

FAILED_EXTEN = frozenset({"handled", "caught", "absent"})
#: The outcomes of a dial attempt the model draws from, in the order their weights are read.
OUTCOMES: tuple[PartyOutcome, ...] = tuple(PartyOutcome)


@dataclass(frozen=True)
class CalledParties:
    """Probabilities of each outcome (normalised) and the called parties' timings."""

    human: float = 0.35
    machine: float = 0.10
    busy: float = 0.08
    congestion: float = 0.02
    invalid: float = 0.03
    no_answer: float = 0.42
    unavailable: float = 0.0
    ring_time: Distribution = LogNormal(9, sd=5, min=1.5, max=60)
    early_fail_time: Distribution = Uniform(0.3, 3.0)
    patience: Distribution = Fixed(math.inf)
    talk_time: Distribution = LogNormal(70, sd=50, min=5, max=1800)
    machine_time: Distribution = Uniform(8, 25)
    #: the share of abandoned callers who press 9 in the safe-harbour message (opt-out)
    opt_out: float = 0.0

    def weights(self) -> list[tuple[str, float]]:
        pairs = [(name, float(getattr(self, name))) for name in OUTCOMES]
        if any(w < 0 for _, w in pairs):
            raise ValueError("outcome probabilities must be >= 0")
        total = sum(w for _, w in pairs)
        if total <= 0:
            raise ValueError("outcome probabilities sum to 0")
        return [(n, w / total) for n, w in pairs]


@dataclass(frozen=True)
class Amd:
    """What an ``AMD()`` step reports when the Originate asks for it (``DIALER_AMD=1``)."""

    time: Distribution = Uniform(1.5, 4.0)
    false_machine: float = 0.02  # a human classified as a machine
    false_human: float = 0.10  # a machine classified as a human


@dataclass(frozen=True)
class Agents:
    """Queue members: the simulator answers queue calls for every member."""

    answer_delay: Distribution = Uniform(0.5, 2.0)
    talk_time: Distribution = LogNormal(80, sd=45, min=10, max=1800)
    break_probability: float = 0.0  # after each call, chance the agent goes on a break
    break_time: Distribution = Uniform(60, 300)
    break_reason: str = "SIM-BREAK"


@dataclass(frozen=True)
class QueueConfig:
    name: str
    strategy: str = "rrmemory"
    timeout: float = 15.0  # how long one member rings before the queue tries another
    wrapuptime: float = 0.0
    ringinuse: bool = False
    members: tuple[tuple[str, str], ...] = ()  # static (interface, member name)


@dataclass(frozen=True)
class Scenario:
    name: str = "default"
    seed: int = 1
    deterministic: bool = False
    speed: float = 1.0
    username: str = "dialer"
    secret: str = "dialer"
    # dialplan
    customer_contexts: tuple[str, ...] = ("sim-customers",)
    connect_context: str = "dialer-connect"
    # The connect context's extensions (ShowDialPlan lists them; an Originate to an extension
    # none of them matches is refused at once: "Extension does not exist.").
    connect_extensions: tuple[str, ...] = ("s", "_[a-zA-Z0-9].")  # s: the queue from DIALER_QUEUE
    # What a failed Originate into the connect context runs (Asterisk's `failed` extension on
    # an "OutgoingSpoolFailed" channel): "handled" (the shipped dialplan: `failed` hangs up),
    # "caught" (an older dialplan whose pattern catches `failed`: DialerAnswered, DialerDrop
    # with QueueStatus UNKNOWN, Playback), "absent" (no extension matches: nothing runs).
    failed_exten: str = "handled"
    sounds: tuple[str, ...] = ("dialer-safe-harbour",)  # what `core show sound` finds
    # Actions the AMI user's write= classes do not allow ("Permission denied", left out of
    # ListCommands), e.g. ("Command",) for the shipped manager.conf without `command`.
    denied_actions: tuple[str, ...] = ()
    default_queue: str = "camp1"
    queue_wait: float = 2.0  # Queue(<q>,,,,<wait>): the safe-harbour timeout
    drop_wait: float = 1.0  # Wait(1) after DialerDrop before hanging up
    auto_create_queues: bool = True
    # Share of queue calls after whose AgentComplete the member's device state repeats a stale
    # "in use" (QueueMemberStatus Status 2, then Status 1): about 1 in 40 on Asterisk 22.
    stale_in_use: float = 0.0
    # Local channel optimisation of a queue member with a Local interface without "/n" whose
    # state interface is the Local channel itself (recording 04): 0.6 s into the call its device
    # state reads "not in use" (QueueMemberStatus Status 1, InCall 0) while the call goes on.
    local_optimisation: bool = False
    # The shipped dialplan's `h` extension: at hangup, the agent a connected call reached is
    # noted in AstDB (dialer-calls/<DIALER_CALL_ID>); the recordings' dialplan has none.
    hangup_note: bool = True
    # An owned callback's Dial to its agent's device while that device is in use: "busy" (a
    # phone without call waiting) or "answers" (recording 08 b: a Local agent interface whose
    # context answers is never busy).
    owner_in_use: str = "busy"
    queues: tuple[QueueConfig, ...] = (QueueConfig("camp1"),)
    called: CalledParties = CalledParties()
    amd: Amd = Amd()
    agents: Agents = Agents()
    auth_fail_delay: float = 1.0  # real seconds; Asterisk sleeps 1 s before refusing a login
    noise: bool = False

    def queue_config(self, name: str) -> QueueConfig | None:
        for q in self.queues:
            if q.name == name:
                return q
        return None

    def with_(self, **changes: Any) -> Scenario:
        return replace(self, **changes)


def _dists(cls: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise ValueError(f"[{where}]: unknown key {key!r}")
        default = known[key].default
        if isinstance(default, Distribution):
            kwargs[key] = parse_distribution(value, f"{where}.{key}")
        elif isinstance(default, float | int) and not isinstance(default, bool):
            kwargs[key] = float(value)
        else:
            kwargs[key] = value
    return cls(**kwargs)


def scenario_from_dict(data: dict[str, Any], name: str = "scenario") -> Scenario:
    data = dict(data)
    sim = dict(data.pop("sim", {}))
    pbx = dict(data.pop("pbx", {}))
    kwargs: dict[str, Any] = {"name": str(sim.pop("name", name))}
    for key in ("seed",):
        if key in sim:
            kwargs[key] = int(sim.pop(key))
    for key in ("speed", "auth_fail_delay"):
        if key in sim:
            kwargs[key] = float(sim.pop(key))
    for key in ("deterministic", "noise"):
        if key in sim:
            kwargs[key] = bool(sim.pop(key))
    for key in ("username", "secret"):
        if key in sim:
            kwargs[key] = str(sim.pop(key))
    if sim:
        raise ValueError(f"[sim]: unknown keys {sorted(sim)}")
    if "customer_contexts" in pbx:
        kwargs["customer_contexts"] = tuple(str(c) for c in pbx.pop("customer_contexts"))
    for key in ("connect_context", "default_queue", "owner_in_use"):
        if key in pbx:
            kwargs[key] = str(pbx.pop(key))
    if kwargs.get("owner_in_use", "busy") not in ("busy", "answers"):
        raise ValueError('[pbx]: owner_in_use must be "busy" or "answers"')
    for key in ("connect_extensions", "sounds", "denied_actions"):
        if key in pbx:
            kwargs[key] = tuple(str(c) for c in pbx.pop(key))
    if "failed_exten" in pbx:
        kwargs["failed_exten"] = str(pbx.pop("failed_exten"))
        if kwargs["failed_exten"] not in FAILED_EXTEN:
            raise ValueError(f"[pbx]: failed_exten must be one of {sorted(FAILED_EXTEN)}")
    for key in ("queue_wait", "drop_wait", "stale_in_use"):
        if key in pbx:
            kwargs[key] = float(pbx.pop(key))
    for key in ("auto_create_queues", "local_optimisation", "hangup_note"):
        if key in pbx:
            kwargs[key] = bool(pbx.pop(key))
    if pbx:
        raise ValueError(f"[pbx]: unknown keys {sorted(pbx)}")
    if "called" in data:
        kwargs["called"] = _dists(CalledParties, data.pop("called"), "called")
    if "amd" in data:
        kwargs["amd"] = _dists(Amd, data.pop("amd"), "amd")
    if "agents" in data:
        kwargs["agents"] = _dists(Agents, data.pop("agents"), "agents")
    if "queues" in data:
        queues = []
        for q in data.pop("queues"):
            q = dict(q)
            members = tuple(
                (str(m["interface"]), str(m.get("name", m["interface"])))
                if isinstance(m, dict)
                else (str(m), str(m))
                for m in q.pop("members", ())
            )
            qc = _dists(QueueConfig, q, "queues")
            queues.append(replace(qc, members=members, ringinuse=bool(qc.ringinuse)))
        kwargs["queues"] = tuple(queues)
    if data:
        raise ValueError(f"unknown sections {sorted(data)}")
    scenario = Scenario(**kwargs)
    scenario.called.weights()  # validate
    return scenario


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read a scenario file; ``None`` gives the packaged ``default.toml``."""
    if path is None:
        text = resources.files("dialer.sim").joinpath("scenarios/default.toml").read_text("utf-8")
        return scenario_from_dict(tomllib.loads(text), "default")
    path = Path(path)
    with path.open("rb") as fh:
        return scenario_from_dict(tomllib.load(fh), path.stem)


def capture_scenario() -> Scenario:
    """The PBX of the recordings (``tests/fixtures/ami``): deterministic, queue camp1, 2 s wait."""
    return Scenario(
        name="captures",
        deterministic=True,
        queues=(QueueConfig("camp1", strategy="rrmemory", timeout=15, wrapuptime=2),),
        auth_fail_delay=0.0,
        failed_exten="absent",  # tests/fixtures/ami/pbx-extensions.conf has no `failed`
        hangup_note=False,  # ... nor an `h` extension
    )


__all__ = [
    "OUTCOMES",
    "Agents",
    "Amd",
    "CalledParties",
    "QueueConfig",
    "Scenario",
    "capture_scenario",
    "load_scenario",
    "scenario_from_dict",
]
