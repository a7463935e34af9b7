"""A connected call its agent disposes as an answering machine (a disposition flagged
``machine``) is not a live answer: it leaves the abandon ledger — the governor's, the
campaign-wide one in the database, the one read back at a restart — and the compliance report,
and the rules treat it as a machine (the re-call gap after a machine).  Counted as connected, a
machine would lower the abandon rate the law measures among persons."""

from __future__ import annotations

import random
from datetime import UTC, date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, select

from campaigns import store
from campaigns.definition import CampaignDefinitionError, loads_definition
from dialer.claim import calls, leads, lists_
from dialer.db import make_async_engine, open_engine
from dialer.models import abandon_minutes
from dialer.pacing.governor import AbandonLedger
from dialer.services.campaigns import apply_definition
from dialer.services.compliance import campaign_report
from dialer.storage import calls as calls_db
from dialer.storage import dispositions, ledger
from tests.scale.test_ledger_storage import MINUTE, NOW
from tests.session.helpers import session
from tests.session.test_agents import TALK_END, talked

CAMPAIGN = """
name = "am"
[dial]
trunk = "PJSIP/{number}@t"
queue = "am"
[limits]
gap_after_machine = "6h"
[[dispositions]]
code = "SALE"
flags = ["contact", "success", "final"]
[[dispositions]]
code = "MACHINE"
label = "Answering machine"
flags = ["machine"]
"""


def test_a_machine_disposition_reached_no_person() -> None:
    assert loads_definition(CAMPAIGN, "am.toml").disposition("MACHINE").machine
    bad = CAMPAIGN.replace('flags = ["machine"]', 'flags = ["machine", "contact"]')
    with pytest.raises(CampaignDefinitionError, match="machine disposition reached no person"):
        loads_definition(bad, "am.toml")


@given(st.lists(st.tuples(st.integers(0, 5000), st.booleans()), max_size=30),
       st.lists(st.integers(0, 5000), max_size=10))
def test_a_retracted_answer_leaves_every_window(answers: list[tuple[int, bool]], retractions: list[int]) -> None:
    """Against a brute-force reading: each retraction takes the newest connected answer at or
    before its time out of the hour's window (if still in it)."""
    book = AbandonLedger()
    kept = sorted(answers)
    book.extend([(float(t), a) for t, a in kept])
    for at in retractions:
        book.retract(float(at))
        older = [i for i, (t, a) in enumerate(kept) if not a and t <= at]
        if older:
            del kept[older[-1]]
    now = 5000.0
    hour = [(t, a) for t, a in kept if t >= now - 3600]
    counts = book.hour(now)
    assert (counts.abandoned, counts.connected) == (sum(a for _, a in hour), sum(not a for _, a in hour))
    assert book.month(now).connected == sum(not a for _, a in kept)


def test_the_session_takes_the_answer_out_of_the_governors_ledger() -> None:
    s = session("progressive", "alice", "bob")
    talked(s, "alice", 1)
    talked(s, "bob", 2)
    assert s.campaigns[1].governor.ledger.day(TALK_END).connected == 2
    s.disposed(1, TALK_END + 10, machine=True)
    s.disposed(2, TALK_END + 10)
    assert s.campaigns[1].governor.ledger.day(TALK_END + 10).connected == 1


async def test_storage_counts_it_a_machine_everywhere(db_url: str) -> None:
    sync = open_engine(db_url)
    cid = apply_definition(sync, loads_definition(CAMPAIGN, "am.toml")).campaign_id
    store.set_status(sync, "am", "active")
    ids = []
    with sync.begin() as conn:
        list_id = conn.execute(insert(lists_).values(name="l", campaign_id=cid, active=True, priority=0)
                               .returning(lists_.c.id)).scalar_one()
        for i in range(3):
            lead_id = conn.execute(insert(leads).values(
                list_id=list_id, phone=f"+1212555{i:04d}", timezones="America/New_York", status="dialing",
                attempts=1).returning(leads.c.id)).scalar_one()
            ids.append(conn.execute(insert(calls).values(
                campaign_id=cid, lead_id=lead_id, phone=f"+1212555{i:04d}", attempt=1, node="n1", status="ended",
                outcome="CONNECTED" if i < 2 else "ABANDONED", ring_timeout=15, placed_at=NOW,
                connected_at=NOW if i < 2 else None, ended_at=NOW, agent="alice" if i < 2 else None,
                channel_id=f"c{i}").returning(calls.c.id)).scalar_one())
        conn.execute(insert(abandon_minutes).values(campaign_id=cid, node="n1", minute=MINUTE, abandoned=1,
                                                    connected=2))
    db = make_async_engine(db_url)
    try:
        machine = await dispositions.dispose(db, ids[0], code="MACHINE", now=NOW + timedelta(minutes=2),
                                             rng=random.Random(1), agent_name="alice")
        sale = await dispositions.dispose(db, ids[1], code="SALE", now=NOW + timedelta(minutes=2),
                                          rng=random.Random(1), agent_name="alice")
        async with db.connect() as conn:
            peers = await ledger.peer_counts(conn, "other", NOW + timedelta(minutes=5))
            read_back = await calls_db.live_answers(conn, cid, NOW - timedelta(days=1), "n1")
            row = await calls_db.row(conn, ids[0])
            lead = (await conn.execute(select(leads).where(leads.c.id == row.lead_id))).one()
    finally:
        await db.dispose()
    assert machine["outcome"] == "MACHINE" and "outcome" not in sale
    assert row.outcome == "MACHINE" and row.connected_at is not None and row.agent == "alice"  # it did reach her
    assert (peers[cid].day.abandoned, peers[cid].day.connected) == (1, 1)
    assert sorted(abandoned for _, abandoned in read_back) == [False, True]
    next_call = lead.next_call_at if lead.next_call_at.tzinfo else lead.next_call_at.replace(tzinfo=UTC)
    assert next_call >= NOW + timedelta(hours=6)  # the gap after a machine
    with sync.connect() as conn:
        rep = campaign_report(conn, cid, date(2026, 3, 2), UTC, "UTC")
    sync.dispose()
    assert (rep.connected, rep.abandoned, rep.abandon_rate) == (1, 1, 0.5)
