"""``dialer campaigns retarget``: move leads refused for a reason in one campaign into another."""

from __future__ import annotations

import json

import click


@click.command("retarget")
@click.option("--from", "source", required=True, help="Campaign the leads were refused in.")
@click.option("--reason", required=True, help="Refusal reason code, e.g. PRICE.")
@click.option("--to", "target", required=True, help="Campaign to move them into.")
@click.option("--dry-run", is_flag=True, help="Count what would move; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def cli(obj, source: str, reason: str, target: str, dry_run: bool, as_json: bool) -> None:
    """Move the leads refused with REASON in campaign FROM into campaign TO.

    They are called in TO once it is active, not before the gaps of TO's limits allow (after a
    refusal, an abandoned call, a machine) and under its frequency cap.
    """
    from dialer.services.retarget import retarget

    result = retarget(obj.engine, source, reason.upper(), target, dry_run=dry_run)
    data = result.to_dict()
    if as_json:
        click.echo(json.dumps(data))
        return
    verb = "would move" if dry_run else "moved"
    click.echo(f"{verb} {result.moved} leads from {source} to {target} (refused: {reason.upper()})"
               + (f", {result.deferred} not due before a gap ends" if result.deferred else ""))
    for why, count in sorted(result.skipped.items()):
        click.echo(f"  skipped {count}: {why}")
