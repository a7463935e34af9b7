"""Campaigns in the database (their own table only): save a definition, change status, read back.

Attaching lists and counting their leads crosses into ``lists``: see :mod:`dialer.services.campaigns`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Row, insert, select, update
from sqlalchemy.engine import Connection, Engine

from campaigns.definition import CampaignDefinition, definition_from_data, definition_to_data
from campaigns.models import campaigns as campaigns_t
from dialer.errors import InputError

STATUSES = ("draft", "active", "paused", "stopped")


def save_definition(conn: Connection, definition: CampaignDefinition, now: datetime) -> tuple[int, bool]:
    """Create the campaign (status ``draft``) or update its definition: ``(id, created)``."""
    data = definition_to_data(definition)
    row = conn.execute(select(campaigns_t.c.id).where(campaigns_t.c.name == definition.name)).first()
    if row is None:
        campaign_id = conn.execute(
            insert(campaigns_t).values(name=definition.name, status="draft", definition=data,
                                       created_at=now, updated_at=now).returning(campaigns_t.c.id)
        ).scalar_one()
        return campaign_id, True
    conn.execute(update(campaigns_t).where(campaigns_t.c.id == row.id).values(definition=data, updated_at=now))
    return row.id, False


def find(conn: Connection, name: str) -> Row:
    row = conn.execute(select(campaigns_t).where(campaigns_t.c.name == name)).first()
    if row is None:
        known = [r[0] for r in conn.execute(select(campaigns_t.c.name).order_by(campaigns_t.c.name))]
        hint = f" (known: {', '.join(known)})" if known else " (none defined yet: dialer campaigns apply FILE)"
        raise InputError(f"unknown campaign {name!r}{hint}")
    return row


def find_id(conn: Connection, ref: str) -> int:
    """The id of the campaign named ``ref`` (or with id ``ref``); :class:`InputError` if none."""
    row = conn.execute(select(campaigns_t.c.id).where(campaigns_t.c.name == ref)).first()
    if row is None and ref.isdigit():
        row = conn.execute(select(campaigns_t.c.id).where(campaigns_t.c.id == int(ref))).first()
    if row is None:
        raise InputError(f"unknown campaign {ref!r}")
    return row[0]


def name_of(conn: Connection, campaign_id: int | None) -> str | None:
    """The name of the campaign ``campaign_id`` (``None`` for none or an unknown id)."""
    if campaign_id is None:
        return None
    return conn.execute(select(campaigns_t.c.name).where(campaigns_t.c.id == campaign_id)).scalar()


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
