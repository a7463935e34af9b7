"""Compare two pacing benchmark results run by run: which (scenario, policy) rows changed.

    .venv/bin/python benchmarks/pacing_compare.py before.json after.json

Both files are ``dialer bench pacing --json`` output. Runs are matched by (scenario, policy,
seed); numbers are compared to 5 significant digits (the committed results file is rounded
so). Prints a markdown table: per scenario and policy, how many runs are identical, and the
summary figures before -> after where they differ.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

Key = tuple[str, str, int]


def same(x: Any, y: Any) -> bool:
    if isinstance(x, float) or isinstance(y, float):
        return float(f"{x:.5g}") == float(f"{y:.5g}")
    return bool(x == y)


def runs_by_key(data: dict[str, Any]) -> dict[Key, dict[str, Any]]:
    return {(r["scenario"], r["policy"], r["seed"]): r for r in data["runs"]}


def compare(before: dict[str, Any], after: dict[str, Any]) -> str:
    ra, rb = runs_by_key(before), runs_by_key(after)
    sa = {(s["scenario"], s["policy"]): s for s in before["summaries"]}
    sb = {(s["scenario"], s["policy"]): s for s in after["summaries"]}
    rows = [
        "| scenario | policy | identical runs | talk min/agent-h | of ceiling | abandon (mean) "
        "| worst 24 h | worst hour | dials/connect | peak lines |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    fields = (("talk_mean", "{:.1f}", 1), ("fraction", "{:.1f} %", 100), ("abandon_mean", "{:.2f} %", 100),
              ("worst_24h", "{:.2f} %", 100), ("worst_hour", "{:.1f} %", 100),
              ("dials_per_connect", "{:.2f}", 1), ("peak_lines", "{}", 1))
    for key in (k for k in sa if k in sb):  # the benchmark's order
        keys = [k for k in ra if k[:2] == key and k in rb]
        equal = sum(all(same(ra[k][f], rb[k].get(f)) for f in ra[k]) for k in keys)
        cells = []
        for f, fmt, scale in fields:
            x, y = fmt.format(sa[key][f] * scale), fmt.format(sb[key][f] * scale)
            cells.append(x if x == y else f"{x} → **{y}**")
        rows.append(f"| {key[0]} | {key[1]} | {equal} / {len(keys)} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args()
    print(compare(json.loads(args.before.read_text()), json.loads(args.after.read_text())), end="")


if __name__ == "__main__":
    main()
