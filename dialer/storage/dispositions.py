"""Recording an agent's disposition of a connected call: checked, taken once, the rules applied.

The daemon (:meth:`dialer.engine.Engine.dispose`) and the CLI without a daemon
(``dialer calls dispose``) both come here.  A disposition is taken once: the row is updated
only while it has none (``... WHERE id = ? AND disposition IS NULL``), in the same transaction
as the rules applied to the lead, so of two requests that both passed the checks (a double
click, the CLI beside the daemon) exactly one wins and the other is told ``Conflict``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Update, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from campaigns.rules import Callback, CallResult, Retry
from dialer.errors import Conflict, Unavailable
from dialer.session.commands import CampaignRef
from dialer.session.dispositions import check_call, check_disposition
from dialer.storage import calls, campaigns, ledger, outbox
from dialer.storage.availability import UNAVAILABLE, unreachable
from dialer.storage.leads import apply_rules
from dialer.storage.tables import calls as calls_t
from dialer.vocabulary import Outcome


def take_stmt(call_id: int, *, code: str, reason: str | None, callback_at: datetime | None,
              order_form: dict | None, note: str | None, at: datetime) -> Update:
    """The disposition written only if the call has none yet (one row updated: taken)."""
    return calls.disposition_stmt(call_id, code=code, reason=reason, callback_at=callback_at,
                                  order_form=order_form, note=note, at=at).where(
        calls_t.c.disposition.is_(None), calls_t.c.next_action.is_(None))  # nor decided by the wrap-up limit


async def record(
    conn: AsyncConnection, camp: CampaignRef, row: Any, *, code: str, reason: str | None,
    callback_at: datetime | None, order_form: dict | None, note: str | None, now: datetime, rng: random.Random,
    owned: bool = True,
) -> dict:
    """Take the disposition of the connected call ``row`` (Conflict when another was taken
    first) and apply the campaign's rules to its lead; returns what was decided (the API's and
    the CLI's answer).  Run it in one transaction."""
    taken = await conn.execute(take_stmt(row.id, code=code, reason=reason, callback_at=callback_at,
                                         order_form=order_form, note=note, at=now))
    if taken.rowcount != 1:
        winner = (await conn.execute(select(calls_t.c.disposition).where(calls_t.c.id == row.id))).scalar()
        if winner is None:
            raise Conflict(f"call {row.id}: the wrap-up limit passed and its rules decided already")
        raise Conflict(f"call {row.id} is already disposed ({winner})")
    disposition = camp.definition.disposition(code)
    machine = disposition is not None and disposition.machine and row.outcome == Outcome.CONNECTED
    if machine:
        await machine_reached_agent(conn, row)
    hook = camp.definition.webhook
    if hook is not None and hook.wants("call.disposed"):  # before the lead's own events (their order)
        await _disposed_event(conn, camp, row, code=code, reason=reason, callback_at=callback_at,
                              order_form=order_form, note=note, at=now)
    result = CallResult(Outcome.MACHINE if machine else Outcome.CONNECTED, attempt=row.attempt, placed_at=row.placed_at, disposition=code,
                        reason=reason, callback_at=callback_at, agent=row.agent if owned else None)
    action = await apply_rules(conn, camp, row.lead_id, result, row.id, now, rng, last_outcome=result.outcome)
    out: dict[str, Any] = {"call_id": row.id, "disposition": code, "next": type(action).__name__}
    if machine:
        out["outcome"] = Outcome.MACHINE.value
    if isinstance(action, Retry | Callback):
        out["next_call_at"] = action.at.isoformat()
        if action.notes:
            out["notes"] = list(action.notes)
    return out


async def machine_reached_agent(conn: AsyncConnection, row: Any) -> None:
    """The agent found an answering machine on the connected call ``row``: the call's outcome
    becomes ``MACHINE`` (its ``connected_at`` and agent stay: it did reach an agent) and its live
    answer leaves the campaign-wide abandon ledger — a machine is not a live answer, and counting
    it would lower the abandon rate the law measures among persons."""
    await conn.execute(update(calls_t).where(calls_t.c.id == row.id).values(outcome=Outcome.MACHINE))
    ended = row.ended_at or row.connected_at or row.placed_at
    await ledger.bump(conn, row.campaign_id, row.node, ended.replace(second=0, microsecond=0), False, n=-1)


async def _disposed_event(conn: AsyncConnection, camp: CampaignRef, row: Any, *, code: str, reason: str | None,
                          callback_at: datetime | None, order_form: dict | None, note: str | None,
                          at: datetime) -> None:
    disposition, refusal = camp.definition.disposition(code), camp.definition.refusal_reason(reason or "")
    data = {"call": {"id": row.id, "attempt": row.attempt, "agent": row.agent},
            "disposition": {"code": code, "label": disposition.label if disposition else code,
                            "refusal_reason": reason, "refusal_label": refusal.label if refusal else None,
                            "callback_at": callback_at.isoformat() if callback_at else None,
                            "order_form": order_form or {}, "note": note}}
    lead = await outbox.lead_row(conn, row.lead_id)
    await outbox.enqueue(conn, event="call.disposed", event_id=f"call-{row.id}-disposed", campaign_id=camp.id,
                         campaign=camp.name, lead=lead, data=data, at=at)


async def dispose(
    db: AsyncEngine, call_id: int, *, code: str, reason: str | None = None, callback_at: datetime | None = None,
    order_form: dict | None = None, note: str | None = None, agent_name: str | None = None, now: datetime,
    rng: random.Random, lock: asyncio.Lock | None = None,
    campaign: Callable[[int], CampaignRef | None] = lambda _id: None, owned: bool = True,
    audit: Insert | None = None,
) -> dict:
    """Check and record a disposition at ``now``; returns what was decided for the lead.

    Raises NotFound (no such call), Forbidden (not ``agent_name``'s call), Conflict (already
    disposed — also when another request took it meanwhile —, did not reach an agent),
    DispositionError (the campaign does not accept it) or Unavailable (the database cannot be
    reached now).  ``campaign``: the campaign by id when the caller has it (the daemon), else
    it is read.  ``owned``: a callback goes to the agent who booked it (when the campaign's rule
    gives callbacks an owner); false: to anyone.  ``audit``: an audit entry written in the
    disposition's transaction (``dialer calls dispose`` without a daemon).
    """
    try:
        async with db.connect() as conn:
            row = await calls.row(conn, call_id)
            check_call(row, call_id, agent_name)
            camp = campaign(row.campaign_id) or await campaigns.ref(conn, row.campaign_id)
        assert camp is not None  # the calls row's foreign key
        check_disposition(camp.definition, code, reason=reason, callback_at=callback_at, order_form=order_form,
                          now=now)
        async with lock or contextlib.nullcontext(), db.begin() as conn:
            out = await record(conn, camp, row, code=code, reason=reason, callback_at=callback_at,
                               order_form=order_form, note=note, now=now, rng=rng, owned=owned)
            if audit is not None:
                await conn.execute(audit)
            return out
    except Exception as exc:
        if unreachable(exc):
            raise Unavailable(UNAVAILABLE) from exc
        raise


async def add_dnc_request(db: AsyncEngine, call_id: int, *, agent_name: str | None, actor: str,
                          source: str | None, now: datetime) -> dict:
    """The customer on ``call_id`` asked not to be called: their number goes onto the global DNC
    list at once, with who asked and when in the same transaction's audit entry and webhook
    event (``dnc.added``, if the campaign wants it).  The call must
    be one that reached an agent (``agent_name``'s own, unless ``None``: staff)."""
    from dialer.storage.audit import entry_stmt
    from dialer.storage.dnc_requests import jurisdiction_of, record_request
    from dialer.vocabulary import AuditAction

    try:
        async with db.begin() as conn:
            row = await calls.row(conn, call_id)
            check_call(row, call_id, agent_name)
            known = not await record_request(
                conn, row.phone, 0, jurisdiction=await jurisdiction_of(conn, campaign_id=row.campaign_id), at=now,
                source=f"agent {row.agent or actor}", reason=f"asked during call {call_id}")
            await conn.execute(entry_stmt(AuditAction.DNC_ADDED, actor, target=row.phone, source=source, at=now,
                                          detail={"call_id": call_id, "already_listed": bool(known)}))
            await outbox.call_dnc_added(conn, call_id, scope="global", reason=f"asked during call {call_id}",
                                        source="agent", at=now)
        return {"call_id": call_id, "campaign_id": row.campaign_id, "phone": row.phone, "added": not known,
                "at": now.isoformat()}
    except Exception as exc:
        if unreachable(exc):
            raise Unavailable(UNAVAILABLE) from exc
        raise
