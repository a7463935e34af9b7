"""Cold starts (issue 18): the predictive policy with and without warm-ups, same seeds.

    .venv/bin/python benchmarks/cold_start.py --scenarios all --seeds 6 --variants 2 1 2:0.5 \
        --jobs 2 --json /tmp/cold.json

For each scenario and seed, one day (the scenario's length) with ``Predictive()`` (today's
default: the baseline of the same run) and one per variant ``W[:shape[:agents]]`` =
``Predictive(warmup=W, warmup_shape=shape, warmup_min_agents=agents)`` (defaults 1 and 0). Reports talk minutes per agent-hour (and the
paired ratio to the baseline with its standard error over seeds), the abandon rate, the worst
1-hour window (goal: ≤ 2× the target in teams of 10 or more) and the share of pacing decisions
in the first two hours that were progressive-only (budget 0 with an agent ready): the lock-in a
burst of early abandons causes. ``--report FILE`` prints the table of a saved ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dialer.pacing.predictive import Predictive  # noqa: E402
from dialer.pacing.sim.engine import simulate  # noqa: E402
from dialer.pacing.sim.metrics import run_metrics  # noqa: E402
from dialer.pacing.sim.scenario import ceiling, load_scenario  # noqa: E402

SCENARIOS = ROOT / "benchmarks" / "scenarios"


def parse_variant(text: str) -> tuple[float, float, int, float]:
    """``W[:shape[:min_agents[:hour_cap]]]``: the warm-up, its shape (default 1), the team size
    from which it applies (default 0: every team) and the last hour's cap (× the target; default
    0: none)."""
    w, shape, agents, cap = ([*text.split(":"), "", "", ""])[:4]
    return float(w), float(shape or 1.0), int(agents or 0), float(cap or 0.0)


def run(job: tuple[str, int, str, int, float]) -> dict[str, Any]:
    name, seed, variant, agents, hours = job
    warmup, shape, min_agents, hour_cap = parse_variant(variant)
    sc = load_scenario(SCENARIOS / f"{name}.toml")
    if agents:
        sc = sc.with_changes(agents=agents)  # same name: the same random streams for a seed
    if hours:
        sc = sc.with_changes(hours=hours)
    zero: Counter[int] = Counter()
    total: Counter[int] = Counter()

    class Watched(Predictive):
        def alpha(self, s):  # type: ignore[no-untyped-def]
            a = super().alpha(s)
            if s.now < 2 * 3600:
                total[0] += 1
                zero[0] += a == 0.0 and s.ready > 0
            return a

    m = run_metrics(simulate(sc, lambda: Watched(warmup=warmup, warmup_shape=shape, warmup_min_agents=min_agents,
                                                  hour_cap=hour_cap), seed), ceiling(sc))
    label = name + (f" ×{agents}" if agents else "") + (f" {hours:g} h" if hours else "")
    return {"scenario": label, "agents": sc.agents, "seed": seed, "variant": variant,
            "talk": m.talk_min_per_agent_hour, "abandon": m.abandon_rate, "worst_hour": m.worst_hour,
            "worst_24h": m.worst_24h, "locked": zero[0] / max(1, total[0])}


def report(runs: list[dict[str, Any]]) -> str:
    out = ["| scenario (agents) | variant | seeds | talk | vs baseline (± s.e.) | abandon mean | worst 24 h "
           "| worst hour max / mean | progressive-only, first 2 h |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    variants = ["0", *sorted({r["variant"] for r in runs} - {"0"})]
    for name in dict.fromkeys(r["scenario"] for r in runs):
        rs = [r for r in runs if r["scenario"] == name]
        base = {r["seed"]: r for r in rs if r["variant"] == "0"}
        for v in variants:
            vr = sorted((r for r in rs if r["variant"] == v), key=lambda r: r["seed"])
            if not vr:
                continue
            talk = np.array([r["talk"] for r in vr])
            ratio = np.array([r["talk"] / base[r["seed"]]["talk"] for r in vr if r["seed"] in base])
            se = ratio.std(ddof=1) / np.sqrt(len(ratio)) if len(ratio) > 1 else 0.0
            wh = [r["worst_hour"] for r in vr]
            out.append(f"| {name} ({vr[0]['agents']}) | {v} | {len(vr)} | {talk.mean():.2f} "
                       f"| {ratio.mean():.4f} ± {se:.4f} | {100 * np.mean([r['abandon'] for r in vr]):.2f} % "
                       f"| {100 * max(r['worst_24h'] for r in vr):.2f} % "
                       f"| {100 * max(wh):.1f} % / {100 * np.mean(wh):.1f} % "
                       f"| {100 * np.mean([r['locked'] for r in vr]):.0f} % |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", nargs="*", default=["low-contact", "long-calls", "medium"],
                    help="scenario names, or 'all'")
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--variants", nargs="*", default=["2"], help="W or W:shape (the baseline 0 is always run)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--agents", type=int, default=0, help="override the scenarios' team size")
    ap.add_argument("--hours", type=float, default=0.0, help="override the scenarios' day length")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--reuse", type=Path, nargs="*", default=[],
                    help="saved --json files: their runs are kept and not run again (runs are deterministic)")
    ap.add_argument("--report", type=Path, help="print the table of a saved --json file and exit")
    args = ap.parse_args()
    if args.report:
        print(report(json.loads(args.report.read_text())["runs"]))
        return
    names = args.scenarios
    if names == ["all"]:  # the cold-start cases first, the large team last (the slowest)
        first = ["long-calls", "low-contact", "medium", "small", "small-long"]
        names = first + sorted(p.stem for p in SCENARIOS.glob("*.toml") if p.stem not in first and p.stem != "large")
        names.append("large")
    variants = ["0", *(v for v in args.variants if v != "0")]
    runs: list[dict[str, Any]] = [r for f in args.reuse for r in json.loads(f.read_text())["runs"]]
    done = {(r["scenario"], r["seed"], r["variant"]) for r in runs}
    suffix = (f" ×{args.agents}" if args.agents else "") + (f" {args.hours:g} h" if args.hours else "")
    jobs = [(n, seed, v, args.agents, args.hours) for n in names
            for seed in range(args.first_seed, args.first_seed + args.seeds)
            for v in variants if (n + suffix, seed, v) not in done]
    with Pool(args.jobs) as pool:
        for r in pool.imap_unordered(run, jobs):
            runs.append(r)
            print(f"{len(runs)} runs ({len(jobs)} to run) {r['scenario']} {r['seed']} {r['variant']}: talk {r['talk']:.2f}",
                  file=sys.stderr, flush=True)
            if args.json:
                args.json.write_text(json.dumps({"variants": variants, "runs": runs}))
    runs.sort(key=lambda r: (r["scenario"], r["variant"], r["seed"]))
    if args.json:
        args.json.write_text(json.dumps({"variants": variants, "runs": runs}))
    print(report(runs))


if __name__ == "__main__":
    main()
