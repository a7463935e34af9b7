"""Cold starts (issue 18): the predictive policy with and without its warm-up, same seeds.

    .venv/bin/python benchmarks/cold_start.py --scenarios low-contact long-calls medium --seeds 4

For each scenario and seed, one 8-hour day with ``Predictive()`` (the baseline of the same run)
and one with ``Predictive(warmup=W)``. Reports talk minutes per agent-hour (and the ratio to
the baseline), the abandon rate, the worst 1-hour window (goal: ≤ 2× the target) and the share
of pacing decisions in the first two hours that were progressive-only (budget 0 with an agent
ready): the lock-in a burst of early abandons causes.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dialer.pacing.predictive import Predictive  # noqa: E402
from dialer.pacing.sim.engine import simulate  # noqa: E402
from dialer.pacing.sim.metrics import run_metrics  # noqa: E402
from dialer.pacing.sim.scenario import ceiling, load_scenario  # noqa: E402


def run(name: str, seed: int, warmup: float) -> tuple[float, float, float, float]:
    sc = load_scenario(ROOT / "benchmarks" / "scenarios" / f"{name}.toml")
    zero: Counter[int] = Counter()
    total: Counter[int] = Counter()

    class Watched(Predictive):
        def alpha(self, s):  # type: ignore[no-untyped-def]
            a = super().alpha(s)
            if s.now < 2 * 3600:
                total[0] += 1
                zero[0] += a == 0.0 and s.ready > 0
            return a

    m = run_metrics(simulate(sc, lambda: Watched(warmup=warmup), seed), ceiling(sc))
    return m.talk_min_per_agent_hour, m.abandon_rate, m.worst_hour, zero[0] / max(1, total[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", nargs="*", default=["low-contact", "long-calls", "medium"])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--warmup", type=float, default=2.0)
    args = ap.parse_args()
    print("| scenario | warm-up | talk | vs baseline | abandon | worst hour (max / mean) | progressive-only, first 2 h |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in args.scenarios:
        rows = {w: np.array([run(name, seed, w) for seed in range(1, args.seeds + 1)]) for w in (0.0, args.warmup)}
        base = rows[0.0][:, 0].mean()
        for w, r in rows.items():
            print(f"| {name} | {w:g} | {r[:, 0].mean():.2f} | {r[:, 0].mean() / base:.3f} | {100 * r[:, 1].mean():.2f} % "
                  f"| {100 * r[:, 2].max():.1f} % / {100 * r[:, 2].mean():.1f} % | {100 * r[:, 3].mean():.0f} % |",
                  flush=True)


if __name__ == "__main__":
    main()
