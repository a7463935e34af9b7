"""Seeding campaigns, lists, leads, DNC numbers and calls for the diagnostics tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from campaigns.models import campaigns as campaigns_t
from dialer.db import open_engine
from dialer.models import agents as agents_t
from dialer.models import calls
from lists.models import consents, leads
from lists.models import dnc_numbers as dnc
from lists.models import lead_lists as lists_

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # a Monday: 10:00 New York, 16:00 Budapest, 00:00 Tokyo
NY, TOKYO = "America/New_York", "Asia/Tokyo"

_phone = iter(range(10**6))


def phone() -> str:
    """A fresh valid-looking New York number."""
    return f"+1212555{next(_phone) % 10000:04d}"


def lead(**kw: Any) -> dict[str, Any]:
    row = {"list_id": 1, "phone": phone(), "timezones": NY, "status": "new", "attempts": 0,
           "next_call_at": None, "callback_owner": None, "callback_exclusive_until": None,
           "state": None, "postal_code": None, "country": None}
    row.update(kw)
    return row


def seed(
    url: str,
    rows: Sequence[dict[str, Any]],
    *,
    status: str = "active",
    definition: dict[str, Any] | None = None,
    lists: Sequence[dict[str, Any]] = ({"id": 1, "name": "l1", "active": True},),
    dnc_rows: Sequence[dict[str, Any]] = (),
    call_rows: Sequence[dict[str, Any]] = (),
    agents: Sequence[dict[str, Any]] = (),
    consent_rows: Sequence[dict[str, Any]] = (),
) -> Engine:
    """Campaign 1 ``c`` (and an unrelated campaign 2 ``other``) with the given rows."""
    engine = open_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(campaigns_t), [
            {"id": 1, "name": "c", "status": status, "definition": definition or {}},
            {"id": 2, "name": "other", "status": "active", "definition": {}},
        ])
        if lists:
            conn.execute(insert(lists_), [{"campaign_id": 1, "priority": 0, **x} for x in lists])
        if rows:
            conn.execute(insert(leads), [dict(r) for r in rows])
        if dnc_rows:
            conn.execute(insert(dnc), list(dnc_rows))
        if consent_rows:
            conn.execute(insert(consents), [{"channel": "test", **c} for c in consent_rows])
        if agents:
            conn.execute(insert(agents_t),
                         [{"interface": "PJSIP/x", "token_hash": "x", **a} for a in agents])
        if call_rows:
            conn.execute(insert(calls), [
                {"campaign_id": 1, "attempt": 1, "ring_timeout": 25, "status": "ended", "channel_id": f"ch-{i}", **c}
                for i, c in enumerate(call_rows)
            ])
    return engine


def ago(**kw: float) -> datetime:
    return NOW - timedelta(**kw)


def later(**kw: float) -> datetime:
    return NOW + timedelta(**kw)
