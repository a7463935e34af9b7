"""Dial attempts (``calls`` rows): status while live, the end, a claim given back, dispositions."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Delete, Select, Update, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from campaigns.rules import CallResult, NextAction
from dialer.job_models import node_heartbeats
from dialer.session.amd import AmdEstimate
from dialer.storage import campaigns, outbox
from dialer.storage.dnc_requests import jurisdiction_of, record_request
from dialer.storage.leads import CampaignRef, apply_rules
from dialer.storage.tables import calls, consents, leads
from dialer.vocabulary import LIVE_ANSWER, CallStatus, LeadStatus, Outcome

OPT_OUT_REASON = "opt-out keypress in the safe-harbour message"
#: Facts about a call that, once stored, are never overwritten with "unknown" (NULL): a restart
#: or a lost link must not erase that a call was answered or reached an agent.
FACTS = ("answered_at", "connected_at", "agent")


def _keep_facts(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without the facts it does not know (None): the stored value stays."""
    return {k: v for k, v in values.items() if v is not None or k not in FACTS}


def status_stmt(call_id: int, status: CallStatus, *, answered_at: datetime | None,
                connected_at: datetime | None, agent: str | None) -> Update:
    """A live call's stored status (never over an ended row: the end may be written first);
    a fact already stored is kept when the new value is unknown."""
    return update(calls).where(calls.c.id == call_id, calls.c.status != CallStatus.ENDED).values(
        **_keep_facts({"status": status, "answered_at": answered_at, "connected_at": connected_at, "agent": agent}))


def end_stmt(call_id: int, values: Mapping[str, Any]) -> Update:
    """The row of a call that ended: status ``ended``, outcome, cause, times, agent (facts
    already stored kept where the end does not know them)."""
    return update(calls).where(calls.c.id == call_id).values(**_keep_facts(values))


def next_action_stmt(call_id: int, summary: str) -> Update:
    """What the rules decided after the call, in words (``dialer calls ls``)."""
    return update(calls).where(calls.c.id == call_id).values(next_action=summary[:200])


def row_stmt(call_id: int) -> Select:
    return select(calls).where(calls.c.id == call_id)


def in_flight_stmt(node: str) -> Select:
    """Calls this node left in flight (a previous run's): to adopt and reconcile."""
    return select(calls).where(calls.c.status != CallStatus.ENDED, calls.c.node == node)


def undisposed_stmt(node: str | None = None) -> Select:
    """(agent, call id) of calls (placed by ``node``) that reached an agent and still wait for
    a disposition, oldest first (no rule has decided for them: ``next_action`` unset)."""
    stmt = (select(func.coalesce(calls.c.agent, ""), calls.c.id)  # "": the agent is not known
            .where(calls.c.disposition.is_(None), calls.c.connected_at.is_not(None), calls.c.next_action.is_(None))
            .order_by(calls.c.id))
    return stmt if node is None else stmt.where(calls.c.node == node)


def orphaned_stmt(node: str, now: datetime, node_timeout: timedelta, wrapup: timedelta) -> Select:
    """Ids of calls of *gone* nodes (no heartbeat within ``node_timeout``, not ``node``) that
    reached an agent, ended more than ``wrapup`` ago and never got a disposition: the node that
    would have applied the wrap-up limit is dead, so another node does (docs/scaling.md)."""
    alive = select(node_heartbeats.c.node).where(node_heartbeats.c.seen_at >= now - node_timeout)
    return (select(calls.c.id)
            .where(calls.c.disposition.is_(None), calls.c.connected_at.is_not(None), calls.c.next_action.is_(None),
                   calls.c.status == CallStatus.ENDED, calls.c.ended_at < now - wrapup, calls.c.node != node,
                   calls.c.node.not_in(alive))
            .order_by(calls.c.id))


def live_answers_stmt(campaign_id: int, since: datetime, node: str | None = None, *,
                      machines: bool = False) -> Select:
    """(placed_at, outcome) of the campaign's live answers since ``since`` (of ``node``'s calls
    only, if given: the other nodes' come from the shared ledger), oldest first; with
    ``machines``, its machine verdicts too."""
    answers = calls.c.outcome.in_(LIVE_ANSWER)
    if machines:  # AMD's verdicts; a machine its agent found (connected_at set) is no verdict
        answers = or_(answers, and_(calls.c.outcome == Outcome.MACHINE, calls.c.connected_at.is_(None)))
    stmt = (select(calls.c.placed_at, calls.c.outcome)
            .where(calls.c.campaign_id == campaign_id, calls.c.placed_at >= since, answers))
    if node is not None:
        stmt = stmt.where(calls.c.node == node)
    return stmt.order_by(calls.c.placed_at)


def disposition_stmt(call_id: int, *, code: str, reason: str | None, callback_at: datetime | None,
                     order_form: dict | None, note: str | None, at: datetime) -> Update:
    return update(calls).where(calls.c.id == call_id).values(
        disposition=code, refusal_reason=reason, callback_at=callback_at, order_form=order_form, note=note,
        disposed_at=at)


def give_back_stmts(call_ids: list[int], lead_ids: list[int]) -> tuple[Delete, Update]:
    """Undo a claim whose call is not placed: the ``calls`` rows go, each lead is a due callback
    again with its attempts and ``last_call_at`` (the latest call left) as before."""
    last_call = select(func.max(calls.c.placed_at)).where(calls.c.lead_id == leads.c.id).scalar_subquery()
    return (
        delete(calls).where(calls.c.id.in_(call_ids), calls.c.status == CallStatus.PLACING),
        update(leads).where(leads.c.id.in_(lead_ids), leads.c.status == LeadStatus.DIALING)
        .values(status=LeadStatus.CALLBACK, attempts=leads.c.attempts - 1, last_call_at=last_call),
    )


# ---------------------------------------------------------------------- async wrappers


async def row(conn: AsyncConnection, call_id: int) -> Any:
    return (await conn.execute(row_stmt(call_id))).first()


async def in_flight(conn: AsyncConnection, node: str) -> list[Any]:
    return list((await conn.execute(in_flight_stmt(node))).all())


async def undisposed(conn: AsyncConnection, node: str | None = None) -> dict[str, list[int]]:
    """Each agent's calls (placed by ``node``) still waiting for its disposition, oldest first."""
    out: dict[str, list[int]] = {}
    for agent, call_id in await conn.execute(undisposed_stmt(node)):
        out.setdefault(agent, []).append(call_id)
    return out


async def live_answers(conn: AsyncConnection, campaign_id: int, since: datetime,
                       node: str | None = None, amd: AmdEstimate | None = None) -> list[tuple[float, bool]]:
    """The campaign's live answers since ``since`` (``node``'s only, if given) as the abandon
    ledger takes them; with ``amd`` (a pack counting AMD false positives), its machine verdicts'
    estimated false positives as abandoned answers."""
    counting = amd is not None and amd.share > 0
    rows = await conn.execute(live_answers_stmt(campaign_id, since, node, machines=counting))
    out: list[tuple[float, bool]] = []
    for placed_at, outcome in rows:
        if outcome != Outcome.MACHINE:
            out.append((placed_at.timestamp(), outcome == Outcome.ABANDONED))
        elif amd is not None:
            out += [(placed_at.timestamp(), True)] * amd.machine_verdict()
    return out


def opt_out_revocation_stmt(call_id: int, phone: str, campaign: str, at: datetime) -> Any:
    """An opt-out keypress's revocation in the consent ledger (every campaign's scope, channel
    ``keypress``)."""
    return insert(consents).values(phone=phone, kind="revoked", scope="*", at=at, channel="keypress",
                                   evidence=f"call {call_id}", source=f"campaign {campaign}")


async def record_opt_out(conn: AsyncConnection, call_id: int, phone: str, campaign: str, at: datetime) -> None:
    """An opt-out keypress: the number on the global DNC list as a request (honoured as long as
    the packs that apply say: :mod:`dialer.storage.dnc_requests`), the revocation and the
    webhook event (``dnc.added``, if the campaign wants it), in the caller's transaction."""
    await record_request(conn, phone, 0, jurisdiction=await jurisdiction_of(conn, name=campaign), at=at,
                         source=f"campaign {campaign}", reason=OPT_OUT_REASON)
    await conn.execute(opt_out_revocation_stmt(call_id, phone, campaign, at))
    await outbox.call_dnc_added(conn, call_id, scope="global", reason=OPT_OUT_REASON, source="opt_out", at=at)


async def give_back(conn: AsyncConnection, claimed: Iterable[Any]) -> None:
    """Give back claimed leads (:class:`~dialer.claim.ClaimedLead`) whose call is not placed."""
    claimed = list(claimed)
    for stmt in give_back_stmts([c.call_id for c in claimed], [c.lead_id for c in claimed]):
        await conn.execute(stmt)


async def end_call(conn: AsyncConnection, call_id: int, values: Mapping[str, Any], rng: random.Random,
                   rules: Any = None) -> None:
    """Write the end of a call and, unless an agent's disposition will decide, apply the rules
    (``rules``: campaign, lead_id, result, at — when the call ended — and last_outcome)."""
    await conn.execute(end_stmt(call_id, values))
    if rules is not None:
        await apply_rules(conn, rules.campaign, rules.lead_id, rules.result, call_id, rules.at, rng,
                          last_outcome=rules.last_outcome)


async def expire_disposition(conn: AsyncConnection, call_id: int, at: datetime, rng: random.Random,
                             campaign: Callable[[int], CampaignRef | None]) -> NextAction | None:
    """The wrap-up limit passed without a disposition of the connected call ``call_id``: apply
    the campaign's rules as for a connected call without one, at ``at`` — unless a disposition
    (or an earlier expiry) decided already.  ``campaign``: the campaign by id, when known."""
    row = (await conn.execute(row_stmt(call_id))).first()
    if row is None or row.disposition is not None or row.next_action is not None:
        return None
    # Taken like a disposition: only while neither a disposition nor an expiry decided.
    taken = await conn.execute(update(calls).where(
        calls.c.id == call_id, calls.c.disposition.is_(None), calls.c.next_action.is_(None)).values(
        next_action="no disposition within the wrap-up limit"))
    if taken.rowcount != 1:
        return None
    camp = campaign(row.campaign_id) or await campaigns.ref(conn, row.campaign_id)
    assert camp is not None  # the calls row's foreign key
    result = CallResult(Outcome.CONNECTED, attempt=row.attempt, placed_at=row.placed_at, agent=row.agent)
    action = await apply_rules(conn, camp, row.lead_id, result, call_id, at, rng, last_outcome=Outcome.CONNECTED)
    await conn.execute(update(calls).where(calls.c.id == call_id).values(
        next_action=func.substr("no disposition within the wrap-up limit; " + calls.c.next_action, 1, 200)))
    return action

