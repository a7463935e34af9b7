"""A person's do-not-call request taken by the dialer (the DNC button, the opt-out keypress, a
disposition or rule): the ``dnc_numbers`` entry with when it was taken and until when it must be
honoured — the longest ``[records] dnc_request_years`` of the packs that apply to the number
(the campaign's jurisdiction, the number's country and US state: :func:`campaigns.packs.
dnc_honour_until`; None = for ever).  An entry already there keeps the longer period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from campaigns.packs import dnc_honour_until
from dialer.storage.tables import campaigns, dnc


def honoured_until(requested_at: datetime | None, until: datetime | None,
                   new_until: datetime | None) -> datetime | None:
    """An entry's honour period once a (new) request is added to it: the request's own if the
    entry was the operator's (``requested_at`` None); else the later end, for ever (None) winning."""
    if requested_at is None:
        return new_until
    if until is None or new_until is None:
        return None
    return max(until, new_until)


async def jurisdiction_of(conn: AsyncConnection, *, campaign_id: int | None = None,
                          name: str | None = None) -> str | None:
    """The stored jurisdiction of a campaign (by id or name); None without one."""
    q = select(campaigns.c.definition)
    q = q.where(campaigns.c.id == campaign_id) if campaign_id is not None else q.where(campaigns.c.name == name)
    definition = (await conn.execute(q)).scalar()
    value = (definition or {}).get("jurisdiction") if isinstance(definition, dict) else None
    return str(value) if value else None


async def record_request(conn: AsyncConnection, phone: str, scope: int, *, jurisdiction: str | None,
                         at: datetime, source: str, reason: str | None) -> bool:
    """Put ``phone`` on the list of ``scope`` (0: global) as a request taken at ``at``; returns
    whether the entry is new.  An entry already there becomes a request if it was not one."""
    until = dnc_honour_until(jurisdiction, phone, at)
    row = (await conn.execute(select(dnc.c.id, dnc.c.requested_at, dnc.c.honour_until)
                              .where(dnc.c.phone == phone, dnc.c.scope == scope))).first()
    if row is None:
        await conn.execute(insert(dnc).values(
            phone=phone, scope=scope, campaign_id=scope or None, source=source[:100], reason=reason,
            created_at=at, requested_at=at, honour_until=until))
        return True
    await conn.execute(update(dnc).where(dnc.c.id == row.id).values(
        requested_at=row.requested_at or at, honour_until=honoured_until(row.requested_at, row.honour_until, until)))
    return False
