"""``dialer audit``: the audit log (who did what, when and from where)."""

from __future__ import annotations

import getpass

import click

from dialer.cli.common import emit, json_option, parse_when
from dialer.errors import InputError
from dialer.storage.audit import entries
from dialer.vocabulary import AuditAction

COLUMNS = ["at", "actor", "action", "target", "source", "detail"]


def cli_actor() -> str:
    """The actor of an entry written by a command: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@click.group()
def cli() -> None:
    """The audit log: sign-ins (and failed ones), pauses, dispositions, DNC added, imported and
    removed, consent given and revoked, agents added and changed, supervisor actions, campaigns
    applied, started and paused, lists imported and deleted, settings reloads. Append-only."""


@cli.command("ls")
@click.option("--since", help="Entries at or after this time (ISO 8601; naive is UTC).")
@click.option("--until", help="Entries before this time (ISO 8601; naive is UTC).")
@click.option("--action", type=click.Choice([a.value for a in AuditAction]), help="Only this action.")
@click.option("--actor", help="Only this actor (an agent's name, admin, cli:USER).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@json_option
@click.pass_obj
def ls_cmd(obj, since: str | None, until: str | None, action: str | None, actor: str | None, limit: int,
           as_json: bool) -> None:
    """List audit entries, oldest first."""
    start, end = parse_when(since, "--since"), parse_when(until, "--until")
    if start and end and end <= start:
        raise InputError("--until must be after --since")
    with obj.reader.connect() as conn:
        rows = entries(conn, since=start, until=end, action=AuditAction(action) if action else None,
                       actor=actor, limit=limit)
    for row in rows:
        row.pop("id", None)
        row["at"] = row["at"].isoformat()
    emit(rows, as_json, COLUMNS, title="audit entries")
