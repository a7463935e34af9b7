"""``dialer calls``: inspect calls and record dispositions."""

from __future__ import annotations

import asyncio

import click
from sqlalchemy import select

from campaigns.models import campaigns as campaigns_t
from dialer.cli.common import DaemonUnreachable, daemon_request, emit, json_option, parse_when
from dialer.errors import InputError
from dialer.logs import mask_number
from dialer.models import calls as calls_t
from dialer.vocabulary import Outcome


@click.group()
def cli() -> None:
    """Calls are dial attempts: one row per attempt, written before it is placed."""


@cli.command("ls")
@click.option("--campaign", help="Only this campaign's calls.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=30, show_default=True)
@click.option("--undisposed", is_flag=True, help="Only connected calls still waiting for a disposition.")
@click.option("--show-numbers", is_flag=True, help="Show full phone numbers (masked by default).")
@json_option
@click.pass_obj
def ls_cmd(obj, campaign: str | None, limit: int, undisposed: bool, show_numbers: bool, as_json: bool) -> None:
    """The most recent calls, newest first."""
    q = (select(calls_t.c.id, campaigns_t.c.name.label("campaign"), calls_t.c.phone, calls_t.c.attempt,
                calls_t.c.status, calls_t.c.outcome, calls_t.c.agent, calls_t.c.disposition,
                calls_t.c.refusal_reason, calls_t.c.placed_at, calls_t.c.next_action)
         .select_from(calls_t.join(campaigns_t, campaigns_t.c.id == calls_t.c.campaign_id))
         .order_by(calls_t.c.id.desc()).limit(limit))
    if campaign:
        q = q.where(campaigns_t.c.name == campaign)
    if undisposed:
        q = q.where(calls_t.c.outcome == Outcome.CONNECTED, calls_t.c.disposition.is_(None))
    with obj.reader.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    if not show_numbers:
        for r in rows:
            r["phone"] = mask_number(r["phone"])
    emit(rows, as_json, title="calls")


@cli.command("show")
@click.argument("call_id", type=int)
@json_option
@click.pass_obj
def show_cmd(obj, call_id: int, as_json: bool) -> None:
    """One call with everything recorded about it."""
    with obj.reader.connect() as conn:
        row = conn.execute(select(calls_t).where(calls_t.c.id == call_id)).mappings().first()
    if row is None:
        raise InputError(f"unknown call {call_id}")
    emit(dict(row), as_json, title=f"call {call_id}")


@cli.command("dispose")
@click.argument("call_id", type=int)
@click.option("--code", required=True, help="Disposition code from the campaign (e.g. SALE, REFUSED).")
@click.option("--reason", help="Refusal reason code (required for refusal dispositions).")
@click.option("--callback", "callback", help="Callback time, ISO 8601 (e.g. 2026-11-24T18:30+01:00).")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE", help="An order-form field (repeatable).")
@click.option("--note", help="A free-text note.")
@click.pass_obj
def dispose_cmd(obj, call_id: int, code: str, reason: str | None, callback: str | None,
                fields: tuple[str, ...], note: str | None) -> None:
    """Record the disposition of a connected call (validated against its campaign).

    Goes through the running daemon, which also makes the agent ready again; when no daemon
    is running the disposition is written to the database directly."""
    order = {}
    for item in fields:
        key, eq, value = item.partition("=")
        if not eq:
            raise InputError(f"--field {item!r}: expected NAME=VALUE")
        order[key.strip()] = value
    callback_at = parse_when(callback, "--callback")
    body = {"code": code, "reason": reason, "callback_at": callback_at.isoformat() if callback_at else None,
            "order": order or None, "note": note}
    try:
        result = daemon_request(obj.settings, "POST", f"/api/calls/{call_id}/disposition", body)
    except DaemonUnreachable:
        result = asyncio.run(_dispose_offline(obj.settings.database_url, call_id, code, reason, callback_at,
                                              order or None, note))
    click.echo(f"call {call_id}: {code} recorded; next: {result.get('next')}"
               + (f" at {result['next_call_at']}" if result.get("next_call_at") else ""))


async def _dispose_offline(url, call_id, code, reason, callback_at, order, note) -> dict:
    """No daemon: the disposition checked and written, the campaign's rules applied, directly
    (audited in the same transaction; through the daemon, its API audits it)."""
    import random
    from datetime import UTC, datetime

    from dialer.cli.audit import cli_actor
    from dialer.db import make_async_engine
    from dialer.storage.audit import entry_stmt
    from dialer.storage.dispositions import dispose
    from dialer.vocabulary import AuditAction

    now = datetime.now(UTC)
    audit = entry_stmt(AuditAction.DISPOSITION, cli_actor(), target=f"call {call_id}", source="cli", at=now,
                       detail={"code": code, "reason": reason, "offline": True})
    db = make_async_engine(url)
    try:
        return await dispose(db, call_id, code=code, reason=reason, callback_at=callback_at, order_form=order,
                             note=note, now=now, rng=random.Random(), audit=audit)
    finally:
        await db.dispose()


@cli.command("recording")
@click.argument("call_id", type=int)
@json_option
@click.pass_obj
def recording_cmd(obj, call_id: int, as_json: bool) -> None:
    """The path of a call's recording (campaigns with [recording]; removed after its retention)."""
    from dialer.services.recordings import recording_path

    with obj.reader.connect() as conn:
        path = recording_path(conn, call_id)
    if path is None:
        raise InputError(f"call {call_id} has no recording (its campaign does not record, it did not reach an "
                         "agent, or the recording was removed after the retention days)")
    if as_json:
        emit({"call_id": call_id, "path": path}, True)
    else:
        click.echo(path)
