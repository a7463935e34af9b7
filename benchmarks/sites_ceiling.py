"""The ceiling of several sites of one campaign: what can 20 + 10 + 5 agents in three queues reach
at all, against 35 in one queue, under the same campaign-wide abandon limit?  Benchmark only.

    .venv/bin/python benchmarks/sites_ceiling.py --seeds 6 --hours 4 --jobs 2 \
        --json benchmarks/sites-ceiling-results.json

Each site (and the one 35-agent site) runs alone at a *fixed* per-call risk ``alpha`` over a grid,
with no abandon feedback and no hard stop, so that every site traces its own frontier of talk
against abandons; two pacers:

- ``forecast``: the shipped predictive forecast (``Predictive`` with the budget fixed at alpha),
  the shipped governor's line caps;
- ``agent-oracle``: the forecast fed every agent's exact next-free moment
  (``benchmarks/pacing_oracle.py``), free lines only: a bound on any pacing.

Then, per scenario and pacer, the best the campaign can do: the sites' alphas (one per site, any
combination of the grid, budget freely reallocated between sites) that give the most talk with
the campaign's abandon rate (persons, all seeds together) ≤ the limit, against the best alpha of
the one site (interpolated to the limit on its frontier). Since the constraint is the mean rate
and the sites may take any split of the budget, this is an upper bound on what any allocation
rule between sites can reach with that pacer.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import dialer.pacing.governor as governor_mod  # noqa: E402
from dialer.pacing.predictive import Predictive  # noqa: E402
from dialer.pacing.sim.engine import RunRecord, Simulation  # noqa: E402
from dialer.pacing.sim.scenario import Scenario, load_scenario  # noqa: E402
from dialer.pacing.sim.sites import site_scenarios  # noqa: E402
from dialer.pacing.snapshot import Snapshot  # noqa: E402

LIMIT = 0.03


class FixedAlpha(Predictive):
    """The shipped forecast with a fixed per-call risk budget (no feedback)."""

    def __init__(self, alpha: float) -> None:
        super().__init__()
        self.fixed = alpha

    def alpha(self, s: Snapshot) -> float:
        return self.fixed


def _record(rec: RunRecord) -> dict[str, float]:
    return {"talk": rec.talk_seconds, "agent": rec.agent_seconds, "abandoned": rec.abandoned,
            "answered": rec.abandoned + rec.connected}


def one(job: tuple[str, str, int, int, float, float]) -> dict[str, Any]:
    """One site at one fixed alpha: ``(scenario, pacer, site index or -1 for one site, seed, alpha,
    hours)``."""
    name, pacer, site, seed, alpha, hours = job
    base = load_scenario(ROOT / "benchmarks" / "scenarios" / f"{name}.toml")
    sc: Scenario = base.with_changes(agents=SIZES_ALL) if site < 0 else site_scenarios(base, SIZES)[site]
    governor_mod.abandon_limit_reached = lambda snap: False  # the frontier: no hard stop
    if pacer == "forecast":
        rec = Simulation(sc, lambda: FixedAlpha(alpha), seed, hours=hours).run()
    else:
        from pacing_oracle import AgentOracle, OracleSimulation

        sim = OracleSimulation(sc, seed, hours=hours)
        sim.make = lambda: AgentOracle(sim, fixed_alpha=alpha)  # type: ignore[assignment,method-assign]
        rec = sim.run()
    return {"scenario": name, "pacer": pacer, "site": site, "seed": seed, "alpha": alpha, **_record(rec)}


SIZES = [20, 10, 5]
SIZES_ALL = 35


def frontier(runs: list[dict[str, Any]], site: int, alphas: list[float]) -> np.ndarray:
    """Per alpha: talk s, agent s, abandoned, answered, summed over the seeds."""
    out = np.zeros((len(alphas), 4))
    for r in runs:
        if r["site"] == site:
            out[alphas.index(r["alpha"])] += (r["talk"], r["agent"], r["abandoned"], r["answered"])
    return out


def one_site_best(f: np.ndarray, limit: float) -> tuple[float, float]:
    """The one site's best talk (min per agent-hour) at a mean abandon rate ≤ limit: on the grid
    (as the sites get), and interpolated between the grid's neighbours (alphas mixed in time)."""
    talk = f[:, 0] / 60 / (f[:, 1] / 3600)
    rate = f[:, 2] / np.maximum(f[:, 3], 1)
    grid = best = -1.0
    for i in range(len(f)):
        if rate[i] <= limit:
            grid = max(grid, talk[i])
        if i + 1 < len(f) and rate[i] <= limit < rate[i + 1]:
            w = (limit - rate[i]) / (rate[i + 1] - rate[i])
            tot = (1 - w) * f[i] + w * f[i + 1]  # mixing two alphas in time: totals mix linearly
            best = max(best, tot[0] / 60 / (tot[1] / 3600))
    return grid, max(best, grid)


def sites_best(fs: list[np.ndarray], limit: float) -> tuple[float, tuple[int, ...], list[float]]:
    """The sites' best campaign talk over every combination of grid alphas with the campaign's
    mean abandon rate ≤ limit: (talk, alpha indices, each site's abandon rate)."""
    best: tuple[float, tuple[int, ...], list[float]] = (-1.0, (), [])
    for combo in itertools.product(*(range(len(f)) for f in fs)):
        tot = sum(f[i] for f, i in zip(fs, combo, strict=True))
        if tot[2] / max(tot[3], 1) > limit:
            continue
        talk = tot[0] / 60 / (tot[1] / 3600)
        if talk > best[0]:
            best = (talk, combo, [f[i][2] / max(f[i][3], 1) for f, i in zip(fs, combo, strict=True)])
    return best


def same_alpha_best(fs: list[np.ndarray], limit: float) -> float:
    """The sites' best campaign talk with one alpha for every site (today's shared-ledger rule: one
    per-call risk budget from the campaign's rate), campaign abandon ≤ limit."""
    best = -1.0
    for i in range(len(fs[0])):
        tot = sum(f[i] for f in fs)
        if tot[2] / max(tot[3], 1) <= limit:
            best = max(best, tot[0] / 60 / (tot[1] / 3600))
    return best


def report(data: dict[str, Any]) -> str:
    alphas = data["alphas"]
    lines = ["| scenario | pacer | one site (35) at ≤ 3 % (interpolated) | sites 20+10+5 at ≤ 3 %, best split "
             "| ratio (to interpolated) | same alpha at every site | sites' alphas | sites' abandon | frontier of one site / each site (talk @ abandon, per alpha) |",
             "|---|---|---:|---:|---:|---:|---|---|---|"]
    runs = data["runs"]
    for name in dict.fromkeys(r["scenario"] for r in runs):
        for pacer in dict.fromkeys(r["pacer"] for r in runs if r["scenario"] == name):
            rs = [r for r in runs if r["scenario"] == name and r["pacer"] == pacer]
            seeds = sorted({r["seed"] for r in rs})
            cells = {(r["seed"], r["site"], r["alpha"]) for r in rs}
            complete = [k for k in seeds if all((k, i, a) in cells for i in (-1, 0, 1, 2) for a in alphas)]
            rs = [r for r in rs if r["seed"] in complete]  # every seed with its whole grid, no more
            if not rs:
                continue
            one_f = frontier(rs, -1, alphas)
            fs = [frontier(rs, i, alphas) for i in range(len(data["sizes"]))]
            if not one_f[:, 1].all() or not all(f[:, 1].all() for f in fs):
                continue  # incomplete
            o, oi = one_site_best(one_f, LIMIT)
            s, combo, rates = sites_best(fs, LIMIT)

            def fr(f: np.ndarray) -> str:
                return ", ".join(f"{r[0] / 60 / (r[1] / 3600):.1f}@{100 * r[2] / max(r[3], 1):.1f}" for r in f)

            lines.append(f"| {name} ({len(complete)} seeds) | {pacer} | {o:.2f} ({oi:.2f}) | {s:.2f} | {s / o:.3f} ({s / oi:.3f}) | "
                         f"{same_alpha_best(fs, LIMIT):.2f} | "
                         f"{', '.join(f'{alphas[i]:g}' for i in combo)} | "
                         f"{', '.join(f'{100 * x:.2f} %' for x in rates)} | "
                         f"35: {fr(one_f)}<br>" + "<br>".join(f"{n}: {fr(f)}" for n, f in zip(data['sizes'], fs, strict=True))
                         + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", nargs="*", default=["medium", "low-contact"])
    ap.add_argument("--pacers", nargs="*", default=["forecast", "agent-oracle"])
    ap.add_argument("--alphas", type=float, nargs="*", default=[0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.18])
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--report", type=Path, help="only print the table of an existing --json file")
    args = ap.parse_args()
    if args.report:
        print(report(json.loads(args.report.read_text())))
        return
    data: dict[str, Any] = {"sizes": SIZES, "hours": args.hours, "alphas": args.alphas, "limit": LIMIT,
                            "runs": []}
    jobs = [(name, pacer, site, seed, a, args.hours)
            for pacer in args.pacers for name in args.scenarios
            for seed in range(1, args.seeds + 1) for a in args.alphas for site in (-1, 0, 1, 2)]
    t0 = time.perf_counter()
    with Pool(args.jobs) as pool:
        for k, r in enumerate(pool.imap(one, jobs)):
            data["runs"].append(r)
            if (k + 1) % 28 == 0:
                print(f"{k + 1}/{len(jobs)} runs: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
                if args.json:
                    args.json.write_text(json.dumps(data))
    if args.json:
        args.json.write_text(json.dumps(data))
    print(report(data))


if __name__ == "__main__":
    main()
