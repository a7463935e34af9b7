"""Several sites of one campaign sharing one abandon ledger, in the pacing simulator (issue 18).

    .venv/bin/python benchmarks/scale_sim.py --seeds 8 --hours 4 --json /tmp/scale.json

For each scenario and seed, three runs with the shipped predictive policy and governor:

- ``one site``: all the agents (e.g. 35) in one site: the baseline of the same run;
- ``shared``: sites of 20, 10 and 5 agents, each reading the other sites' ledgers every 5 s
  (the campaign-wide ledger, ``dialer.pacing.shared``);
- ``isolated``: the same sites each pacing on its own answers (one daemon per PBX before).

Reports the campaign's talk minutes per agent-hour (and its ratio to one site), its abandon rate
(mean, worst seed, worst 24 h, worst hour), each site's talk and abandon rate (is a small site
starved?), and writes a markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dialer.pacing.policies import make_policy  # noqa: E402
from dialer.pacing.sim.engine import simulate  # noqa: E402
from dialer.pacing.sim.metrics import run_metrics  # noqa: E402
from dialer.pacing.sim.scenario import ceiling, load_scenario  # noqa: E402
from dialer.pacing.sim.sites import merge, simulate_sites  # noqa: E402


def run(path: Path, sizes: list[int], seed: int, hours: float) -> dict:
    sc = load_scenario(path)
    ceil = ceiling(sc)
    make = lambda: make_policy("predictive")  # noqa: E731
    out: dict = {"scenario": sc.name, "seed": seed}
    one = run_metrics(simulate(sc.with_changes(agents=sum(sizes)), make, seed, hours=hours), ceil)
    out["one site"] = {"talk": one.talk_min_per_agent_hour, "abandon": one.abandon_rate,
                       "worst_24h": one.worst_24h, "worst_hour": one.worst_hour}
    for label, shared in (("shared", True), ("isolated", False)):
        recs = simulate_sites(sc, sizes, make, seed, shared=shared, hours=hours)
        camp = run_metrics(merge(recs, sc.name), ceil)
        sites = [run_metrics(r, ceil) for r in recs]
        out[label] = {"talk": camp.talk_min_per_agent_hour, "abandon": camp.abandon_rate,
                      "worst_24h": camp.worst_24h, "worst_hour": camp.worst_hour,
                      "sites_talk": [s.talk_min_per_agent_hour for s in sites],
                      "sites_abandon": [s.abandon_rate for s in sites]}
    return out


def table(runs: list[dict], sizes: list[int]) -> str:
    lines = ["| scenario | run | talk min/agent-h | vs one site | abandon mean | worst seed | worst 24 h "
             "| worst hour | " + " | ".join(f"site {n}: talk / abandon" for n in sizes) + " |",
             "|---|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(sizes)]
    for name in dict.fromkeys(r["scenario"] for r in runs):
        rs = [r for r in runs if r["scenario"] == name]
        base = np.mean([r["one site"]["talk"] for r in rs])
        for label in ("one site", "shared", "isolated"):
            talk = np.mean([r[label]["talk"] for r in rs])
            ab = [r[label]["abandon"] for r in rs]
            cells = [f"**{name}**" if label == "one site" else "", f"{label} ({len(rs)} seeds)",
                     f"{talk:.1f}", f"{talk / base:.3f}", f"{100 * np.mean(ab):.2f} %", f"{100 * max(ab):.2f} %",
                     f"{100 * max(r[label]['worst_24h'] for r in rs):.2f} %",
                     f"{100 * max(r[label]['worst_hour'] for r in rs):.2f} %"]
            for i in range(len(sizes)):
                if label == "one site":
                    cells.append("")
                else:
                    cells.append(f"{np.mean([r[label]['sites_talk'][i] for r in rs]):.1f} / "
                                 f"{100 * np.mean([r[label]['sites_abandon'][i] for r in rs]):.2f} %")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", nargs="*", default=["medium", "low-contact"])
    ap.add_argument("--sizes", default="20,10,5", help="agents per site")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    runs = []
    t0 = time.perf_counter()
    for name in args.scenarios:
        for seed in range(1, args.seeds + 1):
            runs.append(run(ROOT / "benchmarks" / "scenarios" / f"{name}.toml", sizes, seed, args.hours))
            print(f"{name} seed {seed}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
            if args.json:
                args.json.write_text(json.dumps({"sizes": sizes, "hours": args.hours, "runs": runs}, indent=1))
    print(table(runs, sizes))


if __name__ == "__main__":
    main()
