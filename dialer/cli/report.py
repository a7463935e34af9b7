"""``dialer report CAMPAIGN``: the campaign's results; ``dialer report agents``: per agent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from campaigns import store
from dialer.cli.common import emit, parse_when
from dialer.cli.output import print_report
from dialer.errors import InputError
from dialer.services.report import build_report


class ReportGroup(click.Group):
    """``dialer report NAME`` is ``dialer report campaign NAME`` (the command it always was)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["campaign", *args]
        return super().parse_args(ctx, args)


@click.group(cls=ReportGroup)
def cli() -> None:
    """Results: `dialer report CAMPAIGN` (a campaign's), `dialer report agents` (per agent)."""


@cli.command("campaign")
@click.argument("campaign")
@click.option("--since", help="Only calls placed since this time (ISO 8601; default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def campaign_cmd(obj, campaign: str, since: str | None, as_json: bool) -> None:
    """Outcomes, dispositions, refusal reasons, contacts and successes per hour, abandon rate
    (last 24 h and 30 days, abandoned / (abandoned + connected)), talk minutes per agent-hour,
    average handle time, average wait between calls and list exhaustion."""
    with obj.reader.connect() as conn:
        campaign_id, _status, definition = store.load(conn, campaign)
        report = build_report(
            conn, campaign_id, campaign, now=datetime.now(UTC), since=parse_when(since, "--since"),
            contact_codes=frozenset(d.code for d in definition.dispositions if d.contact),
            success_codes=frozenset(d.code for d in definition.dispositions if d.success),
        ).to_dict()
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)


@cli.command("agents")
@click.option("--since", help="From this time (ISO 8601; naive is UTC; default: today 00:00 UTC).")
@click.option("--until", help="Until this time (ISO 8601; default: now).")
@click.option("--campaign", help="Only this campaign's calls and time.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as CSV (spreadsheet-safe) to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def agents_cmd(obj, since: str | None, until: str | None, campaign: str | None, csv_file: Path | None,
               as_json: bool) -> None:
    """Per agent: calls, contacts, successes, conversion, refusals by reason, average handle
    time (talk + wrap-up per call), time talking, in wrap-up, ready and paused by pause code."""
    from dialer.services.agents_report import agent_report, report_csv

    now = datetime.now(UTC)
    start = parse_when(since, "--since") or now.replace(hour=0, minute=0, second=0, microsecond=0)
    end = parse_when(until, "--until") or now
    if end <= start:
        raise InputError("--until must be after --since")
    if end - start > timedelta(days=366):
        raise InputError("--since to --until: at most 366 days")
    with obj.reader.connect() as conn:
        report = agent_report(conn, start, end, campaign)
    if csv_file is not None:
        csv_file.write_text(report_csv(report), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    rows = [{**{k: a[k] for k in ("agent", "calls", "contacts", "successes")},
             "conversion": f"{100 * a['conversion']:.1f} %", "AHT": _mmss(a["aht_s"]), "talk": _mmss(a["talk_s"]),
             "wrap-up": _mmss(a["wrapup_s"]), "paused": {k: _mmss(v) for k, v in a["pause_by_code"].items()},
             "refusals": a["refusals"]} for a in report["agents"]]
    emit(rows, False, title=f"agents {report['since']} to {report['until']}")


def _mmss(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"
