"""``dialer config``: the effective settings."""

from __future__ import annotations

import json

import click


@click.command()
@click.pass_obj
def cli(obj) -> None:
    """Show the effective settings as JSON (defaults, settings file and DIALER_* variables
    merged), with secrets and database passwords masked."""
    click.echo(json.dumps(obj.settings.public_dict(), indent=2))
