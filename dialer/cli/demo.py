"""``dialer demo``: a whole simulated campaign with a live dashboard, then the report."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from dialer.cli.output import print_report


@click.command()
@click.option("--minutes", type=click.FloatRange(0.5, 600), default=10.0, show_default=True,
              help="Simulated minutes of dialling.")
@click.option("--speed", type=click.FloatRange(1, 500), default=20.0, show_default=True,
              help="Time scale: simulated seconds per real second.")
@click.option("--agents", type=click.IntRange(1, 200), default=8, show_default=True, help="Simulated agents.")
@click.option("--leads", type=click.IntRange(10, 200_000), default=1500, show_default=True,
              help="Leads in the generated list.")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed (same seed, same demo).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the demo's database, lead file and log go (reset each run); default: "
                   "demo/ in the data directory (`dialer config` shows it).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Serve the agent desktop and the wallboard on 127.0.0.1:PORT while the demo runs.")
@click.option("--no-http", is_flag=True, help="Do not serve the desktop and the wallboard.")
@click.option("--json", "as_json", is_flag=True, help="No dashboard; print the final report as JSON.")
@click.pass_obj
def cli(obj, minutes: float, speed: float, agents: int, leads: int, seed: int, data_dir: Path | None, port: int,
        no_http: bool, as_json: bool) -> None:
    """Run a whole campaign against the built-in PBX simulator.

    Starts the simulator, a fresh SQLite database, imports a generated lead file, applies the
    example campaign campaigns/demo.toml of the shipped config (predictive), logs in simulated agents who
    dispose their calls, and dials for MINUTES of scaled time with a live dashboard. Ends with
    the campaign report. The daemon's log goes to DATA_DIR/dialer.log.

    While it runs it serves the agent desktop and the supervisor wallboard (their URLs and a
    password made for this run are printed first): sign in as `you` to take calls yourself,
    as `supervisor` to watch the floor.
    """
    from dialer.demo import DemoOptions

    data_dir = data_dir or obj.settings.data_dir / "demo"
    opts = DemoOptions(minutes=minutes, speed=speed, agents=agents, leads=leads, seed=seed, data_dir=data_dir,
                       http_port=None if no_http else port)
    report = asyncio.run(_run(opts, dashboard=not as_json and sys.stdout.isatty()))
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)


async def _run(opts, dashboard: bool) -> dict:
    from rich.console import Console
    from rich.live import Live

    from dialer.cli.output import dashboard_view
    from dialer.demo import final_report, start_demo

    console = Console(stderr=True)
    console.print(f"[bold]dialer demo[/]: {opts.agents} agents, {opts.leads} leads, "
                  f"{opts.minutes:g} simulated minutes at {opts.speed:g}x (log: {opts.data_dir / 'dialer.log'})")
    try:
        run = await start_demo(opts, log_file=opts.data_dir / "dialer.log")
    except OSError as exc:
        from dialer.errors import DialerError

        raise DialerError(f"cannot serve the desktop on 127.0.0.1:{opts.http_port} ({exc.strerror or exc}): "
                          "choose another --port, or --no-http") from None
    console.print(import_summary(run.import_result))
    if run.desktop is not None:
        click.echo(desktop_lines(run.desktop), err=not dashboard)
    clock = run.engine.clock
    end = clock.monotonic() + opts.minutes * 60
    try:
        if dashboard:
            with Live(dashboard_view(run, end), console=console, refresh_per_second=4, transient=False) as live:
                while clock.monotonic() < end and not run.task.done():
                    await asyncio.sleep(0.25)
                    live.update(dashboard_view(run, end))
                console.print("[bold]time is up[/]: no new calls; waiting for calls in flight ...")
                stopping = asyncio.create_task(run.stop())
                while not stopping.done():
                    await asyncio.sleep(0.25)
                    live.update(dashboard_view(run, None))
                await stopping
        else:
            while clock.monotonic() < end and not run.task.done():
                await asyncio.sleep(0.25)
            await run.stop()
    except BaseException:
        await run.stop()
        raise
    return final_report(run)


def desktop_lines(desktop) -> str:
    """The two URLs and how to sign in (printed before the dashboard)."""
    from dialer.demo import DEMO_AGENT, DEMO_SUPERVISOR

    return (f"agent desktop:        {desktop.agent_url}   (sign in as {DEMO_AGENT!r}, take calls yourself)\n"
            f"supervisor wallboard: {desktop.supervisor_url}   (sign in as {DEMO_SUPERVISOR!r})\n"
            f"password for both (this run only): {desktop.password}")


def import_summary(result) -> str:
    """One line on what the demo's lead import did (a user sees every row accounted for)."""
    from rich.markup import escape

    line = (f"[bold]leads[/]: {result.rows_read} rows read, {result.imported} imported, "
            f"{result.rejected} rejected, {result.duplicates} duplicates, {result.dnc} on the DNC list")
    if result.reasons:
        line += " (" + ", ".join(f"{n} {reason}" for reason, n in result.reasons.most_common()) + ")"
    if result.rejected_file and (result.rejected or result.duplicates or result.dnc):
        line += f"; rows not imported: {escape(str(result.rejected_file))}"
    return line
