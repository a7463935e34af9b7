"""``dialer consent``: the consent ledger (consent given, revoked; per number and scope)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from dialer.errors import InputError

_region = click.option("--region", help="Country (ISO alpha-2) for national numbers, e.g. FR "
                                        "(default: the default_region setting of [lists]).")
_scope = click.option("--scope", default="*", show_default=True,
                      help="'*' (every campaign), a seller's name, or campaign:NAME.")
_json_opt = click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
_at = click.option("--at", "when", help="When (ISO date or time, UTC if no offset); default: now.")


def _e164(number: str, region: str | None) -> str:
    from lists.phones import REASONS, normalise

    n = normalise(number, region)
    if n.e164 is None:
        raise InputError(f"{number!r} is not a usable phone number: {REASONS.get(n.reason, n.reason)}")
    return n.e164


def _when(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--at: expected a date like 2026-05-01 or 2026-05-01T10:00:00+02:00 (got {text!r})") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _record(obj, number: str, kind: str, scope: str, region: str | None, when: str | None, channel: str,
            evidence: str | None, as_json: bool) -> None:
    from lists.consent import record

    e164 = _e164(number, region or obj.settings.lists.default_region or None)
    at = _when(when)
    with obj.engine.begin() as conn:
        entry = record(conn, e164, kind, at=at, channel=channel, scope=scope, evidence=evidence, source="cli")
        _audit(conn, "CONSENT_ADDED" if kind == "given" else "CONSENT_REVOKED", e164,
               {"scope": scope, "at": at.isoformat(), "channel": channel, "entry": entry})
    if as_json:
        click.echo(json.dumps({"id": entry, "number": e164, "kind": kind, "scope": scope, "at": at.isoformat(),
                               "channel": channel}))
    else:
        click.echo(f"{e164}: consent {kind} in scope {scope!r} at {at.isoformat(timespec='seconds')}")


def _audit(conn, action: str, target: str, detail: dict) -> None:
    from dialer.cli.audit import cli_actor
    from dialer.storage.audit import record
    from dialer.vocabulary import AuditAction

    record(conn, AuditAction[action], cli_actor(), target=target, source="cli", detail=detail)


@click.group()
def cli() -> None:
    """The consent ledger: record consent and its revocation per number, list, import.

    A revocation holds the number at once in every campaign reading its scope ('*': all;
    a seller's name: the campaigns with that [compliance] seller; campaign:NAME: one), until
    a later consent.  Campaigns whose jurisdiction requires consent (DE; FR from 2026-08-11;
    US prerecorded calls) dial only numbers with consent on record.
    """


@cli.command("add")
@click.argument("number")
@_scope
@_region
@_at
@click.option("--how", "channel", default="cli", show_default=True,
              help="How consent was given (web, call, crm, paper, ...).")
@click.option("--evidence", help="The evidence kept: text, a document or recording reference.")
@_json_opt
@click.pass_obj
def add_cmd(obj, number, scope, region, when, channel, evidence, as_json) -> None:
    """Record that NUMBER's owner gave consent."""
    _record(obj, number, "given", scope, region, when, channel, evidence, as_json)


@cli.command("revoke")
@click.argument("number")
@_scope
@_region
@_at
@click.option("--channel", type=click.Choice(["cli", "api", "disposition", "dnc-button", "keypress", "file"]),
              default="cli", show_default=True, help="How the revocation arrived.")
@click.option("--evidence", help="A note or reference kept with the revocation.")
@_json_opt
@click.pass_obj
def revoke_cmd(obj, number, scope, region, when, channel, evidence, as_json) -> None:
    """Record that NUMBER's owner revoked consent (no more calls in the scope, at once)."""
    _record(obj, number, "revoked", scope, region, when, channel, evidence, as_json)


@cli.command("ls")
@click.argument("number", required=False)
@_scope
@_region
@click.option("--limit", default=100, show_default=True, help="At most this many entries.")
@_json_opt
@click.pass_obj
def ls_cmd(obj, number, scope, region, limit, as_json) -> None:
    """List ledger entries (of NUMBER; --scope filters unless '*'), oldest first."""
    from rich.console import Console
    from rich.table import Table

    from dialer.cli.common import cell
    from lists.consent import entries

    e164 = _e164(number, region or obj.settings.lists.default_region or None) if number else None
    with obj.reader.connect() as conn:
        rows = entries(conn, e164, None if scope == "*" and not number else (scope if scope != "*" else None), limit)
    if as_json:
        click.echo(json.dumps([{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
                               for r in rows]))
        return
    table = Table(show_header=True)
    for col in ("number", "kind", "scope", "at", "channel", "evidence"):
        table.add_column(col)
    for r in rows:
        table.add_row(cell(r["phone"]), cell(r["kind"]), cell(r["scope"]),
                      cell(r["at"].isoformat(timespec="seconds")), cell(r["channel"]), cell(r["evidence"] or ""))
    Console().print(table)


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(["given", "revoked"]), default="given", show_default=True,
              help="What every row records (unless --column reads it per row).")
@click.option("--column", help="A CRM export's consent column: yes/no, opt-in/opt-out, or the date given.")
@_scope
@_region
@_at
@_json_opt
@click.pass_obj
def import_cmd(obj, file, kind, column, scope, region, when, as_json) -> None:
    """Load entries from FILE, a CSV with a phone column (optional: date or consent_at, evidence)."""
    from lists.consent import import_file
    from lists.dnc import reasons_text

    region = (region or obj.settings.lists.default_region or "").upper() or None
    with obj.engine.begin() as conn:  # an error rolls the whole file back
        result = import_file(conn, file, at=_when(when), kind=kind, scope=scope, column=column, region=region)
        _audit(conn, "CONSENT_IMPORTED", str(file), {"scope": scope, "kind": kind, "column": column,
                                                    **result.as_dict()})
    if as_json:
        click.echo(json.dumps({"file": str(file), **result.as_dict()}))
        return
    click.echo(f"{file}: {result.read} rows read, {result.given} consents, {result.revoked} revocations, "
               f"{result.skipped} empty, {result.rejected} not usable"
               + (f" ({reasons_text(result.reasons)})" if result.reasons else ""))
