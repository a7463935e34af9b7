"""Benchmark figures from simulated runs, and their aggregation over seeds."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from dialer.pacing.sim.engine import DAY, HOUR, RunRecord


@dataclass(frozen=True)
class RunMetrics:
    scenario: str
    policy: str
    seed: int
    talk_min_per_agent_hour: float
    ceiling_min_per_agent_hour: float
    fraction_of_ceiling: float
    abandon_rate: float
    worst_24h: float
    worst_hour: float
    wait_mean: float
    wait_p95: float
    dials_per_connect: float
    peak_lines: int
    dials: int
    connected: int
    abandoned: int
    agent_hours: float
    amd_false_positive: int

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def _rate(ab: int, n: int) -> float:
    return ab / n if n else 0.0


def worst_window(times: np.ndarray, flags: np.ndarray, starts: np.ndarray, width: float) -> float:
    """The highest abandon rate over windows ``[s, s + width)`` for ``s`` in ``starts``."""
    if times.size == 0 or starts.size == 0:
        return 0.0
    cum = np.concatenate(([0], np.cumsum(flags)))
    lo = np.searchsorted(times, starts, side="left")
    hi = np.searchsorted(times, starts + width, side="left")
    n = hi - lo
    ab = cum[hi] - cum[lo]
    ok = n > 0
    return float((ab[ok] / n[ok]).max()) if ok.any() else 0.0


def run_metrics(rec: RunRecord, ceiling: float) -> RunMetrics:
    hours = rec.agent_seconds / HOUR
    talk = rec.talk_seconds / 60.0 / hours if hours > 0 else 0.0
    ceil = 60.0 * ceiling
    times = np.asarray(rec.answer_times, dtype=float)
    flags = np.asarray(rec.answer_abandoned, dtype=int)
    horizon = rec.days * DAY
    day_starts = np.arange(0.0, max(horizon - DAY, 0.0) + 1.0, 900.0)
    hour_starts = np.concatenate(
        [np.arange(a, max(b - HOUR, a) + 1.0, 300.0) for a, b in rec.day_spans]
    ) if rec.day_spans else np.zeros(0)
    waits = np.asarray(rec.waits, dtype=float)
    return RunMetrics(
        scenario=rec.scenario,
        policy=rec.policy,
        seed=rec.seed,
        talk_min_per_agent_hour=talk,
        ceiling_min_per_agent_hour=ceil,
        fraction_of_ceiling=talk / ceil if ceil else 0.0,
        abandon_rate=_rate(rec.abandoned, rec.abandoned + rec.connected),
        worst_24h=worst_window(times, flags, day_starts, DAY),
        worst_hour=worst_window(times, flags, hour_starts, HOUR),
        wait_mean=float(waits.mean()) if waits.size else 0.0,
        wait_p95=float(np.percentile(waits, 95)) if waits.size else 0.0,
        dials_per_connect=rec.dials / rec.connected if rec.connected else float("inf"),
        peak_lines=rec.peak_lines,
        dials=rec.dials,
        connected=rec.connected,
        abandoned=rec.abandoned,
        agent_hours=hours,
        amd_false_positive=rec.amd_false_positive,
    )


@dataclass(frozen=True)
class Summary:
    """One scenario x policy over all seeds."""

    scenario: str
    policy: str
    seeds: int
    talk_mean: float
    talk_p5: float
    ceiling: float
    fraction: float
    abandon_mean: float
    abandon_max: float  # the worst seed's overall rate
    worst_24h: float  # the worst 24 h window over all seeds
    worst_hour: float  # the worst hour over all seeds
    worst_hour_mean: float
    wait_mean: float
    wait_p95: float
    dials_per_connect: float
    peak_lines: int
    runs_over_target: int

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def summarise(runs: list[RunMetrics], target: float = 0.03) -> Summary:
    first = runs[0]
    talk = np.array([r.talk_min_per_agent_hour for r in runs])
    ab = np.array([r.abandon_rate for r in runs])
    return Summary(
        scenario=first.scenario,
        policy=first.policy,
        seeds=len(runs),
        talk_mean=float(talk.mean()),
        talk_p5=float(np.percentile(talk, 5)),
        ceiling=first.ceiling_min_per_agent_hour,
        fraction=float(talk.mean() / first.ceiling_min_per_agent_hour),
        abandon_mean=float(ab.mean()),
        abandon_max=float(ab.max()),
        worst_24h=max(r.worst_24h for r in runs),
        worst_hour=max(r.worst_hour for r in runs),
        worst_hour_mean=float(np.mean([r.worst_hour for r in runs])),
        wait_mean=float(np.mean([r.wait_mean for r in runs])),
        wait_p95=float(np.mean([r.wait_p95 for r in runs])),
        dials_per_connect=float(np.mean([r.dials_per_connect for r in runs])),
        peak_lines=max(r.peak_lines for r in runs),
        runs_over_target=int(sum(r.worst_24h > target + 1e-12 for r in runs)),
    )
