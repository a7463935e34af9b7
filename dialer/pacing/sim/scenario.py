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
values shown above.
"""

from __future__ import annotations

import math
import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUTCOMES = ("human", "machine", "busy", "no_answer", "invalid")


@dataclass(frozen=True)
class Dist:
    """A duration distribution: fixed, uniform, exponential, lognormal or gamma."""

    kind: str = "fixed"
    mean: float = 0.0
    cv: float = 0.0
    low: float = 0.0
    high: float = 0.0
    min: float = 0.0
    max: float = math.inf

    @classmethod
    def parse(cls, spec: Any) -> Dist:
        if isinstance(spec, int | float):
            return cls("fixed", mean=float(spec))
        if not isinstance(spec, dict):
            raise ValueError(f"a distribution must be a number or a table, got {spec!r}")
        kind = spec.get("dist", "fixed")
        if kind not in ("fixed", "uniform", "exponential", "lognormal", "gamma"):
            raise ValueError(f"unknown distribution {kind!r}")
        low, high = float(spec.get("low", 0.0)), float(spec.get("high", 0.0))
        mean = float(spec.get("mean", spec.get("value", (low + high) / 2)))
        return cls(
            kind,
            mean=mean,
            cv=float(spec.get("cv", 1.0 if kind == "exponential" else 0.0)),
            low=low,
            high=high,
            min=float(spec.get("min", 0.0)),
            max=float(spec.get("max", math.inf)),
        )

    def sample(self, rng: random.Random) -> float:
        k = self.kind
        if k == "fixed":
            x = self.mean
        elif k == "uniform":
            x = rng.uniform(self.low, self.high)
        elif k == "exponential":
            x = rng.expovariate(1.0 / self.mean)
        elif k == "lognormal":
            s2 = math.log1p(self.cv * self.cv)
            x = rng.lognormvariate(math.log(self.mean) - s2 / 2, math.sqrt(s2))
        else:  # gamma
            shape = 1.0 / (self.cv * self.cv)
            x = rng.gammavariate(shape, self.mean / shape)
        return min(max(x, self.min), self.max)


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
    outcomes: dict[str, float] = field(default_factory=dict)
    drift: tuple[dict[str, float], ...] = ()
    ring: dict[str, Dist] = field(default_factory=dict)
    talk: dict[str, Dist] = field(default_factory=dict)
    wrapup: dict[str, Dist] = field(default_factory=dict)
    amd: bool = False
    amd_human_accuracy: float = 0.92
    amd_machine_accuracy: float = 0.85
    amd_human_delay: Dist = Dist("uniform", low=0.8, high=1.6)
    amd_machine_delay: Dist = Dist("uniform", low=2.0, high=4.0)
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


def _dists(section: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Dist]:
    merged = {**defaults, **section}
    return {k: Dist.parse(v) for k, v in merged.items()}


def scenario_from_dict(data: dict[str, Any], *, path: str = "") -> Scenario:
    """Build a :class:`Scenario` from parsed TOML; raises ``ValueError`` naming the field."""
    try:
        dialer = data.get("dialer", {})
        agents = data["agents"]
        amd = data.get("amd", {})
        outcomes_sec = dict(data.get("outcomes", {}))
        drift = tuple(outcomes_sec.pop("drift", ()))
        outcomes = {**_DEFAULT_OUTCOMES, **outcomes_sec} if outcomes_sec else dict(_DEFAULT_OUTCOMES)
        unknown = set(outcomes) - set(OUTCOMES)
        if unknown:
            raise ValueError(f"outcomes: unknown keys {sorted(unknown)}")
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
            outcomes=outcomes,
            drift=drift,
            ring=_dists(data.get("ring", {}), _DEFAULT_RING),
            talk=_dists(data.get("talk", {}), _DEFAULT_TALK),
            wrapup=_dists(data.get("wrapup", {}), _DEFAULT_WRAP),
            amd=bool(amd.get("enabled", False)),
            amd_human_accuracy=float(amd.get("human_accuracy", 0.92)),
            amd_machine_accuracy=float(amd.get("machine_accuracy", 0.85)),
            amd_human_delay=Dist.parse(amd.get("human_delay", {"dist": "uniform", "low": 0.8, "high": 1.6})),
            amd_machine_delay=Dist.parse(amd.get("machine_delay", {"dist": "uniform", "low": 2.0, "high": 4.0})),
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
