"""Campaign diagnostics: why a campaign is not dialling, and what is left to dial.

:func:`why` counts the campaign's leads that are callable at a moment and, for the rest, the
first reason (in a fixed order of precedence, :data:`REASONS`) that holds each one back; the
counts add up to the campaign's total.  "Callable" is exactly the claim's definition
(:func:`dialer.claim.callable_filter` with the campaign's ``[limits]`` and the open zone sets of
:func:`dialer.claim.open_zone_sets`), so ``why``'s callable count is what a claim of a huge
``n`` would take at that instant.

:func:`forecast` projects, hour by hour, how many leads become callable (windows opening, gaps
elapsing, callbacks due) and, at the campaign's recent dial rate, when the supply runs dry.

Speed (:func:`why`): the leads are counted per (list, status, zone set, due time none / past /
to come) from ``ix_leads_claim`` alone — a recursive skip over the index finds each distinct key,
then one range count per key and bucket, nothing evaluated per lead — and each key gives its
reason (:func:`_key_reason`).  Only the leads a per-lead test may hold back first are read and
given their reason in full (:func:`_reason_expr`): numbers on the DNC list, capped or in a gap
(through ``ix_leads_phone``; each number set computed once per statement), due callbacks reserved
for an agent, and attempts exhausted (one plain read, counted per key); they are taken out of
their key's count.  Calling windows are evaluated once per distinct zone set (and region), never
per lead.
Everything is synchronous; from the daemon's async connection use ``conn.run_sync``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, or_, select, union, union_all

from campaigns.models import campaigns as campaigns_t
from campaigns.parsing import Problems
from campaigns.windows import DEFAULT_WINDOW, CallingWindow, next_open, parse_window, region_code
from dialer.claim import (
    CALLABLE_STATUSES,
    ClaimLimits,
    _owner_free,
    gap_conditions,
    number_filter,
    open_zone_sets,
)
from dialer.errors import InputError
from dialer.models import calls
from dialer.storage.leads import zone_key_rows, zone_keys_stmt
from lists.models import consents, leads
from lists.models import dnc_numbers as dnc
from lists.models import lead_lists as lists_

#: Reasons a lead is not callable, in order of precedence: a lead is counted under the first
#: that applies.  (``in_progress`` and ``other`` concern statuses no other reason applies to,
#: so their place in the order changes no count.)
REASONS: tuple[tuple[str, str], ...] = (
    ("inactive", "list or campaign inactive"),
    ("dnc", "on a do-not-call list (global or campaign)"),
    ("consent", "consent revoked, or required by the jurisdiction and not on record"),
    ("done", "finished (final disposition / done)"),
    ("attempts", "attempts exhausted"),
    ("cap", "frequency cap (calls per number)"),
    ("gap", "gap not elapsed"),
    ("no_timezone", "no time zone"),
    ("window", "calling window closed"),
    ("callback_later", "callback scheduled for later"),
    ("callback_owner", "callback reserved for its agent (logged out/busy)"),
    ("in_progress", "call in progress"),
    ("other", "other status (or recycled without a due time)"),
)
LABELS = dict(REASONS)
CALLABLE = "callable"
WINDOW_DETAIL = 10  # closed zone sets listed in the report


# --- the campaign ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignInfo:
    """What diagnostics need to know about a campaign (read once)."""

    id: int
    name: str
    status: str
    window: CallingWindow
    limits: ClaimLimits
    lists: tuple[tuple[int, str, bool], ...]  # (id, name, active)

    @property
    def list_ids(self) -> list[int]:
        return [lid for lid, _, _ in self.lists]

    @property
    def inactive_list_ids(self) -> list[int]:
        return [lid for lid, _, active in self.lists if not active]

    #: Most of the table: read it in full rather than through ``ix_leads_list_id`` (SQLite).
    scan: bool = False

    def in_lists(self) -> Any:
        """The lead belongs to the campaign (by list id; ``+ 0`` keeps SQLite off the index)."""
        return (leads.c.list_id + 0 if self.scan else leads.c.list_id).in_(self.list_ids)


def _window(definition: Mapping[str, Any] | None) -> CallingWindow:
    """The campaign's calling window (the default when it is not given or not valid)."""
    problems = Problems()
    window = parse_window((definition or {}).get("window"), "window", problems)
    return DEFAULT_WINDOW if problems else window


def _wants_scan(conn: Connection, list_ids: Sequence[int], mine: int | None = None) -> bool:
    """SQLite, a campaign holding more than a fifth of the table: read it in full rather than
    through ``ix_leads_list_id`` (a walk over the list index reads rows in random order).
    ``mine``: the campaign's lead count when the caller knows it already."""
    if not list_ids or conn.dialect.name != "sqlite":
        return False
    total = conn.execute(select(func.count()).select_from(leads)).scalar_one()
    if mine is None:
        mine = conn.execute(select(func.count()).where(leads.c.list_id.in_(list_ids))).scalar_one()
    return mine * 5 > total


def campaign_info(conn: Connection, campaign: int | str, *, sized: bool = True,
                  at: datetime | None = None) -> CampaignInfo:
    """The campaign by id or name; :class:`InputError` when unknown.

    ``sized`` False leaves ``scan`` unset (the caller decides with :func:`_wants_scan`).
    """
    where = campaigns_t.c.id == campaign if isinstance(campaign, int) else campaigns_t.c.name == campaign
    row = conn.execute(
        select(campaigns_t.c.id, campaigns_t.c.name, campaigns_t.c.status, campaigns_t.c.definition).where(where)
    ).first()
    if row is None:
        raise InputError(f"unknown campaign {campaign!r} (see `dialer campaigns ls`)")
    lists = conn.execute(
        select(lists_.c.id, lists_.c.name, lists_.c.active)
        .where(lists_.c.campaign_id == row.id).order_by(lists_.c.id)
    ).all()
    scan = _wants_scan(conn, [r[0] for r in lists]) if sized else False
    return CampaignInfo(row.id, row.name, row.status, _window(row.definition),
                        ClaimLimits.from_data(row.definition, at), tuple((r[0], r[1], bool(r[2])) for r in lists), scan)


def zone_keys_sync(conn: Connection, info: CampaignInfo) -> list[tuple[str, str | None, str | None]]:
    """The rows :func:`dialer.storage.leads.zone_keys` returns, on a sync connection.

    The distinct (timezones, country, state) of the campaign's leads in a callable status; the
    campaign's lists are given by id (no join: several times faster on SQLite).
    """
    if not info.list_ids:
        return []
    regions = bool(info.window.regions)  # without regions no verdict changes: zone sets only (a covering index)
    lists = info.in_lists() if regions else leads.c.list_id.in_(info.list_ids)
    return zone_key_rows(conn.execute(zone_keys_stmt(lists=lists, regions=regions)))


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite, an aggregate read without type processing
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _at(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        raise ValueError("expected an aware datetime")
    return at.astimezone(UTC)


# --- the number sets -----------------------------------------------------------------------------


def _dnc_phones(campaign_id: int) -> Any:
    return select(dnc.c.phone).where(dnc.c.scope.in_((0, campaign_id)))


def _capped_phones(limits: ClaimLimits, at: datetime) -> Any | None:
    """Numbers at a frequency cap: ``max_calls_per_number`` calls or more in the last ``per_days``,
    or as many as one of the jurisdiction's ``caps`` allows (the claim's test)."""
    caps = list(limits.caps)
    if limits.max_calls_per_number:
        caps.append((limits.max_calls_per_number, limits.per_days))
    parts = [
        select(calls.c.phone)
        .where(calls.c.placed_at > at - timedelta(days=days))
        .group_by(calls.c.phone)
        .having(func.count() >= cap)
        for cap, days in sorted(set(caps))
    ]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else union(*parts)


def _revoked_phones(limits: ClaimLimits) -> Any | None:
    """Numbers a revocation holds in the campaign's consent scopes (no later consent)."""
    if not limits.scopes:
        return None
    rev, given = consents.alias("rev"), consents.alias("given")
    later = select(literal(1)).where(given.c.phone == rev.c.phone, given.c.kind == "given",
                                     given.c.scope.in_(limits.scopes), given.c.at > rev.c.at).exists()
    return select(rev.c.phone).where(rev.c.kind == "revoked", rev.c.scope.in_(limits.scopes), ~later)


def _consented_phones(limits: ClaimLimits) -> Any | None:
    """Numbers with consent standing in the campaign's scopes, when its jurisdiction requires it."""
    if not limits.consent_required:
        return None
    g, r = consents.alias("g"), consents.alias("r")
    later = select(literal(1)).where(r.c.phone == g.c.phone, r.c.kind == "revoked",
                                     r.c.scope.in_(limits.scopes), r.c.at >= g.c.at).exists()
    return select(g.c.phone).where(g.c.kind == "given", g.c.scope.in_(limits.scopes), ~later)


def _gap_calls_where(limits: ClaimLimits, at: datetime) -> list[Any] | None:
    gaps = gap_conditions(limits)
    if not gaps:
        return None
    longest = max(g for g, _ in gaps)
    return [calls.c.placed_at > at - longest,
            or_(*(and_(cond, calls.c.placed_at > at - gap) for gap, cond in gaps))]


def _gap_phones(limits: ClaimLimits, at: datetime) -> Any | None:
    """Numbers with a recent abandoned / machine / refused call whose gap has not elapsed."""
    where = _gap_calls_where(limits, at)
    return None if where is None else select(calls.c.phone).where(*where)


@dataclass(frozen=True)
class NumberSets:
    """The number sets the reasons test: on a DNC list, capped, in a gap (``None``: no such limit)."""

    dnc: Any
    capped: Any | None
    gapped: Any | None
    revoked: Any | None = None
    consented: Any | None = None  # only when consent is required: leads not in it are held

    @classmethod
    def of(cls, info: CampaignInfo, at: datetime, *, shared: bool = False) -> NumberSets:
        """``shared``: each set a ``MATERIALIZED`` common table expression, computed once per
        statement however many times the statement tests it."""
        sets = [_dnc_phones(info.id), _capped_phones(info.limits, at), _gap_phones(info.limits, at)]
        if shared:
            sets = [None if q is None else select(q.cte(name).prefix_with("MATERIALIZED").c.phone)
                    for q, name in zip(sets, ("dnc_set", "capped_set", "gapped_set"), strict=True)]
        return cls(*sets, _revoked_phones(info.limits), _consented_phones(info.limits))

    def all(self) -> Any:
        """Every number in any of the sets (the consented set aside: see :meth:`held`)."""
        parts = [q for q in (self.dnc, self.capped, self.gapped, self.revoked) if q is not None]
        return union_all(*parts) if len(parts) > 1 else parts[0]

    def held(self, t: Any = leads) -> Any:
        """The condition on a lead's number these sets may hold it by."""
        cond = t.c.phone.in_(self.all())
        return cond if self.consented is None else or_(cond, t.c.phone.not_in(self.consented))


def _gap_releases(conn: Connection, info: CampaignInfo, at: datetime) -> dict[str, datetime]:
    """For every number held by a gap after a call: when its last gap elapses."""
    where = _gap_calls_where(info.limits, at)
    if where is None or not info.list_ids:
        return {}
    mine = select(literal(1)).where(leads.c.phone == calls.c.phone, leads.c.list_id.in_(info.list_ids)).exists()
    rows = conn.execute(
        select(calls.c.phone, calls.c.placed_at, calls.c.outcome, calls.c.refusal_reason).where(*where, mine)
    ).all()
    lim = info.limits
    out: dict[str, datetime] = {}
    for phone, placed, outcome, refusal in rows:
        placed = _utc(placed)
        ends = [placed + gap for gap, ok in (
            (lim.gap_after_abandoned, outcome == "ABANDONED"), (lim.gap_after_machine, outcome == "MACHINE"),
            (lim.gap_after_refusal, refusal is not None)) if ok and gap > timedelta(0)]
        if ends and max(ends) > at:
            out[phone] = max(max(ends), out.get(phone, at))
    return out


# --- why -----------------------------------------------------------------------------------------


def _lasting(
    info: CampaignInfo, at: datetime, t: Any = leads, sets: NumberSets | None = None
) -> list[tuple[Any, str]]:
    """The reasons that do not pass with time (up to the frequency cap), in order of precedence.

    A recycled lead (``retry`` / ``callback``) without a due time is never picked by the claim's
    index walks (they read ``next_call_at <= now``): it counts as ``other``.
    """
    lim = info.limits
    sets = sets or NumberSets.of(info, at)
    st = t.c.status
    whens: list[tuple[Any, str]] = []
    if info.inactive_list_ids:
        whens.append((t.c.list_id.in_(info.inactive_list_ids), "inactive"))
    whens += [
        (or_(st == "dnc", t.c.phone.in_(sets.dnc)), "dnc"),
        *([(t.c.phone.in_(sets.revoked), "consent")] if sets.revoked is not None else []),
        *([(t.c.phone.not_in(sets.consented), "consent")] if sets.consented is not None else []),
        (st == "done", "done"),
        (st == "dialing", "in_progress"),
        (st.not_in(CALLABLE_STATUSES), "other"),
        (and_(st != "new", t.c.next_call_at.is_(None)), "other"),
    ]
    if lim.max_attempts:
        whens.append((and_(st != "callback", t.c.attempts >= lim.max_attempts), "attempts"))
    if sets.capped is not None:
        whens.append((t.c.phone.in_(sets.capped), "cap"))
    return whens


def _reason_expr(
    info: CampaignInfo, at: datetime, open_sets: set[str], t: Any = leads, sets: NumberSets | None = None
) -> Any:
    """The per-lead reason code (``callable`` when none applies), in order of precedence."""
    sets = sets or NumberSets.of(info, at)
    st = t.c.status
    whens = _lasting(info, at, t, sets)
    whens.append((and_(st != "callback", t.c.next_call_at > at), "gap"))
    if sets.gapped is not None:
        whens.append((t.c.phone.in_(sets.gapped), "gap"))
    whens.append((t.c.timezones == "", "no_timezone"))
    window = literal("window:") + t.c.timezones  # the zone set rides along: one pass gives the detail
    whens.append((t.c.timezones.not_in(sorted(open_sets)), window) if open_sets else (literal(True), window))
    whens += [
        (t.c.next_call_at > at, "callback_later"),  # only callbacks are left here
        (and_(st == "callback", ~_owner_free(info.id, at, t)), "callback_owner"),
    ]
    return case(*whens, else_=literal(CALLABLE))


@dataclass
class Reason:
    code: str
    label: str
    leads: int
    earliest: datetime | None = None  # gap / callback: when the first becomes due; window: opens
    detail: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class WhyReport:
    campaign: str
    campaign_status: str
    at: datetime
    total: int
    callable: int
    reasons: list[Reason]  # every reason in order of precedence (zero counts included)
    #: When the campaign is not active: the breakdown it would have if it were started.
    if_started: dict[str, Any] | None = None

    def counts(self) -> dict[str, int]:
        """``{"callable": n, reason: n, ...}``: adds up to ``total``."""
        return {CALLABLE: self.callable, **{r.code: r.leads for r in self.reasons}}

    def top(self) -> Reason | None:
        """The reason holding back the most leads (``None`` when none is held back)."""
        held = [r for r in self.reasons if r.leads]
        return max(held, key=lambda r: r.leads) if held else None

    def as_dict(self) -> dict[str, Any]:
        def iso(v: datetime | None) -> str | None:
            return v.isoformat() if v else None

        return {
            "campaign": self.campaign, "campaign_status": self.campaign_status, "at": iso(self.at),
            "total": self.total, "callable": self.callable,
            "reasons": [{**asdict(r), "earliest": iso(r.earliest),
                         "detail": [{k: iso(v) if isinstance(v, datetime) else v for k, v in d.items()}
                                    for d in r.detail]} for r in self.reasons],
            "if_started": self.if_started,
        }


#: One row of :func:`_key_groups`: (list, status, zone set, leads with no due time, leads due by
#: ``at``, leads due after ``at``, the first of those due times).
KeyGroup = tuple[int, str, str, int, int, int, Any]


def _key_groups(conn: Connection, info: CampaignInfo, at: datetime) -> list[KeyGroup]:
    """The campaign's leads counted per (list, status, zone set) and due time (none / by ``at`` / after).

    Read from ``ix_leads_claim`` alone and without grouping: a recursive skip over the index
    finds each distinct (list, status, zone set) with two seeks, then one range count per
    (key, due-time bucket) — the database steps over the index entries but evaluates nothing per
    lead (several times faster than ``GROUP BY`` on SQLite).
    """
    x = leads.alias("x")
    f = leads.alias("f")
    first = (select(x.c.id).where(x.c.list_id == lists_.c.id)
             .order_by(x.c.status, x.c.timezones).limit(1).scalar_subquery())
    k = (select(f.c.list_id.label("l"), f.c.status.label("s"), f.c.timezones.label("z"))
         .select_from(lists_.join(f, f.c.id == first)).where(lists_.c.campaign_id == info.id)
         .cte("k", recursive=True))
    n = leads.alias("n")
    same_status = (select(x.c.id).where(x.c.list_id == k.c.l, x.c.status == k.c.s, x.c.timezones > k.c.z)
                   .order_by(x.c.timezones).limit(1).scalar_subquery())
    next_status = (select(x.c.id).where(x.c.list_id == k.c.l, x.c.status > k.c.s)
                   .order_by(x.c.status, x.c.timezones).limit(1).scalar_subquery())
    k = k.union_all(select(n.c.list_id, n.c.status, n.c.timezones)
                    .select_from(k.join(n, n.c.id == func.coalesce(same_status, next_status))))
    key = (x.c.list_id == k.c.l, x.c.status == k.c.s, x.c.timezones == k.c.z)

    def count(*where: Any) -> Any:
        return select(func.count()).select_from(x).where(*key, *where).scalar_subquery()

    first_later = select(func.min(x.c.next_call_at)).where(*key, x.c.next_call_at > at).scalar_subquery()
    rows = conn.execute(select(k.c.l, k.c.s, k.c.z, count(x.c.next_call_at.is_(None)), count(x.c.next_call_at <= at),
                               count(x.c.next_call_at > at), first_later)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _key_reason(info: CampaignInfo, status: str, zones: str, bucket: int, inactive: bool,
                open_sets: set[str]) -> str:
    """The reason of a lead none of the per-lead tests hold back (DNC, attempts, cap and gap on
    its number, an owner's callback): :func:`_reason_expr` on its index key alone.

    ``bucket``: 0 no due time, 1 due by ``at``, 2 due after ``at``.
    """
    if inactive:
        return "inactive"
    if status in ("dnc", "done"):
        return status
    if status == "dialing":
        return "in_progress"
    if status not in CALLABLE_STATUSES or (status != "new" and bucket == 0):
        return "other"
    if status != "callback" and bucket == 2:
        return "gap"
    if zones == "":
        return "no_timezone"
    if zones not in open_sets:
        return "window:" + zones
    if bucket == 2:
        return "callback_later"
    return CALLABLE


def _exhausted(info: CampaignInfo) -> Any | None:
    """Attempts exhausted on a lead whose status and due time alone would not hold it back first."""
    lim = info.limits
    if not lim.max_attempts:
        return None
    st = leads.c.status
    return and_(leads.c.attempts >= lim.max_attempts, st.in_(("new", "retry")),
                or_(st == "new", leads.c.next_call_at.is_not(None)))


def _bucket(t: Any, at: datetime) -> Any:
    """The due-time bucket of :func:`_key_groups`: 0 none, 1 due by ``at``, 2 due after."""
    return case((t.c.next_call_at.is_(None), 0), (t.c.next_call_at <= at, 1), else_=2).label("b")


def _due_later(t: Any, at: datetime) -> Any:
    return case((t.c.next_call_at > at, t.c.next_call_at)).label("due")


def _exhausted_groups(info: CampaignInfo, at: datetime, active: Sequence[int]) -> Any | None:
    """The leads of :func:`_exhausted` per key group and due-time bucket, with their first due
    time after ``at``: held back for attempts unless their number is (see :func:`_exceptions`).

    ``attempts`` is in no index: a plain read of the campaign's leads (on SQLite not through the
    status index, whose random row reads cost more than a scan), no per-lead reason computed.
    """
    if not info.limits.max_attempts:
        return None
    b = _bucket(leads, at)
    # The rest of the test (status, due time) on the groups: a status test here would walk the status index.
    return (select(leads.c.list_id, leads.c.status, leads.c.timezones, b, func.count(), func.min(_due_later(leads, at)))
            .where((leads.c.list_id + 0 if info.scan else leads.c.list_id).in_(active),
                   leads.c.attempts >= info.limits.max_attempts, leads.c.status != "callback")
            .group_by(b, leads.c.list_id, leads.c.status, leads.c.timezones))  # b first: no walk on ix_leads_claim


def _exceptions(info: CampaignInfo, at: datetime, active: Sequence[int], sets: NumberSets) -> Any:
    """The leads of the active lists whose number is on the DNC list, capped or in a gap
    (through ``ix_leads_phone``), and the due callbacks reserved for an agent: the per-lead
    tests may hold them back before their key's reason, which is then computed in full (a
    superset), with the columns :func:`_reason_expr` reads and ``x``: one of :func:`_exhausted`.
    """
    exhausted = _exhausted(info)
    cols = (leads.c.id, leads.c.list_id, leads.c.status, leads.c.timezones, leads.c.next_call_at, leads.c.phone,
            leads.c.attempts, leads.c.callback_owner, leads.c.callback_exclusive_until,
            (literal(0) if exhausted is None else case((exhausted, 1), else_=0)).label("x"))
    ids = union(select(leads.c.id).where(sets.held()),
                select(leads.c.id).where(leads.c.status == "callback", leads.c.next_call_at <= at,
                                         leads.c.callback_owner.is_not(None), leads.c.callback_exclusive_until > at))
    return select(*cols).where(leads.c.id.in_(ids), leads.c.list_id.in_(active)).subquery("exc")


def _first_plain_due(conn: Connection, info: CampaignInfo, at: datetime, list_id: int, status: str,
                     zones: str) -> datetime | None:
    """The first due time after ``at`` in a (list, status, zone set) among leads no per-lead test
    holds back (the claim's number checks, row by row along the index until one passes)."""
    lim = info.limits
    where = [leads.c.list_id == list_id, leads.c.status == status, leads.c.timezones == zones,
             leads.c.next_call_at > at, *number_filter(info.id, at, lim)]
    if lim.max_attempts:
        where.append(or_(leads.c.status == "callback", leads.c.attempts < lim.max_attempts))
    return _utc(conn.execute(
        select(leads.c.next_call_at).where(*where).order_by(leads.c.next_call_at).limit(1)).scalar())


def _breakdown(
    conn: Connection, info: CampaignInfo, at: datetime, open_sets: set[str], groups: Sequence[KeyGroup]
) -> tuple[dict[str, int], dict[str, datetime | None], dict[str, int]]:
    """(count per reason, earliest due time still to come per reason, leads per closed zone set).

    Every lead of a key group (see :func:`_key_groups`) has its key's reason
    (:func:`_key_reason`) unless a per-lead test applies: those few (:func:`_exceptions`) are
    read through their own indexes, given their reason in full (:func:`_reason_expr`) and
    taken out of their key group's count.
    """
    if not info.list_ids:
        return {}, {}, {}
    inactive = set(info.inactive_list_ids)
    active = [lid for lid in info.list_ids if lid not in inactive]
    plain: dict[tuple[int, str, str, int], int] = {}
    first_later: dict[tuple[int, str, str], datetime | None] = {}
    for lid, st, zones, none, due, later, first in groups:
        for b, n in enumerate((none, due, later)):
            if n:
                plain[(lid, st, zones, b)] = n
        first_later[(lid, st, zones)] = _utc(first)
    counts: dict[str, int] = {}
    earliest: dict[str, datetime | None] = {}

    def add(code: str, n: int, first: datetime | None) -> None:
        counts[code] = counts.get(code, 0) + n
        if first is not None and (earliest.get(code) is None or first < earliest[code]):  # type: ignore[operator]
            earliest[code] = first

    exception_first: dict[tuple[int, str, str], datetime] = {}  # the first due time of a group's exceptions

    def note(lid: int, st: str, zones: str, code: str, n: int, first: datetime | None) -> None:
        add(code, n, first)
        g = (lid, st, zones)
        if first is not None and (g not in exception_first or first < exception_first[g]):
            exception_first[g] = first

    if active:
        sets = NumberSets.of(info, at, shared=True)  # tested twice: to find the leads, then for their reason
        exc = _exceptions(info, at, active, sets)
        reason = _reason_expr(info, at, open_sets, exc, sets).label("reason")
        sub = select(exc.c.list_id, exc.c.status, exc.c.timezones, _bucket(exc, at), exc.c.x, reason,
                     _due_later(exc, at)).subquery()
        key = (sub.c.list_id, sub.c.status, sub.c.timezones, sub.c.b)
        rows = conn.execute(select(*key, sub.c.x, sub.c.reason, func.count(), func.min(sub.c.due))
                            .group_by(*key, sub.c.x, sub.c.reason)).all()
        counted: dict[tuple[int, str, str, int], int] = {}  # exhausted leads given their reason here
        for lid, st, zones, b, x, code, n, first in rows:
            plain[(lid, st, zones, b)] = plain.get((lid, st, zones, b), 0) - n
            if x:
                counted[(lid, st, zones, b)] = counted.get((lid, st, zones, b), 0) + n
            note(lid, st, zones, code, n, _utc(first))
        exhausted = _exhausted_groups(info, at, active)
        for lid, st, zones, b, n, first in conn.execute(exhausted).all() if exhausted is not None else ():
            if st not in ("new", "retry") or (st == "retry" and b == 0):  # not one of _exhausted
                continue
            n -= counted.get((lid, st, zones, b), 0)
            plain[(lid, st, zones, b)] = plain.get((lid, st, zones, b), 0) - n
            note(lid, st, zones, "attempts", n, _utc(first))
    for (lid, st, zones, b), n in plain.items():
        if n > 0:  # (below 0 only when leads changed between the statements: see _snapshot)
            add(_key_reason(info, st, zones, b, lid in inactive, open_sets), n, None)
    # The first due time still to come among a group's leads without exceptions: the group's own
    # first, unless an exception is due at that very moment (then walk the group's index range).
    for code in ("gap", "callback_later"):
        cands = sorted((t, g) for g, t in first_later.items()
                       if t is not None and plain.get((*g, 2)) and g[0] not in inactive
                       and _key_reason(info, g[1], g[2], 2, False, open_sets) == code)
        best = earliest.get(code)
        for t, (lid, st, zones) in cands:
            if best is not None and best <= t:
                break
            if exception_first.get((lid, st, zones)) != t:
                best = t
                break
            mine = _first_plain_due(conn, info, at, lid, st, zones)
            if mine is not None and (best is None or mine < best):
                best = mine
        if best is not None:
            earliest[code] = best
    zones_closed: dict[str, int] = {}
    for code in [c for c in counts if c.startswith("window:")]:
        n = counts.pop(code)
        zones_closed[code[7:]] = n
        counts["window"] = counts.get("window", 0) + n
    return counts, earliest, zones_closed


def _zone_regions(keys: Sequence[tuple[str, str | None, str | None]], window: CallingWindow) -> dict[str, set]:
    """Zone set → the regions its leads are in (``{None}`` when the window has no overrides)."""
    out: dict[str, set] = {}
    for zones, country, state in keys:
        out.setdefault(zones, set()).add(region_code(country, state) if window.regions else None)
    return out


def _opens(window: CallingWindow, zones: str, regions: set, at: datetime) -> datetime | None:
    """When the window next opens for a zone set (the latest over its regions; ``None``: not in 14 days)."""
    moments = [next_open(window, zones.split(), at, region) for region in regions or {None}]
    return None if any(m is None for m in moments) else max(moments)  # type: ignore[type-var]


@contextmanager
def _snapshot(conn: Connection) -> Iterator[None]:
    """SQLite: the statements inside read one snapshot of the database (a read transaction, also
    when the driver runs reads without one), so leads a running claim changes meanwhile are not
    counted twice or missed.  (PostgreSQL: the caller's transaction decides; under the default
    READ COMMITTED each statement reads its own snapshot.)"""
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("SAVEPOINT dialer_why")
    try:
        yield
    finally:
        conn.exec_driver_sql("RELEASE dialer_why")


def why(conn: Connection, campaign: int | str, at: datetime | None = None, *, detail: bool = True) -> WhyReport:
    """Callable leads at ``at`` (default now) and, for the rest, how many each reason holds back.

    ``detail`` False skips the "when" figures (next window openings, number gaps): faster.
    """
    at = _at(at)
    with _snapshot(conn):
        return _why(conn, campaign, at, detail)


def _why(conn: Connection, campaign: int | str, at: datetime, detail: bool) -> WhyReport:
    info = campaign_info(conn, campaign, sized=False, at=at)
    groups = _key_groups(conn, info, at) if info.list_ids else []
    info = replace(info, scan=_wants_scan(conn, info.list_ids, sum(g[3] + g[4] + g[5] for g in groups)))
    if info.window.regions:
        keys = zone_keys_sync(conn, info)
    else:  # the zone sets of leads in a callable status, as zone_keys_sync gives them
        keys = [(z, None, None) for z in sorted({z for _, st, z, *_ in groups if st in CALLABLE_STATUSES})]
    open_sets = open_zone_sets(info.window, keys, at)
    counts, earliest, closed = _breakdown(conn, info, at, open_sets, groups)
    reasons = [Reason(code, label, counts.get(code, 0)) for code, label in REASONS]
    by_code = {r.code: r for r in reasons}
    for code in ("gap", "callback_later"):
        by_code[code].earliest = earliest.get(code) if counts.get(code) else None
    inactive = [name for _, name, active in info.lists if not active]
    if inactive:
        by_code["inactive"].detail = [{"list": name} for name in inactive]
    if detail and counts.get("gap"):
        releases = _gap_releases(conn, info, at)
        if releases:
            first = min(releases.values())
            g = by_code["gap"]
            g.earliest = first if g.earliest is None else min(g.earliest, first)
            g.detail = [{"numbers_held_after_a_call": len(releases)}]
    if detail and closed:
        regions = _zone_regions(keys, info.window)
        top = sorted(closed.items(), key=lambda kv: (-kv[1], kv[0]))
        items = []
        for i, (zones, n) in enumerate(top):
            opens = _opens(info.window, zones, regions.get(zones, {None}), at) if i < WINDOW_DETAIL * 4 else None
            items.append({"zones": zones, "leads": n, "opens_at": opens})
        opening = [d["opens_at"] for d in items if d["opens_at"] is not None]
        by_code["window"].earliest = min(opening) if opening else None
        by_code["window"].detail = items[:WINDOW_DETAIL]
    n_callable = counts.get(CALLABLE, 0)
    total = sum(counts.values())
    if_started = None
    if info.status != "active":
        if_started = {CALLABLE: n_callable, **{r.code: r.leads for r in reasons}}
        reasons = [Reason(code, label, total if code == "inactive" else 0) for code, label in REASONS]
        reasons[0].detail = [{"campaign": info.status}, *({"list": n} for n in inactive)]
        n_callable = 0
    return WhyReport(info.name, info.status, at, total, n_callable, reasons, if_started)


def describe(reason: Reason) -> str:
    """``"calling window closed (1,234 leads; next opens 2026-11-23 13:00 UTC)"``."""
    text = f"{reason.label} ({reason.leads:,} lead{'s' if reason.leads != 1 else ''}"
    if reason.earliest is not None:
        verb = "next opens" if reason.code == "window" else "first due"
        text += f"; {verb} {reason.earliest.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return text + ")"


def top_reason(conn: Connection, campaign_id: int, now: datetime) -> str:
    """The reason holding back most of the campaign's leads, as one line for the daemon's log.

    From the daemon: ``await conn.run_sync(top_reason, camp.id, at)`` on an async connection.
    """
    report = why(conn, campaign_id, now)
    if report.campaign_status != "active":
        return f"campaign is {report.campaign_status}"
    if report.total == 0:
        return "the campaign has no leads"
    top = report.top()
    if top is None or report.callable >= top.leads:
        return f"{report.callable:,} leads callable now"
    return describe(top)


# --- forecast -----------------------------------------------------------------------------------


@dataclass
class HourForecast:
    start: datetime
    callable: int  # callable at the start of the hour if nothing were dialled
    became_callable: int  # since the previous hour: the three below
    windows_opened: int
    gaps_elapsed: int
    callbacks_due: int
    dials: float  # expected dials in the hour at the recent rate
    left: float  # callable supply left at the end of the hour, after those dials


@dataclass
class Forecast:
    campaign: str
    campaign_status: str
    at: datetime
    hours: int
    dial_rate: float  # dials per hour over the last ``rate_hours``
    rate_hours: int
    hourly: list[HourForecast]
    runs_dry_at: datetime | None  # first moment the callable supply is gone at that rate
    held: dict[str, int]  # leads not in the forecast: held back for good (or beyond the horizon)

    def as_dict(self) -> dict[str, Any]:
        def iso(v: datetime | None) -> str | None:
            return v.isoformat() if v else None

        return {
            "campaign": self.campaign, "campaign_status": self.campaign_status, "at": iso(self.at),
            "hours": self.hours, "dial_rate_per_hour": round(self.dial_rate, 1), "rate_hours": self.rate_hours,
            "runs_dry_at": iso(self.runs_dry_at), "held": self.held,
            "hourly": [{**asdict(h), "start": iso(h.start), "dials": round(h.dials, 1), "left": round(h.left, 1)}
                       for h in self.hourly],
        }


def dial_rate(conn: Connection, campaign_id: int, at: datetime, hours: int = 3) -> float:
    """The campaign's dials per hour over the ``hours`` before ``at``."""
    n = conn.execute(
        select(func.count()).where(calls.c.campaign_id == campaign_id, calls.c.placed_at > at - timedelta(hours=hours),
                                   calls.c.placed_at <= at)
    ).scalar_one()
    return n / hours


def forecast(
    conn: Connection, campaign: int | str, hours: int = 24, at: datetime | None = None, *,
    rate: float | None = None, rate_hours: int = 3,
) -> Forecast:
    """Hour by hour for ``hours`` hours from ``at`` (default now): leads becoming callable, and
    when the supply runs dry at ``rate`` dials per hour (default: the campaign's recent rate).

    Leads that will not become callable by themselves (inactive list, DNC, done, attempts
    exhausted, frequency cap, no zone, in progress) are counted in ``held``; the campaign's own
    status is ignored (a forecast for a paused campaign is what it would do once started).
    Dialled leads are assumed not to come back within the horizon.
    """
    if hours < 1:
        raise InputError("hours: must be at least 1")
    at = _at(at)
    info = campaign_info(conn, campaign, at=at)
    rate = dial_rate(conn, info.id, at, rate_hours) if rate is None else rate
    bounds = [at + timedelta(hours=k) for k in range(hours + 1)]
    st = leads.c.status
    due = case((and_(st == "callback", ~_owner_free(info.id, at)), leads.c.callback_exclusive_until),
               else_=leads.c.next_call_at)
    bucket = case((or_(due.is_(None), due <= bounds[0]), 0),
                  *((due <= bounds[k], k) for k in range(1, hours + 1)), else_=hours + 1)
    held_whens = _lasting(info, at)
    held_whens.append((leads.c.timezones == "", "no_timezone"))
    kind = case(*held_whens, (st == "callback", "callback"), else_="lead").label("kind")
    groups: dict[tuple[str, str], dict[int, int]] = {}  # (zones, kind) → bucket → leads
    held: dict[str, int] = {}
    releases = _gap_releases(conn, info, at)
    if info.list_ids:
        sub = select(kind, leads.c.timezones, bucket.label("b"), leads.c.phone).where(
            info.in_lists()).subquery()
        gapped = sorted(releases)
        base = select(sub.c.kind, sub.c.timezones, sub.c.b, func.count())
        rows = conn.execute(
            (base.where(sub.c.phone.not_in(gapped)) if gapped else base)
            .group_by(sub.c.kind, sub.c.timezones, sub.c.b)
        ).all()
        if gapped:  # numbers held by a gap after a call: due when both gaps have elapsed
            for k, zones, b, phone in conn.execute(
                select(sub.c.kind, sub.c.timezones, sub.c.b, sub.c.phone).where(sub.c.phone.in_(gapped))
            ):
                rel = releases[phone]
                rb = next((i for i, t in enumerate(bounds) if rel <= t), hours + 1)
                rows.append((k, zones, max(b, rb), 1))
        for k, zones, b, n in rows:
            if k in ("lead", "callback"):
                slot = groups.setdefault((zones, k), {})
                slot[b] = slot.get(b, 0) + n
            else:
                held[k] = held.get(k, 0) + n
    later = sum(n for slot in groups.values() for b, n in slot.items() if b > hours)
    if later:
        held["due_after_horizon"] = later
    keys = zone_keys_sync(conn, info)
    opens = [open_zone_sets(info.window, keys, t) for t in bounds]
    zone_sets = sorted({z for z, _ in groups})
    consumed = dict.fromkeys(zone_sets, 0.0)

    def due_by(zones: str, k: int, kinds: tuple[str, ...] = ("lead", "callback"), exact: bool = False) -> int:
        return sum(n for kd in kinds for b, n in groups.get((zones, kd), {}).items() if (b == k if exact else b <= k))

    hourly: list[HourForecast] = []
    dry: datetime | None = None
    for k in range(hours):
        now_open = [z for z in zone_sets if z in opens[k]]
        n_callable = sum(due_by(z, k) for z in now_open)
        if k == 0:
            opened = gaps = cbs = 0
        else:
            opened = sum(due_by(z, k - 1) for z in now_open if z not in opens[k - 1])
            gaps = sum(due_by(z, k, ("lead",), True) for z in now_open)
            cbs = sum(due_by(z, k, ("callback",), True) for z in now_open)
        supply = {z: max(due_by(z, k) - consumed[z], 0.0) for z in now_open}
        available = sum(supply.values())
        dials = min(rate, available)
        if available > 0:
            share = dials / available
            for z, s in supply.items():
                consumed[z] += s * share
        if rate > 0 and available < rate and dry is None:
            dry = bounds[k] + timedelta(hours=available / rate)
        hourly.append(HourForecast(bounds[k], n_callable, opened + gaps + cbs, opened, gaps, cbs, dials,
                                   available - dials))
    return Forecast(info.name, info.status, at, hours, rate, rate_hours, hourly, dry, held)


# --- text output (the CLI) ----------------------------------------------------------------------


def _when(v: datetime | None) -> str:
    return f"{v.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if v else ""


def print_why(report: WhyReport) -> None:
    """The report as a rich table, reasons in order of precedence."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"campaign {report.campaign} ({report.campaign_status}) at {_when(report.at)}: "
                        f"{report.total:,} leads")
    table.add_column("leads", justify="right")
    table.add_column("share", justify="right")
    table.add_column("reason")
    table.add_column("when")

    def share(n: int) -> str:
        return f"{100 * n / report.total:.1f} %" if report.total else "-"

    table.add_row(f"{report.callable:,}", share(report.callable), "[bold]callable now[/bold]", "")
    for r in report.reasons:
        if not r.leads:
            continue
        when = ("opens " if r.code == "window" else "first due ") + _when(r.earliest) if r.earliest else ""
        table.add_row(f"{r.leads:,}", share(r.leads), r.label, when)
        if r.code == "window":
            for d in r.detail:
                table.add_row(f"{d['leads']:,}", "", f"  {d['zones']}", f"opens {_when(d['opens_at'])}"
                              if d["opens_at"] else "not within 14 days")
        elif r.code == "inactive":
            for d in r.detail:
                table.add_row("", "", "  " + ", ".join(f"{k} {v}" for k, v in d.items()), "")
    console = Console()
    console.print(table)
    if report.if_started:
        started = ", ".join(f"{LABELS.get(k, k)}: {v:,}" for k, v in report.if_started.items() if v)
        console.print(f"once started: {started}")


def print_forecast(fc: Forecast) -> None:
    """The forecast as a rich table, one row per hour."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"campaign {fc.campaign} ({fc.campaign_status}): next {fc.hours} h from {_when(fc.at)}")
    for col in ("hour (UTC)", "callable", "+ new", "windows opened", "gaps elapsed", "callbacks due", "dials",
                "left"):
        table.add_column(col, justify="left" if col.startswith("hour") else "right")
    for h in fc.hourly:
        table.add_row(f"{h.start:%Y-%m-%d %H:%M}", f"{h.callable:,}", f"{h.became_callable:,}",
                      f"{h.windows_opened:,}", f"{h.gaps_elapsed:,}", f"{h.callbacks_due:,}", f"{h.dials:,.0f}",
                      f"{h.left:,.0f}")
    console = Console()
    console.print(table)
    console.print(f"dial rate: {fc.dial_rate:,.1f} dials/hour (last {fc.rate_hours} h)")
    if fc.dial_rate <= 0:
        console.print("runs dry: no recent dials to extrapolate from")
    else:
        console.print(f"runs dry: {_when(fc.runs_dry_at) if fc.runs_dry_at else f'not within {fc.hours} h'}")
    held = ", ".join(f"{LABELS.get(k, k.replace('_', ' '))}: {v:,}" for k, v in fc.held.items() if v)
    if held:
        console.print(f"not in the forecast: {held}")
