"""``dialer dnc``: manage do-not-call numbers (global, or per campaign with --campaign)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dialer.errors import InputError

_campaign = click.option("--campaign", help="Campaign (name or id); default: the global list.")
_region = click.option("--region", help="Country (ISO alpha-2) for national numbers, e.g. US "
                                        "(default: the default_region setting of [lists]).")
_json_opt = click.option("--json", "as_json", is_flag=True, help="Print as JSON.")


def _e164(number: str, region: str | None) -> str:
    from lists.phones import REASONS, normalise

    n = normalise(number, region)
    if n.e164 is None:
        raise InputError(f"{number!r} is not a usable phone number: {REASONS.get(n.reason, n.reason)}")
    return n.e164


def _campaign_id(conn, ref: str | None) -> int | None:
    from campaigns.store import find_id

    return find_id(conn, ref) if ref else None


def _added(conn, entries: list[tuple[int, str]], campaign_id: int | None, *, reason: str | None) -> int:
    """The ``dnc.added`` webhook events of new entries (leads holding the numbers in campaigns
    that want them), in the command's transaction; returns how many were queued."""
    from datetime import UTC, datetime

    from dialer.storage.outbox import dnc_added_sync

    return dnc_added_sync(conn, entries, campaign_id, reason=reason, source="cli", at=datetime.now(UTC))


def _audit(conn, action: str, target: str, detail: dict) -> None:
    from dialer.cli.audit import cli_actor
    from dialer.storage.audit import record
    from dialer.vocabulary import AuditAction

    record(conn, AuditAction[action], cli_actor(), target=target, source="cli", detail=detail)


@click.group()
def cli() -> None:
    """Manage do-not-call numbers: import a file, add, remove, check, list.

    A person's own request taken by the dialer (DNC button, opt-out keypress, a DNC disposition)
    is honoured as long as the rule packs that apply say (honour_until; for ever when none
    states an end) and cannot be removed before.
    """


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@_campaign
@_region
@_json_opt
@click.pass_obj
def import_cmd(obj, file: Path, campaign: str | None, region: str | None, as_json: bool) -> None:
    """Load numbers from FILE: one a line (# comments, blank lines) or a CSV with a phone column.

    National numbers (no +country code) need --region or the default_region setting of [lists];
    without either they are an error and nothing is added.
    """
    from lists.dnc import import_file, reasons_text

    region = (region or obj.settings.lists.default_region or "").upper() or None
    with obj.engine.begin() as conn:  # an error rolls the whole file back, its events and audit entry too
        cid = _campaign_id(conn, campaign)
        result = import_file(conn, file, cid, region, strict_region=True)
        events = _added(conn, result.entries, cid, reason=None)
        _audit(conn, "DNC_IMPORTED", str(file), {"campaign": campaign, **result.as_dict(), "webhook_events": events})
    if as_json:
        click.echo(json.dumps({"file": str(file), **result.as_dict()}))
        return
    click.echo(f"{file}: {result.read} numbers read, {result.added} added, {result.already} already listed, "
               f"{result.rejected} not usable" + (f" ({reasons_text(result.reasons)})" if result.reasons else ""))


@cli.command("add")
@click.argument("number")
@_campaign
@_region
@click.option("--reason", help="Why (e.g. 'customer asked').")
@_json_opt
@click.pass_obj
def add_cmd(obj, number: str, campaign: str | None, region: str | None, reason: str | None, as_json: bool) -> None:
    """Add NUMBER to the do-not-call list."""
    from lists.dnc import add_entries

    e164 = _e164(number, region or obj.settings.lists.default_region or None)
    with obj.engine.begin() as conn:
        cid = _campaign_id(conn, campaign)
        added = add_entries(conn, [e164], cid, source="cli", reason=reason)
        if added:
            events = _added(conn, added, cid, reason=reason)
            _audit(conn, "DNC_ADDED", e164, {"campaign": campaign, "reason": reason, "webhook_events": events})
    if as_json:
        click.echo(json.dumps({"number": e164, "added": bool(added)}))
    else:
        click.echo(f"{e164} {'added' if added else 'was already on the list'}")


@cli.command("remove")
@click.argument("number")
@_campaign
@_region
@_json_opt
@click.pass_obj
def remove_cmd(obj, number: str, campaign: str | None, region: str | None, as_json: bool) -> None:
    """Remove NUMBER from the do-not-call list (of the campaign, or the global one).

    Refused for a request taken by the dialer still to be honoured (see `dnc ls --requests`)."""
    from lists.dnc import remove_number

    e164 = _e164(number, region or obj.settings.lists.default_region or None)
    with obj.engine.begin() as conn:
        removed = remove_number(conn, e164, _campaign_id(conn, campaign))
        if removed:
            _audit(conn, "DNC_REMOVED", e164, {"campaign": campaign})
    if as_json:
        click.echo(json.dumps({"number": e164, "removed": removed}))
    elif removed:
        click.echo(f"{e164} removed")
    else:
        raise InputError(f"{e164} is not on that do-not-call list")


@cli.command("check")
@click.argument("number")
@_campaign
@_region
@_json_opt
@click.pass_obj
def check_cmd(obj, number: str, campaign: str | None, region: str | None, as_json: bool) -> None:
    """Say whether NUMBER may be called (exit code 1 when it is on a do-not-call list)."""
    from lists.dnc import dnc_entries

    e164 = _e164(number, region or obj.settings.lists.default_region or None)
    with obj.reader.connect() as conn:
        entries = dnc_entries(conn, e164, _campaign_id(conn, campaign))
    if as_json:
        click.echo(json.dumps({"number": e164, "dnc": bool(entries),
                               "scopes": ["global" if e["campaign_id"] is None else e["campaign_id"] for e in entries],
                               "entries": [_entry_json(e) for e in entries]}))
    else:
        if entries:
            where = ", ".join(("global" if e["campaign_id"] is None else f"campaign {e['campaign_id']}")
                              + (f", request honoured {_until(e)}" if e["requested_at"] else "") for e in entries)
            click.echo(f"{e164}: do not call ({where})")
        else:
            click.echo(f"{e164}: not on a do-not-call list")
    if entries:
        raise SystemExit(1)


def _until(entry: dict) -> str:
    return "for ever" if entry["honour_until"] is None else f"until {entry['honour_until']:%Y-%m-%d}"


def _entry_json(e: dict) -> dict:
    def iso(v):
        return v.isoformat() if v is not None else None

    return {"number": e["phone"], "scope": "global" if e["campaign_id"] is None else e["campaign_id"],
            "source": e["source"], "reason": e["reason"], "created_at": iso(e["created_at"]),
            "requested_at": iso(e["requested_at"]), "honour_until": iso(e["honour_until"]),
            "honoured": None if e["requested_at"] is None else _until(e)}


@cli.command("ls")
@_campaign
@click.option("--requests", is_flag=True, help="Only the requests taken by the dialer (with their honour period).")
@click.option("--limit", default=1000, show_default=True, help="At most this many entries, newest first.")
@_json_opt
@click.pass_obj
def ls_cmd(obj, campaign: str | None, requests: bool, limit: int, as_json: bool) -> None:
    """List do-not-call entries, newest first: source, reason and, for a person's request taken
    by the dialer, until when it is honoured (for ever when the packs state no end)."""
    from lists.dnc import entries

    with obj.reader.connect() as conn:
        rows = entries(conn, _campaign_id(conn, campaign), requests=requests, limit=limit)
    if as_json:
        click.echo(json.dumps([_entry_json(e) for e in rows]))
        return
    from rich.table import Table

    from dialer.cli.common import cell, console

    table = Table(show_header=True)
    for col in ("number", "scope", "added", "source", "reason", "request", "honoured"):
        table.add_column(col)
    for e in rows:
        table.add_row(e["phone"], "global" if e["campaign_id"] is None else str(e["campaign_id"]),
                      str(e["created_at"])[:19], cell(e["source"] or "-"), cell(e["reason"] or "-"),
                      str(e["requested_at"])[:19] if e["requested_at"] else "-",
                      _until(e) if e["requested_at"] else "-")
    console().print(table if rows else "no do-not-call entries")
