"""``dialer report CAMPAIGN``: the campaign's results."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from campaigns import store
from dialer.cli.common import parse_when
from dialer.cli.output import print_report
from dialer.services.report import build_report


@click.command()
@click.argument("campaign")
@click.option("--since", help="Only calls placed since this time (ISO 8601; default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def cli(obj, campaign: str, since: str | None, as_json: bool) -> None:
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
