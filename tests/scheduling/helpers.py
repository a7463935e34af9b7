"""Shared test helpers: a settable clock, campaigns and leads written straight to the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from campaigns.definition import definition_to_data, parse_definition
from campaigns.models import campaigns as campaigns_t
from dialer.models import agents as agents_t
from dialer.models import calls as calls_t
from lists.models import dnc_numbers as dnc_t
from lists.models import lead_lists as lists_t
from lists.models import leads as leads_t

# The tables, for the tests that import them from here.
__all__ = ["agents_t", "calls_t", "campaigns_t", "dnc_t", "leads_t", "lists_t"]


class FakeClock:
    """Virtual time: ``now()`` is whatever the test set; ``sleep`` only yields."""

    def __init__(self, now: datetime) -> None:
        self.t = now
        self.speed = 1.0

    def now(self) -> datetime:
        return self.t

    def monotonic(self) -> float:
        return self.t.timestamp()

    async def sleep(self, seconds: float) -> None:
        import asyncio

        self.t += timedelta(seconds=seconds)
        await asyncio.sleep(0)

    def advance(self, **kw: float) -> None:
        self.t += timedelta(**kw)


def campaign(engine: Engine, name: str, status: str = "active", **data: Any) -> int:
    """A campaign from minimal definition data (plus ``data``), stored like ``campaigns apply``."""
    definition = parse_definition({"name": name, "dial": {"trunk": "PJSIP/{number}@t", "queue": name}, **data})
    with engine.begin() as conn:
        return conn.execute(insert(campaigns_t).values(
            name=name, status=status, definition=definition_to_data(definition),
            created_at=datetime.now(UTC), updated_at=datetime.now(UTC)).returning(campaigns_t.c.id)).scalar_one()


def lead_list(engine: Engine, name: str, campaign_id: int | None, priority: int = 0) -> int:
    with engine.begin() as conn:
        return conn.execute(insert(lists_t).values(name=name, campaign_id=campaign_id, active=True,
                                                   priority=priority).returning(lists_t.c.id)).scalar_one()


def lead(engine: Engine, list_id: int, phone: str, zones: str = "America/New_York", **values: Any) -> int:
    row = {"list_id": list_id, "phone": phone, "timezones": zones, "alt_phones": [], "custom": {},
           "status": "new", **values}
    with engine.begin() as conn:
        return conn.execute(insert(leads_t).values(**row).returning(leads_t.c.id)).scalar_one()


def lead_row(engine: Engine, lead_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(leads_t).where(leads_t.c.id == lead_id)).one()


def aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
