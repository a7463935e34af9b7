"""Owned callbacks go to the node where their owner is logged in: each node's claim names the
owners *its* session can route a call to (its own PBX's agents), so only the owner's node takes
an owner-exclusive callback; after the exclusive period any node may."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialer.claim import claim_leads
from dialer.db import make_async_engine, open_engine
from tests.scheduling.helpers import campaign, lead, lead_list
from tests.session.helpers import session

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York
OPEN = {"America/New_York"}


async def test_only_the_owners_node_claims_an_owned_callback(postgres_url: str) -> None:
    engine = open_engine(postgres_url)
    cid = campaign(engine, "a")
    lst = lead_list(engine, "l", cid)
    owned = lead(engine, lst, "+12125550101", status="callback", next_call_at=T0 - timedelta(minutes=1),
                 callback_owner="bob", callback_exclusive_until=T0 + timedelta(minutes=15))
    engine.dispose()
    nodes = {"n1": session("progressive", "alice"), "n2": session("progressive", "bob")}  # each its PBX's agents
    owners = {node: s.ready_owners(next(iter(s.campaigns.values()))) for node, s in nodes.items()}
    assert owners == {"n1": {"alice"}, "n2": {"bob"}}

    async def claim(node: str, at: datetime) -> list[int]:
        db = make_async_engine(postgres_url)
        try:
            async with db.begin() as conn:
                got = await claim_leads(conn, campaign_id=cid, n=5, now=at, node=node, ring_timeout=25,
                                        open_sets=OPEN, ready_owners=owners[node])
                await conn.rollback()  # look, do not take
                return [c.lead_id for c in got]
        finally:
            await db.dispose()

    assert await claim("n1", T0) == []  # alice's node never takes bob's callback
    assert await claim("n2", T0) == [owned]
    assert await claim("n1", T0 + timedelta(minutes=16)) == [owned]  # exclusive period over: anyone
