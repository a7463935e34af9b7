"""A call's details for the agent's screen (the screen pop): lead data, script, dispositions."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine

from campaigns.definition import CampaignDefinition, definition_from_data, render_script
from dialer.storage.tables import calls, campaigns, leads


def field_key(name: str) -> str:
    """A column name as a script placeholder: lower case, runs of other characters as ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def call_stmt(call_id: int) -> Select:
    """The call with its lead's data and its campaign's definition."""
    return (
        select(calls, leads.c.first_name, leads.c.last_name, leads.c.state, leads.c.country, leads.c.postal_code,
               leads.c.external_id, leads.c.custom, leads.c.timezones, campaigns.c.name.label("campaign_name"),
               campaigns.c.definition)
        .select_from(calls.join(leads, leads.c.id == calls.c.lead_id).join(
            campaigns, campaigns.c.id == calls.c.campaign_id))
        .where(calls.c.id == call_id)
    )


def booked_stmt(lead_id: int, call_id: int) -> Select:
    """The lead's call before ``call_id``: a callback the customer asked for was booked there."""
    return (select(calls.c.callback_at, calls.c.note, calls.c.agent)
            .where(calls.c.lead_id == lead_id, calls.c.id < call_id).order_by(calls.c.id.desc()).limit(1))


#: Previous calls shown on the screen pop.
HISTORY = 5


def history_stmt(lead_id: int, call_id: int, limit: int = HISTORY) -> Select:
    """The lead's calls before ``call_id``, newest first: the screen pop's "last outcomes"."""
    return (select(calls.c.placed_at, calls.c.outcome, calls.c.disposition, calls.c.refusal_reason, calls.c.agent)
            .where(calls.c.lead_id == lead_id, calls.c.id < call_id).order_by(calls.c.id.desc()).limit(limit))


def _history(rows: Any) -> list[dict[str, Any]]:
    return [{"placed_at": r.placed_at.isoformat() if r.placed_at else None, "outcome": r.outcome,
             "disposition": r.disposition, "refusal_reason": r.refusal_reason, "agent": r.agent} for r in rows]


def _fields(row: Any) -> dict[str, Any]:
    custom = row.custom or {}
    return {"first_name": row.first_name, "last_name": row.last_name, "phone": row.phone, "state": row.state,
            "country": row.country, "postal_code": row.postal_code, "external_id": row.external_id, **custom,
            # custom columns also by a placeholder-friendly name: "Current Plan" -> current_plan
            **{field_key(k): v for k, v in custom.items()}}


def _campaign_view(definition: CampaignDefinition) -> dict[str, Any]:
    return {
        "dispositions": [{"code": d.code, "label": d.label, "flags": sorted(d.flags)}
                         for d in definition.dispositions],
        "refusal_reasons": [{"code": r.code, "label": r.label} for r in definition.refusal_reasons],
        "order_form": [{"name": f.name, "label": f.label, "type": f.type, "required": f.required,
                        "choices": list(f.choices)} for f in definition.order_form],
    }


def screen(row: Any, booked: Any, history: Any = ()) -> dict[str, Any]:
    """The screen pop of a call ``row`` (:func:`call_stmt`), ``booked`` the lead's previous call,
    ``history`` its previous calls (:func:`history_stmt`)."""
    callback = booked is not None and booked.callback_at is not None
    definition = definition_from_data(row.definition, f"campaign {row.campaign_name}")
    fields = _fields(row)
    return {
        "call_id": row.id,
        "campaign": row.campaign_name,
        "status": row.status,
        "outcome": row.outcome,
        "lead": {"id": row.lead_id, **fields, "timezones": row.timezones.split()},
        "script": render_script(definition.script, fields),
        "attempt": row.attempt,  # this call is the lead's attempt number ...
        "history": _history(history),  # ... after these (newest first)
        **_campaign_view(definition),
        "connected_at": row.connected_at.isoformat() if row.connected_at else None,
        "disposition": row.disposition,
        # A callback: when the customer asked to be called, the note and who booked it.
        "callback": callback,
        "callback_at": booked.callback_at.isoformat() if callback else None,
        "callback_note": booked.note if callback else None,
        "callback_booked_by": booked.agent if callback else None,
    }


async def call_details(db: AsyncEngine, call_id: int) -> dict | None:
    """A call with its lead's data and the campaign's rendered script; None when unknown."""
    async with db.connect() as conn:
        row = (await conn.execute(call_stmt(call_id))).first()
        if row is None:
            return None
        booked = (await conn.execute(booked_stmt(row.lead_id, row.id))).first()
        history = (await conn.execute(history_stmt(row.lead_id, row.id))).all()
    return screen(row, booked, history)


async def callback_context(db: AsyncEngine, call_id: int) -> tuple[Any, CampaignDefinition, list[str], str | None] | None:
    """For the callback picker: the call row, its campaign's definition, the lead's candidate
    zones and region code; None when the call is unknown."""
    from campaigns.windows import region_code

    async with db.connect() as conn:
        row = (await conn.execute(call_stmt(call_id))).first()
    if row is None:
        return None
    definition = definition_from_data(row.definition, f"campaign {row.campaign_name}")
    return row, definition, (row.timezones or "").split(), region_code(row.country, row.state)


def owned_callbacks_stmt(agent: str, start: Any, end: Any) -> Select:
    """The agent's owned callbacks due from ``start`` to ``end`` (aware UTC), soonest first."""
    from dialer.vocabulary import LeadStatus

    return (select(leads.c.id, leads.c.first_name, leads.c.last_name, leads.c.phone, leads.c.timezones,
                   leads.c.next_call_at, leads.c.callback_exclusive_until)
            .where(leads.c.callback_owner == agent, leads.c.status == LeadStatus.CALLBACK,
                   leads.c.next_call_at >= start, leads.c.next_call_at < end)
            .order_by(leads.c.next_call_at, leads.c.id).limit(200))
