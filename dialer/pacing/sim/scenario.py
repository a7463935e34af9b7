"""Pacing-benchmark scenarios: TOML files describing called parties and agents.

A scenario file (see ``benchmarks/scenarios/*.toml``)::

    name = "medium"
    description = "15 agents, 3-minute calls, 25 % contact"
    hours = 8.0                 # length of the dialling day
    days = 1                    # consecutive days (stats are persisted between them)

    [dialer]
    ring_timeout = 25.0         # s
    max_lines = 150             # 0 = 10 lines per agent
    drop_timeout = 2.0          # an answered call with no agent after this is abandoned
    connect_delay = 0.5         # s to bridge a call to a reserved agent
    message_seconds = 8.0       # safe-harbour message length (holds the line)

    [agents]
    count = 15
    login_spread = 1800         # logins spread uniformly over the first N seconds
    logout_spread = 900         # logouts spread over the last N seconds
    break_jitter = 600          # each break starts up to N s late
    breaks = [{at = 2.0, minutes = 15}, {at = 4.0, minutes = 30}]   # at = hours into the day
    flag_machines = false       # agents dispose machines they reach as such: out of the ledger

    [outcomes]                  # per dial attempt; normalised
    human = 0.25
    machine = 0.12
    busy = 0.05
    no_answer = 0.50
    invalid = 0.08
    drift = [{hour = 0, human = 0.3}, {hour = 8, human = 0.12}]   # optional, linear

    [ring]      # seconds from dial to answer (or to the busy/invalid signal)
    human = {dist = "lognormal", mean = 9, cv = 0.5}
    machine = {dist = "lognormal", mean = 12, cv = 0.4}
    busy = {dist = "uniform", low = 2, high = 6}
    invalid = {dist = "uniform", low = 1, high = 4}

    [talk]
    human = {dist = "lognormal", mean = 180, cv = 0.8}
    machine = {dist = "uniform", low = 8, high = 20}   # an agent reaching a machine

    [wrapup]
    human = {dist = "gamma", mean = 20, cv = 0.5}
    machine = {dist = "uniform", low = 2, high = 6}

    [amd]
    enabled = false
    human_accuracy = 0.92       # P(person classed as person)
    machine_accuracy = 0.85     # P(machine classed as machine)
    human_delay = {dist = "uniform", low = 0.8, high = 1.6}   # counts against the 2 s
    machine_delay = {dist = "uniform", low = 2.0, high = 4.0}

Every section and key is optional except ``name`` and ``agents.count``; the defaults are the
values shown above.  Unknown keys are errors.  Distributions are read by
:func:`dialer.distributions.parse_distribution`, the same parser as the PBX simulator's
(``sd`` is accepted for ``cv``).  ``[outcomes]`` also takes ``congestion`` (counted as
``busy``) and ``unavailable`` (counted as ``invalid``), the two outcomes of the PBX simulator
this model does not tell apart (:data:`dialer.distributions.PACING_FOLD`).
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialer.distributions import (
    PACING_FOLD,
    PACING_OUTCOMES,
    Distribution,
    PartyOutcome,
    Uniform,
    parse_distribution,
)

#: What a dial attempt does, in the order the engine indexes them (see :data:`PACING_FOLD`
#: for how the other outcomes of :class:`~dialer.distributions.PartyOutcome` are counted).
OUTCOMES = PACING_OUTCOMES


@dataclass(frozen=True)
class Break:
    at_hours: float
    minutes: float


@dataclass(frozen=True)
class Scenario:
    name: str
    agents: int
    description: str = ""
    hours: float = 8.0
    days: int = 1
    ring_timeout: float = 25.0
    max_lines: int = 0
    drop_timeout: float = 2.0
    connect_delay: float = 0.5
    message_seconds: float = 8.0
    login_spread: float = 1800.0
    logout_spread: float = 900.0
    break_jitter: float = 600.0
    breaks: tuple[Break, ...] = ()
    flag_machines: bool = False  # agents dispose the machines they reach as such (a ``machine`` disposition)
    outcomes: dict[str, float] = field(default_factory=dict)
    drift: tuple[dict[str, float], ...] = ()
    ring: dict[str, Distribution] = field(default_factory=dict)
    talk: dict[str, Distribution] = field(default_factory=dict)
    wrapup: dict[str, Distribution] = field(default_factory=dict)
    amd: bool = False
    amd_human_accuracy: float = 0.92
    amd_machine_accuracy: float = 0.85
    amd_human_delay: Distribution = Uniform(0.8, 1.6)
    amd_machine_delay: Distribution = Uniform(2.0, 4.0)
    path: str = ""

    @property
    def lines(self) -> int:
        return self.max_lines or 10 * self.agents

    def outcome_probs(self, hour: float) -> tuple[float, ...]:
        """Probabilities of :data:`OUTCOMES` at ``hour`` into the day (drift applied)."""
        probs = dict(self.outcomes)
        if self.drift:
            for key in ("human", "machine", "busy", "invalid"):
                pts = [(d["hour"], d[key]) for d in self.drift if key in d]
                if pts:
                    probs[key] = _interp(hour, pts)
            fixed = sum(probs[k] for k in OUTCOMES if k != "no_answer")
            probs["no_answer"] = max(0.0, 1.0 - fixed)
        total = sum(probs[k] for k in OUTCOMES)
        return tuple(probs[k] / total for k in OUTCOMES)

    def with_changes(self, **changes: Any) -> Scenario:
        from dataclasses import replace

        return replace(self, **changes)


def _interp(x: float, pts: list[tuple[float, float]]) -> float:
    pts = sorted(pts)
    if x <= pts[0][0]:
        return pts[0][1]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0) if x1 > x0 else y1
    return pts[-1][1]


_DEFAULT_OUTCOMES = {"human": 0.25, "machine": 0.12, "busy": 0.05, "no_answer": 0.5, "invalid": 0.08}
_DEFAULT_RING = {
    "human": {"dist": "lognormal", "mean": 9, "cv": 0.5},
    "machine": {"dist": "lognormal", "mean": 12, "cv": 0.4},
    "busy": {"dist": "uniform", "low": 2, "high": 6},
    "invalid": {"dist": "uniform", "low": 1, "high": 4},
}
_DEFAULT_TALK = {
    "human": {"dist": "lognormal", "mean": 180, "cv": 0.8},
    "machine": {"dist": "uniform", "low": 8, "high": 20},
}
_DEFAULT_WRAP = {
    "human": {"dist": "gamma", "mean": 20, "cv": 0.5},
    "machine": {"dist": "uniform", "low": 2, "high": 6},
}


_TOP_KEYS = ("name", "description", "hours", "days", "dialer", "agents", "outcomes", "ring", "talk", "wrapup", "amd")
_DIALER_KEYS = ("ring_timeout", "max_lines", "drop_timeout", "connect_delay", "message_seconds")
_AGENT_KEYS = ("count", "login_spread", "logout_spread", "break_jitter", "breaks", "flag_machines")
_AMD_KEYS = ("enabled", "human_accuracy", "machine_accuracy", "human_delay", "machine_delay")
_DRIFT_KEYS = ("hour", "human", "machine", "busy", "invalid")


def _strict(section: Any, allowed: Iterable[str], where: str) -> dict[str, Any]:
    """``section`` as a dict; an error names the first key not in ``allowed``."""
    if not isinstance(section, Mapping):
        raise ValueError(f"{where}: expected a table, got {section!r}")
    allowed = tuple(allowed)
    for key in section:
        if key not in allowed:
            raise ValueError(f"{where + '.' if where else ''}{key}: unknown key (expected one of {', '.join(allowed)})")
    return dict(section)


def _dists(section: Any, defaults: dict[str, Any], where: str) -> dict[str, Distribution]:
    merged = {**defaults, **_strict(section, defaults, where)}
    return {k: parse_distribution(v, f"{where}.{k}") for k, v in merged.items()}


def _outcomes(section: dict[str, Any]) -> tuple[dict[str, float], tuple[dict[str, float], ...]]:
    """Outcome weights (defaults for those not given; unmodelled outcomes folded in) and drift."""
    section = _strict(section, [*PartyOutcome, "drift"], "outcomes")
    drift = tuple(_strict(d, _DRIFT_KEYS, "outcomes.drift") for d in section.pop("drift", ()))
    if not section:
        return dict(_DEFAULT_OUTCOMES), drift
    outcomes = {**_DEFAULT_OUTCOMES, **{k: v for k, v in section.items() if k not in PACING_FOLD}}
    for unmodelled, counted_as in PACING_FOLD.items():
        if unmodelled in section:
            outcomes[counted_as] = outcomes[counted_as] + section[unmodelled]
    return outcomes, drift


def scenario_from_dict(data: dict[str, Any], *, path: str = "") -> Scenario:
    """Build a :class:`Scenario` from parsed TOML; raises ``ValueError`` naming the field."""
    try:
        data = _strict(data, _TOP_KEYS, "")
        dialer = _strict(data.get("dialer", {}), _DIALER_KEYS, "dialer")
        agents = _strict(data["agents"], _AGENT_KEYS, "agents")
        amd = _strict(data.get("amd", {}), _AMD_KEYS, "amd")
        outcomes, drift = _outcomes(data.get("outcomes", {}))
        ring_timeout = float(dialer.get("ring_timeout", 25.0))
        if ring_timeout < 15:
            raise ValueError("dialer.ring_timeout: at least 15 s")
        return Scenario(
            name=str(data["name"]),
            description=str(data.get("description", "")),
            hours=float(data.get("hours", 8.0)),
            days=int(data.get("days", 1)),
            agents=int(agents["count"]),
            ring_timeout=ring_timeout,
            max_lines=int(dialer.get("max_lines", 0)),
            drop_timeout=float(dialer.get("drop_timeout", 2.0)),
            connect_delay=float(dialer.get("connect_delay", 0.5)),
            message_seconds=float(dialer.get("message_seconds", 8.0)),
            login_spread=float(agents.get("login_spread", 1800.0)),
            logout_spread=float(agents.get("logout_spread", 900.0)),
            break_jitter=float(agents.get("break_jitter", 600.0)),
            breaks=tuple(Break(float(b["at"]), float(b["minutes"])) for b in agents.get("breaks", ())),
            flag_machines=bool(agents.get("flag_machines", False)),
            outcomes=outcomes,
            drift=drift,
            ring=_dists(data.get("ring", {}), _DEFAULT_RING, "ring"),
            talk=_dists(data.get("talk", {}), _DEFAULT_TALK, "talk"),
            wrapup=_dists(data.get("wrapup", {}), _DEFAULT_WRAP, "wrapup"),
            amd=bool(amd.get("enabled", False)),
            amd_human_accuracy=float(amd.get("human_accuracy", 0.92)),
            amd_machine_accuracy=float(amd.get("machine_accuracy", 0.85)),
            amd_human_delay=parse_distribution(amd.get("human_delay", Uniform(0.8, 1.6)), "amd.human_delay"),
            amd_machine_delay=parse_distribution(amd.get("machine_delay", Uniform(2.0, 4.0)), "amd.machine_delay"),
            path=path,
        )
    except KeyError as exc:
        raise ValueError(f"missing field {exc.args[0]!r}") from None


def load_scenario(path: str | Path) -> Scenario:
    p = Path(path)
    with p.open("rb") as fh:
        data = tomllib.load(fh)
    try:
        return scenario_from_dict(data, path=str(p))
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None


def ceiling(s: Scenario, samples: int = 20000) -> float:
    """The clairvoyant ceiling: mean talk / (mean talk + mean wrap-up) of person calls."""
    rng = random.Random(f"ceiling-{s.name}")
    talk = sum(s.talk["human"].sample(rng) for _ in range(samples))
    wrap = sum(s.wrapup["human"].sample(rng) for _ in range(samples))
    return talk / (talk + wrap)
