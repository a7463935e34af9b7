"""Render the pacing benchmark: a markdown table and a plot of talk time against abandon rate.

    .venv/bin/dialer bench pacing --seeds 20 --jobs 2 --json > /tmp/pacing.json
    .venv/bin/python benchmarks/pacing.py /tmp/pacing.json --compact benchmarks/pacing-results.json \
        --table docs/img/pacing-table.md --plot docs/img/pacing-talk-vs-abandon.png

``--compact`` writes the committed form of the results: numbers to 5 significant digits, one
summary or run per line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

POLICY_STYLE = {
    "progressive": ("tab:gray", "o"),
    "ratio-2.0": ("tab:orange", "s"),
    "vicidial": ("tab:red", "^"),
    "predictive": ("tab:blue", "D"),
}


def markdown_table(summaries: list[dict[str, Any]]) -> str:
    head = (
        "| scenario | policy | talk min/agent-h | p5 | of ceiling | abandon (mean) | worst run "
        "| worst 24 h | worst hour | wait s (mean) | wait p95 | dials/connect | peak lines |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    last = None
    for s in summaries:
        if s["scenario"] != last:
            rows.append(f"| **{s['scenario']}** | *ceiling* | *{s['ceiling']:.1f}* | | *100 %* | | | | | | | | |")
            last = s["scenario"]
        flag = " ⚠" if s["worst_24h"] > 0.03 + 1e-12 else ""
        rows.append(
            f"| | {s['policy']} | {s['talk_mean']:.1f} | {s['talk_p5']:.1f} | {100 * s['fraction']:.1f} % "
            f"| {100 * s['abandon_mean']:.2f} % | {100 * s['abandon_max']:.2f} % "
            f"| {100 * s['worst_24h']:.2f} %{flag} | {100 * s['worst_hour']:.1f} % "
            f"| {s['wait_mean']:.1f} | {s['wait_p95']:.1f} | {s['dials_per_connect']:.2f} | {s['peak_lines']} |"
        )
    return head + "\n".join(rows) + "\n"


def compact(data: dict[str, Any]) -> str:
    """The results with numbers to 5 significant digits, one object per line."""

    def line(obj: dict[str, Any]) -> str:
        return json.dumps({k: float(f"{v:.5g}") if isinstance(v, float) else v for k, v in obj.items()},
                          ensure_ascii=False)

    return (
        f'{{"seeds": {data["seeds"]},\n"summaries": [\n'
        + ",\n".join(line(s) for s in data["summaries"])
        + '],\n"runs": [\n'
        + ",\n".join(line(r) for r in data["runs"])
        + "]}\n"
    )


def plot(data: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = data["runs"]
    summaries = data["summaries"]
    scenarios = list(dict.fromkeys(s["scenario"] for s in summaries))
    cols = 5
    rows = (len(scenarios) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 3.4 * rows), squeeze=False)
    for ax, name in zip(axes.flat, scenarios, strict=False):
        ceil = next(s["ceiling"] for s in summaries if s["scenario"] == name)
        for policy, (color, marker) in POLICY_STYLE.items():
            pts = [r for r in runs if r["scenario"] == name and r["policy"] == policy]
            if not pts:
                continue
            ax.scatter(
                [100 * r["abandon_rate"] for r in pts],
                [r["talk_min_per_agent_hour"] for r in pts],
                s=12, color=color, marker=marker, alpha=0.55, label=policy,
            )
        ax.axhline(ceil, color="black", lw=0.8, ls="--")
        ax.axvline(3.0, color="tab:red", lw=0.8, ls=":")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("abandon rate, % (per run)", fontsize=8)
        ax.set_ylabel("talk min / agent-hour", fontsize=8)
        ax.set_xlim(left=-0.3)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(scenarios):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
    fig.suptitle(
        f"Pacing: talk time vs abandon rate, {data['seeds']} seeds per policy "
        "(dashed: ceiling; dotted: 3 % target)",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path, help="JSON from `dialer bench pacing --json`")
    ap.add_argument("--table", type=Path, help="write the markdown table here (default: stdout)")
    ap.add_argument("--plot", type=Path, help="write the PNG plot here")
    ap.add_argument("--compact", type=Path, help="write the results in their committed form here")
    args = ap.parse_args()
    data = json.loads(args.results.read_text())
    if args.compact:
        args.compact.write_text(compact(data))
    table = markdown_table(data["summaries"])
    if args.table:
        args.table.write_text(table)
    else:
        print(table)
    if args.plot:
        plot(data, args.plot)


if __name__ == "__main__":
    main()
