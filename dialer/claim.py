"""Claiming callable leads for dialling, atomically, on SQLite and PostgreSQL.

One statement picks the next leads and marks them ``dialing``:

    UPDATE leads SET status='dialing', attempts=attempts+1, last_call_at=:now
    WHERE id IN (SELECT ... ORDER BY ... LIMIT :n [FOR UPDATE SKIP LOCKED]) RETURNING ...

On PostgreSQL the sub-selects lock with ``FOR UPDATE SKIP LOCKED`` so that several daemons
sharing one database never take the same lead; on SQLite the statement is atomic on its own
(one writer at a time).  The ``calls`` rows are inserted in the same transaction, before any
Originate is sent: after a crash the database says which leads were in flight.

Callable means: the campaign is active; the lead's list is active and attached to the
campaign; status ``new``, ``retry`` or ``callback``; due (``next_call_at`` unset or past);
its number not on the global or the campaign's DNC list; its calling window open — the caller
passes the set of ``timezones`` values (candidate-zone sets) that are open now (see
:func:`open_zone_sets`); and an owner-exclusive callback only while its owner is logged in to
the campaign.  Gaps, attempt limits and frequency caps are computed into ``next_call_at`` by
the rules after each call; the claim checks them again against the ``calls`` table (the
campaign's ``[limits]``), because a call to the same number from another lead or campaign
happens after that lead's ``next_call_at`` was computed.

Speed: the pick is a ``UNION ALL`` of one short ordered walk per (list, status) over the index
``ix_leads_claim (list_id, status, priority DESC, next_call_at, id)``, each ``LIMIT n``, and a
final sort of those few rows into the claim's order; it never sorts the campaign's leads.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

import dialer.schema  # noqa: F401  (every table registered)
from campaigns.parsing import Invalid, parse_duration
from campaigns.windows import CallingWindow, is_open, region_code
from dialer.db import Base

CALLABLE_STATUSES = ("new", "retry", "callback")
#: Above this many (list, status) walks the claim falls back to one plain sorted query.
MAX_WALKS = 300

leads = Base.metadata.tables["leads"]
lists_ = Base.metadata.tables["lead_lists"]
dnc = Base.metadata.tables["dnc_numbers"]
calls = Base.metadata.tables["calls"]
campaigns_t = Base.metadata.tables["campaigns"]
agents_t = Base.metadata.tables["agents"]


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
    callback_owner: str | None = None  # the agent a due callback belongs to (still exclusive)


@dataclass(frozen=True)
class ClaimLimits:
    """The campaign's ``[limits]`` the claim re-checks against the ``calls`` table."""

    max_attempts: int | None = 10
    max_calls_per_number: int | None = None
    per_days: int = 30
    gap_after_refusal: timedelta = timedelta(days=30)
    gap_after_abandoned: timedelta = timedelta(hours=72)
    gap_after_machine: timedelta = timedelta(hours=24)

    @classmethod
    def from_data(cls, definition: Mapping[str, Any] | None) -> ClaimLimits:
        """From a stored campaign definition (its ``limits`` table); defaults where unset or bad."""
        data = (definition or {}).get("limits") or {}
        d = cls()

        def integer(key: str, default: int | None) -> int | None:
            value = data.get(key, default)
            return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default

        def duration(key: str, default: timedelta) -> timedelta:
            try:
                return parse_duration(data[key]) if key in data else default
            except Invalid:
                return default

        return cls(
            integer("max_attempts", d.max_attempts), integer("max_calls_per_number", None),
            integer("per_days", d.per_days) or d.per_days,
            duration("gap_after_refusal", d.gap_after_refusal),
            duration("gap_after_abandoned", d.gap_after_abandoned),
            duration("gap_after_machine", d.gap_after_machine),
        )


def number_filter(campaign_id: int, now: datetime, limits: ClaimLimits | None) -> list[ColumnElement[bool]]:
    """Conditions on the lead's number: not on DNC; no required gap or frequency cap pending."""
    conditions: list[ColumnElement[bool]] = [
        ~exists().where(dnc.c.phone == leads.c.phone, dnc.c.scope.in_((0, campaign_id))),
    ]
    if limits is None:
        return conditions
    gaps = [
        (gap, cond)
        for gap, cond in (
            (limits.gap_after_abandoned, calls.c.outcome == "ABANDONED"),
            (limits.gap_after_machine, calls.c.outcome == "MACHINE"),
            (limits.gap_after_refusal, calls.c.refusal_reason.is_not(None)),
        )
        if gap > timedelta(0)
    ]
    if gaps:
        longest = max(g for g, _ in gaps)
        conditions.append(~exists().where(
            calls.c.phone == leads.c.phone,
            calls.c.placed_at > now - longest,
            or_(*(and_(cond, calls.c.placed_at > now - gap) for gap, cond in gaps)),
        ))
    if limits.max_calls_per_number:
        recent = (
            select(func.count())
            .where(calls.c.phone == leads.c.phone, calls.c.placed_at > now - timedelta(days=limits.per_days))
            .scalar_subquery()
        )
        conditions.append(recent < limits.max_calls_per_number)
    return conditions


def _owner_free(campaign_id: int, now: datetime) -> ColumnElement[bool]:
    """A callback anyone may take now, or one whose owner is logged in to the campaign."""
    logged_in = select(agents_t.c.name).where(
        agents_t.c.campaign_id == campaign_id, agents_t.c.state != "logged_out"
    )
    return or_(
        leads.c.callback_owner.is_(None),
        leads.c.callback_exclusive_until.is_(None),
        leads.c.callback_exclusive_until <= now,
        leads.c.callback_owner.in_(logged_in),
    )


def _window(open_sets: Iterable[str] | None) -> list[ColumnElement[bool]]:
    if open_sets is None:
        return []
    return [leads.c.timezones.in_(sorted(set(open_sets)) or [""]), leads.c.timezones != ""]


def callable_filter(  # noqa: ANN201
    campaign_id: int, now: datetime, open_sets: Iterable[str] | None, limits: ClaimLimits | None = None
):
    """The WHERE clause of a callable lead (``open_sets`` None: ignore calling windows;
    ``limits`` None: do not re-check gaps and caps against the calls)."""
    conditions = [
        lists_.c.campaign_id == campaign_id,
        lists_.c.active.is_(True),
        leads.c.status.in_(CALLABLE_STATUSES),
        or_(leads.c.next_call_at.is_(None), leads.c.next_call_at <= now),
        or_(leads.c.status != "callback", _owner_free(campaign_id, now)),
        *number_filter(campaign_id, now, limits),
        *_window(open_sets),
    ]
    if limits is not None and limits.max_attempts:
        conditions.append(or_(leads.c.status == "callback", leads.c.attempts < limits.max_attempts))
    return and_(*conditions)


def _order(cols: Any, new_first: bool, pg: bool) -> list:
    order = [cols.cb, cols.lp.desc(), cols.p.desc()]
    if new_first:
        order.append(cols.nw)
    order += [cols.due.asc().nulls_first() if pg else cols.due.asc(), cols.id]
    return order


def _pick(
    campaign_id: int, n: int, now: datetime, open_sets: Iterable[str] | None, new_first: bool,
    limits: ClaimLimits | None = None, pg: bool = False,
) -> Select:
    """One sorted query over the campaign's callable leads (the fallback for very many lists)."""
    cols = select(
        leads.c.id, case((leads.c.status == "callback", 0), else_=1).label("cb"),
        lists_.c.priority.label("lp"), leads.c.priority.label("p"),
        case((leads.c.status == "new", 0), else_=1).label("nw"), leads.c.next_call_at.label("due"),
    ).select_from(leads.join(lists_, lists_.c.id == leads.c.list_id)).where(
        callable_filter(campaign_id, now, open_sets, limits)
    ).subquery()
    pick = select(leads.c.id).where(leads.c.id == cols.c.id).order_by(*_order(cols.c, new_first, pg)).limit(n)
    return pick


def _walks(
    campaign_id: int, n: int, now: datetime, open_sets: Iterable[str] | None, new_first: bool,
    limits: ClaimLimits, active_lists: Sequence[tuple[int, int]], pg: bool,
) -> Select:
    """The top ``n`` of each (list, status) walk, merged and cut to the first ``n`` in claim order."""
    common = [
        or_(leads.c.next_call_at.is_(None), leads.c.next_call_at <= now),
        *number_filter(campaign_id, now, limits),
        *_window(open_sets),
    ]
    arms = []
    for list_id, list_priority in active_lists:
        for status in CALLABLE_STATUSES:
            where = [leads.c.list_id == list_id, leads.c.status == status, *common]
            if status == "callback":
                where.append(_owner_free(campaign_id, now))
            elif limits.max_attempts:
                where.append(leads.c.attempts < limits.max_attempts)
            arm = (
                select(
                    leads.c.id,
                    literal(0 if status == "callback" else 1).label("cb"),
                    literal(list_priority).label("lp"),
                    leads.c.priority.label("p"),
                    literal(0 if status == "new" else 1).label("nw"),
                    leads.c.next_call_at.label("due"),
                )
                .where(*where)
                .order_by(
                    leads.c.priority.desc(),
                    leads.c.next_call_at.asc().nulls_first() if pg else leads.c.next_call_at.asc(),
                    leads.c.id,
                )
                .limit(n)
            )
            if pg:
                arm = arm.with_for_update(skip_locked=True, of=leads)
            arms.append(select(arm.subquery()))
    merged = union_all(*arms).subquery() if len(arms) > 1 else arms[0].subquery()
    return select(merged.c.id).order_by(*_order(merged.c, new_first, pg)).limit(n)


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
    camp = (await conn.execute(
        select(campaigns_t.c.status, campaigns_t.c.definition).where(campaigns_t.c.id == campaign_id)
    )).first()
    if camp is None or camp.status != "active":
        return []
    limits = ClaimLimits.from_data(camp.definition)
    active_lists = (await conn.execute(
        select(lists_.c.id, lists_.c.priority)
        .where(lists_.c.campaign_id == campaign_id, lists_.c.active.is_(True))
        .order_by(lists_.c.priority.desc(), lists_.c.id)
    )).all()
    if not active_lists:
        return []
    pg = conn.dialect.name == "postgresql"
    if len(active_lists) * len(CALLABLE_STATUSES) <= MAX_WALKS:
        pick = _walks(campaign_id, n, now, open_sets, new_first, limits, [tuple(r) for r in active_lists], pg)
    else:
        pick = _pick(campaign_id, n, now, open_sets, new_first, limits, pg)
        if pg:
            pick = pick.with_for_update(skip_locked=True, of=leads)
    claimed = (
        await conn.execute(
            update(leads)
            .where(leads.c.id.in_(pick.scalar_subquery()))
            .values(status="dialing", attempts=leads.c.attempts + 1, last_call_at=now)
            .returning(
                leads.c.id, leads.c.phone, leads.c.attempts, leads.c.timezones,
                leads.c.first_name, leads.c.last_name, leads.c.callback_owner,
                leads.c.callback_exclusive_until,
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
        ClaimedLead(*by_lead[r.id], r.id, r.phone, r.attempts, r.timezones, r.first_name, r.last_name,
                    r.callback_owner if _exclusive(r.callback_exclusive_until, now) else None)
        for r in claimed
    ]


def _exclusive(until: datetime | None, now: datetime) -> bool:
    if until is None:
        return False
    if until.tzinfo is None:  # SQLite gives naive UTC back
        until = until.replace(tzinfo=UTC)
    return until > now


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
