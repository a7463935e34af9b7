"""``dialer nodes``: the daemons sharing this database, one per PBX (docs/scaling.md)."""

from __future__ import annotations

import click


@click.group()
def cli() -> None:
    """Nodes (daemons and jobs-only schedulers) that share this database."""


@cli.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def ls_cmd(obj, as_json: bool) -> None:
    """Every node: role, state (alive/gone), PBX, version, last heartbeat, agents logged in (or
    lost, on a gone node), lines in use, live answers of the last 24 h."""
    from datetime import UTC, datetime

    from dialer.cli.common import emit
    from dialer.services.nodes import node_rows

    with obj.reader.connect() as conn:
        rows = node_rows(conn, datetime.now(UTC))
    emit(rows, as_json, columns=["node", "role", "state", "pbx", "version", "last_heartbeat", "heartbeat_age_s",
                                 "agents", "agents_lost", "lines", "abandoned_24h", "connected_24h"], title="nodes")
