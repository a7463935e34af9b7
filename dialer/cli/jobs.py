"""``dialer jobs``: the scheduled jobs — list them, run one now, read their history."""

from __future__ import annotations

import json
import socket

import click

_json_opt = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _runner(obj, *, read_only: bool = False):
    from dialer.scheduler import JobRunner

    s = obj.settings
    return JobRunner(obj.reader if read_only else obj.engine, data_dir=s.data_dir, node=socket.gethostname(), timezone=s.scheduler.timezone,
                     context={"default_region": s.lists.default_region or None})


@click.group()
def cli() -> None:
    """Scheduled jobs: list them with their schedule, run one now, show past runs.

    Schedules come from [scheduler.jobs] in the settings (cron: minute hour day month weekday).
    """


@cli.command("ls")
@_json_opt
@click.pass_obj
def ls_cmd(obj, as_json: bool) -> None:
    """Jobs, their schedule, next run and last result."""
    from datetime import UTC, datetime

    from dialer.scheduler import job_schedules, make_trigger
    from dialer.services.jobs import JOBS

    schedules = job_schedules(obj.settings)
    tz = obj.settings.scheduler.timezone
    last = {} if obj.missing_database else _runner(obj, read_only=True).last_runs()  # none yet: never run
    now = datetime.now(UTC)
    rows = []
    for name, spec in JOBS.items():
        expr = schedules.get(name)
        nxt = make_trigger(expr, tz).get_next_fire_time(None, now) if expr else None
        run = last.get(name)
        rows.append({
            "job": name, "schedule": expr or "disabled", "timezone": tz,
            "next_run": nxt.isoformat() if nxt else None,
            "last_started": run.started_at.isoformat() if run else None,
            "last_result": run.result if run else None, "last_node": run.node if run else None,
            "description": spec.description,
        })
    if as_json:
        click.echo(json.dumps(rows))
        return
    from rich.table import Table

    from dialer.cli.common import cell, console

    table = Table(title=f"scheduled jobs ({tz})")
    for col in ("job", "schedule", "next run", "last run", "result", "node"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["job"], r["schedule"], r["next_run"] or "-", r["last_started"] or "never",
                      cell(r["last_result"] or "-"), cell(r["last_node"] or "-"))
    console().print(table)


@cli.command("run")
@click.argument("name")
@_json_opt
@click.pass_obj
def run_cmd(obj, name: str, as_json: bool) -> None:
    """Run job NAME now, under the same lock as scheduled runs (skipped if running elsewhere)."""
    import sys

    outcome = _runner(obj).run(name, trigger="manual")
    if as_json:
        click.echo(json.dumps(outcome.to_dict()))
    else:
        click.echo(f"{name}: {outcome.result}" + (f" — {outcome.message}" if outcome.message else ""))
        for key, value in outcome.counts.items():
            click.echo(f"  {key}: {value}")
    if outcome.result == "error":
        sys.exit(1)
    if outcome.result == "skipped":
        sys.exit(3)


@cli.command("history")
@click.argument("name", required=False)
@click.option("--limit", default=20, show_default=True, help="How many runs.")
@_json_opt
@click.pass_obj
def history_cmd(obj, name: str | None, limit: int, as_json: bool) -> None:
    """Past runs (newest first), of every job or of NAME."""
    runs = _runner(obj, read_only=True).history(name, limit)
    if as_json:
        click.echo(json.dumps(runs))
        return
    from rich.table import Table

    from dialer.cli.common import cell, console

    table = Table(title="job runs")
    for col in ("id", "job", "node", "trigger", "started", "finished", "result", "message"):
        table.add_column(col)
    for r in runs:
        table.add_row(str(r["id"]), r["job"], cell(r["node"]), r["trigger"], r["started_at"] or "-",
                      r["finished_at"] or "-", cell(r["result"]), cell(r["message"] or ""))
    console().print(table)
