"""Claiming callable leads for dialling, atomically, on SQLite and PostgreSQL.

One statement picks the next leads and marks them ``dialing``:

    UPDATE leads SET status='dialing', attempts=attempts+1, last_call_at=:now
    WHERE id IN (SELECT ... ORDER BY ... LIMIT :n [FOR UPDATE SKIP LOCKED]) RETURNING ...

On PostgreSQL the sub-select locks with ``FOR UPDATE SKIP LOCKED`` so that several daemons
sharing one database never take the same lead; on SQLite the statement is atomic on its own
(one writer at a time).  The ``calls`` rows are inserted in the same transaction, before any
Originate is sent: after a crash the database says which leads were in flight.

Callable means: the lead's list is active and attached to the campaign; status ``new``,
``retry`` or ``callback``; due (``next_call_at`` unset or past); its number not on the global
or the campaign's DNC list; and its calling window open — the caller passes the set of
``timezones`` values (candidate-zone sets) that are open now (see :func:`open_zone_sets`).
Gaps, attempt limits and frequency caps are enforced when ``next_call_at`` is computed by the
rules after each call, so "due" already honours them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, case, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

import dialer.schema  # noqa: F401  (every table registered)
from campaigns.windows import CallingWindow, is_open, region_code
from dialer.db import Base

CALLABLE_STATUSES = ("new", "retry", "callback")

leads = Base.metadata.tables["leads"]
lists_ = Base.metadata.tables["lead_lists"]
dnc = Base.metadata.tables["dnc_numbers"]
calls = Base.metadata.tables["calls"]


@dataclass(frozen=True)
class ClaimedLead:
    call_id: int
    channel_id: str
    lead_id: int
    phone: str
    attempt: int
    timezones: str
    first_name: str | None
    last_name: str | None


def callable_filter(campaign_id: int, now: datetime, open_sets: Iterable[str] | None):  # noqa: ANN201
    """The WHERE clause of a callable lead (``open_sets`` None: ignore calling windows)."""
    conditions = [
        lists_.c.campaign_id == campaign_id,
        lists_.c.active.is_(True),
        leads.c.status.in_(CALLABLE_STATUSES),
        or_(leads.c.next_call_at.is_(None), leads.c.next_call_at <= now),
        ~exists().where(dnc.c.phone == leads.c.phone, dnc.c.scope.in_((0, campaign_id))),
    ]
    if open_sets is not None:
        conditions.append(leads.c.timezones.in_(sorted(set(open_sets)) or [""]))
        conditions.append(leads.c.timezones != "")
    return and_(*conditions)


def _pick(campaign_id: int, n: int, now: datetime, open_sets: Iterable[str] | None, new_first: bool) -> Select:
    order = [
        case((leads.c.status == "callback", 0), else_=1),
        lists_.c.priority.desc(),
        leads.c.priority.desc(),
    ]
    if new_first:
        order.append(case((leads.c.status == "new", 0), else_=1))
    order += [leads.c.next_call_at.asc().nulls_first(), leads.c.id]
    return (
        select(leads.c.id)
        .select_from(leads.join(lists_, lists_.c.id == leads.c.list_id))
        .where(callable_filter(campaign_id, now, open_sets))
        .order_by(*order)
        .limit(n)
    )


async def claim_leads(
    conn: AsyncConnection,
    *,
    campaign_id: int,
    n: int,
    now: datetime,
    node: str,
    ring_timeout: int,
    open_sets: Iterable[str] | None,
    new_first: bool = True,
    channel_prefix: str = "dlr",
) -> list[ClaimedLead]:
    """Claim up to ``n`` leads and write a ``calls`` row for each; the caller commits."""
    if n <= 0:
        return []
    pick = _pick(campaign_id, n, now, open_sets, new_first)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True, of=leads)
    claimed = (
        await conn.execute(
            update(leads)
            .where(leads.c.id.in_(pick.scalar_subquery()))
            .values(status="dialing", attempts=leads.c.attempts + 1, last_call_at=now)
            .returning(
                leads.c.id, leads.c.phone, leads.c.attempts, leads.c.timezones,
                leads.c.first_name, leads.c.last_name,
            )
        )
    ).all()
    if not claimed:
        return []
    rows = [
        {
            "campaign_id": campaign_id, "lead_id": r.id, "phone": r.phone, "attempt": r.attempts,
            "node": node, "status": "placing", "ring_timeout": ring_timeout, "placed_at": now,
            # Unique for the PBX's lifetime, across daemons and databases.
            "channel_id": f"{channel_prefix}-{uuid.uuid4().hex[:20]}",
        }
        for r in claimed
    ]
    ids = (await conn.execute(insert(calls).returning(calls.c.id, calls.c.lead_id, calls.c.channel_id), rows)).all()
    by_lead = {lead_id: (call_id, chan) for call_id, lead_id, chan in ids}
    return [
        ClaimedLead(*by_lead[r.id], r.id, r.phone, r.attempts, r.timezones, r.first_name, r.last_name)
        for r in claimed
    ]


async def zone_keys(conn: AsyncConnection, campaign_id: int) -> list[tuple[str, str | None, str | None]]:
    """The distinct (timezones, country, state) of the campaign's leads still to be called."""
    rows = await conn.execute(
        select(leads.c.timezones, leads.c.country, leads.c.state)
        .select_from(leads.join(lists_, lists_.c.id == leads.c.list_id))
        .where(lists_.c.campaign_id == campaign_id, leads.c.status.in_(CALLABLE_STATUSES))
        .distinct()
    )
    return [tuple(r) for r in rows]


def open_zone_sets(
    window: CallingWindow, keys: Sequence[tuple[str, str | None, str | None]], at: datetime
) -> set[str] | None:
    """The ``timezones`` values whose every zone is inside the window at ``at``.

    A zone set that is open for one region but closed for another (a region override) is left
    out entirely — the safe side.  ``None`` never: an empty set means nothing is callable.
    """
    verdict: dict[str, bool] = {}
    for zones, country, state in keys:
        if not zones:
            continue
        ok = is_open(window, zones.split(), at, region_code(country, state))
        verdict[zones] = verdict.get(zones, True) and ok
    return {zones for zones, ok in verdict.items() if ok}
