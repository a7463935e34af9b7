"""The scheduled jobs: what runs overnight, and the tables that record it.

Each job is a plain synchronous function ``job(ctx) -> JobResult`` on a sync engine (batch work;
the scheduler runs it in a worker thread).  :data:`JOBS` names them with their default cron
schedule; ``[scheduler.jobs]`` in the settings overrides the schedule (an empty string disables
a job).  :mod:`dialer.scheduler` runs them — on one node at a time, recorded in ``job_runs``
(:mod:`dialer.job_models`).

- ``recycle`` — release due callbacks whose owner's exclusive time is over; give recycled leads
  with no due time one (now); move leads moved into another campaign past that campaign's gaps;
  take leads whose number went on a do-not-call list out of the dialling; count what is due.
  (The rules already set every lead's next call when its call ended: nothing else is pending.)
- ``dnc_refresh`` — import every ``*.txt``/``*.csv`` in ``<data_dir>/dnc-inbox/`` into the
  global do-not-call list, move it to ``processed/`` (``failed/`` when unreadable), then take
  the leads now blocked out of the dialling.
- ``tz_refresh`` — time zones are IANA names, resolved at each call by zoneinfo, so a DST change
  needs no rewrite: re-validate the stored zones, count unknown ones, list the zones whose UTC
  offset changes in the next 7 days.
- ``compliance_report`` — yesterday's report per campaign into ``<data_dir>/reports/``.
- ``purge_recordings`` — call recordings older than their campaign's ``[recording]
  retention_days`` are deleted and their path cleared (:mod:`dialer.services.recordings`).
- ``purge_webhooks`` — webhook events delivered more than 30 days ago leave the outbox.
- ``purge_stale_claims`` — calls left in flight by a node that is gone (a crash): ended as
  ``UNKNOWN`` ("stale claim purged"), their lead back to ``retry``, due now.
- ``hold_without_consent`` — where a campaign requires consent now (its rule pack), its due
  ``new`` leads without standing consent get a due time :data:`CONSENT_HOLD` ahead and the
  marker ``last_outcome = 'NO_CONSENT'``, so the claim's index walks stop before them instead of
  reading them at every claim; held leads whose number now has consent, or whose campaign no
  longer requires it, are released (:func:`hold_action`).  A consent recorded releases its
  number's held leads at once (``lists.consent.release_held``).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, literal, or_, select, update
from sqlalchemy.engine import Connection, Engine

from campaigns.definition import definition_from_data
from campaigns.models import campaigns as campaigns_t
from campaigns.rules import earliest_allowed
from campaigns.windows import get_zone
from dialer.claim import ClaimLimits
from dialer.errors import DialerError
from dialer.job_models import node_heartbeats as heartbeats
from dialer.models import calls
from dialer.services.recordings import purge_expired
from dialer.services.retarget import number_history
from dialer.storage.leads import settle_unknown
from dialer.storage.outbox import dnc_added_sync
from lists.consent import HELD
from lists.models import consents, leads
from lists.models import dnc_numbers as dnc
from lists.models import lead_lists as lists_t

log = logging.getLogger("dialer.jobs")

CALLABLE = ("new", "retry", "callback")


#: A node is gone when its heartbeat is older than this (the purge job, ``dialer nodes ls``).
NODE_TIMEOUT = timedelta(seconds=90)


@dataclass
class JobContext:
    """What a job gets: a sync engine, where files go, who and when it runs."""

    engine: Engine
    data_dir: Path
    node: str
    now: datetime
    timezone: str = "UTC"
    #: Channel ids of the calls this process's engine tracks (None: no engine in this process).
    live_calls: Collection[str] | None = None
    #: A node is gone when its heartbeat is older than this.
    node_timeout: timedelta = NODE_TIMEOUT
    #: Placing/ringing calls older than their ring timeout plus this are stale (of a gone node).
    stale_margin: timedelta = timedelta(minutes=2)
    #: Answered/connected calls older than this are stale (of a gone node).
    max_call_age: timedelta = timedelta(hours=4)
    #: Country of national numbers in DNC files (the ``[lists] default_region`` setting).
    default_region: str | None = None


@dataclass
class JobResult:
    counts: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    #: "ok", or "warning" when the job ran but left something for a person to fix.
    result: str = "ok"


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[[JobContext], JobResult]
    cron: str  # default schedule
    description: str


# --- shared steps ------------------------------------------------------------------------------


def sweep_dnc(conn: Connection) -> int:
    """Leads still to be dialled whose number is on the global list or their campaign's → ``dnc``."""
    blocked = select(dnc.c.id).where(
        dnc.c.phone == leads.c.phone,
        or_(dnc.c.scope == 0,
            dnc.c.scope == select(lists_t.c.campaign_id).where(lists_t.c.id == leads.c.list_id).scalar_subquery()),
    ).exists()
    res = conn.execute(
        update(leads)
        .where(leads.c.status.in_(CALLABLE), leads.c.phone.in_(select(dnc.c.phone)), blocked)
        .values(status="dnc", next_call_at=None)
    )
    return res.rowcount or 0


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


# --- the jobs -----------------------------------------------------------------------------------


def recycle(ctx: JobContext) -> JobResult:
    """Release expired callback ownership, fix due times, apply target gaps to moved leads."""
    now = ctx.now
    counts: dict[str, Any] = {}
    with ctx.engine.begin() as conn:
        counts["callbacks_released"] = conn.execute(
            update(leads)
            .where(leads.c.status == "callback", leads.c.callback_owner.is_not(None),
                   leads.c.callback_exclusive_until <= now)
            .values(callback_owner=None, callback_exclusive_until=None)
        ).rowcount or 0
        counts["due_times_set"] = conn.execute(
            update(leads).where(leads.c.status.in_(("retry", "callback")), leads.c.next_call_at.is_(None))
            .values(next_call_at=now)
        ).rowcount or 0
        counts["dnc_swept"] = sweep_dnc(conn)
        # Leads moved into another campaign, not yet called there: honour that campaign's gaps.
        deferred = 0
        moved = conn.execute(
            select(leads.c.id, leads.c.phone, leads.c.next_call_at, campaigns_t.c.name, campaigns_t.c.definition)
            .select_from(leads.join(lists_t, lists_t.c.id == leads.c.list_id)
                         .join(campaigns_t, campaigns_t.c.id == lists_t.c.campaign_id))
            .where(lists_t.c.name.like("%:from:%"), leads.c.status == "retry", leads.c.attempts == 0)
        ).all()
        definitions: dict[str, Any] = {}
        for row in moved:
            if row.name not in definitions:
                definitions[row.name] = definition_from_data(row.definition, f"campaign {row.name}")
            due = earliest_allowed(definitions[row.name], number_history(conn, row.phone, row.id), None, now)
            current = _aware(row.next_call_at)
            if current is None or due > current:
                conn.execute(update(leads).where(leads.c.id == row.id).values(next_call_at=due))
                deferred += 1
        counts["moved_deferred_by_gaps"] = deferred
        due_rows = conn.execute(
            select(campaigns_t.c.name, func.count())
            .select_from(leads.join(lists_t, lists_t.c.id == leads.c.list_id)
                         .join(campaigns_t, campaigns_t.c.id == lists_t.c.campaign_id))
            .where(campaigns_t.c.status == "active", lists_t.c.active.is_(True), leads.c.status.in_(CALLABLE),
                   or_(leads.c.next_call_at.is_(None), leads.c.next_call_at <= now))
            .group_by(campaigns_t.c.name)
        ).all()
        counts["due_now"] = {name: n for name, n in due_rows}
        counts["moved_waiting_for_start"] = conn.execute(
            select(func.count()).select_from(leads.join(lists_t, lists_t.c.id == leads.c.list_id)
                                             .join(campaigns_t, campaigns_t.c.id == lists_t.c.campaign_id))
            .where(lists_t.c.name.like("%:from:%"), leads.c.status == "retry", campaigns_t.c.status != "active")
        ).scalar()
    return JobResult(counts, f"{counts['callbacks_released']} callbacks released to anyone, "
                             f"{counts['dnc_swept']} leads taken out by DNC")


def dnc_refresh(ctx: JobContext) -> JobResult:
    """Import the DNC files dropped in ``<data_dir>/dnc-inbox/`` (global list).

    A file that cannot be used (national numbers and no ``default_region``, unreadable) moves
    to ``failed/`` whole and the run's result is "warning", naming it and how to fix it.
    """
    from lists.dnc import import_file  # pandas: loaded when the job runs, not by every command

    inbox = ctx.data_dir / "dnc-inbox"
    processed, failed = inbox / "processed", inbox / "failed"
    counts: dict[str, Any] = {"files": 0, "failed_files": 0, "read": 0, "added": 0, "already": 0, "rejected": 0,
                              "webhook_events": 0}
    problems: list[str] = []
    files = sorted(p for p in inbox.glob("*") if p.is_file() and p.suffix.lower() in (".txt", ".csv")) \
        if inbox.is_dir() else []
    stamp = ctx.now.strftime("%Y%m%dT%H%M%S")
    for path in files:
        try:
            with ctx.engine.begin() as conn:  # the numbers and their dnc.added webhook events
                res = import_file(conn, path, None, ctx.default_region, source=f"dnc-inbox/{path.name}",
                                  strict_region=True)
                counts["webhook_events"] += dnc_added_sync(conn, res.entries, None, reason=None,
                                                           source="dnc_inbox", at=ctx.now)
        except (DialerError, OSError, ValueError) as exc:
            counts["failed_files"] += 1
            problems.append(f"{path.name}: {exc}")
            failed.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), failed / f"{stamp}-{path.name}")
            continue
        counts["files"] += 1
        for key in ("read", "added", "already", "rejected"):
            counts[key] += getattr(res, key)
        processed.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), processed / f"{stamp}-{path.name}")
    with ctx.engine.begin() as conn:
        counts["dnc_swept"] = sweep_dnc(conn)
    message = f"{counts['files']} files imported, {counts['added']} numbers added"
    if problems:
        message += f"; {len(problems)} files failed (moved to dnc-inbox/failed/): " + "; ".join(problems)
    return JobResult(counts, message, "warning" if problems else "ok")


def tz_refresh(ctx: JobContext) -> JobResult:
    """Re-validate the leads' stored zones; list the zones whose offset changes within 7 days."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(leads.c.timezones, func.count()).where(leads.c.status.in_(CALLABLE)).group_by(leads.c.timezones)
        ).all()
    zones: dict[str, int] = {}
    without = 0
    for value, n in rows:
        names = (value or "").split()
        if not names:
            without += n
        for name in names:
            zones[name] = zones.get(name, 0) + n
    unknown: dict[str, int] = {}
    changes: list[str] = []
    for name in sorted(zones):
        try:
            zone = get_zone(name)
        except Exception:
            unknown[name] = zones[name]
            continue
        if ctx.now.astimezone(zone).utcoffset() != (ctx.now + timedelta(days=7)).astimezone(zone).utcoffset():
            changes.append(name)
    counts = {"zone_sets": len(rows), "zones": len(zones), "unknown_zones": len(unknown),
              "leads_with_unknown_zone": sum(unknown.values()), "leads_without_zone": without,
              "dst_changes_next_7d": changes}
    if unknown:
        log.warning("leads with unknown time zones are never called", extra={"zones": sorted(unknown)})
    message = f"{len(zones)} zones valid" if not unknown else f"unknown zones: {', '.join(sorted(unknown))}"
    return JobResult(counts, message)


def compliance_report(ctx: JobContext, day: date | None = None) -> JobResult:
    """Yesterday's compliance report (local day in the scheduler's zone) per campaign."""
    from dialer.services.compliance import write_reports  # pyarrow (CSV safety): when the job runs

    tz = ZoneInfo(ctx.timezone)
    day = day or (ctx.now.astimezone(tz).date() - timedelta(days=1))
    reports = write_reports(ctx.engine, ctx.data_dir / "reports", day, tz, ctx.timezone)
    bad = [r.campaign for r in reports if not r.ok]
    counts = {"day": day.isoformat(), "campaigns": len(reports), "not_ok": bad,
              "outside_window": sum(r.outside_window for r in reports), "dnc_calls": sum(r.dnc_calls for r in reports)}
    return JobResult(counts, f"{len(reports)} campaigns reported" + (f"; problems in {', '.join(bad)}" if bad else ""))


def stale_calls(conn: Connection, ctx: JobContext) -> list[Any]:
    """Calls in flight that no live process tracks (see :func:`purge_stale_claims`).

    A call is stale when it is not ended, older than its ring timeout plus a margin (placing or
    ringing) or than ``max_call_age`` (answered or connected), and either its node has no fresh
    heartbeat or it is this node's and this node's engine does not track it.  A call of another
    node that is alive is never touched.
    """
    now = ctx.now
    alive = select(heartbeats.c.node).where(heartbeats.c.seen_at >= now - ctx.node_timeout)
    rows = conn.execute(
        select(calls.c.id, calls.c.lead_id, calls.c.campaign_id, calls.c.node, calls.c.channel_id, calls.c.status,
               calls.c.placed_at, calls.c.ring_timeout, calls.c.attempt)
        .where(calls.c.status != "ended", calls.c.ended_at.is_(None), calls.c.placed_at < now - ctx.stale_margin)
        .order_by(calls.c.id)
    ).all()
    live_nodes = set(conn.execute(alive).scalars())
    out = []
    for row in rows:
        if row.node == ctx.node:
            if ctx.live_calls is None or row.channel_id in ctx.live_calls:
                continue  # ours: only the engine knows; it tracks this one
        elif row.node in live_nodes:
            continue  # another node is alive: its calls are its business
        age = now - _aware(row.placed_at)
        limit = (timedelta(seconds=row.ring_timeout) + ctx.stale_margin
                 if row.status in ("placing", "ringing") else ctx.max_call_age)
        if age > limit:
            out.append(row)
    return out


def purge_stale_claims(ctx: JobContext) -> JobResult:
    """End the calls a gone node left in flight (outcome ``UNKNOWN``) and move their leads on
    as a restarted node moves its own unknown calls' leads: back to ``retry`` no sooner than the
    re-call gap (the call may have been answered and abandoned), or finished at the campaign's
    maximum attempts (``dialer.storage.leads.settle_unknown``)."""
    counts: dict[str, Any] = {"calls_purged": 0, "leads_released": 0, "leads_finished": 0, "nodes": []}
    definitions: dict[int, Any] = {}
    with ctx.engine.begin() as conn:
        rows = stale_calls(conn, ctx)
        nodes = set()
        for row in rows:
            done = conn.execute(
                update(calls).where(calls.c.id == row.id, calls.c.status != "ended")
                .values(status="ended", outcome="UNKNOWN", detail="stale claim purged", ended_at=ctx.now)
            ).rowcount
            if not done:
                continue
            counts["calls_purged"] += 1
            nodes.add(row.node)
            newer = conn.execute(select(func.count()).where(calls.c.lead_id == row.lead_id, calls.c.id > row.id)).scalar()
            if newer:
                continue
            if row.campaign_id not in definitions:
                data = conn.execute(select(campaigns_t.c.definition, campaigns_t.c.name)
                                    .where(campaigns_t.c.id == row.campaign_id)).one()
                definitions[row.campaign_id] = definition_from_data(data.definition, f"campaign {data.name}")
            summary = settle_unknown(conn, definitions[row.campaign_id], row.campaign_id, row, ctx.now)
            if summary is not None:
                counts["leads_finished" if summary.startswith("finish") else "leads_released"] += 1
        counts["nodes"] = sorted(nodes)
    return JobResult(counts, f"{counts['calls_purged']} stale calls purged")


def purge_recordings(ctx: JobContext) -> JobResult:
    """Delete recordings past their campaign's retention; clear their paths."""
    with ctx.engine.begin() as conn:
        counts = purge_expired(conn, ctx.now)
    message = f"{counts['deleted']} recordings deleted" + (f", {counts['missing']} already gone" if counts["missing"] else "")
    if counts["failed"]:
        return JobResult(counts, message + f"; {counts['failed']} could not be deleted (see the log)", "warning")
    return JobResult(counts, message)


#: How long delivered webhook events stay in the outbox (``dialer webhooks ls`` shows them).
WEBHOOK_KEEP = timedelta(days=30)


def purge_webhooks(ctx: JobContext) -> JobResult:
    """Delete webhook events delivered more than :data:`WEBHOOK_KEEP` ago."""
    from dialer.storage.outbox import prune_stmt

    with ctx.engine.begin() as conn:
        n = conn.execute(prune_stmt(ctx.now - WEBHOOK_KEEP)).rowcount or 0
    return JobResult({"deleted": n}, f"{n} delivered webhook events removed")


#: How far ahead a lead without consent is held (the job runs every 5 minutes: it is held again).
CONSENT_HOLD = timedelta(hours=1)
#: Lead ids per statement of :func:`hold_without_consent` (one id range, one transaction).
HOLD_BATCH = 10_000


def hold_action(*, required: bool, active: bool, status: str, last_outcome: str | None, due: bool,
                consented: bool) -> str | None:
    """What :func:`hold_without_consent` does with one lead: ``"hold"``, ``"release"`` or None.

    ``required``: its campaign requires consent now; ``active``: the campaign is active; ``due``:
    no due time or one by now; ``consented``: consent stands for its number in the campaign's
    scopes.  Only ``new`` leads are touched (a retry or callback keeps its own due time), and
    only those with no outcome or the hold's marker.
    """
    if status != "new":
        return None
    if last_outcome == HELD and (not required or consented):
        return "release"
    if required and active and due and not consented and last_outcome in (None, HELD):
        return "hold"
    return None


def _consent_stands(limits: ClaimLimits) -> Any:
    """A consent without a later revocation for the lead's number in the campaign's scopes."""
    g, r = consents.alias("g"), consents.alias("r")
    later = exists(select(literal(1)).where(r.c.phone == g.c.phone, r.c.kind == "revoked",
                                            r.c.scope.in_(limits.scopes), r.c.at >= g.c.at))
    return exists(select(literal(1)).where(g.c.phone == leads.c.phone, g.c.kind == "given",
                                           g.c.scope.in_(limits.scopes), ~later))


def hold_without_consent(ctx: JobContext) -> JobResult:
    """Hold the due ``new`` leads a consent-requiring campaign cannot call; release those it now can.

    The SQL of :func:`hold_action`, per campaign, in id ranges of :data:`HOLD_BATCH` over the
    campaign's leads (one transaction each: linear in the leads, whatever their number).
    Idempotent: a held lead is not due, a released one carries no marker.
    """
    now = ctx.now
    counts: dict[str, Any] = {"held": 0, "released": 0, "campaigns": {}}
    with ctx.engine.connect() as conn:
        camps = conn.execute(select(campaigns_t.c.id, campaigns_t.c.name, campaigns_t.c.status,
                                    campaigns_t.c.definition).order_by(campaigns_t.c.id)).all()
    for camp in camps:
        limits = ClaimLimits.from_data(camp.definition, now)
        required, active = limits.consent_required, camp.status == "active"
        lists_of = select(lists_t.c.id).where(lists_t.c.campaign_id == camp.id)
        base = [leads.c.list_id.in_(lists_of), leads.c.status == "new"]
        with ctx.engine.connect() as conn:
            if not required and conn.execute(select(leads.c.id).where(*base, leads.c.last_outcome == HELD)
                                             .limit(1)).first() is None:
                continue  # nothing to hold, nothing held: no pass over its leads
            lo, hi = conn.execute(select(func.min(leads.c.id), func.max(leads.c.id))
                                  .where(leads.c.list_id.in_(lists_of))).one()
        if lo is None:
            continue
        stands = _consent_stands(limits)
        release = [leads.c.last_outcome == HELD, *([stands] if required else [])]
        held = released = 0
        for start in range(lo, hi + 1, HOLD_BATCH):
            span = [leads.c.id >= start, leads.c.id < start + HOLD_BATCH]
            with ctx.engine.begin() as conn:
                if required and active:
                    held += conn.execute(
                        update(leads).where(
                            *span, *base, or_(leads.c.last_outcome.is_(None), leads.c.last_outcome == HELD),
                            or_(leads.c.next_call_at.is_(None), leads.c.next_call_at <= now), ~stands)
                        .values(next_call_at=now + CONSENT_HOLD, last_outcome=HELD)
                    ).rowcount or 0
                released += conn.execute(
                    update(leads).where(*span, *base, and_(*release)).values(next_call_at=None, last_outcome=None)
                ).rowcount or 0
        counts["held"] += held
        counts["released"] += released
        if held or released or required:
            counts["campaigns"][camp.name] = {"consent_required": required, "held": held, "released": released}
    return JobResult(counts, f"{counts['held']} leads held for lack of consent, {counts['released']} released")


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec("recycle", recycle, "30 2 * * *", "Release due callbacks, apply move gaps, sweep DNC leads."),
        JobSpec("dnc_refresh", dnc_refresh, "0 1 * * *", "Import DNC files dropped in <data_dir>/dnc-inbox/."),
        JobSpec("tz_refresh", tz_refresh, "15 3 * * *", "Re-validate lead time zones; list coming DST changes."),
        JobSpec("compliance_report", compliance_report, "5 0 * * *",
                "Yesterday's compliance report per campaign (CSV, JSON)."),
        JobSpec("purge_stale_claims", purge_stale_claims, "*/5 * * * *",
                "End calls a crashed node left in flight; their leads move on as after an unknown outcome."),
        JobSpec("purge_recordings", purge_recordings, "45 3 * * *",
                "Delete call recordings older than their campaign's retention days."),
        JobSpec("purge_webhooks", purge_webhooks, "50 3 * * *",
                "Remove webhook events delivered more than 30 days ago from the outbox."),
        JobSpec("hold_without_consent", hold_without_consent, "*/5 * * * *",
                "Hold new leads a consent-requiring campaign cannot call; release them when consent arrives."),
    )
}
