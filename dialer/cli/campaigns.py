"""``dialer campaigns``: define, start, pause and inspect campaigns."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import click

from campaigns import store
from campaigns.definition import definition_to_data, load_definition
from dialer.cli.common import emit, json_option
from dialer.services.campaigns import apply_definition, list_campaigns
from dialer.vocabulary import AuditAction


@click.group()
def cli() -> None:
    """Define campaigns from TOML files (see config/campaigns/ and docs/campaigns.md), start,
    pause and stop them, and see how they are doing. A running daemon picks up changes within
    a few seconds."""


@cli.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
def apply_cmd(obj, file: Path, as_json: bool) -> None:
    """Create or update the campaign defined in FILE (validated; errors name the field)."""
    from dialer.cli.audit import cli_actor
    from dialer.storage.audit import record

    definition = load_definition(file)
    applied = apply_definition(obj.engine, definition)
    overrides = [{"rule": o.rule, "reason": o.reason} for o in definition.compliance.overrides]
    with obj.engine.begin() as conn:  # who changed the campaign, and any rule of its pack set aside
        record(conn, AuditAction.CAMPAIGN_APPLIED, cli_actor(), target=definition.name, source="cli",
               detail={"created": applied.created, "file": str(file), "jurisdiction": definition.jurisdiction,
                       "overrides": overrides})
    data = {"campaign": definition.name, "created": applied.created, "mode": definition.dial.mode,
            "lists_attached": applied.lists_attached, "lists_missing": applied.lists_missing}
    if as_json:
        emit(data, True)
        return
    click.echo(f"campaign {definition.name!r} {'created' if applied.created else 'updated'} "
               f"({definition.dial.mode}, queue {definition.dial.queue or definition.name})")
    if applied.lists_missing:
        click.echo(f"note: lists not found yet (import them with --campaign {definition.name}): "
                   + ", ".join(applied.lists_missing))


@cli.command("ls")
@json_option
@click.pass_obj
def ls_cmd(obj, as_json: bool) -> None:
    """List campaigns with their status, dial mode and lead count."""
    emit(list_campaigns(obj.reader), as_json, title="campaigns")


@cli.command("show")
@click.argument("name")
@json_option
@click.pass_obj
def show_cmd(obj, name: str, as_json: bool) -> None:
    """Show a campaign's definition."""
    with obj.reader.connect() as conn:
        _id, status, definition = store.load(conn, name)
    data = {"name": name, "status": status, **definition_to_data(definition)}
    if as_json:
        emit(data, True)
        return
    d = definition.dial
    emit({"name": name, "status": status, "mode": d.mode, "trunk": d.trunk, "queue": d.queue,
          "ring timeout (s)": d.ring_timeout, "max lines": d.max_lines, "abandon target": d.abandon_target,
          "amd": d.amd, "lists": ", ".join(f"{x.name} (priority {x.priority})" for x in definition.lists),
          "dispositions": ", ".join(x.code for x in definition.dispositions),
          "refusal reasons": ", ".join(x.code for x in definition.refusal_reasons),
          "rules": len(definition.rules)}, False, title=f"campaign {name}")


AUDITED = {"active": AuditAction.CAMPAIGN_STARTED, "paused": AuditAction.CAMPAIGN_PAUSED,
           "stopped": AuditAction.CAMPAIGN_STOPPED}


def _status_command(verb: str, status: str, help_text: str) -> None:
    @cli.command(verb, help=help_text)
    @click.argument("name")
    @click.pass_obj
    def cmd(obj, name: str) -> None:
        from dialer.cli.audit import cli_actor
        from dialer.storage.audit import record

        previous = store.set_status(obj.engine, name, status)
        with obj.engine.begin() as conn:
            record(conn, AUDITED[status], cli_actor(), target=name, source="cli", detail={"previous": previous})
        click.echo(f"campaign {name!r}: {previous} -> {status}")


_status_command("start", "active", "Start (or resume) dialling the campaign.")
_status_command("pause", "paused", "Pause the campaign: no new calls; calls in progress finish.")
_status_command("stop", "stopped", "Stop the campaign: no new calls until it is started again.")


@cli.command("status")
@click.argument("name")
@json_option
@click.pass_obj
def status_cmd(obj, name: str, as_json: bool) -> None:
    """Leads by status, calls and abandon rate of the last 24 hours."""
    from datetime import UTC, datetime, timedelta

    from dialer.services.report import build_report

    with obj.reader.connect() as conn:
        row = store.find(conn, name)
        now = datetime.now(UTC)
        report = build_report(conn, row.id, name, now=now, since=now - timedelta(hours=24))
    data = {"campaign": name, "status": row.status, "leads": report.leads_by_status,
            "leads_remaining": report.leads_remaining, "calls_24h": report.calls,
            "outcomes_24h": report.outcomes, "abandon_rate_24h": report.abandon_rate_24h}
    emit(data, as_json, title=f"campaign {name}")


if importlib.util.find_spec("dialer.cli.retarget") is not None:
    _retarget = importlib.import_module("dialer.cli.retarget")
    _command = getattr(_retarget, "retarget", None) or getattr(_retarget, "cli", None)
    if isinstance(_command, click.Command):
        cli.add_command(_command, "retarget")


@cli.command("why")
@click.argument("name")
@click.option("--at", "at", metavar="WHEN", help="A moment to diagnose instead of now (ISO 8601; naive = UTC).")
@json_option
@click.pass_obj
def why_cmd(obj, name: str, at: str | None, as_json: bool) -> None:
    """Why the campaign is (not) dialling: callable leads now (or --at WHEN) and, for the rest,
    how many each reason holds back (each lead counted once, in order of precedence)."""
    from dialer.cli.common import parse_when
    from dialer.services.diagnostics import print_why, why

    with obj.reader.connect() as conn:
        report = why(conn, name, parse_when(at, "--at"))
    if as_json:
        emit(report.as_dict(), True)
    else:
        print_why(report)


@cli.command("forecast")
@click.argument("name")
@click.option("--hours", default=24, show_default=True, type=click.IntRange(1, 24 * 14), help="Hours ahead.")
@json_option
@click.pass_obj
def forecast_cmd(obj, name: str, hours: int, as_json: bool) -> None:
    """Hour by hour: leads becoming callable (windows opening, gaps elapsing, callbacks due) and,
    at the campaign's recent dial rate, when the list runs dry."""
    from dialer.services.diagnostics import forecast, print_forecast

    with obj.reader.connect() as conn:
        result = forecast(conn, name, hours)
    if as_json:
        emit(result.as_dict(), True)
    else:
        print_forecast(result)
