"""Helpers shared by CLI commands: JSON output, tables, talking to the running daemon."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dialer.errors import DialerError, InputError

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


#: Width of tables written to a pipe or a file: whole cells, never cut at 80 columns
#: (``dialer calls ls | grep CONNECTED`` must match).
PIPE_WIDTH = 10_000


def console(*, stderr: bool = False) -> Console:
    """A rich console for tables: the terminal's width on a terminal, full width otherwise."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPE_WIDTH)


def cell(value: Any) -> Text:
    """A table cell as plain text: data (a note, a lead's name) is never read as rich markup
    (``[/x]`` would crash the table, ``[link=...]`` would make a live terminal link)."""
    if value is None:
        return Text("")
    if isinstance(value, dict):
        return Text("\n".join(f"{k}: {_flat(v)}" for k, v in value.items()))
    return Text(_flat(value))


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_flat(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_flat(v) for v in value)
    return "" if value is None else str(value)


def emit(data: Any, as_json: bool, columns: list[str] | None = None, title: str | None = None) -> None:
    """Print ``data`` as JSON, a table (list of dicts) or key/value pairs (dict)."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    out = console()
    if isinstance(data, list):
        if not data:
            out.print(Text(f"(no {title or 'rows'})"))
            return
        columns = columns or list(data[0])
        table = Table(title=cell(title) if title else None)
        for c in columns:
            table.add_column(cell(c))
        for row in data:
            table.add_row(*(cell(row.get(c)) for c in columns))
        out.print(table)
    else:
        table = Table(title=cell(title) if title else None, show_header=False)
        table.add_column(style="bold")
        table.add_column()
        for k, v in data.items():
            table.add_row(cell(k), cell(v))
        out.print(table)


def parse_when(value: str | None, what: str = "time") -> datetime | None:
    """An ISO 8601 date/time; naive values are taken as UTC."""
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"{what} {value!r}: not an ISO 8601 date and time (e.g. 2026-11-23T15:00+01:00)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def daemon_request(settings: Any, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
    """Call the running daemon's HTTP API with the admin token (``<data_dir>/admin.token``)."""
    from dialer.server import admin_token

    token = token or admin_token(settings.data_dir)
    url = f"http://{settings.http.host}:{settings.http.port}{path}"
    data = json.dumps(body or {}).encode() if method != "GET" else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            message = exc.reason
        raise DialerError(f"{message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DaemonUnreachable(
            f"the dialer daemon does not answer at {settings.http.host}:{settings.http.port} "
            f"({getattr(exc, 'reason', exc)}): is `dialer run` running?"
        ) from None


class DaemonUnreachable(DialerError):
    pass
