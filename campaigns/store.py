"""Campaigns in the database: apply a definition (create or update), change status, read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine

import dialer.schema  # noqa: F401  (every table registered)
from campaigns.definition import CampaignDefinition, definition_from_data, definition_to_data
from dialer.db import Base
from dialer.errors import InputError

campaigns_t = Base.metadata.tables["campaigns"]
lists_t = Base.metadata.tables["lead_lists"]

STATUSES = ("draft", "active", "paused", "stopped")


@dataclass
class Applied:
    campaign_id: int
    created: bool
    lists_attached: list[str]
    lists_missing: list[str]


def apply_definition(engine: Engine, definition: CampaignDefinition) -> Applied:
    """Create the campaign or update its definition; attach the lists it names that exist."""
    data = definition_to_data(definition)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        row = conn.execute(select(campaigns_t.c.id).where(campaigns_t.c.name == definition.name)).first()
        if row is None:
            campaign_id = conn.execute(
                insert(campaigns_t).values(name=definition.name, status="draft", definition=data,
                                           created_at=now, updated_at=now).returning(campaigns_t.c.id)
            ).scalar_one()
            created = True
        else:
            campaign_id = row.id
            conn.execute(update(campaigns_t).where(campaigns_t.c.id == campaign_id)
                         .values(definition=data, updated_at=now))
            created = False
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


def find(conn: Connection, name: str):  # noqa: ANN201
    row = conn.execute(select(campaigns_t).where(campaigns_t.c.name == name)).first()
    if row is None:
        known = [r[0] for r in conn.execute(select(campaigns_t.c.name).order_by(campaigns_t.c.name))]
        hint = f" (known: {', '.join(known)})" if known else " (none defined yet: dialer campaigns apply FILE)"
        raise InputError(f"unknown campaign {name!r}{hint}")
    return row


def load(conn: Connection, name: str) -> tuple[int, str, CampaignDefinition]:
    row = find(conn, name)
    return row.id, row.status, definition_from_data(row.definition, f"campaign {name}")


def set_status(engine: Engine, name: str, status: str) -> str:
    """Set the campaign's status; returns the previous one."""
    if status not in STATUSES:
        raise InputError(f"status must be one of {', '.join(STATUSES)}")
    with engine.begin() as conn:
        row = find(conn, name)
        conn.execute(update(campaigns_t).where(campaigns_t.c.id == row.id)
                     .values(status=status, updated_at=datetime.now(UTC)))
    return row.status


def list_campaigns(engine: Engine) -> list[dict]:
    leads = Base.metadata.tables["leads"]
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
