"""Database faults (issue 13, items 4 and 6): the daemon loses no write when its database goes
away, stops placing calls meanwhile and catches up after; a disposition is taken once.

- what counts as "the database is away" (pure), the writer's backoff, the write journal;
- the writer on SQLite locked by another writer, and the journal replayed after a stop with
  the database away;
- concurrent dispositions, on both databases, through the storage function and the HTTP API;
- a whole campaign (the daemon against the simulator, scaled time) while a private PostgreSQL
  instance is restarted and down 20 s, and while SQLite is locked 25 s by another writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pickle
import random
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import event, insert, select, update
from sqlalchemy import exc as sa
from sqlalchemy.ext.asyncio import AsyncEngine

import dialer.demo
import dialer.server
from campaigns.definition import load_definition
from campaigns.rules import CallResult
from dialer.api import create_app
from dialer.claim import calls, leads
from dialer.clock import ScaledClock
from dialer.db import make_async_engine, open_engine
from dialer.demo import DemoOptions, SimulatedAgents
from dialer.engine import Engine
from dialer.errors import Conflict, Unavailable
from dialer.session.commands import CampaignRef, EndCall, RulesDue, WriteCallStatus
from dialer.settings import DatabaseSettings, Settings
from dialer.storage.availability import unreachable
from dialer.storage.dispositions import dispose
from dialer.storage.journal import Journal, JournalError
from dialer.storage.writer import MAX_DELAY, Writer, backoff
from dialer.vocabulary import CallStatus, Outcome
from tests.api.conftest import START, FakeLink, seed
from tests.e2e.conftest import E2E_START, run_until_done, start_demo, until, write_campaign

# ---------------------------------------------------------------------- pure: what "away" means


class _Pg(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _wrapped(orig: BaseException, invalidated: bool = False) -> sa.DBAPIError:
    return sa.DBAPIError("UPDATE calls ...", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(("exc", "away"), [
    (ConnectionRefusedError(111, "Connect call failed"), True),  # asyncpg connecting: a bare OSError
    (_wrapped(Exception("connection was closed in the middle of operation"), invalidated=True), True),
    (_wrapped(_Pg("57P01")), True),  # terminating connection due to administrator command
    (_wrapped(_Pg("57P03")), True),  # the database system is starting up
    (_wrapped(_Pg("08006")), True),
    (sa.OperationalError("UPDATE", {}, sqlite3.OperationalError("database is locked")), True),
    (sa.TimeoutError("QueuePool limit reached"), True),
    (Unavailable("database unavailable"), True),
    (sa.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")), False),
    (sa.ProgrammingError("SELECT", {}, _Pg("42P01")), False),
    (sa.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: calls")), False),
    (Conflict("call 5 is already disposed (SALE)"), False),
    (KeyError("status"), False),
])
def test_unreachable_tells_an_away_database_from_a_wrong_statement(exc: BaseException, away: bool) -> None:
    assert unreachable(exc) is away


def test_unreachable_follows_the_cause() -> None:
    try:
        try:
            raise ConnectionResetError("reset by peer")
        except ConnectionResetError as inner:
            raise RuntimeError("writing failed") from inner
    except RuntimeError as exc:
        assert unreachable(exc)


def test_backoff_doubles_up_to_its_cap() -> None:
    delays = [backoff(n) for n in range(1, 10)]
    assert delays[0] == 0.05 and delays[1] == 0.1 and delays[2] == 0.2
    assert delays == sorted(delays) and delays[-1] == MAX_DELAY
    assert backoff(10_000) == MAX_DELAY


# ---------------------------------------------------------------------- the journal


def _definition(tmp_path: Path) -> Any:
    return load_definition(write_campaign(tmp_path, "progressive"))


def test_journal_keeps_write_commands_and_refuses_anything_else(tmp_path: Path) -> None:
    at = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    ref = CampaignRef(1, "e2e", _definition(tmp_path))
    writes = [
        WriteCallStatus(7, CallStatus.CONNECTED, at, at, "alice"),
        EndCall(8, {"status": CallStatus.ENDED, "outcome": Outcome.NO_ANSWER, "ended_at": at},
                RulesDue(ref, 1, CallResult(Outcome.NO_ANSWER, attempt=1, placed_at=at), at, Outcome.NO_ANSWER)),
    ]
    journal = Journal(tmp_path / "data" / "writes.journal")
    assert journal.load() == []
    journal.save(writes)
    assert journal.load() == writes
    assert oct(journal.path.stat().st_mode & 0o777) == "0o600"
    journal.save([])  # nothing left: no file
    assert not journal.exists()

    journal.path.write_bytes(b"something else\n")
    with pytest.raises(JournalError, match="not a write journal"):
        journal.load()
    journal.path.write_bytes(b"dialer-write-journal 1\n" + pickle.dumps([os.system]))
    with pytest.raises(JournalError, match="not part of a write command"):
        journal.load()


# ---------------------------------------------------------------------- the writer, SQLite locked


def db_fast_busy(db: AsyncEngine, ms: int) -> AsyncEngine:
    """``db`` with SQLite's busy timeout at ``ms`` (the tests' time is scaled; 10 s is the default)."""
    def pragma(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.cursor().execute(f"PRAGMA busy_timeout={ms}")

    event.listen(db.sync_engine, "connect", pragma)
    return db


@contextlib.contextmanager
def db_locked(sqlite_url: str) -> Iterator[sqlite3.Connection]:
    """Another writer holding the SQLite database (``BEGIN IMMEDIATE``) until the block ends."""
    conn = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def db_rows(url: str, table: Any) -> list[Any]:
    engine = open_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(select(table).order_by(table.c.id)))
    engine.dispose()
    return rows


def db_call_8_live(url: str) -> None:
    """Call 8 back to live (status ``ringing``, no agent): the writes under test move it."""
    engine = open_engine(url)
    with engine.begin() as conn:
        conn.execute(update(calls).where(calls.c.id == 8).values(status="ringing", outcome=None, agent=None,
                                                                ended_at=None))
    engine.dispose()


def _status_writes(n: int) -> list[WriteCallStatus]:
    """Call 8's stored agent as ``agent0``, ``agent1``, ... in order: the last must win."""
    return [WriteCallStatus(8, CallStatus.CONNECTED, START, START, f"agent{i}") for i in range(n)]


async def test_writer_keeps_writes_while_sqlite_is_locked_and_catches_up_in_order(
        tmp_path: Path, sqlite_url: str) -> None:
    seed(sqlite_url, tmp_path)
    db_call_8_live(sqlite_url)
    db = db_fast_busy(make_async_engine(sqlite_url), 50)
    writer = Writer(db, asyncio.Lock(), random.Random(1), ScaledClock(20.0))
    task = writer.start()
    try:
        with db_locked(sqlite_url):
            for w in _status_writes(30):
                writer.put(w)
            await until(lambda: not writer.healthy, 10, "the writer to find the database locked")
            assert writer.backlog == 30 and writer.outages == 1
            with pytest.raises(Unavailable):
                await writer.flush()
            assert await writer.try_now(lambda conn: conn.execute(update(calls).values(note="x")), "a note") is False
        await until(lambda: writer.healthy and writer.backlog == 0, 10, "the writer to catch up")
        await writer.flush()
    finally:
        await writer.close()
        await task
        await db.dispose()
    assert writer.rejected == 0 and writer.done == 30
    assert db_rows(sqlite_url, calls)[1].agent == "agent29"  # every write, in order


async def test_journal_replayed_after_a_stop_with_the_database_away(tmp_path: Path, sqlite_url: str) -> None:
    seed(sqlite_url, tmp_path)
    db_call_8_live(sqlite_url)
    path = tmp_path / "data" / "writes.journal"
    ref = CampaignRef(1, "e2e", _definition(tmp_path))
    end = EndCall(8, {"status": CallStatus.ENDED, "outcome": Outcome.NO_ANSWER, "ended_at": START},
                  RulesDue(ref, 1, CallResult(Outcome.NO_ANSWER, attempt=1, placed_at=START), START,
                           Outcome.NO_ANSWER))
    clock = ScaledClock(50.0)
    db = db_fast_busy(make_async_engine(sqlite_url), 50)
    writer = Writer(db, asyncio.Lock(), random.Random(1), clock, stop_timeout=5.0)
    assert await writer.open_journal(path) == 0
    task = writer.start()
    with db_locked(sqlite_url):
        for w in [*_status_writes(3), end]:
            writer.put(w)
        await until(lambda: not writer.healthy, 10, "the writer to find the database locked")
        await writer.close()  # a stop while the database is away: bounded, then kept on disk
        await asyncio.wait_for(task, 10)
        assert Journal(path).load() == [*_status_writes(3), end]
    await db.dispose()
    assert db_rows(sqlite_url, calls)[1].status == "ringing"  # nothing written yet

    # A start while the database is still away fails, saying what the driver said; the journal is kept.
    db = db_fast_busy(make_async_engine(sqlite_url), 50)
    with db_locked(sqlite_url), pytest.raises(Unavailable, match=r"^database unavailable \(.*database is locked.*\): "
                                                                 r"the writes kept in .* are not replayed yet"):
        await Writer(db, asyncio.Lock(), random.Random(1), clock).open_journal(path, timeout=5.0)
    await db.dispose()
    assert len(Journal(path).load()) == 4

    db = make_async_engine(sqlite_url)
    again = Writer(db, asyncio.Lock(), random.Random(1), clock)
    assert await again.open_journal(path) == 4  # before anything else reads the database
    await db.dispose()
    assert not path.exists()
    call = db_rows(sqlite_url, calls)[1]
    assert (call.status, call.outcome, call.agent) == ("ended", "NO_ANSWER", "agent2")
    assert call.next_action  # the rules were applied to the lead
    assert db_rows(sqlite_url, leads)[0].status != "dialing"


async def test_no_calls_placed_while_the_writer_finds_the_database_away(tmp_path: Path, sqlite_url: str) -> None:
    seed(sqlite_url, tmp_path)
    db = make_async_engine(sqlite_url)
    engine = Engine(db, FakeLink(), ScaledClock(1.0, start=START))
    await engine.start()
    claims: list[Any] = []

    async def claim(plan: Any, now: float) -> list:
        claims.append(plan)
        return []

    engine._claim = claim  # type: ignore[method-assign]
    engine.session.plan_claim = lambda camp_id, now: SimpleNamespace(campaign_id=camp_id, n=1)  # type: ignore[method-assign]
    engine.session.leads_claimed = lambda plan, claimed, now: []  # type: ignore[method-assign]
    engine.writer.failures = 1  # the last try found the database away
    await engine.pace_once()
    assert claims == []
    engine.writer.failures = 0
    await engine.pace_once()
    assert len(claims) == len(engine.campaigns) == 1
    await db.dispose()


# ---------------------------------------------------------------------- a disposition taken once

TRIALS = 12
CHOICES: list[dict[str, Any]] = [
    {"code": "SALE"},
    {"code": "REFUSED", "reason": "PRICE"},
    {"code": "CALLBACK", "callback_at": START + timedelta(days=1)},
]
#: The lead's status each disposition leads to (the e2e campaign's rules).
LEAD_AFTER = {"SALE": "done", "REFUSED": "done", "CALLBACK": "callback"}


def db_connected_calls(url: str, n: int, first_id: int = 100) -> list[int]:
    """``n`` calls connected to alice, each with its own lead, waiting for the disposition."""
    engine = open_engine(url)
    ids = list(range(first_id, first_id + n))
    with engine.begin() as conn:
        conn.execute(insert(leads), [{"id": i, "list_id": 1, "phone": f"+1212555{i:04d}", "status": "dialing",
                                      "timezones": "America/New_York", "attempts": 1} for i in ids])
        conn.execute(insert(calls), [{"id": i, "campaign_id": 1, "lead_id": i, "phone": f"+1212555{i:04d}",
                                      "attempt": 1, "node": "n", "status": "ended", "ring_timeout": 15,
                                      "placed_at": START, "ended_at": START, "outcome": "CONNECTED",
                                      "connected_at": START, "agent": "alice", "channel_id": f"dlr-{i}"}
                                     for i in ids])
    engine.dispose()
    return ids


def db_check_one_winner(url: str, outcomes: dict[int, list[Any]]) -> None:
    """Per call: exactly one disposition accepted, the others 409 naming it; the row and the
    lead hold the winner's."""
    stored = {r.id: r for r in db_rows(url, calls)}
    lead_status = {r.id: r.status for r in db_rows(url, leads)}
    for call_id, results in outcomes.items():
        wins = [r for r in results if isinstance(r, str)]
        assert len(wins) == 1, (call_id, results)
        assert all(isinstance(r, Conflict) and f"already disposed ({wins[0]})" in str(r)
                   for r in results if not isinstance(r, str)), results
        assert stored[call_id].disposition == wins[0]
        assert lead_status[call_id] == LEAD_AFTER[wins[0]]


async def test_concurrent_dispositions_one_wins_through_storage(tmp_path: Path, db_url: str) -> None:
    seed(db_url, tmp_path)
    ids = db_connected_calls(db_url, TRIALS)
    ref = CampaignRef(1, "e2e", _definition(tmp_path))
    # Three writers with a connection each, as the daemon, a second request and the CLI would be.
    dbs = [make_async_engine(db_url) for _ in CHOICES]

    async def one(db: AsyncEngine, call_id: int, choice: dict[str, Any]) -> str:
        out = await dispose(db, call_id, agent_name="alice", now=START, rng=random.Random(call_id),
                            campaign=lambda _id: ref, **choice)
        return out["disposition"]

    outcomes: dict[int, list[Any]] = {}
    try:
        for call_id in ids:
            order = random.Random(call_id).sample(range(len(CHOICES)), len(CHOICES))
            outcomes[call_id] = list(await asyncio.gather(
                *(one(dbs[i], call_id, CHOICES[i]) for i in order), return_exceptions=True))
    finally:
        for db in dbs:
            await db.dispose()
    db_check_one_winner(db_url, outcomes)


async def test_concurrent_dispositions_one_wins_through_the_api(tmp_path: Path, db_url: str) -> None:
    seed(db_url, tmp_path)
    ids = db_connected_calls(db_url, TRIALS)
    db = make_async_engine(db_url)
    engine = Engine(db, FakeLink(), ScaledClock(1.0, start=START))
    await engine.start()
    app = create_app(engine, "admin-token", settings=Settings())
    outcomes: dict[int, list[Any]] = {}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     headers={"Authorization": "Bearer tok-alice"}) as client:
            for call_id in ids:
                bodies = [{**c, "callback_at": c["callback_at"].isoformat()} if "callback_at" in c else c
                          for c in CHOICES]
                answers = await asyncio.gather(*(client.post(f"/api/calls/{call_id}/disposition", json=b)
                                                 for b in bodies))
                assert sorted(a.status_code for a in answers) == [200, 409, 409], [a.text for a in answers]
                outcomes[call_id] = [a.json()["disposition"] if a.status_code == 200 else Conflict(a.json()["error"])
                                     for a in answers]
    finally:
        await db.dispose()
    db_check_one_winner(db_url, outcomes)


# ---------------------------------------------------------------------- the API while the database is away


async def test_api_answers_503_while_the_database_is_away(tmp_path: Path, sqlite_url: str) -> None:
    seed(sqlite_url, tmp_path)
    db = db_fast_busy(make_async_engine(sqlite_url), 50)
    engine = Engine(db, FakeLink(), ScaledClock(1.0, start=START))
    await engine.start()
    app = create_app(engine, "admin-token", settings=Settings())
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            alice = {"Authorization": "Bearer tok-alice"}
            with db_locked(sqlite_url):
                login = await client.post("/api/agents/alice/login", json={"campaign": "e2e"}, headers=alice)
                disposed = await client.post("/api/calls/7/disposition", json={"code": "SALE"}, headers=alice)
            for r in (login, disposed):
                assert r.status_code == 503, r.text
                assert r.json() == {"error": "database unavailable, try again shortly"}
                assert r.headers["retry-after"] == "5"
            # back: the same requests go through
            assert (await client.post("/api/calls/7/disposition", json={"code": "SALE"},
                                      headers=alice)).status_code == 200
    finally:
        await db.dispose()


async def test_a_driver_error_of_an_away_database_is_503_not_500() -> None:
    def status() -> dict:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    app = create_app(SimpleNamespace(db=None, status=status), "admin")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"Authorization": "Bearer admin"}) as client:
        r = await client.get("/api/status")
    assert r.status_code == 503
    assert "5432" not in r.text


# ---------------------------------------------------------------------- whole campaigns


SPEED = 20.0


async def _dispose_retrying(self: SimulatedAgents, agent: str, call_id: int) -> None:
    """A simulated agent's desktop that, as a real one should on 503, tries again."""
    await self.engine.clock.sleep(self.rng.uniform(*self.wrap_up))
    choice = self.choose(self.engine.clock.now())
    while True:
        try:
            await self.engine.dispose(call_id, agent_name=agent, **choice)
        except Unavailable:
            await self.engine.clock.sleep(2.0)
            continue
        except Exception as exc:
            self.errors.append(f"call {call_id}: {exc}")
            return
        self.disposed += 1
        return


@pytest.fixture
def db_campaign(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Start the e2e campaign (the daemon against the simulator at ``SPEED``) on ``url`` (None:
    SQLite in the data directory), SQLite's busy timeout scaled like every other time."""
    monkeypatch.setattr(SimulatedAgents, "_dispose", _dispose_retrying)
    busy_ms = int(10_000 / SPEED)
    real = dialer.server.make_async_engine
    monkeypatch.setattr(dialer.server, "make_async_engine",
                        lambda url, **kw: db_fast_busy(real(url, **kw), busy_ms) if url.startswith("sqlite") else
                        real(url, **kw))

    async def start(url: str | None = None) -> Any:
        if url is not None:
            monkeypatch.setattr(dialer.demo, "Settings",
                                lambda data_dir: Settings(data_dir=data_dir, database=DatabaseSettings(url=url)))
        return await start_demo(DemoOptions(
            minutes=60, speed=SPEED, agents=6, leads=150, seed=11, data_dir=tmp_path / "data", start=E2E_START,
            campaign_file=write_campaign(tmp_path, "predictive"),
            scenario_overrides={"agents": {"talk_time": {"dist": "lognormal", "mean": 25, "sd": 10, "min": 5}}}))

    return start


async def db_outage(run: Any, fault: Callable[[], Any], recover: Callable[[], Any],
                    clock_seconds: float) -> dict[str, int]:
    """Mid-campaign, ``fault()``, ``clock_seconds`` of the daemon's time, ``recover()``; then
    dial to the end.  Returns what was seen."""
    engine = run.engine
    await until(lambda: engine.counters["placed"] >= 15 and len(engine.live) >= 3, 60, "calls in flight")
    fault()
    try:
        await until(lambda: not engine.writer.healthy, 30, "the writer to find the database away")
        placed_away = engine.counters["placed"]
        await engine.clock.sleep(clock_seconds)  # the outage lasts this long (the daemon's time)
        placed_during = engine.counters["placed"] - placed_away
        assert placed_during <= 3  # at most a claim already under way
    finally:
        recover()
    await until(lambda: engine.writer.healthy, 60, "the writer to catch up")
    await until(lambda: engine.counters["placed"] >= placed_away + 10, 60, "dialling to resume")
    await run_until_done(run, timeout=120)
    await until(lambda: not run.agents._tasks, 60, "the agents' dispositions")
    seen = {"outages": engine.writer.outages, "rejected": engine.writer.rejected, "placed": engine.counters["placed"],
            "placed_before": placed_away, "placed_while_away": placed_during, "most_pending": engine.writer.most_pending,
            "writes": engine.writer.done}
    print("database outage:", seen)  # the figures docs/reliability.md quotes (pytest -s)
    return seen


def db_check_nothing_lost(run: Any) -> None:
    """Every call the PBX saw is recorded, ended, with the outcome it had; no lead is left
    dialling; the agents' dispositions all went through."""
    call_rows = db_rows(run.settings.database_url, calls)
    lead_rows = db_rows(run.settings.database_url, leads)
    assert [r.id for r in call_rows if r.status != "ended" or not r.outcome] == []
    assert [r.id for r in lead_rows if r.status == "dialing"] == []
    by_channel = {r.channel_id: r for r in call_rows}
    for uid, truth in run.sim.truth.items():
        row = by_channel[uid]
        if truth.connected:
            assert row.outcome == "CONNECTED" and row.disposition, (uid, row.outcome)
        elif truth.dropped:
            assert row.outcome == "ABANDONED", (uid, row.outcome)
    assert run.agents.errors == []


@pytest.fixture(scope="module")
def db_private_postgres() -> Iterator[SimpleNamespace]:
    """A PostgreSQL instance of this module's own (never the shared server), on a free port,
    that a test may stop and start: ``.url``, ``.stop()``, ``.start()``."""
    initdb = (shutil.which("initdb") or (sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [None])[-1])
    if initdb is None:
        pytest.fail("initdb/pg_ctl are needed for the PostgreSQL outage test (apt install postgresql)")
    pg_ctl = str(Path(initdb).with_name("pg_ctl"))
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix="dialer-pg-outage-")
    if as_user:
        shutil.chown(tmp, "postgres")
    data = os.path.join(tmp, "data")

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=60)

    run(initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
    opts = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = lambda: run(pg_ctl, "-D", data, "-w", "-l", os.path.join(tmp, "log"), "-o", opts, "start")  # noqa: E731
    stop = lambda: run(pg_ctl, "-D", data, "-w", "-m", "fast", "stop")  # noqa: E731
    start()
    try:
        yield SimpleNamespace(url=f"postgresql://postgres@127.0.0.1:{port}/postgres", start=start, stop=stop)
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


async def test_postgres_restarted_and_down_20_s_mid_campaign(db_campaign, db_private_postgres) -> None:
    pg = db_private_postgres
    run = await db_campaign(pg.url)
    try:
        seen = await db_outage(run, pg.stop, pg.start, 20.0)
    finally:
        await run.stop()
    assert seen["outages"] >= 1 and seen["rejected"] == 0
    db_check_nothing_lost(run)


async def test_sqlite_locked_25_s_by_another_writer_mid_campaign(db_campaign) -> None:
    run = await db_campaign()
    holder: list[Any] = []
    lock = db_locked(run.settings.database_url)
    try:
        seen = await db_outage(run, lambda: holder.append(lock.__enter__()), lambda: lock.__exit__(None, None, None),
                               25.0)
    finally:
        await run.stop()
    assert seen["outages"] >= 1 and seen["rejected"] == 0
    db_check_nothing_lost(run)

