"""Retarget: move the leads refused for one reason in campaign A into campaign B.

``dialer campaigns retarget --from A --reason PRICE --to B`` — the "too expensive → offer the
cheaper plan" case done by hand (a rule with ``action = "move"`` does the same after each call).
A lead qualifies when its list belongs to A and its latest call in A was refused with that
reason.  It moves into the list ``"<B>:from:<A>"`` (the same list the engine's move rule uses),
status ``retry``, attempts reset, due at the earliest moment B's gaps and frequency cap allow
(:func:`campaigns.rules.earliest_allowed` over every call to the number).  B's leads are only
claimed while B is active, so they are called once B starts.  Leads that do not move are
counted by reason: on a do-not-call list, in a call now, not finished in A (still being
called there).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from campaigns.definition import CampaignDefinition, definition_from_data
from campaigns.models import campaigns as campaigns_t
from campaigns.rules import LeadHistory, PastCall, earliest_allowed
from dialer.errors import InputError
from dialer.models import calls
from lists.models import dnc_numbers as dnc
from lists.models import lead_lists as lists_t
from lists.models import leads

#: Outcomes the rules do not know, judged like their nearest neighbour (as the engine does).
_RULE_OUTCOME = {"ANSWERED": "NO_ANSWER", "UNKNOWN": "FAILED"}


@dataclass
class RetargetResult:
    source: str
    target: str
    reason: str
    dry_run: bool
    moved: int = 0
    deferred: int = 0  # moved, but not due at once (a gap or the cap still runs)
    skipped: Counter = field(default_factory=Counter)
    leads: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "reason": self.reason, "dry_run": self.dry_run,
                "moved": self.moved, "deferred": self.deferred, "skipped": dict(self.skipped),
                "leads": self.leads}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def number_history(conn: Connection, phone: str, lead_id: int) -> LeadHistory:
    """Every finished call to ``phone`` (any lead, any campaign), as the rules see them."""
    rows = conn.execute(
        select(calls.c.placed_at, calls.c.outcome, calls.c.refusal_reason, calls.c.lead_id)
        .where(calls.c.phone == phone, calls.c.outcome.is_not(None))
    )
    return LeadHistory.from_calls(
        PastCall(at=_aware(r.placed_at), outcome=_RULE_OUTCOME.get(r.outcome, r.outcome),
                 refusal=r.refusal_reason is not None, same_lead=r.lead_id == lead_id)
        for r in rows
    )


def move_list(conn: Connection, target_id: int, target: str, source: str) -> int:
    """The list of ``target`` receiving leads moved from ``source`` (created on first use)."""
    name = f"{target}:from:{source}"
    list_id = conn.execute(select(lists_t.c.id).where(lists_t.c.name == name)).scalar()
    if list_id is None:
        list_id = conn.execute(insert(lists_t).values(
            name=name, campaign_id=target_id, active=True, priority=0, source_file=None,
            created_at=datetime.now(UTC)).returning(lists_t.c.id)).scalar_one()
    return list_id


def _campaign(conn: Connection, name: str) -> tuple[int, str, CampaignDefinition]:
    row = conn.execute(select(campaigns_t).where(campaigns_t.c.name == name)).first()
    if row is None:
        raise InputError(f"unknown campaign {name!r}")
    return row.id, row.status, definition_from_data(row.definition, f"campaign {name}")


def candidates(conn: Connection, source_id: int, reason: str) -> list[Any]:
    """Leads in the source campaign's lists whose latest call there was refused for ``reason``."""
    latest = (
        select(calls.c.lead_id, func.max(calls.c.id).label("call_id"))
        .where(calls.c.campaign_id == source_id)
        .group_by(calls.c.lead_id)
        .subquery()
    )
    return conn.execute(
        select(leads.c.id, leads.c.phone, leads.c.status, calls.c.placed_at, calls.c.id.label("call_id"))
        .select_from(
            leads.join(lists_t, lists_t.c.id == leads.c.list_id)
            .join(latest, latest.c.lead_id == leads.c.id)
            .join(calls, calls.c.id == latest.c.call_id)
        )
        .where(lists_t.c.campaign_id == source_id, calls.c.refusal_reason == reason)
        .order_by(leads.c.id)
    ).all()


def retarget(
    engine: Engine, source: str, reason: str, target: str, *, now: datetime | None = None, dry_run: bool = False,
) -> RetargetResult:
    """Move the leads refused for ``reason`` in ``source`` into ``target`` (see the module doc)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if source == target:
        raise InputError("--from and --to name the same campaign")
    result = RetargetResult(source, target, reason, dry_run)
    conn = engine.connect()
    trans = conn.begin()
    try:
        source_id, _, source_def = _campaign(conn, source)
        target_id, _, target_def = _campaign(conn, target)
        if source_def.refusal_reason(reason) is None:
            known = ", ".join(r.code for r in source_def.refusal_reasons)
            raise InputError(f"campaign {source!r} has no refusal reason {reason!r} (known: {known})")
        list_id: int | None = None
        for row in candidates(conn, source_id, reason):
            blocked = conn.execute(select(func.count()).select_from(dnc).where(
                dnc.c.phone == row.phone, dnc.c.scope.in_((0, target_id)))).scalar()
            why = None
            if row.status == "dnc" or blocked:
                why = "on a do-not-call list"
            elif row.status == "dialing":
                why = "in a call now"
            elif row.status != "done":
                why = f"still being called in {source} ({row.status})"
            if why:
                result.skipped[why] += 1
                result.leads.append({"lead_id": row.id, "moved": False, "why": why})
                continue
            due = earliest_allowed(target_def, number_history(conn, row.phone, row.id), None, now)
            if list_id is None:
                list_id = move_list(conn, target_id, target, source)
            conn.execute(update(leads).where(leads.c.id == row.id).values(
                list_id=list_id, status="retry", attempts=0, next_call_at=due,
                callback_owner=None, callback_exclusive_until=None))
            result.moved += 1
            result.deferred += due > now
            result.leads.append({"lead_id": row.id, "moved": True, "next_call_at": due.isoformat()})
        if dry_run:
            trans.rollback()
        else:
            trans.commit()
    except BaseException:
        trans.rollback()
        raise
    finally:
        conn.close()
    return result
