"""Recording an agent's disposition of a connected call: checked, written, the rules applied.

The daemon (:meth:`dialer.engine.Engine.dispose`) and the CLI without a daemon
(``dialer calls dispose``) both come here.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from dialer.session.commands import CampaignRef
from dialer.session.dispositions import check_call, check_disposition
from dialer.storage import calls, campaigns


async def dispose(
    db: AsyncEngine, call_id: int, *, code: str, reason: str | None = None, callback_at: datetime | None = None,
    order_form: dict | None = None, note: str | None = None, agent_name: str | None = None, now: datetime,
    rng: random.Random, lock: asyncio.Lock | None = None,
    campaign: Callable[[int], CampaignRef | None] = lambda _id: None,
) -> dict:
    """Check and record a disposition at ``now``; returns what was decided for the lead.

    Raises NotFound (no such call), Forbidden (not ``agent_name``'s call), Conflict (already
    disposed, did not reach an agent) or DispositionError (the campaign does not accept it).
    ``campaign``: the campaign by id when the caller has it (the daemon), else it is read.
    """
    async with db.connect() as conn:
        row = await calls.row(conn, call_id)
        check_call(row, call_id, agent_name)
        camp = campaign(row.campaign_id) or await campaigns.ref(conn, row.campaign_id)
    assert camp is not None  # the calls row's foreign key
    check_disposition(camp.definition, code, reason=reason, callback_at=callback_at, order_form=order_form,
                      now=now)
    async with lock or contextlib.nullcontext(), db.begin() as conn:
        return await calls.record_disposition(conn, camp, row, code=code, reason=reason, callback_at=callback_at,
                                              order_form=order_form, note=note, now=now, rng=rng)
