"""Campaigns with their lead lists: apply a definition (save it, attach the lists it names) and
the campaign table the CLI shows (with lead counts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from campaigns.definition import CampaignDefinition, definition_from_data
from campaigns.models import campaigns as campaigns_t
from campaigns.store import save_definition
from dialer.errors import InputError
from lists.models import lead_lists as lists_t
from lists.models import leads


@dataclass
class Applied:
    campaign_id: int
    created: bool
    lists_attached: list[str]
    lists_missing: list[str]


def apply_definition(engine: Engine, definition: CampaignDefinition) -> Applied:
    """Create the campaign or update its definition; attach the lists it names that exist."""
    with engine.begin() as conn:
        campaign_id, created = save_definition(conn, definition, datetime.now(UTC))
        attached, missing = [], []
        for ref in definition.lists:
            lst = conn.execute(select(lists_t.c.id, lists_t.c.campaign_id).where(lists_t.c.name == ref.name)).first()
            if lst is None:
                missing.append(ref.name)
                continue
            if lst.campaign_id not in (None, campaign_id):
                raise InputError(f"list {ref.name!r} belongs to another campaign")
            conn.execute(update(lists_t).where(lists_t.c.id == lst.id)
                         .values(campaign_id=campaign_id, priority=ref.priority))
            attached.append(ref.name)
    return Applied(campaign_id, created, attached, missing)


def list_campaigns(engine: Engine) -> list[dict[str, Any]]:
    """Every campaign: name, status, dial mode, queue, lead count, last update."""
    with engine.connect() as conn:
        counts = dict(conn.execute(
            select(lists_t.c.campaign_id, func.count(leads.c.id))
            .select_from(lists_t.join(leads, leads.c.list_id == lists_t.c.id))
            .group_by(lists_t.c.campaign_id)
        ).all())
        rows = conn.execute(select(campaigns_t).order_by(campaigns_t.c.name)).all()
    out = []
    for r in rows:
        d = definition_from_data(r.definition, f"campaign {r.name}")
        out.append({"name": r.name, "status": r.status, "mode": d.dial.mode, "queue": d.dial.queue,
                    "leads": counts.get(r.id, 0), "updated_at": r.updated_at.isoformat() if r.updated_at else None})
    return out
