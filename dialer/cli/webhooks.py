"""``dialer webhooks``: the outbox of events for the campaigns' CRMs (docs/webhooks.md)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import click

from dialer.cli.common import emit, json_option
from dialer.errors import InputError


@click.group()
def cli() -> None:
    """Events sent to a campaign's CRM: connected, disposed, lead finished, DNC added.

    The daemon delivers them in the background, retrying with backoff; an event that failed
    max_attempts times waits for `dialer webhooks retry` (and its lead's later events with it)."""


@cli.command("ls")
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]), help="Only events in this state.")
@click.option("--campaign", help="Only this campaign's events.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=30, show_default=True)
@json_option
@click.pass_obj
def ls_cmd(obj, status: str | None, campaign: str | None, limit: int, as_json: bool) -> None:
    """The most recent events, newest first, with their delivery state."""
    from dialer.storage.outbox import list_stmt

    with obj.reader.connect() as conn:
        rows = [dict(r) for r in conn.execute(list_stmt(status=status, campaign=campaign, limit=limit)).mappings()]
    emit(rows, as_json, title="webhook events")


@cli.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--campaign", help="Only this campaign's failed events.")
@click.pass_obj
def retry_cmd(obj, ids: tuple[int, ...], campaign: str | None) -> None:
    """Send failed events again (all of them, these outbox IDS, or a campaign's), due now."""
    from campaigns.store import find_id
    from dialer.storage.outbox import retry_sync

    with obj.engine.begin() as conn:
        campaign_id = find_id(conn, campaign) if campaign else None
        n = retry_sync(conn, ids=list(ids) or None, campaign_id=campaign_id)
    click.echo(f"{n} failed event{'s' if n != 1 else ''} queued again" + ("" if n else " (none failed)"))


@cli.command("test")
@click.argument("campaign")
@json_option
@click.pass_obj
def test_cmd(obj, campaign: str, as_json: bool) -> None:
    """Send a signed ``webhook.test`` event to CAMPAIGN's webhook now (not through the outbox)."""
    import httpx

    from campaigns.store import load
    from dialer.secrets import mask_url
    from dialer.webhooks.delivery import WebhookConfigError, body_of, read_secret
    from dialer.webhooks.signing import headers

    with obj.reader.connect() as conn:
        _, _, definition = load(conn, campaign)
    hook = definition.webhook
    if hook is None:
        raise InputError(f"campaign {campaign!r} has no [webhook] (docs/webhooks.md)")
    try:
        secret = read_secret(hook)
    except WebhookConfigError as exc:
        raise InputError(str(exc)) from None
    now = datetime.now(UTC)
    event_id = f"test-{uuid.uuid4().hex}"
    body = body_of({"event": "webhook.test", "event_id": event_id, "occurred_at": now.isoformat(),
                    "campaign": campaign})
    started = time.monotonic()
    try:
        answer = httpx.post(hook.url, content=body, timeout=hook.timeout, headers=headers(
            secret, int(now.timestamp()), body, event="webhook.test", event_id=event_id))
    except httpx.HTTPError as exc:
        raise InputError(f"webhook {mask_url(hook.url)}: {type(exc).__name__}: {exc}") from None
    result = {"url": mask_url(hook.url), "status": answer.status_code, "ok": answer.is_success,
              "seconds": round(time.monotonic() - started, 3), "event_id": event_id}
    emit(result, as_json, title="webhook test")
    if not answer.is_success:
        raise InputError(f"webhook {mask_url(hook.url)} answered HTTP {answer.status_code}")
