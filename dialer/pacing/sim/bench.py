"""Run the pacing benchmark: scenarios x policies x seeds, optionally in a few processes."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialer.pacing.policies import make_policy
from dialer.pacing.sim.engine import simulate
from dialer.pacing.sim.metrics import RunMetrics, Summary, run_metrics, summarise
from dialer.pacing.sim.scenario import Scenario, ceiling, load_scenario
from dialer.resources import scenarios_dir

#: Benchmark label -> (dial mode, parameters). Order is the table's order. Each run dials
#: through a PacingGovernor in the mode ``governor.GOVERNOR_MODES`` gives for the policy.
POLICY_SPECS: dict[str, tuple[str, dict[str, Any]]] = {
    "progressive": ("progressive", {}),
    "ratio-2.0": ("ratio", {"ratio": 2.0}),
    "vicidial": ("vicidial", {}),
    "predictive": ("predictive", {}),
}
# rough relative cost of one run, to start the slow ones first
_COST = {"predictive": 8, "vicidial": 2}


def default_scenario_dir() -> Path:
    """``benchmarks/scenarios`` of the working directory, else the shipped scenarios (the
    checkout's ``benchmarks/scenarios``, or the installed package's copy)."""
    here = Path.cwd() / "benchmarks" / "scenarios"
    if here.is_dir():
        return here
    return scenarios_dir()


def default_scenarios() -> list[Path]:
    return sorted(default_scenario_dir().glob("*.toml"))


def scenario_file(name: str) -> Path:
    """A scenario given as a file, or by the name of a shipped one (``small``: ``small.toml``
    of :func:`default_scenario_dir`); ValueError naming the choices when neither exists."""
    path = Path(name)
    if path.is_file():
        return path
    stem = path.name.removesuffix(".toml")
    if path.parent == Path(".") and stem:
        shipped = default_scenario_dir() / f"{stem}.toml"
        if shipped.is_file():
            return shipped
    names = ", ".join(p.stem for p in default_scenarios()) or "none found"
    raise ValueError(f"scenario {name!r}: no such file, and not a shipped scenario ({names})")


@dataclass(frozen=True)
class Task:
    scenario: Scenario
    label: str
    seed: int
    hours: float | None
    ceiling: float


def _policy_factory(label: str) -> Callable[[], Any]:
    mode, params = POLICY_SPECS[label]

    return lambda: make_policy(mode, **params)


def run_task(task: Task) -> RunMetrics:
    rec = simulate(task.scenario, _policy_factory(task.label), task.seed, hours=task.hours)
    rec.policy = task.label
    return run_metrics(rec, task.ceiling)


def run_bench(
    scenarios: Sequence[Scenario | str | Path],
    *,
    policies: Iterable[str] = tuple(POLICY_SPECS),
    seeds: int = 20,
    hours: float | None = None,
    jobs: int = 1,
    progress: Callable[[RunMetrics], None] | None = None,
) -> tuple[list[Summary], list[RunMetrics]]:
    """Run every scenario x policy x seed; returns per-(scenario, policy) summaries and runs."""
    labels = list(policies)
    for label in labels:
        if label not in POLICY_SPECS:
            raise ValueError(f"unknown policy {label!r}; expected one of {', '.join(POLICY_SPECS)}")
    scs = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    tasks = [
        Task(sc, label, seed, hours, ceiling(sc)) for sc in scs for label in labels for seed in range(seeds)
    ]
    ordered = sorted(tasks, key=lambda t: -_COST.get(t.label, 1) * t.scenario.agents)
    results: list[RunMetrics] = []
    jobs = max(1, min(jobs, len(tasks), os.cpu_count() or 1))
    if jobs == 1:
        for t in ordered:
            r = run_task(t)
            results.append(r)
            if progress:
                progress(r)
    else:
        with mp.get_context("spawn").Pool(jobs) as pool:
            for r in pool.imap_unordered(run_task, ordered, chunksize=1):
                results.append(r)
                if progress:
                    progress(r)
    summaries = []
    for sc in scs:
        for label in labels:
            runs = sorted(
                (r for r in results if r.scenario == sc.name and r.policy == label), key=lambda r: r.seed
            )
            if runs:
                summaries.append(summarise(runs))
    return summaries, sorted(results, key=lambda r: (r.scenario, r.policy, r.seed))
