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
:func:`open_zone_sets`); and an owner-exclusive callback only while its owner can take it (the
daemon passes the agents it can route one to: see :func:`_owner_free`).  Gaps, attempt limits
and frequency caps are computed into ``next_call_at`` by the rules after each call; the claim checks them again against the ``calls`` table (the
campaign's ``[limits]``), because a call to the same number from another lead or campaign
happens after that lead's ``next_call_at`` was computed.

Order: due callbacks first; then by list priority; new leads before recycled ones (unless
``new_first`` is off); then by due time (oldest first, unset first), lead priority, id.  (Lead
priority orders leads due at the same moment — in practice the new leads; among recycled leads
the due time comes first, which is what lets the claim stop at the first lead not yet due.)

Speed: the pick reads ordered walks over ``ix_leads_claim (list_id, status, timezones,
next_call_at, priority DESC, id)``, one per (list, status, open zone set), merged and
concatenated in claim order so that the database stops after ``n`` callable leads (see
:func:`_walks`); it never sorts the campaign's leads and never reads leads in closed zones or
not yet due.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from campaigns import packs
from campaigns.models import campaigns as campaigns_t
from campaigns.parsing import Invalid, parse_duration
from campaigns.windows import CallingWindow, is_open, region_code
from dialer.models import agents as agents_t
from dialer.models import calls
from dialer.vocabulary import CALLABLE
from lists.models import campaign_scopes, consents, leads
from lists.models import dnc_numbers as dnc
from lists.models import lead_lists as lists_

CALLABLE_STATUSES = CALLABLE
#: SQLite page cache (KiB) and memory-mapped I/O size set on a connection that claims.
SQLITE_CACHE_KIB = 32 * 1024
SQLITE_MMAP_BYTES = 1 << 30
#: SQLite: run the claim's statements on aiosqlite's thread in one go (see :func:`_sqlite_claim`).
SQLITE_ONE_TRIP = True
#: Above this many index walks in one group the claim falls back to one plain sorted query
#: (SQLite allows 500 terms in a compound SELECT).
MAX_WALKS = 400


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
    caps: tuple[tuple[int, int], ...] = ()  # more (calls, days) caps per number, all campaigns
    #: consent-ledger scopes whose revocations hold the campaign's numbers ("*", the seller's,
    #: "campaign:NAME"); empty: the ledger is not read (plain statements of tools and tests)
    scopes: tuple[str, ...] = ()
    consent_required: bool = False  # only numbers with consent on record in those scopes

    @classmethod
    def from_data(cls, definition: Mapping[str, Any] | None, at: datetime | None = None) -> ClaimLimits:
        """From a stored campaign definition (its ``limits``, ``jurisdiction`` and ``compliance``
        tables); defaults where unset or bad.  ``at``: when the claim runs (a pack's consent
        requirement may start on a date); None: now."""
        definition = definition or {}
        data = definition.get("limits") or {}
        d = cls()
        caps = tuple(
            (c["calls"], c["days"]) for c in data.get("caps", ())
            if isinstance(c, Mapping) and isinstance(c.get("calls"), int) and isinstance(c.get("days"), int)
            and c["calls"] > 0 and c["days"] > 0
        )
        compliance = definition.get("compliance") or {}
        scopes = campaign_scopes(definition.get("name") or "", compliance.get("seller") or "")
        consent = False
        jurisdiction = definition.get("jurisdiction")
        overridden = {o.get("rule") for o in compliance.get("override", ()) if isinstance(o, Mapping)}
        if jurisdiction and "consent" not in overridden:
            consent = packs.consent_required(
                packs.chain(str(jurisdiction)), at or datetime.now(UTC), bool(compliance.get("prerecorded")))

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
            caps, scopes, consent,
        )


Moment = datetime | ColumnElement  # a time, or a placeholder of the prepared claim statement


def _marker(name: str) -> ColumnElement:
    """A placeholder for a time parameter in the compiled claim (see :func:`_claim_sql`)."""
    return literal_column(f"__T_{name}__", type_=DateTime(timezone=True))


def _before(now: Moment, gap: timedelta) -> Any:
    """``now - gap``: a value, or the placeholder named after the gap (see :func:`_time_params`)."""
    if isinstance(now, datetime):
        return now - gap
    return _marker(f"now_minus_{int(gap.total_seconds())}")


def _time_params(now: datetime, limits: ClaimLimits) -> dict[str, datetime]:
    gaps = {limits.gap_after_abandoned, limits.gap_after_machine, limits.gap_after_refusal,
            timedelta(days=limits.per_days), *(timedelta(days=days) for _, days in limits.caps)}
    return {"now": now, **{f"now_minus_{int(g.total_seconds())}": now - g for g in gaps if g > timedelta(0)}}


def _none(*where: ColumnElement[bool]) -> ColumnElement[bool]:
    """No row matches ``where`` (a correlated ``(SELECT 1 ... LIMIT 1) IS NULL``)."""
    return select(literal_column("1")).where(*where).limit(1).scalar_subquery().is_(None)


def gap_conditions(limits: ClaimLimits) -> list[tuple[timedelta, ColumnElement[bool]]]:
    """The campaign's minimum gaps after a call (abandoned, machine, refusal), each with the
    condition on ``calls`` that starts it; gaps of zero are left out."""
    return [
        (gap, cond)
        for gap, cond in (
            (limits.gap_after_abandoned, calls.c.outcome == "ABANDONED"),
            (limits.gap_after_machine, calls.c.outcome == "MACHINE"),
            (limits.gap_after_refusal, calls.c.refusal_reason.is_not(None)),
        )
        if gap > timedelta(0)
    ]


def number_filter(
    campaign_id: int, now: Moment, limits: ClaimLimits | None, t: Any = leads,
) -> list[ColumnElement[bool]]:
    """Conditions on the lead's number: not on DNC; the consent ledger's say; no required gap or
    frequency cap pending.

    Written as per-row scalar sub-selects rather than ``NOT EXISTS``: PostgreSQL would turn an
    anti-join into a hash join over all the walk's rows and lose the index order the claim
    relies on to stop early.  The likeliest to fail come first (a number without consent, where
    it is required), and the gaps and caps are one read of the number's recent calls
    (:func:`calls_condition`), however many caps a jurisdiction adds.
    """
    conditions: list[ColumnElement[bool]] = [
        _none(dnc.c.phone == t.c.phone, dnc.c.scope.in_((0, campaign_id))),
    ]
    if limits is None:
        return conditions
    if limits.scopes:
        conditions += consent_conditions(limits, t)
    recent = calls_condition(limits, now, t)
    if recent is not None:
        conditions.append(recent)
    return conditions


def calls_condition(limits: ClaimLimits, now: Moment, t: Any = leads) -> ColumnElement[bool] | None:
    """No gap pending and every frequency cap below its count, from one range of the number's
    calls (``ix_calls_phone_placed``, back to the longest gap or cap): one aggregate row that
    says 1 when a gap or a cap holds the number (``None``: no gap nor cap)."""
    caps = list(limits.caps)
    if limits.max_calls_per_number:
        caps.append((limits.max_calls_per_number, limits.per_days))
    caps = sorted(set(caps))
    gaps = gap_conditions(limits)
    spans = [timedelta(days=days) for _, days in caps] + [gap for gap, _ in gaps]
    if not spans:
        return None
    longest = max(spans)

    def since(span: timedelta, *cond: ColumnElement[bool]) -> ColumnElement[int]:
        """The number's calls in the last ``span`` (meeting ``cond``)."""
        where = [*cond, *([calls.c.placed_at > _before(now, span)] if span < longest else [])]
        if not where:
            return func.count()
        return func.count(case((and_(*where) if len(where) > 1 else where[0], 1)))

    held: list[ColumnElement[bool]] = [since(gap, cond) > 0 for gap, cond in gaps]
    held += [since(timedelta(days=days)) >= cap for cap, days in caps]
    return (
        select(case((or_(*held), 1)))
        .where(calls.c.phone == t.c.phone, calls.c.placed_at > _before(now, longest))
        .scalar_subquery()
        .is_(None)
    )


def revoked_stmt(phones: Sequence[str], scopes: Sequence[str]) -> Select:
    """The numbers among ``phones`` held by a revocation in ``scopes`` (no later consent): the
    check made again just before the Originate."""
    rev, given = consents.alias("rev"), consents.alias("given")
    later_consent = _none(given.c.phone == rev.c.phone, given.c.kind == "given",
                          given.c.scope.in_(scopes), given.c.at > rev.c.at)
    return (select(rev.c.phone).distinct()
            .where(rev.c.phone.in_(sorted(set(phones))), rev.c.kind == "revoked", rev.c.scope.in_(scopes),
                   later_consent))


async def revoked_among(conn: AsyncConnection, phones: Sequence[str], scopes: Sequence[str]) -> set[str]:
    if not phones:
        return set()
    return set((await conn.execute(revoked_stmt(phones, scopes))).scalars())


def consent_conditions(limits: ClaimLimits, t: Any = leads) -> list[ColumnElement[bool]]:
    """The consent ledger's say on the lead's number in the campaign's scopes: no revocation
    without a later consent; and, where consent is required, a consent without a later
    revocation.  A revocation recorded a moment ago holds the number at the next claim."""
    rev, given = consents.alias("rev"), consents.alias("given")
    later_consent = _none(given.c.phone == rev.c.phone, given.c.kind == "given",
                          given.c.scope.in_(limits.scopes), given.c.at > rev.c.at)
    out = [_none(rev.c.phone == t.c.phone, rev.c.kind == "revoked", rev.c.scope.in_(limits.scopes), later_consent)]
    if limits.consent_required:  # first: where consent is required, most numbers held fail here
        g2, r2 = consents.alias("g2"), consents.alias("r2")
        later_revocation = _none(r2.c.phone == g2.c.phone, r2.c.kind == "revoked",
                                 r2.c.scope.in_(limits.scopes), r2.c.at >= g2.c.at)
        out.insert(0, select(literal_column("1")).where(
            g2.c.phone == t.c.phone, g2.c.kind == "given", g2.c.scope.in_(limits.scopes), later_revocation,
        ).limit(1).scalar_subquery().is_not(None))
    return out


def _owner_free(campaign_id: int, now: Moment, t: Any = leads) -> ColumnElement[bool]:
    """A callback anyone may take now, or one whose owner can take it now.

    The daemon's claim names the owners it can serve (``ready_owners`` of :func:`claim_leads`:
    logged in to the campaign, ready, not reserved for another callback), bound as the
    ``__T_owners__`` marker; without them (``None``, and in plain statements such as the
    diagnostics') an owner can take it when the daemon last recorded it ``ready`` there.
    """
    recorded_ready = select(agents_t.c.name).where(agents_t.c.campaign_id == campaign_id, agents_t.c.state == "ready")
    can_take: ColumnElement[bool] = t.c.callback_owner.in_(recorded_ready)
    if not isinstance(now, datetime):  # the prepared claim
        can_take = or_(and_(_OwnersUnset(), can_take), _OwnerListed(t.c.callback_owner))
    return or_(
        t.c.callback_owner.is_(None),
        t.c.callback_exclusive_until.is_(None),
        t.c.callback_exclusive_until <= now,
        can_take,
    )


class _OwnersUnset(FunctionElement):
    """The prepared claim was given no owners (``__T_owners__`` is NULL)."""

    type = Boolean()
    inherit_cache = True
    name = "owners_unset"


class _OwnerListed(FunctionElement):
    """The owner column is among ``__T_owners__`` (a JSON array on SQLite, ``TEXT[]`` on PostgreSQL)."""

    type = Boolean()
    inherit_cache = True
    name = "owner_listed"


@compiles(_OwnersUnset)
def _owners_unset(element: Any, compiler: Any, **kw: Any) -> str:
    return "(__T_owners__ IS NULL)"


@compiles(_OwnersUnset, "postgresql")
def _owners_unset_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return "(CAST(__T_owners__ AS TEXT[]) IS NULL)"


@compiles(_OwnerListed)
def _owner_listed(element: Any, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} IN (SELECT value FROM json_each(__T_owners__)))"


@compiles(_OwnerListed, "postgresql")
def _owner_listed_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} = ANY(CAST(__T_owners__ AS TEXT[])))"


def _window(open_sets: Iterable[str] | None) -> list[ColumnElement[bool]]:
    if open_sets is None:
        return []
    return [leads.c.timezones.in_(sorted(set(open_sets)) or [""]), leads.c.timezones != ""]


def callable_filter(
    campaign_id: int, now: Moment, open_sets: Iterable[str] | None, limits: ClaimLimits | None = None
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


def _pick(
    campaign_id: int, n: int | ColumnElement, now: Moment, open_sets: Iterable[str] | None, new_first: bool,
    limits: ClaimLimits | None = None, pg: bool = False,
) -> Select:
    """One sorted query over the campaign's callable leads (the fallback for very many walks)."""
    order = [case((leads.c.status == "callback", 0), else_=1), lists_.c.priority.desc()]
    if new_first:
        order.append(case((leads.c.status == "new", 0), else_=1))
    order += [leads.c.next_call_at.asc().nulls_first() if pg else leads.c.next_call_at.asc(),
              leads.c.priority.desc(), leads.c.id]
    return (
        select(leads.c.id)
        .select_from(leads.join(lists_, lists_.c.id == leads.c.list_id))
        .where(callable_filter(campaign_id, now, open_sets, limits))
        .order_by(*order)
        .limit(n)
    )


def _plan(active_lists: Sequence[tuple[int, int]], new_first: bool) -> list[list[tuple[int, str]]]:
    """The groups of (list, status) in claim order (see :func:`_walks`)."""
    priorities = sorted({lp for _, lp in active_lists}, reverse=True)
    plan = [[(lid, "callback") for lid, lp in active_lists if lp == prio] for prio in priorities]
    for prio in priorities:
        in_prio = [lid for lid, lp in active_lists if lp == prio]
        if new_first:
            plan += [[(lid, "new") for lid in in_prio], [(lid, "retry") for lid in in_prio]]
        else:
            plan.append([(lid, st) for lid in in_prio for st in ("new", "retry")])
    return plan


def _walk(
    campaign_id: int, list_id: int, status: str, zone: str, now: Moment, limits: ClaimLimits, pg: bool = False,
    numbers: bool = True, light: bool = False,
) -> list[Select]:
    """One (list, status, zone) slice of ``ix_leads_claim``: callable leads, in walk order.

    Recycled leads and callbacks always carry their due time: ``next_call_at <= now`` is an
    index range, so a walk stops at the first lead not yet due.  New leads usually have none;
    PostgreSQL reads the unset and the due ones as two walks (an ``OR`` would cost the order).
    """
    where = [leads.c.list_id == list_id, leads.c.status == status, leads.c.timezones == zone]
    if numbers:
        where += number_filter(campaign_id, now, limits)
    if light:  # index columns only: the lead's other checks are made by the caller
        pass
    elif status == "callback":
        where.append(_owner_free(campaign_id, now))
    elif limits.max_attempts:
        where.append(leads.c.attempts < limits.max_attempts)
    cols = (leads.c.id, leads.c.next_call_at.label("due"), leads.c.priority.label("p"))
    if status != "new":
        return [select(*cols).where(*where, leads.c.next_call_at <= now)]
    if pg:
        return [select(*cols).where(*where, leads.c.next_call_at.is_(None)),
                select(*cols).where(*where, leads.c.next_call_at <= now)]
    return [select(*cols).where(*where, or_(leads.c.next_call_at.is_(None), leads.c.next_call_at <= now))]


def _merge(walks: list[Select], n: int | ColumnElement | None, pg: bool) -> Select:
    """The first ``n`` rows of a group's walks in walk order.

    SQLite merges the ordered walks lazily.  PostgreSQL's planner, which cannot see that, is
    given each walk as its own ``ORDER BY ... LIMIT n`` (an ordered index scan it cannot
    refuse) and sorts the few rows they yield.
    """
    def order(cols: Any) -> list:
        return [cols.due.asc().nulls_first() if pg else cols.due.asc(), cols.p.desc(), cols.id]

    if n is None:  # read lazily for as long as the caller wants; SQLite keeps the order with a LIMIT
        n = -1

    if pg:
        walks = [select(w.order_by(*order(w.selected_columns)).limit(n).subquery()) for w in walks]
    if len(walks) == 1:
        only = walks[0]
        return select(only.order_by(*order(only.selected_columns)).limit(n).subquery().c.id)
    merged = union_all(*walks)
    return select(merged.order_by(*order(merged.selected_columns)).limit(n).subquery().c.id)


def _walks(
    campaign_id: int, n: int | ColumnElement, now: Moment, zones: frozenset[str], new_first: bool,
    limits: ClaimLimits, active_lists: Sequence[tuple[int, int]], pg: bool,
) -> Select | None:
    """The first ``n`` callable leads in claim order, read lazily (``None``: too many walks).

    A walk reads one (list, status, open zone set) slice of ``ix_leads_claim`` in the order
    ``(next_call_at, lead priority DESC, id)`` and, for recycled leads and callbacks, only up to
    ``now`` (an index range: leads not yet due are never read).  Groups in claim order — the
    callbacks of the lists of each priority (highest first), then the new and recycled leads of
    the lists of each priority (new first, or merged on due time) — are concatenated
    (``UNION ALL`` without a sort, so the database stops reading once it has ``n``).  Inside a
    group the walks are merged on the walk order, which each walk delivers from the index.
    """
    zone_list = sorted(z for z in zones if z)
    if not zone_list:
        return select(leads.c.id).where(false())
    plan = _plan(active_lists, new_first)
    if max(len(g) for g in plan) * len(zone_list) > MAX_WALKS:
        return None
    if pg:
        groups = [_merge([w for lid, st in g for z in zone_list
                          for w in _walk(campaign_id, lid, st, z, now, limits, pg)], n, pg) for g in plan]
        everything = union_all(*groups).subquery()
        return select(everything.c.id).limit(n)
    # SQLite: the walks read the index only (one cursor each); the checks that need the lead's
    # row or other tables run once, on the merged stream, until ``n`` leads passed.  (Inside the
    # walks they would make every walk look for its first lead that passes before the merge
    # yields anything: a slice whose numbers all fail — a list without consent under a pack that
    # requires it — would be read to its end on every claim.)
    groups = [_merge([w for lid, st in g for z in zone_list
                      for w in _walk(campaign_id, lid, st, z, now, limits, numbers=False, light=True)], None, pg)
              for g in plan]
    cand = union_all(*groups).subquery("cand")
    lead = leads.alias("cand_lead")
    checks = [*number_filter(campaign_id, now, limits, lead),
              or_(lead.c.status != "callback", _owner_free(campaign_id, now, lead))]
    if limits.max_attempts:
        checks.append(or_(lead.c.status == "callback", lead.c.attempts < limits.max_attempts))
    # As a correlated sub-select, not a join: a join would make SQLite materialize every candidate.
    passes: Select = select(literal_column("1")).select_from(lead).where(lead.c.id == cand.c.id, *checks)
    return select(cand.c.id).where(passes.scalar_subquery().is_not(None)).limit(n)


def _pg_candidates(
    campaign_id: int, n: int, zones: frozenset[str], plan: tuple[tuple[tuple[int, str], ...], ...],
    limits: ClaimLimits, dialect: Dialect,
) -> str:
    """PostgreSQL: the first ``n`` candidates of all groups in claim order by the lead's own
    fields, skipping ids tried (SQL text with its markers).

    Each group is a sort of its walks' first ``n`` rows (see :func:`_merge`); the groups are
    concatenated (``UNION ALL``, no sort), so the executor stops at the group that completes
    the ``n`` — the groups after it are never read.  The checks on the number (DNC, gaps, cap)
    are left to :func:`_pg_lock_sql`: inside the walks they make the planner misjudge how many
    rows a walk yields and sort instead of merge.
    """
    now = _marker("now")
    tried = leads.c.id != func.all(literal_column("CAST(__T_tried__ AS BIGINT[])"))
    groups = [
        _merge([w.where(tried) for lid, st in group for z in sorted(zones)
                for w in _walk(campaign_id, lid, st, z, now, limits, True, numbers=False)], n, True)
        for group in plan
    ]
    stmt = groups[0] if len(groups) == 1 else select(union_all(*groups).subquery().c.id).limit(n)
    return _render(stmt, dialect)


def _pg_lock(campaign_id: int, limits: ClaimLimits, dialect: Dialect) -> str:
    """PostgreSQL: lock the first ``need`` candidates still callable, in candidate order.

    ``FOR UPDATE SKIP LOCKED`` passes over rows other daemons hold; the conditions are checked
    again on the latest version of each row it locks.  The candidates: ``__T_cand__``, an array.
    """
    now = _marker("now")
    cand = func.unnest(literal_column("__T_cand__")).table_valued("id", with_ordinality="ord")
    cand = cand.render_derived(name="cand")
    stmt = (
        select(leads.c.id, leads.c.phone, cand.c.ord)
        .select_from(leads.join(cand, leads.c.id == cand.c.id))
        .where(
            leads.c.status.in_(CALLABLE_STATUSES),
            or_(leads.c.next_call_at.is_(None), leads.c.next_call_at <= now),
            or_(leads.c.status != "callback", _owner_free(campaign_id, now)),
            *number_filter(campaign_id, now, limits),
            *([or_(leads.c.status == "callback", leads.c.attempts < limits.max_attempts)]
              if limits.max_attempts else []),
        )
        .order_by(cand.c.ord)
        .limit(literal_column("__T_need__"))
        .with_for_update(skip_locked=True, of=leads)
    )
    return _render(stmt, dialect)


@functools.lru_cache(maxsize=64)
def _pg_claim_sql(
    campaign_id: int, n: int, zones: frozenset[str], plan: tuple[tuple[tuple[int, str], ...], ...],
    limits: ClaimLimits, dialect: Dialect,
) -> tuple[str, tuple[str, ...]]:
    """PostgreSQL: one round of the claim in one statement (one round trip, each row found once).

    Reads the next ``n`` candidates (:func:`_pg_candidates`, into an array, once), locks the
    first ``need`` of them still callable (:func:`_pg_lock`), marks them ``dialing`` and writes
    their ``calls`` rows.  Returns a row per claimed lead, then one row (``call_id`` NULL) with
    the candidates read in ``cand``.
    """
    cand_sql = _pg_candidates(campaign_id, n, zones, plan, limits, dialect)
    lock_sql = _pg_lock(campaign_id, limits, dialect).replace("__T_cand__", "(SELECT c.ids FROM c)")
    returned = ", ".join(f"leads.{c.name}" for c in _RETURNED)
    upd_cols = ", ".join(f"upd.{c.name}" for c in _RETURNED)
    nulls = ", ".join("NULL" for _ in _RETURNED)
    sql = (
        f"WITH c AS MATERIALIZED (SELECT ARRAY({cand_sql}) AS ids), "
        f"picked AS ({lock_sql}), "
        "upd AS (UPDATE leads SET status = 'dialing', attempts = leads.attempts + 1, last_call_at = __T_now__ "
        "FROM picked WHERE leads.id = picked.id "
        # one lead per number in a claim: its calls' caps and gaps are counted from the calls
        # rows, which a lead claimed in the same statement does not have yet
        "AND NOT EXISTS (SELECT 1 FROM picked p2 WHERE p2.phone = picked.phone AND p2.ord < picked.ord) "
        f"RETURNING {returned}), "
        "ins AS (INSERT INTO calls (campaign_id, lead_id, phone, attempt, node, status, ring_timeout, placed_at, "
        "channel_id) SELECT __T_campaign_id__, upd.id, upd.phone, upd.attempts, __T_node__, 'placing', "
        "__T_ring_timeout__, __T_now__, "
        "CAST(__T_stamp__ AS TEXT) || substr(replace(CAST(gen_random_uuid() AS TEXT), '-', ''), 1, 12) "
        "FROM upd RETURNING id, lead_id, channel_id) "
        f"SELECT ins.id AS call_id, ins.channel_id, {upd_cols}, NULL AS cand FROM upd JOIN ins ON ins.lead_id = upd.id "
        f"UNION ALL SELECT NULL, NULL, {nulls}, c.ids FROM c"
    )
    return _placeholders(sql, dialect)


async def _pg_pick(
    conn: AsyncConnection, campaign_id: int, n: int, zones: frozenset[str], new_first: bool,
    limits: ClaimLimits, active_lists: tuple[tuple[int, int], ...], now: datetime, extra: dict[str, Any],
) -> list[Any]:
    """PostgreSQL: claim the leads (locked ``FOR UPDATE SKIP LOCKED``) and write their calls.

    Round by round, one statement each (:func:`_pg_claim_sql`): the next candidates of all
    groups in claim order are read without locks (a cheap lazy merge of index walks), then
    checked, locked, marked and given a ``calls`` row — a candidate another daemon holds, that
    changed since, or whose number is blocked is passed over and the next round reads the
    candidates after it.  Usually one round.  Several statements in one transaction: the row
    locks make it atomic.  Returns the claimed rows (lead columns, ``call_id``, ``channel_id``).
    """
    zone_set = frozenset(z for z in zones if z)
    if not zone_set:
        return []
    times = _time_params(now, limits)
    # (The claim's planner settings were made by the campaign query: see _PG_CAMPAIGN_LISTS.)
    # Twice as many candidates as leads wanted (some fail the number checks or are taken) or, if
    # the campaign's last claim under these limits had to read further, enough for that at once
    # (per lead wanted): candidates that keep failing (a number put on DNC, without consent where
    # a pack requires it) stay at the head of the walks until ``dnc_refresh`` or ``recycle``
    # marks them.  Round sizes are powers of two, so the statements stay few whatever ``n`` is.
    key = (campaign_id, limits)
    want = _round_size(max(2 * n, int(_PG_READ.get(key, 0.0) * n * 5 / 4)), n)
    plan = tuple(tuple(group) for group in _plan(active_lists, new_first))
    got: list[Any] = []
    tried: list[int] = []
    read = 0
    while len(got) < n:
        sql, names = _pg_claim_sql(campaign_id, want, zone_set, plan, limits, _shared(conn.dialect))
        values: dict[str, Any] = {**times, **extra, "tried": tried, "need": n - len(got)}
        rows = (await conn.exec_driver_sql(sql, tuple(values[k] for k in names))).all()
        claimed = [r for r in rows if r.call_id is not None]
        got += claimed
        cand = next((r.cand for r in rows if r.call_id is None), None) or []
        if claimed:  # candidates read up to the last lead claimed
            where = {lead_id: i for i, lead_id in enumerate(cand)}
            read = len(tried) + 1 + max(where.get(r.id, 0) for r in claimed)
        if len(cand) < want:
            break
        tried += cand
        want = _round_size(2 * want, n)
    if got:
        _PG_READ[key] = read / len(got)
    return got


def _round_size(want: int, n: int) -> int:
    """Candidates read in one PostgreSQL round: ``want``, at most ``_PG_MAX_ROUND`` times ``n``,
    rounded up to a power of two (at least 16): one statement per size class, not per ``n``."""
    return max(16, 1 << (min(want, _PG_MAX_ROUND * n) - 1).bit_length())


#: PostgreSQL: how many candidates the last claim of each campaign (under given limits) read
#: per lead it claimed (a hint for the next).
_PG_READ: dict[tuple[int, ClaimLimits], float] = {}
#: ... and at most this many times ``n`` candidates in one round.
_PG_MAX_ROUND = 16


_DIALECTS: dict[tuple[type, str], Dialect] = {}


def _shared(dialect: Dialect) -> Dialect:
    """One dialect object per kind (class, paramstyle): the key of the compiled claim statements.
    Every engine of a kind compiles them alike, so a new engine (after a reconnect, a tool's, a
    test's) finds them compiled instead of paying ~0.1-0.4 s per statement again."""
    return _DIALECTS.setdefault((type(dialect), dialect.paramstyle), dialect)


def _compile(stmt: Any, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """SQL text with constants inline and the ``__T_name__`` markers as driver placeholders."""
    return _placeholders(_render(stmt, dialect), dialect)


def _render(stmt: Any, dialect: Dialect) -> str:
    """SQL text with constants inline, the ``__T_name__`` markers left in place."""
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _placeholders(sql: str, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """The ``__T_name__`` markers of ``sql`` as driver placeholders, and their names in order.

    One placeholder per name, numbered (``$1`` for asyncpg, ``?1`` for SQLite): a value is bound
    once however often the statement uses it (the SQLite claim uses the same few times in
    hundreds of places).
    """
    names: list[str] = []

    def place(match: re.Match[str]) -> str:
        name = match.group(1)
        if dialect.paramstyle == "named":
            return f":{name}"
        if dialect.paramstyle in ("numeric_dollar", "qmark"):
            if name not in names:
                names.append(name)
            return f"{'$' if dialect.paramstyle == 'numeric_dollar' else '?'}{names.index(name) + 1}"
        names.append(name)  # format: one value per occurrence
        return "%s"

    return _MARKER_RE.sub(place, sql), tuple(names)


_MARKER_RE = re.compile(r"__T_([a-z0-9_]+?)__")


@functools.lru_cache(maxsize=256)
def _claim_sql(
    campaign_id: int, zones: frozenset[str] | None, new_first: bool, limits: ClaimLimits,
    active_lists: tuple[tuple[int, int], ...], dialect: Dialect,
) -> tuple[str, tuple[str, ...]]:
    """The claim ``UPDATE ... RETURNING`` as SQL text, built and compiled once per shape.

    Constants (campaign, lists, statuses, zones) are rendered inline; only the times and the
    number of leads (``__T_n__``) vary between claims: they are left as driver placeholders,
    returned with their names in order.  A statement of a few hundred index walks costs far more
    to build, compile and bind through SQLAlchemy than to run, so that is paid once per shape,
    not on every claim nor for every batch size the pacing asks for.
    """
    pg = dialect.name == "postgresql"
    now = _marker("now")
    n = literal_column("__T_n__", Integer)
    pick = None if zones is None else _walks(campaign_id, n, now, zones, new_first, limits, active_lists, pg)
    if pick is None:  # windows ignored (tests, tools) or a very large campaign: one sorted query
        plain = pick = _pick(campaign_id, n, now, zones, new_first, limits, pg)
        if pg:
            pick = pick.with_for_update(skip_locked=True, of=leads)
    else:
        plain = pick
    # One lead per number in a claim: the caps and gaps of a number are counted from its calls
    # rows, which a lead claimed in the same statement does not have yet (the other leads of
    # the number stay callable: the next claim sees this one's call).
    # (PostgreSQL: the twin check reads the pick without its row locks, which would skip the rows
    # this very statement has just updated.  SQLite: the pick is a CTE read twice — materialized
    # once — rather than run a second time for the twin check; the CTE is nested in the
    # ``IN (...)``: a statement that begins with ``WITH`` would not open the driver's implicit
    # transaction, and the UPDATE would commit on its own.)
    twin = leads.alias("twin")
    if pg:
        first_of_number = _none(twin.c.phone == leads.c.phone, twin.c.id < leads.c.id,
                                twin.c.id.in_(plain.correlate(None).scalar_subquery()))
        where = [leads.c.id.in_(pick.scalar_subquery()), first_of_number]
    else:
        cte = pick.cte("pick")
        mine = leads.alias("picked")
        first = _none(twin.c.phone == mine.c.phone, twin.c.id < mine.c.id, twin.c.id.in_(select(cte.c.id)))
        where = [leads.c.id.in_(
            select(mine.c.id).where(mine.c.id.in_(select(cte.c.id)), first).add_cte(cte, nest_here=True))]
    stmt = (
        update(leads)
        .where(*where)
        .values(status="dialing", attempts=leads.c.attempts + 1, last_call_at=now)
        .returning(*_RETURNED)
    )
    return _compile(stmt, dialect)


_CAMPAIGN_LISTS = (
    select(campaigns_t.c.status, campaigns_t.c.definition, lists_.c.id.label("list_id"),
           lists_.c.priority.label("list_priority"))
    .select_from(campaigns_t.outerjoin(
        lists_, and_(lists_.c.campaign_id == campaigns_t.c.id, lists_.c.active.is_(True))))
    .where(campaigns_t.c.id == bindparam("campaign_id"))
    .order_by(lists_.c.priority.desc(), lists_.c.id)
)

#: PostgreSQL: the same, and the claim's settings for this transaction, saving a round trip:
#: plan the (large, constant) claim statement once per connection, and never JIT it.
_PG_CAMPAIGN_LISTS = _CAMPAIGN_LISTS.add_columns(
    func.set_config("jit", "off", True), func.set_config("plan_cache_mode", "force_generic_plan", True),
    func.set_config("max_parallel_workers_per_gather", "0", True),
)

_RETURNED = (
    leads.c.id, leads.c.phone, leads.c.attempts, leads.c.timezones, leads.c.first_name,
    leads.c.last_name, leads.c.callback_owner, leads.c.callback_exclusive_until,
)


def _sqlite_time(value: datetime) -> str:
    """A time as SQLAlchemy stores it on SQLite (naive UTC text), for the driver directly."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


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
    ready_owners: Iterable[str] | None = None,
) -> list[ClaimedLead]:
    """Claim up to ``n`` leads and write a ``calls`` row for each; the caller commits.

    ``open_sets``: the ``timezones`` values open now (:func:`open_zone_sets`); ``None`` ignores
    calling windows (tests and tools only: it also gives up the fast index walks).
    ``ready_owners``: the agents who can take an owner-exclusive callback now (the daemon:
    logged in, ready, not reserved); ``None``: those the daemon last recorded ``ready``.
    Several callbacks of one owner can be claimed together: the caller keeps one.
    """
    if n <= 0:
        return []
    if conn.dialect.name == "sqlite" and not conn.info.get("dialer.claim_tuned"):
        # The claim reads index pages all over a large file: a bigger page cache and memory-mapped
        # reads keep it from re-reading them through the OS on every claim (once per connection).
        await conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        await conn.exec_driver_sql(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        conn.info["dialer.claim_tuned"] = True
    owners = None if ready_owners is None else sorted(ready_owners)
    zones = None if open_sets is None else frozenset(open_sets)
    if conn.dialect.name == "sqlite":
        args = (campaign_id, n, now, node, ring_timeout, zones, new_first, channel_prefix, owners,
                _shared(conn.dialect))
        driver: Any = (await conn.get_raw_connection()).driver_connection
        if SQLITE_ONE_TRIP and hasattr(driver, "_execute"):  # aiosqlite: the whole claim in one trip
            return await driver._execute(lambda: _sqlite_claim(driver._conn, *args))
        return await conn.run_sync(lambda sync: _sqlite_claim(sync.connection.dbapi_connection, *args))
    rows = (await conn.execute(_PG_CAMPAIGN_LISTS, {"campaign_id": campaign_id})).all()
    if not rows or rows[0].status != "active":
        return []
    limits = ClaimLimits.from_data(rows[0].definition, now)
    active_lists = [(r.list_id, r.list_priority) for r in rows if r.list_id is not None]
    if not active_lists:
        return []
    dialect = _shared(conn.dialect)
    lists_key = tuple(tuple(r) for r in active_lists)
    if zones is not None:
        extra = {"campaign_id": campaign_id, "node": node, "ring_timeout": ring_timeout,
                 "stamp": _channel_stamp(channel_prefix, now),
                 "owners": owners}
        rows = await _pg_pick(conn, campaign_id, n, zones, new_first, limits, lists_key, now, extra)
        return [
            ClaimedLead(r.call_id, r.channel_id, r.id, r.phone, r.attempts, r.timezones, r.first_name, r.last_name,
                        r.callback_owner if _exclusive(r.callback_exclusive_until, now) else None)
            for r in rows
        ]
    # PostgreSQL with calling windows ignored (tests, tools): one sorted query, then the calls.
    sql, names = _claim_sql(campaign_id, zones, new_first, limits, lists_key, dialect)
    times = {**_time_params(now, limits), "owners": owners, "n": n}
    claimed = (await conn.exec_driver_sql(sql, tuple(times[k] for k in names))).all()
    if not claimed:
        return []
    ids = await _insert_calls(conn, claimed, campaign_id, now, node, ring_timeout, channel_prefix)
    by_lead = {lead_id: (call_id, chan) for call_id, lead_id, chan in ids}
    return [
        ClaimedLead(*by_lead[r.id], r.id, r.phone, r.attempts, r.timezones, r.first_name, r.last_name,
                    r.callback_owner if _exclusive(r.callback_exclusive_until, now) else None)
        for r in claimed
    ]


def _sqlite_claim(
    db: Any, campaign_id: int, n: int, now: datetime, node: str, ring_timeout: int,
    zones: frozenset[str] | None, new_first: bool, channel_prefix: str, owners: list[str] | None,
    dialect: Dialect,
) -> list[ClaimedLead]:
    """SQLite: the claim's statements on a DB-API connection — aiosqlite's own ``sqlite3``
    connection, run on its thread (one trip, not one per statement: on a busy machine those
    thread hand-overs cost as much as the claim's SQLite work), or SQLAlchemy's adapter of it.

    Constant SQL text, prepared once by the driver, nothing for SQLAlchemy to compile or bind
    per claim (the claimed ids go to the ``calls`` INSERT as one JSON array).  The ``UPDATE``
    opens the transaction as usual (the driver's implicit ``BEGIN``); the caller commits.
    """
    cur = db.cursor()

    def rows_of(sql: str, params: tuple) -> list:
        cur.execute(sql, params)
        return cur.fetchall()

    try:
        rows = rows_of(_sqlite_campaign_lists_sql(dialect), (campaign_id,))
        if not rows or rows[0][0] != "active":
            return []
        definition = rows[0][1]
        limits = ClaimLimits.from_data(json.loads(definition) if isinstance(definition, str) else definition, now)
        lists_key = tuple((list_id, priority) for _, _, list_id, priority in rows if list_id is not None)
        if not lists_key:
            return []
        sql, names = _claim_sql(campaign_id, zones, new_first, limits, lists_key, dialect)
        times: dict[str, Any] = {k: _sqlite_time(v) for k, v in _time_params(now, limits).items()}
        times["owners"] = None if owners is None else json.dumps(owners)
        times["n"] = n
        claimed = rows_of(sql, tuple(times[k] for k in names))
        if not claimed:
            return []
        ids = rows_of(_SQLITE_INSERT_CALLS, (
            campaign_id, node, ring_timeout, times["now"], _channel_stamp(channel_prefix, now),
            "[" + ",".join(str(int(r[0])) for r in claimed) + "]",
        ))
    finally:
        cur.close()
    by_lead = {lead_id: (call_id, chan) for call_id, lead_id, chan in ids}
    return [
        ClaimedLead(*by_lead[lead_id], lead_id, phone, attempts, tz, first, last,
                    owner if _exclusive(until, now) else None)
        for lead_id, phone, attempts, tz, first, last, owner, until in claimed
    ]


@functools.lru_cache(maxsize=4)
def _sqlite_campaign_lists_sql(dialect: Dialect) -> str:
    """The campaign and its active lists (:data:`_CAMPAIGN_LISTS`) as SQLite text, one ``?``."""
    return str(_CAMPAIGN_LISTS.compile(dialect=dialect))


_SQLITE_INSERT_CALLS = (
    "INSERT INTO calls (campaign_id, lead_id, phone, attempt, node, status, ring_timeout, placed_at, channel_id) "
    "SELECT ?1, leads.id, leads.phone, leads.attempts, ?2, 'placing', ?3, ?4, ?5 || lower(hex(randomblob(6))) "
    "FROM leads WHERE leads.id IN (SELECT value FROM json_each(?6)) "
    "RETURNING id, lead_id, channel_id"
)


async def _insert_calls(
    conn: AsyncConnection, claimed: Sequence[Any], campaign_id: int, now: datetime, node: str,
    ring_timeout: int, channel_prefix: str,
) -> list[Any]:
    """The ``calls`` rows of the claimed leads: (call id, lead id, channel id)."""
    # One INSERT ... SELECT from the claimed leads.  The channel id (the Originate's ChannelId,
    # unique for the PBX's lifetime across daemons and databases) is the claim time in seconds
    # then 48 random bits: time-ordered, so its unique index grows at the end instead of
    # dirtying a random page per call.
    stamp = _channel_stamp(channel_prefix, now)
    if conn.dialect.name == "postgresql":
        random_hex = func.substr(func.replace(func.cast(func.gen_random_uuid(), String), "-", ""), 1, 12)
    else:
        random_hex = func.lower(func.hex(func.randomblob(6)))
    source = select(
        literal(campaign_id), leads.c.id, leads.c.phone, leads.c.attempts, literal(node), literal("placing"),
        literal(ring_timeout), literal(now, DateTime(timezone=True)), literal(stamp) + random_hex,
    ).where(leads.c.id.in_([r.id for r in claimed]))
    ids = (await conn.execute(
        insert(calls).from_select(
            ["campaign_id", "lead_id", "phone", "attempt", "node", "status", "ring_timeout", "placed_at",
             "channel_id"], source,
        ).returning(calls.c.id, calls.c.lead_id, calls.c.channel_id)
    )).all()
    return list(ids)


def _channel_stamp(prefix: str, now: datetime) -> str:
    """The time-ordered head of a channel id (48 random bits follow): ``dlr-<seconds hex>``."""
    return f"{prefix}-{int(now.timestamp()):08x}"


def _exclusive(until: datetime | None, now: datetime) -> bool:
    if until is None:
        return False
    if isinstance(until, str):  # SQLite, read without SQLAlchemy's type processing
        until = datetime.fromisoformat(until)
    if until.tzinfo is None:  # SQLite stores naive UTC
        until = until.replace(tzinfo=UTC)
    return until > now


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
