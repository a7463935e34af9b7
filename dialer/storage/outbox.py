"""The webhook outbox (``webhook_outbox``): events for a campaign's CRM written in the same
transaction as the outcome they report, read back in order per lead for delivery.

An event's id is deterministic (``call-12-disposed``): writing the same fact twice (a status
written again after a reconnect, a replayed journal) queues it once.  A lead's events go out
in ``id`` order: an event waits while an earlier event of its lead is not delivered (pending,
or failed until ``dialer webhooks retry``).  See docs/webhooks.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Delete,
    Insert,
    Select,
    Update,
    delete,
    exists,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from campaigns.integrations import WEBHOOK_EVENTS
from dialer.storage.tables import calls, campaigns, leads, lists_, webhook_outbox

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
OUTBOX_STATUSES = (PENDING, DELIVERED, FAILED)


def wants(definition: Mapping[str, Any] | None, event: str) -> bool:
    """Does a stored campaign definition (plain data) subscribe a webhook to ``event``?"""
    hook = (definition or {}).get("webhook")
    return isinstance(hook, Mapping) and event in hook.get("events", WEBHOOK_EVENTS)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def payload(event: str, event_id: str, at: datetime, campaign: str, lead: Any, data: Mapping[str, Any]) -> dict:
    """The JSON body of an event: what happened, when, to which lead of which campaign."""
    return {"event": event, "event_id": event_id, "occurred_at": at.isoformat(), "campaign": campaign,
            "lead": {"id": lead.id, "external_id": lead.external_id, "phone": lead.phone}, **data}


def insert_stmt(*, event: str, event_id: str, campaign_id: int, lead_id: int | None, body: dict,
                at: datetime) -> Insert:
    return insert(webhook_outbox).values(event=event, event_id=event_id, campaign_id=campaign_id, lead_id=lead_id,
                                         payload=body, created_at=at, status=PENDING, attempts=0,
                                         next_attempt_at=at)


def exists_stmt(event_id: str) -> Select:
    return select(webhook_outbox.c.id).where(webhook_outbox.c.event_id == event_id)


def lead_stmt(lead_id: int) -> Select:
    return select(leads.c.id, leads.c.external_id, leads.c.phone).where(leads.c.id == lead_id)


async def enqueue(conn: AsyncConnection, *, event: str, event_id: str, campaign_id: int, campaign: str,
                  lead: Any, data: Mapping[str, Any], at: datetime) -> bool:
    """Queue one event (in the caller's transaction) unless it is queued already."""
    if (await conn.execute(exists_stmt(event_id))).first() is not None:
        return False
    body = payload(event, event_id, at, campaign, lead, data)
    await conn.execute(insert_stmt(event=event, event_id=event_id, campaign_id=campaign_id, lead_id=lead.id,
                                   body=body, at=at))
    return True


def enqueue_sync(conn: Connection, *, event: str, event_id: str, campaign_id: int, campaign: str,
                 lead: Any, data: Mapping[str, Any], at: datetime) -> bool:
    """:func:`enqueue` on a sync connection (the scheduler's jobs)."""
    if conn.execute(exists_stmt(event_id)).first() is not None:
        return False
    conn.execute(insert_stmt(event=event, event_id=event_id, campaign_id=campaign_id, lead_id=lead.id,
                             body=payload(event, event_id, at, campaign, lead, data), at=at))
    return True


def lead_finished_data(call_id: int, status: str, summary: str, attempts: int) -> dict:
    """``lead.finished``: the lead will not be called again in the campaign (done or DNC)."""
    return {"call_id": call_id, "status": str(status), "reason": summary, "attempts": attempts}


async def lead_row(conn: AsyncConnection, lead_id: int) -> Any:
    return (await conn.execute(lead_stmt(lead_id))).first()


# ---------------------------------------------------------------------- events of a call


def call_stmt(call_id: int) -> Select:
    """A call with its campaign (name, stored definition) and lead (external id)."""
    return (select(calls.c.id, calls.c.campaign_id, calls.c.lead_id, calls.c.phone, calls.c.attempt,
                   calls.c.agent, calls.c.connected_at, calls.c.placed_at, calls.c.recording_path,
                   campaigns.c.name.label("campaign"), campaigns.c.definition, leads.c.external_id)
            .select_from(calls.join(campaigns, campaigns.c.id == calls.c.campaign_id)
                         .join(leads, leads.c.id == calls.c.lead_id))
            .where(calls.c.id == call_id))


async def call_connected(conn: AsyncConnection, call_id: int, at: datetime | None) -> bool:
    """Queue ``call.connected`` for a call that reached an agent (if its campaign wants it)."""
    row = (await conn.execute(call_stmt(call_id))).first()
    if row is None or not wants(row.definition, "call.connected"):
        return False
    at = row.connected_at or at or row.placed_at
    lead = _Lead(row.lead_id, row.external_id, row.phone)
    data = {"call": {"id": row.id, "attempt": row.attempt, "agent": row.agent,
                     "connected_at": at.isoformat()}}
    return await enqueue(conn, event="call.connected", event_id=f"call-{call_id}-connected",
                         campaign_id=row.campaign_id, campaign=row.campaign, lead=lead, data=data, at=at)


async def call_dnc_added(conn: AsyncConnection, call_id: int, *, scope: str, reason: str | None, source: str,
                         at: datetime) -> bool:
    """Queue ``dnc.added`` for the number of ``call_id`` put on a DNC list (if its campaign
    wants it).  One per call (``call-12-dnc-added``), whichever way came first: the agent's
    button, the opt-out keypress, a DNC disposition or rule; ``dnc.source`` says which."""
    row = (await conn.execute(call_stmt(call_id))).first()
    if row is None or not wants(row.definition, "dnc.added"):
        return False
    lead = _Lead(row.lead_id, row.external_id, row.phone)
    return await enqueue(conn, event="dnc.added", event_id=f"call-{call_id}-dnc-added", campaign_id=row.campaign_id,
                         campaign=row.campaign, lead=lead, at=at, data={
                             "call_id": call_id, "dnc": dnc_data(row.phone, scope, reason, source)})


def dnc_data(phone: str, scope: str, reason: str | None, source: str) -> dict:
    """The ``dnc`` object of a ``dnc.added`` event."""
    return {"phone": phone, "scope": scope, "reason": reason, "source": source}


def subscribers_stmt(campaign_id: int | None) -> Select:
    stmt = select(campaigns.c.id, campaigns.c.name, campaigns.c.definition)
    return stmt if campaign_id is None else stmt.where(campaigns.c.id == campaign_id)


def number_leads_stmt(numbers: list[str], campaign_ids: list[int]) -> Select:
    """The leads with one of ``numbers`` in lists of ``campaign_ids``, with their campaign."""
    return (select(leads.c.id, leads.c.external_id, leads.c.phone, lists_.c.campaign_id)
            .select_from(leads.join(lists_, lists_.c.id == leads.c.list_id))
            .where(leads.c.phone.in_(numbers), lists_.c.campaign_id.in_(campaign_ids))
            .order_by(leads.c.id))


def dnc_added_sync(conn: Connection, entries: list[tuple[int, str]], campaign_id: int | None, *,
                   reason: str | None, source: str, at: datetime) -> int:
    """Queue ``dnc.added`` for DNC entries (id, number) added without a call (``dialer dnc
    add/import``): one event per lead holding the number in a campaign that wants it (the
    entry's campaign, or any for a global entry), id ``dnc-<entry>-lead-<lead>``, ``call_id``
    null.  A number that is no such lead has no campaign or lead to report it under: no event.
    Returns how many were queued."""
    if not entries:
        return 0
    subs = {r.id: r.name for r in conn.execute(subscribers_stmt(campaign_id)) if wants(r.definition, "dnc.added")}
    if not subs:
        return 0
    scope = "global" if campaign_id is None else "campaign"
    entry_of = {phone: entry_id for entry_id, phone in entries}
    numbers, queued = list(entry_of), 0
    for i in range(0, len(numbers), 500):
        for lead in conn.execute(number_leads_stmt(numbers[i:i + 500], list(subs))).all():
            event_id = f"dnc-{entry_of[lead.phone]}-lead-{lead.id}"
            if conn.execute(exists_stmt(event_id)).first() is not None:
                continue
            body = payload("dnc.added", event_id, at, subs[lead.campaign_id], lead,
                           {"call_id": None, "dnc": dnc_data(lead.phone, scope, reason, source)})
            conn.execute(insert_stmt(event="dnc.added", event_id=event_id, campaign_id=lead.campaign_id,
                                     lead_id=lead.id, body=body, at=at))
            queued += 1
    return queued


class _Lead:
    __slots__ = ("external_id", "id", "phone")

    def __init__(self, id: int, external_id: str | None, phone: str) -> None:
        self.id, self.external_id, self.phone = id, external_id, phone


# ---------------------------------------------------------------------- delivery


def due_stmt(now: datetime, limit: int = 50) -> Select:
    """Pending events due now that are first in line for their lead, oldest first, with their
    campaign's stored definition (the webhook's URL and secret are read at delivery)."""
    o, earlier = webhook_outbox, webhook_outbox.alias("earlier")
    blocked = exists().where(earlier.c.lead_id == o.c.lead_id, earlier.c.id < o.c.id,
                             earlier.c.status != DELIVERED)
    return (select(o.c.id, o.c.event_id, o.c.event, o.c.lead_id, o.c.payload, o.c.attempts, o.c.campaign_id,
                   campaigns.c.name.label("campaign"), campaigns.c.definition)
            .select_from(o.join(campaigns, campaigns.c.id == o.c.campaign_id))
            .where(o.c.status == PENDING, o.c.next_attempt_at <= now, ~blocked)
            .order_by(o.c.id).limit(limit))


def delivered_stmt(row_id: int, at: datetime) -> Update:
    return (update(webhook_outbox).where(webhook_outbox.c.id == row_id, webhook_outbox.c.status == PENDING)
            .values(status=DELIVERED, delivered_at=at, attempts=webhook_outbox.c.attempts + 1, last_error=None))


def failed_stmt(row_id: int, *, error: str, retry_at: datetime, give_up: bool) -> Update:
    """A try failed: try again at ``retry_at``, or (``give_up``) mark it failed."""
    return (update(webhook_outbox).where(webhook_outbox.c.id == row_id, webhook_outbox.c.status == PENDING)
            .values(status=FAILED if give_up else PENDING, attempts=webhook_outbox.c.attempts + 1,
                    next_attempt_at=retry_at, last_error=error[:300]))


# ---------------------------------------------------------------------- the CLI


def list_stmt(*, status: str | None = None, campaign: str | None = None, limit: int = 50) -> Select:
    o = webhook_outbox
    stmt = (select(o.c.id, o.c.event_id, o.c.event, campaigns.c.name.label("campaign"), o.c.lead_id, o.c.status,
                   o.c.attempts, o.c.created_at, o.c.next_attempt_at, o.c.delivered_at, o.c.last_error)
            .select_from(o.join(campaigns, campaigns.c.id == o.c.campaign_id))
            .order_by(o.c.id.desc()).limit(limit))
    if status is not None:
        stmt = stmt.where(o.c.status == status)
    if campaign is not None:
        stmt = stmt.where(campaigns.c.name == campaign)
    return stmt


def retry_stmt(*, ids: list[int] | None = None, campaign_id: int | None = None) -> Update:
    """Failed events (all, these ``ids``, or a campaign's) pending again, attempts reset, due
    at once (whatever the daemon's clock: due since they were queued)."""
    o = webhook_outbox
    stmt = update(o).where(o.c.status == FAILED).values(status=PENDING, attempts=0, next_attempt_at=o.c.created_at)
    if ids:
        stmt = stmt.where(o.c.id.in_(ids))
    if campaign_id is not None:
        stmt = stmt.where(o.c.campaign_id == campaign_id)
    return stmt


def retry_sync(conn: Connection, **kw: Any) -> int:
    return conn.execute(retry_stmt(**kw)).rowcount or 0


def prune_stmt(before: datetime) -> Delete:
    """Delivered events older than ``before`` (the ``purge_webhooks`` job): the receiver has them."""
    o = webhook_outbox
    return delete(o).where(o.c.status == DELIVERED, o.c.delivered_at < before)
