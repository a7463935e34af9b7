"""``dialer db``: schema migrations."""

from __future__ import annotations

import json

import click

from dialer.db import current_revision, head_revision, make_sync_engine, sqlite_file, upgrade
from dialer.secrets import mask_url


@click.group()
def cli() -> None:
    """Database schema: migrations are applied automatically on first use; these commands
    apply or inspect them explicitly."""


@cli.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_obj
def upgrade_cmd(obj, revision: str) -> None:
    """Apply schema migrations up to REVISION (default: the latest)."""
    url = obj.settings.database_url
    upgrade(url, revision)
    click.echo(f"database {mask_url(url)} at revision {current_revision(make_sync_engine(url))}")


@cli.command("current")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def current_cmd(obj, as_json: bool) -> None:
    """Show the database's schema revision and the latest one available."""
    url = obj.settings.database_url
    path = sqlite_file(url)
    none_yet = path is not None and not path.exists()  # said, never created
    current = None if none_yet else current_revision(make_sync_engine(url))
    data = {"database": mask_url(url), "current": current, "head": head_revision()}
    if as_json:
        click.echo(json.dumps(data))
    else:
        for key, value in data.items():
            click.echo(f"{key}: {value}")
