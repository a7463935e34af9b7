"""Retargeting refused leads into another campaign (by hand and by a rule), end to end; callbacks
owned by an agent."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from campaigns.definition import definition_from_data
from campaigns.rules import CallResult
from dialer.claim import claim_leads
from dialer.db import make_async_engine, open_engine
from dialer.services.jobs import JobContext, recycle
from dialer.services.retarget import retarget
from dialer.storage.leads import apply_rules
from tests.scheduling.helpers import (
    agents_t,
    aware,
    calls_t,
    campaign,
    campaigns_t,
    lead,
    lead_list,
    lead_row,
    lists_t,
)

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York
OPEN = {"America/New_York"}


async def _claim(url: str, campaign_id: int, at: datetime, n: int = 10) -> list:
    db = make_async_engine(url)
    try:
        async with db.begin() as conn:
            return await claim_leads(conn, campaign_id=campaign_id, n=n, now=at, node="n1", ring_timeout=25,
                                     open_sets=OPEN)
    finally:
        await db.dispose()


async def _refuse(url: str, engine, campaign_id: int, claimed, reason: str, at: datetime) -> None:
    """The call connects and the agent records REFUSED with ``reason``; the engine's rules run."""
    with engine.connect() as conn:
        row = conn.execute(select(campaigns_t).where(campaigns_t.c.id == campaign_id)).one()
    camp = SimpleNamespace(id=row.id, name=row.name, definition=definition_from_data(row.definition))
    db = make_async_engine(url)
    try:
        async with db.begin() as conn:
            await conn.execute(update(calls_t).where(calls_t.c.id == claimed.call_id).values(
                status="ended", outcome="CONNECTED", disposition="REFUSED", refusal_reason=reason,
                connected_at=at, ended_at=at, agent="alice"))
            result = CallResult("CONNECTED", attempt=claimed.attempt, placed_at=at, disposition="REFUSED",
                                reason=reason, agent="alice")
            await apply_rules(conn, camp, claimed.lead_id, result, claimed.call_id, at + timedelta(minutes=2),
                              random.Random(1), last_outcome="CONNECTED")
    finally:
        await db.dispose()


async def test_price_refusal_retargeted_and_called_in_b_only_after_b_starts(db_url: str) -> None:
    engine = open_engine(db_url)
    a = campaign(engine, "basic")
    b = campaign(engine, "cheaper", status="draft", limits={"gap_after_refusal": "2d"})
    la = lead_list(engine, "renewals", a)
    price = lead(engine, la, "+12125550101")
    provider = lead(engine, la, "+12125550102")
    listed = lead(engine, la, "+12125550103")
    claimed = {c.lead_id: c for c in await _claim(db_url, a, T0)}
    assert set(claimed) == {price, provider, listed}
    await _refuse(db_url, engine, a, claimed[price], "PRICE", T0)
    await _refuse(db_url, engine, a, claimed[provider], "HAS_PROVIDER", T0)
    await _refuse(db_url, engine, a, claimed[listed], "PRICE", T0)
    assert lead_row(engine, price).status == "done"  # REFUSED is final in A
    from lists.dnc import add_numbers

    with engine.begin() as conn:
        add_numbers(conn, ["+12125550103"], b, source="test")  # on B's own list

    dry = retarget(engine, "basic", "PRICE", "cheaper", now=T0 + timedelta(hours=1), dry_run=True)
    assert dry.moved == 1 and dict(dry.skipped) == {"on a do-not-call list": 1}
    assert lead_row(engine, price).status == "done"  # nothing changed

    res = retarget(engine, "basic", "PRICE", "cheaper", now=T0 + timedelta(hours=1))
    assert res.moved == 1 and res.deferred == 1
    row = lead_row(engine, price)
    with engine.connect() as conn:
        list_name = conn.execute(select(lists_t.c.name).where(lists_t.c.id == row.list_id)).scalar()
    assert list_name == "cheaper:from:basic"
    assert (row.status, row.attempts) == ("retry", 0)
    assert aware(row.next_call_at) == T0 + timedelta(days=2)  # B's gap after a refusal
    assert lead_row(engine, provider).status == "done"  # another reason: stays

    # B is not started: nobody calls the lead, however late.
    assert await _claim(db_url, b, T0 + timedelta(days=3)) == []
    with engine.begin() as conn:
        conn.execute(update(campaigns_t).where(campaigns_t.c.id == b).values(status="active"))
    assert await _claim(db_url, b, T0 + timedelta(days=1)) == []  # B started, the gap still runs
    (got,) = await _claim(db_url, b, T0 + timedelta(days=3))
    assert got.lead_id == price and got.attempt == 1
    assert await _claim(db_url, a, T0 + timedelta(days=3)) == []  # and A has nothing left
    engine.dispose()


async def test_move_rule_waits_for_the_target_campaign(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    b = campaign(engine, "cheaper", status="draft")
    a = campaign(engine, "basic", rules=[{"name": "price", "when": {"disposition": "REFUSED", "reason": "PRICE"},
                                          "action": "move", "campaign": "cheaper", "at": "start"}])
    lid = lead(engine, lead_list(engine, "renewals", a), "+12125550101")
    (claimed,) = await _claim(sqlite_url, a, T0)
    await _refuse(sqlite_url, engine, a, claimed, "PRICE", T0)
    assert lead_row(engine, lid).status == "retry"
    assert await _claim(sqlite_url, b, T0 + timedelta(days=40)) == []  # B not started
    with engine.begin() as conn:
        conn.execute(update(campaigns_t).where(campaigns_t.c.id == b).values(status="active"))
    # The refusal gap (30 days by default) counts from the call in A.
    assert await _claim(sqlite_url, b, T0 + timedelta(days=29)) == []
    (got,) = await _claim(sqlite_url, b, T0 + timedelta(days=31))
    assert got.lead_id == lid
    engine.dispose()


def test_retarget_cli(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from dialer.cli import CliContext
    from dialer.cli.retarget import cli

    engine = open_engine(sqlite_url)
    campaign(engine, "basic")
    campaign(engine, "cheaper")
    engine.dispose()
    monkeypatch.setenv("DIALER_DATABASE_URL", sqlite_url)
    group = click.Group(commands={"retarget": cli})
    out = CliRunner().invoke(group, ["retarget", "--from", "basic", "--reason", "price", "--to", "cheaper",
                                     "--json"], obj=CliContext(None))
    assert out.exit_code == 0, out.output
    assert '"moved": 0' in out.stdout
    bad = CliRunner().invoke(group, ["retarget", "--from", "basic", "--reason", "CHEAP", "--to", "cheaper"],
                             obj=CliContext(None))
    assert bad.exit_code != 0


def _alice_owns_a_callback(engine, agent_state: str) -> tuple[int, int, int]:
    """Campaign ``a`` with list ``l``, a callback due now that agent alice owns for 15 more
    minutes, and alice (stored in ``agent_state``): (campaign id, list id, lead id)."""
    cid = campaign(engine, "a")
    lst = lead_list(engine, "l", cid)
    owned = lead(engine, lst, "+12125550101", status="callback", next_call_at=T0 - timedelta(minutes=1),
                 callback_owner="alice", callback_exclusive_until=T0 + timedelta(minutes=15))
    with engine.begin() as conn:
        conn.execute(agents_t.insert().values(name="alice", interface="PJSIP/alice", token_hash="x",
                                              campaign_id=cid, state=agent_state))
    return cid, lst, owned


async def test_owned_callback_waits_for_its_agent(db_url: str, tmp_path: Path) -> None:
    engine = open_engine(db_url)
    cid, lst, owned = _alice_owns_a_callback(engine, "logged_out")
    assert await _claim(db_url, cid, T0) == []  # alice is not logged in: nobody else may take it
    with engine.begin() as conn:
        conn.execute(update(agents_t).where(agents_t.c.name == "alice").values(state="ready"))
    (got,) = await _claim(db_url, cid, T0)
    assert got.lead_id == owned and got.callback_owner == "alice"

    # After the grace period anyone may take it (callback_owner not reported as exclusive).
    late = lead(engine, lst, "+12125550102", status="callback", next_call_at=T0 - timedelta(minutes=30),
                callback_owner="bob", callback_exclusive_until=T0 - timedelta(minutes=5))
    (got,) = await _claim(db_url, cid, T0)
    assert got.lead_id == late and got.callback_owner is None
    # The nightly recycle clears ownership that ran out.
    lead(engine, lst, "+12125550103", status="callback", next_call_at=T0 + timedelta(hours=1),
         callback_owner="carol", callback_exclusive_until=T0 - timedelta(minutes=1))
    assert recycle(JobContext(engine, tmp_path, "n1", T0)).counts["callbacks_released"] == 1
    engine.dispose()


async def test_owned_callback_claimed_only_for_the_owners_the_daemon_can_serve(db_url: str) -> None:
    """``ready_owners``: the daemon's live view (ready, not reserved) decides, not the stored state."""
    engine = open_engine(db_url)
    cid, lst, owned = _alice_owns_a_callback(engine, "talking")

    async def claim(at: datetime, owners: set[str] | None) -> list:
        db = make_async_engine(db_url)
        try:
            async with db.begin() as conn:
                got = await claim_leads(conn, campaign_id=cid, n=10, now=at, node="n1", ring_timeout=25,
                                        open_sets=OPEN, ready_owners=owners)
                await conn.rollback()  # look, do not take
                return got
        finally:
            await db.dispose()

    assert await claim(T0, None) == []  # recorded talking: busy
    assert await claim(T0, {"bob"}) == []  # alice is not among the owners the daemon can serve
    assert await claim(T0, set()) == []
    (got,) = await claim(T0, {"alice", "bob"})
    assert got.lead_id == owned and got.callback_owner == "alice"
    with engine.begin() as conn:
        conn.execute(update(agents_t).where(agents_t.c.name == "alice").values(state="ready"))
    assert [c.lead_id for c in await claim(T0, None)] == [owned]  # tools: the recorded state
    assert await claim(T0, set()) == []  # the daemon's view wins over the stored one
    # After the grace period: anyone, whoever is ready.
    (got,) = await claim(T0 + timedelta(minutes=16), set())
    assert got.lead_id == owned and got.callback_owner is None
    # Two callbacks of one owner due together are both claimable: the daemon keeps one.
    lead(engine, lst, "+12125550102", status="callback", next_call_at=T0 - timedelta(minutes=2),
         callback_owner="alice", callback_exclusive_until=T0 + timedelta(minutes=15))
    assert len(await claim(T0, {"alice"})) == 2
    engine.dispose()


async def test_owned_callback_given_back_is_as_before_the_claim(db_url: str) -> None:
    """The owner was no longer ready when the claim returned: no Originate, so the lead's
    status, attempts and last call time are what they were, and no ``calls`` row is left."""
    from dialer.storage.calls import give_back as _give_back

    engine = open_engine(db_url)
    cid = campaign(engine, "a")
    lst = lead_list(engine, "l", cid)
    before = T0 - timedelta(days=1)
    owned = {"status": "callback", "next_call_at": T0 - timedelta(minutes=1), "callback_owner": "alice",
             "callback_exclusive_until": T0 + timedelta(minutes=15)}
    called = lead(engine, lst, "+12125550101", attempts=1, last_call_at=before, **owned)
    never = lead(engine, lst, "+12125550102", **owned)
    with engine.begin() as conn:
        conn.execute(calls_t.insert().values(campaign_id=cid, lead_id=called, phone="+12125550101", attempt=1,
                                             node="n1", status="ended", outcome="CONNECTED", ring_timeout=25,
                                             placed_at=before, channel_id="earlier"))
    db = make_async_engine(db_url)
    try:
        async with db.begin() as conn:
            claimed = await claim_leads(conn, campaign_id=cid, n=10, now=T0, node="n1", ring_timeout=25,
                                        open_sets=OPEN, ready_owners={"alice"})
        assert {c.lead_id for c in claimed} == {called, never}
        assert aware(lead_row(engine, called).last_call_at) == T0
        async with db.begin() as conn:
            await _give_back(conn, claimed)
    finally:
        await db.dispose()
    one, two = lead_row(engine, called), lead_row(engine, never)
    assert (one.status, one.attempts, aware(one.last_call_at)) == ("callback", 1, before)
    assert (two.status, two.attempts, two.last_call_at) == ("callback", 0, None)
    with engine.connect() as conn:
        assert conn.execute(select(calls_t.c.channel_id)).scalars().all() == ["earlier"]
    engine.dispose()
