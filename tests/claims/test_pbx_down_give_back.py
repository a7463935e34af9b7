"""A call the PBX refused or cut short while shutting down (``PBX_DOWN``, issue 16 item 5) is not
the lead's doing: the attempt is given back and the lead is due again at once."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select, update

from campaigns.definition import definition_from_data
from campaigns.rules import CallResult
from dialer.db import make_async_engine, open_engine
from dialer.storage.leads import apply_rules
from tests.claims.test_retarget_and_ownership import T0, _claim
from tests.scheduling.helpers import (
    aware,
    calls_t,
    campaign,
    campaigns_t,
    lead,
    lead_list,
    lead_row,
)


class Camp:
    def __init__(self, row) -> None:  # type: ignore[no-untyped-def]
        self.id, self.name = row.id, row.name
        self.definition = definition_from_data(row.definition, row.name)


async def _end(url: str, engine, campaign_id: int, claimed, outcome: str, at) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        camp = Camp(conn.execute(select(campaigns_t).where(campaigns_t.c.id == campaign_id)).one())
    db = make_async_engine(url)
    try:
        async with db.begin() as conn:
            await conn.execute(update(calls_t).where(calls_t.c.id == claimed.call_id).values(
                status="ended", outcome=outcome, ended_at=at))
            await apply_rules(conn, camp, claimed.lead_id, CallResult(outcome, attempt=claimed.attempt, placed_at=at),
                              claimed.call_id, at, random.Random(1), last_outcome=outcome)
    finally:
        await db.dispose()


async def test_pbx_down_gives_the_attempt_back_and_the_lead_is_due_at_once(db_url: str) -> None:
    engine = open_engine(db_url)
    camp = campaign(engine, "basic", limits={"max_attempts": 1})
    listed = lead_list(engine, "l", camp)
    refused, failed = lead(engine, listed, "+12125550101"), lead(engine, listed, "+12125550102")
    claimed = {c.lead_id: c for c in await _claim(db_url, camp, T0)}
    assert lead_row(engine, refused).attempts == 1
    await _end(db_url, engine, camp, claimed[refused], "PBX_DOWN", T0 + timedelta(seconds=3))
    await _end(db_url, engine, camp, claimed[failed], "FAILED", T0 + timedelta(seconds=3))
    row = lead_row(engine, refused)
    assert (row.status, row.attempts, row.last_outcome) == ("retry", 0, "PBX_DOWN")
    assert aware(row.next_call_at) == T0 + timedelta(seconds=3)
    assert lead_row(engine, failed).status == "done"  # max_attempts 1: a failure is charged
    with engine.connect() as conn:
        [call] = conn.execute(select(calls_t).where(calls_t.c.lead_id == refused)).all()
    assert call.outcome == "PBX_DOWN" and call.next_action.startswith("retry")
    # Claimed again (max_attempts 1 still allows it: the attempt was given back).
    again = await _claim(db_url, camp, T0 + timedelta(seconds=10))
    assert [c.lead_id for c in again] == [refused] and again[0].attempt == 1
    engine.dispose()
