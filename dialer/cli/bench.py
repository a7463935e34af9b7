"""``dialer bench``: benchmarks. ``dialer bench pacing`` runs the pacing policies in the
discrete-event simulator (virtual time) over the shipped scenarios (``benchmarks/scenarios``
of the checkout, carried by the package)."""

from __future__ import annotations

import json
import sys

import click


@click.group()
def cli() -> None:
    """Benchmarks: pacing policies in a discrete-event simulation."""


@cli.command("pacing")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    help="Scenario: a TOML file, or the name of a shipped one (small, medium, ...; repeatable); "
    "default: every shipped scenario.",
)
@click.option("--seeds", default=20, show_default=True, type=click.IntRange(1), help="Seeds per scenario and policy.")
@click.option(
    "--policy",
    "policies",
    multiple=True,
    help="Policy to run (repeatable): progressive, ratio-2.0, vicidial, predictive; default: all.",
)
@click.option("--hours", type=click.FloatRange(0.1), help="Override the length of the simulated day.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1), help="Worker processes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (summaries and every run) instead of a table.")
def pacing(
    scenarios: tuple[str, ...],
    seeds: int,
    policies: tuple[str, ...],
    hours: float | None,
    jobs: int,
    as_json: bool,
) -> None:
    """Compare pacing policies per scenario over N seeds against the ceiling
    (mean talk / (mean talk + mean wrap-up)): talk minutes per agent-hour (mean, 5th
    percentile, share of the ceiling), abandon rate (overall, worst 24 h window, worst hour),
    agent wait between calls (mean, p95), dials per connected call and peak lines."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from dialer.errors import InputError
    from dialer.pacing.sim.bench import (
        POLICY_SPECS,
        default_scenario_dir,
        default_scenarios,
        run_bench,
        scenario_file,
    )

    try:
        files = [scenario_file(s) for s in scenarios] or default_scenarios()
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if not files:
        raise InputError(f"no scenario files in {default_scenario_dir()}: pass --scenario FILE")
    labels = list(policies) or list(POLICY_SPECS)
    bad = [p for p in labels if p not in POLICY_SPECS]
    if bad:
        raise InputError(f"unknown policy {bad[0]!r}; expected one of {', '.join(POLICY_SPECS)}")
    err = Console(stderr=True)
    total = len(files) * len(labels) * seeds
    try:
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("simulating", total=total)
            summaries, runs = run_bench(
                files,
                policies=labels,
                seeds=seeds,
                hours=hours,
                jobs=jobs,
                progress=lambda r: bar.advance(task),
            )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if as_json:
        json.dump(
            {
                "seeds": seeds,
                "summaries": [s.to_dict() for s in summaries],
                "runs": [r.to_dict() for r in runs],
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
        return
    out = Console()
    if not out.is_terminal:
        out = Console(width=160)
    out.print(summary_table(summaries, seeds))


def summary_table(summaries, seeds: int):
    """A rich table of :class:`~dialer.pacing.sim.metrics.Summary` rows."""
    from rich.table import Table

    table = Table(title=f"Pacing benchmark ({seeds} seeds per row; abandon target 3 %)")
    for col in (
        "scenario", "policy", "talk min/agent-h", "p5", "of ceiling", "abandon",
        "worst 24 h", "worst hour", "wait s", "wait p95", "dials/conn", "peak lines",
    ):
        table.add_column(col, justify="left" if col in ("scenario", "policy") else "right")
    last = None
    for s in summaries:
        if s.scenario != last:
            if last is not None:
                table.add_section()
            table.add_row(s.scenario, "[dim]ceiling[/]", f"[dim]{s.ceiling:.1f}[/]", "", "[dim]100 %[/]")
            last = s.scenario
        over = s.worst_24h > 0.03 + 1e-12
        table.add_row(
            "",
            s.policy,
            f"{s.talk_mean:.1f}",
            f"{s.talk_p5:.1f}",
            f"{100 * s.fraction:.0f} %",
            f"{100 * s.abandon_mean:.2f} %",
            ("[red]" if over else "") + f"{100 * s.worst_24h:.2f} %",
            f"{100 * s.worst_hour:.1f} %",
            f"{s.wait_mean:.1f}",
            f"{s.wait_p95:.1f}",
            f"{s.dials_per_connect:.2f}",
            str(s.peak_lines),
        )
    return table
