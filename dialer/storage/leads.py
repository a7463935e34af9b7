"""Leads: a number's history as the rules see it, a rule's decision applied to a lead row, the
list a lead moves to, and the zone keys the calling windows are computed from."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Insert, Select, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from campaigns.definition import CampaignDefinition
from campaigns.packs import us_state_of
from campaigns.rules import (
    AddToDnc,
    Callback,
    CallResult,
    Finish,
    LeadHistory,
    MoveToCampaign,
    NextAction,
    PastCall,
    Retry,
    evaluate,
)
from campaigns.windows import region_code
from dialer.session.pbxdown import GIVE_BACK, after_pbx_down
from dialer.session.runtime import rule_outcome
from dialer.session.unknown import after_unknown
from dialer.storage import outbox
from dialer.storage.dnc_requests import record_request
from dialer.storage.tables import calls, campaigns, leads, lists_
from dialer.vocabulary import CALLABLE, LeadStatus, Outcome
from lists.models import consents

ZoneKey = tuple[str, str | None, str | None]


class CampaignRef(Protocol):
    """What applying the rules needs of a campaign."""

    id: int
    name: str
    definition: CampaignDefinition


# ---------------------------------------------------------------------- history


def history_stmt(phone: str, *, exclude_call: int | None = None) -> Select:
    """Every finished call to ``phone`` (any lead, any campaign), ``exclude_call`` left out."""
    stmt = (select(calls.c.placed_at, calls.c.outcome, calls.c.refusal_reason, calls.c.lead_id)
            .where(calls.c.phone == phone, calls.c.outcome.is_not(None)))
    return stmt if exclude_call is None else stmt.where(calls.c.id != exclude_call)


def history_of(rows: Iterable[Any], lead_id: int) -> LeadHistory:
    return LeadHistory.from_calls(
        PastCall(at=r.placed_at, outcome=rule_outcome(r.outcome), refusal=r.refusal_reason is not None,
                 same_lead=r.lead_id == lead_id)
        for r in rows
    )


async def lead_history(conn: AsyncConnection, lead_id: int, phone: str, exclude_call: int) -> LeadHistory:
    return history_of(await conn.execute(history_stmt(phone, exclude_call=exclude_call)), lead_id)


def number_history(conn: Connection, phone: str, lead_id: int) -> LeadHistory:
    """Every finished call to ``phone`` as the rules see them, on a sync connection."""
    return history_of(conn.execute(history_stmt(phone)), lead_id)


# ---------------------------------------------------------------------- lists leads move to


def move_list_name(target: str, source: str) -> str:
    return f"{target}:from:{source}"


def find_list_stmt(name: str) -> Select:
    return select(lists_.c.id).where(lists_.c.name == name)


def create_list_stmt(name: str, campaign_id: int, at: datetime) -> Insert:
    return insert(lists_).values(name=name, campaign_id=campaign_id, active=True, priority=0, source_file=None,
                                 created_at=at).returning(lists_.c.id)


def campaign_id_stmt(name: str) -> Select:
    return select(campaigns.c.id).where(campaigns.c.name == name)


async def move_list(conn: AsyncConnection, target: str, source: str, at: datetime) -> int | None:
    """The list in campaign ``target`` receiving leads moved from ``source`` (created on first
    use); None when there is no campaign ``target``."""
    target_id = (await conn.execute(campaign_id_stmt(target))).scalar()
    if target_id is None:
        return None
    name = move_list_name(target, source)
    list_id = (await conn.execute(find_list_stmt(name))).scalar()
    if list_id is None:
        list_id = (await conn.execute(create_list_stmt(name, target_id, at))).scalar_one()
    return list_id


def move_list_sync(conn: Connection, target_id: int, target: str, source: str, at: datetime) -> int:
    """:func:`move_list` on a sync connection, the target campaign's id known."""
    name = move_list_name(target, source)
    list_id = conn.execute(find_list_stmt(name)).scalar()
    if list_id is None:
        list_id = conn.execute(create_list_stmt(name, target_id, at)).scalar_one()
    return list_id


# ---------------------------------------------------------------------- a rule's decision


@dataclass(frozen=True)
class LeadStep:
    """What a rule's decision writes to the lead row, and how it reads in ``calls.next_action``."""

    values: dict[str, Any]
    summary: str
    dnc_scope: int | None = None  # add the number to this DNC scope (0: global)
    move_to: str | None = None  # move the lead to this campaign (``values`` completed on success)


def next_step(action: NextAction, campaign_id: int) -> LeadStep:
    """The lead row's new values for ``action`` (pure; the common ones are added by the caller)."""
    if isinstance(action, Retry):
        return LeadStep({"status": LeadStatus.RETRY, "next_call_at": action.at},
                        f"retry at {action.at.isoformat()} ({action.rule})")
    if isinstance(action, Callback):
        summary = f"callback at {action.at.isoformat()}" + (f" for {action.owner}" if action.owner else "")
        return LeadStep({"status": LeadStatus.CALLBACK, "next_call_at": action.at, "callback_owner": action.owner,
                         "callback_exclusive_until": action.exclusive_until}, summary)
    if isinstance(action, Finish):
        return LeadStep({"status": LeadStatus.DONE, "next_call_at": None}, f"finish: {action.reason}")
    if isinstance(action, AddToDnc):
        scope = campaign_id if action.scope == "campaign" else 0
        return LeadStep({"status": LeadStatus.DNC, "next_call_at": None},
                        f"dnc ({'campaign' if scope else 'global'}): {action.reason}", dnc_scope=scope)
    assert isinstance(action, MoveToCampaign)
    return LeadStep({"status": LeadStatus.RETRY, "next_call_at": action.not_before},
                    f"moved to campaign {action.campaign} (from {action.not_before.isoformat()})",
                    move_to=action.campaign)


def lead_fields(lead: Any) -> dict[str, Any]:
    """The lead's data as rules may match it (fixed columns and custom fields)."""
    return {"first_name": lead.first_name, "last_name": lead.last_name, "state": lead.state,
            "country": lead.country, "postal_code": lead.postal_code, **(lead.custom or {})}


async def _add_dnc(conn: AsyncConnection, phone: str, scope: int, camp: CampaignRef, reason: str,
                   now: datetime) -> None:
    await record_request(conn, phone, scope, jurisdiction=camp.definition.jurisdiction, at=now,
                         source=f"campaign {camp.name}", reason=reason)
    # the consent ledger keeps the revocation and how it came (the compliance report counts it)
    await conn.execute(insert(consents).values(
        phone=phone, kind="revoked", scope="*" if not scope else f"campaign:{camp.name}", at=now,
        channel="disposition", evidence=reason or None, source=f"campaign {camp.name}"))


async def _write_step(conn: AsyncConnection, camp: CampaignRef, lead: Any, action: NextAction,
                      values: dict[str, Any], now: datetime) -> str:
    """Write ``action`` to the lead row (with ``values``); returns the summary."""
    step = next_step(action, camp.id)
    values.update(step.values)
    summary = step.summary
    if step.dnc_scope is not None:
        await _add_dnc(conn, lead.phone, step.dnc_scope, camp, getattr(action, "reason", ""), now)
    if step.move_to is not None:
        target_list = await move_list(conn, step.move_to, camp.name, now)
        if target_list is None:
            values.update(status=LeadStatus.DONE, next_call_at=None)
            summary = f"finish: campaign {step.move_to!r} to move to does not exist"
        else:
            values.update(list_id=target_list, attempts=0)
    await conn.execute(update(leads).where(leads.c.id == lead.id).values(**values))
    return summary


def settle_unknown(conn: Connection, definition: CampaignDefinition, campaign_id: int, call: Any,
                   now: datetime) -> str | None:
    """A lead whose call ``call`` (``id``, ``lead_id``, ``attempt``, ``placed_at``) ended with an
    unknown outcome without an engine to apply the rules (a gone node's call, purged): the same
    step as :func:`apply_rules` takes (:func:`dialer.session.unknown.after_unknown`: not before
    the re-call gap; finished at the maximum attempts), on a sync connection.  Only a lead still
    ``dialing`` moves; returns the step's summary (None: the lead had moved on)."""
    lead = conn.execute(select(leads).where(leads.c.id == call.lead_id, leads.c.status == LeadStatus.DIALING)).first()
    if lead is None:
        return None
    history = history_of(conn.execute(history_stmt(lead.phone, exclude_call=call.id)), lead.id)
    result = CallResult(rule_outcome(Outcome.UNKNOWN), attempt=call.attempt, placed_at=call.placed_at)
    action = after_unknown(definition, history, result, now=now, zones=lead.timezones.split(),
                           region=region_code(lead.country, lead.state))
    step = next_step(action, campaign_id)
    conn.execute(update(leads).where(leads.c.id == lead.id, leads.c.status == LeadStatus.DIALING).values(
        last_outcome=Outcome.UNKNOWN, last_call_at=now, callback_owner=None, callback_exclusive_until=None,
        **step.values))
    conn.execute(update(calls).where(calls.c.id == call.id).values(next_action=step.summary[:200]))
    status = step.values.get("status")
    hook = definition.webhook
    if status in FINISHED and hook is not None and hook.wants("lead.finished"):  # as apply_rules queues it
        outbox.enqueue_sync(conn, event="lead.finished", event_id=f"call-{call.id}-lead-finished",
                            campaign_id=campaign_id, campaign=definition.name, lead=lead, at=now,
                            data=outbox.lead_finished_data(call.id, status, step.summary, lead.attempts))
    return step.summary


#: A lead's statuses after which the campaign will not call it again (``lead.finished``).
FINISHED = (LeadStatus.DONE, LeadStatus.DNC)


async def apply_rules(
    conn: AsyncConnection, camp: CampaignRef, lead_id: int, result: CallResult, call_id: int, now: datetime,
    rng: random.Random, *, last_outcome: str,
) -> NextAction:
    """Evaluate the campaign's rules for a finished call at ``now`` (when it ended, or was
    disposed) and move the lead on accordingly."""
    lead = (await conn.execute(select(leads).where(leads.c.id == lead_id))).first()
    history = await lead_history(conn, lead_id, lead.phone, call_id)
    zones, region = lead.timezones.split(), region_code(lead.country, lead.state)
    values: dict[str, Any] = {"last_outcome": result.disposition or last_outcome, "last_call_at": now,
                              "callback_owner": None, "callback_exclusive_until": None}
    action: NextAction
    if result.outcome == Outcome.UNKNOWN:  # not a failure: its own path (dialer.session.unknown)
        action = after_unknown(camp.definition, history, result, now=now, zones=zones, region=region)
    elif result.outcome == Outcome.PBX_DOWN:  # the PBX's doing: the attempt back (dialer.session.pbxdown)
        action = after_pbx_down(camp.definition, history, result, now=now, zones=zones, region=region)
        values["attempts"] = leads.c.attempts + GIVE_BACK
    else:
        action = evaluate(camp.definition, history, result, now=now, rng=rng, lead=lead_fields(lead),
                          zones=zones, region=region)
    summary = await _write_step(conn, camp, lead, action, values, now)
    await conn.execute(update(calls).where(calls.c.id == call_id).values(next_action=summary[:200]))
    if camp.definition.webhook is not None:
        await _lead_events(conn, camp, lead, call_id, action, values["status"], summary, now)
    return action


async def _lead_events(conn: AsyncConnection, camp: CampaignRef, lead: Any, call_id: int, action: NextAction,
                       status: str, summary: str, now: datetime) -> None:
    """The webhook events of a rule's decision: ``dnc.added``, then ``lead.finished``."""
    hook = camp.definition.webhook
    assert hook is not None
    common = {"campaign_id": camp.id, "campaign": camp.name, "lead": lead, "at": now}
    if isinstance(action, AddToDnc) and hook.wants("dnc.added"):
        await outbox.enqueue(conn, event="dnc.added", event_id=f"call-{call_id}-dnc-added", data={
            "call_id": call_id, "dnc": outbox.dnc_data(lead.phone, action.scope, action.reason, "rules")},
            **common)
    if status in FINISHED and hook.wants("lead.finished"):
        await outbox.enqueue(conn, event="lead.finished", event_id=f"call-{call_id}-lead-finished",
                             data=outbox.lead_finished_data(call_id, status, summary, lead.attempts), **common)


# ---------------------------------------------------------------------- zone keys


def zone_keys_stmt(*, campaign_id: int | None = None, lists: Any = None, regions: bool = True) -> Select:
    """The distinct (timezones[, country, state]) of leads still to be called: of a campaign
    (through its lists), or of the lists a condition on ``leads.list_id`` names (``lists``).
    Without ``regions`` only the zone sets (a covering index): see :func:`zone_key_rows`."""
    cols: tuple[Any, ...] = (leads.c.timezones,)
    if regions:  # and the number's head: a US area code's state counts as the lead's too
        cols = (leads.c.timezones, leads.c.country, leads.c.state, func.substr(leads.c.phone, 1, 5))
    stmt = select(*cols).where(leads.c.status.in_(CALLABLE)).distinct()
    if lists is not None:
        return stmt.where(lists)
    return stmt.select_from(leads.join(lists_, lists_.c.id == leads.c.list_id)).where(
        lists_.c.campaign_id == campaign_id)


def zone_key_rows(rows: Iterable[Sequence[Any]]) -> list[ZoneKey]:
    """Rows of :func:`zone_keys_stmt` as (timezones, country, state) whatever the columns.

    A US number whose area code lies in another state than the lead's ``state`` column gives a
    second key with the area code's state: the window must be open for both (the stricter)."""
    out: set[ZoneKey] = set()
    for r in rows:
        if len(r) < 3:
            out.add((r[0], None, None))
            continue
        out.add((r[0], r[1], r[2]))
        if len(r) > 3 and r[3] and str(r[3]).startswith("+1"):
            area = us_state_of(str(r[3]) + "5550100")
            if area and (r[2] or "").strip().upper() != area:
                out.add((r[0], "US", area))
    return sorted(out, key=lambda k: (k[0], k[1] or "", k[2] or ""))


async def zone_keys(conn: AsyncConnection, campaign_id: int) -> list[ZoneKey]:
    return zone_key_rows(await conn.execute(zone_keys_stmt(campaign_id=campaign_id)))
