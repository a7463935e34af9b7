"""Lead-claim benchmark: claim 100 callable leads out of millions (SQLite and PostgreSQL).

    .venv/bin/python benchmarks/claim_bench.py --backend sqlite --rows 1000000
    .venv/bin/python benchmarks/claim_bench.py --backend postgresql --rows 10000000 \\
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres

Builds (once; ``--reuse`` keeps an existing database with the same row count) a campaign with
10 lists and ``--rows`` leads generated in SQL (a recursive CTE on SQLite, ``generate_series``
on PostgreSQL): 69 % new, 19 % retry (a third of them due), 1 % callbacks (half due, some owned
by an agent who is logged out), 10 % done, 1 % DNC; 8 time-zone sets of which one is closed at
the benchmark instant; 1 % of the numbers on the global DNC list; a call history of one call per
ten leads over the last 60 days (so the gap and frequency-cap checks have rows to look at); the
campaign caps calls at 4 per number per 30 days.  Then it times ``--claims`` claims of
``--batch`` leads each, exactly as the daemon does them (async engine, ``claim_leads``, the
``calls`` rows written, commit), and prints the median, p95 and max in milliseconds.

``--packs none,US-FL,DE`` times the same claims under rule packs (issue 17), in the same run:
the data then also has what a pack makes the claim read — a second campaign of the same seller
(``acme``) with one lead for every tenth number of the first and a call history of its own (0–3
calls each in the last 24 h: US-FL caps 3 calls per 24 h across the seller's campaigns), and a
consent ledger (consent for half the numbers, in the scopes ``*``, ``acme`` and
``campaign:bench``, alternating every 40 ids; a revocation for one number in 50 of them — every
other one consented again later — revocations without consent, others in another seller's scope).  The campaign's stored
definition is switched between the modes (``none``: the plain definition above; a jurisdiction:
the same definition with ``jurisdiction`` and ``[compliance] seller = "acme"``, as
``dialer campaigns load`` stores it, the pack applied), round-robin in blocks of ``--block``
claims, so every mode sees the same drift of the data and the same load of the machine.
The calling window (and so the zone sets) is the same in every mode.

A mode ``JURISDICTION+hold`` (``--packs none,DE,DE+hold``) is that jurisdiction with the
``hold_without_consent`` job (:mod:`dialer.services.jobs`) run every ``--hold-every`` seconds of
the benchmark's clock (which moves one second a claim; the daemon's default is every 5 minutes),
before its first claim included.  With such a mode, every mode but the first runs on its own copy
of the database (SQLite: a backup of the file; PostgreSQL: ``CREATE DATABASE ... TEMPLATE``;
dropped at the end), so the leads one holds or claims do not change what the others claim: each
drifts as a campaign claiming alone would.  The job runs are timed apart, not in the claims.
Every mode also reports the median of its first and of its last block of claims (the drift).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from campaigns.windows import CallingWindow  # noqa: E402
from dialer.claim import claim_leads, open_zone_sets  # noqa: E402
from dialer.db import make_async_engine, open_engine  # noqa: E402
from dialer.storage.leads import zone_keys  # noqa: E402

NOW = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 11:00 in New York, 01:00 in Tokyo
ZONES = [
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Chicago America/New_York", "Europe/London", "America/Phoenix", "Asia/Tokyo",
]
LISTS = 10
DEFINITION = {"name": "bench", "limits": {"max_attempts": 10, "max_calls_per_number": 4, "per_days": 30}}
SELLER = "acme"


def definition_for(mode: str) -> dict:
    """The stored definition of the benchmark campaign in a mode (``none`` or a jurisdiction)."""
    if mode == "none":
        return DEFINITION
    from campaigns.definition import definition_to_data, parse_definition

    return definition_to_data(parse_definition({
        **DEFINITION, "jurisdiction": mode, "compliance": {"seller": SELLER}, "lists": [{"name": "list1"}],
        "dial": {"trunk": "Local/{number}@bench", "queue": "bench"},
    }, f"benchmark mode {mode}"))


def _zone_case(col: str) -> str:
    return "CASE " + " ".join(f"WHEN {col} % {len(ZONES)} = {i} THEN '{z}'" for i, z in enumerate(ZONES)) + " END"


def _status_case(col: str) -> str:
    return (f"CASE WHEN {col} % 100 = 0 THEN 'callback' WHEN {col} % 100 < 20 THEN 'retry' "
            f"WHEN {col} % 100 < 30 THEN 'done' WHEN {col} % 100 < 31 THEN 'dnc' ELSE 'new' END")


def build_sqlite(url: str, rows: int, *, attempts_mod: int = 3, owner_every: int = 20000, packs: bool = False) -> None:
    """The benchmark data in SQLite; ``benchmarks/why_bench.py`` builds the same with more leads
    near their attempt limit (``attempts_mod``) and more owned callbacks (``owner_every``).
    ``packs``: with what a rule pack makes the claim read (:func:`_pack_data`)."""
    engine = open_engine(url)
    base = NOW.strftime("%Y-%m-%d %H:%M:%S")
    with engine.begin() as conn:
        _common(conn)
        conn.exec_driver_sql(f"""
            WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {rows})
            INSERT INTO leads (list_id, phone, alt_phones, custom, timezones, status, attempts, priority,
                               next_call_at, callback_owner, callback_exclusive_until, created_at)
            SELECT 1 + i % {LISTS}, '+1' || (2000000000 + i), '[]', '{{}}', {_zone_case('i')},
                   {_status_case('i')},
                   CASE WHEN i % 100 BETWEEN 1 AND 19 THEN 1 + i % {attempts_mod} ELSE 0 END,
                   CASE WHEN i % 50 = 7 THEN 1 ELSE 0 END,
                   CASE WHEN i % 100 = 0 AND i % 200 = 0 THEN datetime('{base}', '-' || (i % 900) || ' minutes')
                        WHEN i % 100 = 0 THEN datetime('{base}', '+' || (i % 900) || ' minutes')
                        WHEN i % 100 BETWEEN 1 AND 19 AND i % 3 = 0
                             THEN datetime('{base}', '-' || (i % 5000) || ' minutes')
                        WHEN i % 100 BETWEEN 1 AND 19 THEN datetime('{base}', '+' || (i % 5000) || ' minutes')
                        ELSE NULL END,
                   CASE WHEN i % {owner_every} = 0 THEN 'agent7' ELSE NULL END,
                   CASE WHEN i % {owner_every} = 0 THEN datetime('{base}', '+1 hour') ELSE NULL END,
                   '{base}'
            FROM s""")
        conn.exec_driver_sql("""
            INSERT INTO dnc_numbers (phone, scope, source)
            SELECT phone, 0, 'bench' FROM leads WHERE id % 97 = 0""")
        conn.exec_driver_sql(f"""
            INSERT INTO calls (campaign_id, lead_id, phone, attempt, node, status, outcome, ring_timeout,
                               placed_at, ended_at)
            SELECT 1, id, phone, 1, 'old', 'ended',
                   CASE id % 7 WHEN 0 THEN 'ABANDONED' WHEN 1 THEN 'MACHINE' WHEN 2 THEN 'BUSY' ELSE 'NO_ANSWER' END,
                   25, datetime('{base}', '-' || (id % 86400) || ' minutes'),
                   datetime('{base}', '-' || (id % 86400) || ' minutes')
            FROM leads WHERE id % 10 = 3""")
        if packs:
            _pack_data(conn, lambda minutes: f"datetime('{base}', '-' || ({minutes}) || ' minutes')")
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def build_postgres(url: str, rows: int, packs: bool = False) -> None:
    engine = open_engine(url)
    base = NOW.isoformat()
    with engine.begin() as raw:
        conn = _Percent(raw)
        _common(conn)
        # Bulk load without the secondary indexes, then build them (much faster than row by row).
        index_defs = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'leads' AND indexname <> 'pk_leads'"
        ).all()
        for name, _ in index_defs:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        conn.exec_driver_sql(f"""
            INSERT INTO leads (list_id, phone, alt_phones, custom, timezones, status, attempts, priority,
                               next_call_at, callback_owner, callback_exclusive_until, created_at)
            SELECT 1 + i % {LISTS}, '+1' || (2000000000 + i), '[]', '{{}}', {_zone_case('i')},
                   {_status_case('i')},
                   CASE WHEN i % 100 BETWEEN 1 AND 19 THEN 1 + i % 3 ELSE 0 END,
                   CASE WHEN i % 50 = 7 THEN 1 ELSE 0 END,
                   CASE WHEN i % 200 = 0 THEN timestamptz '{base}' - (i % 900) * interval '1 minute'
                        WHEN i % 100 = 0 THEN timestamptz '{base}' + (i % 900) * interval '1 minute'
                        WHEN i % 100 BETWEEN 1 AND 19 AND i % 3 = 0
                             THEN timestamptz '{base}' - (i % 5000) * interval '1 minute'
                        WHEN i % 100 BETWEEN 1 AND 19 THEN timestamptz '{base}' + (i % 5000) * interval '1 minute'
                        ELSE NULL END,
                   CASE WHEN i % 20000 = 0 THEN 'agent7' ELSE NULL END,
                   CASE WHEN i % 20000 = 0 THEN timestamptz '{base}' + interval '1 hour' ELSE NULL END,
                   timestamptz '{base}'
            FROM generate_series(1, {rows}) AS i""")
        for _, ddl in index_defs:
            conn.exec_driver_sql(ddl)
        conn.exec_driver_sql("""
            INSERT INTO dnc_numbers (phone, scope, source)
            SELECT phone, 0, 'bench' FROM leads WHERE id % 97 = 0""")
        conn.exec_driver_sql(f"""
            INSERT INTO calls (campaign_id, lead_id, phone, attempt, node, status, outcome, ring_timeout,
                               placed_at, ended_at)
            SELECT 1, id, phone, 1, 'old', 'ended',
                   CASE id % 7 WHEN 0 THEN 'ABANDONED' WHEN 1 THEN 'MACHINE' WHEN 2 THEN 'BUSY' ELSE 'NO_ANSWER' END,
                   25, timestamptz '{base}' - (id % 86400) * interval '1 minute',
                   timestamptz '{base}' - (id % 86400) * interval '1 minute'
            FROM leads WHERE id % 10 = 3""")
        if packs:
            _pack_data(conn, lambda minutes: f"timestamptz '{base}' - ({minutes}) * interval '1 minute'")
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


class _Percent:
    """psycopg reads ``%`` as a placeholder: double it in raw SQL without parameters."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def exec_driver_sql(self, sql: str):
        return self.conn.exec_driver_sql(sql.replace("%", "%%"))

    def execute(self, *args, **kwargs):
        return self.conn.execute(*args, **kwargs)


def _common(conn) -> None:
    conn.execute(text("INSERT INTO campaigns (id, name, status, definition, created_at, updated_at) "
                      "VALUES (1, 'bench', 'active', :d, :t, :t)"), {"d": json.dumps(DEFINITION), "t": NOW})
    for i in range(1, LISTS + 1):
        conn.execute(text("INSERT INTO lead_lists (id, name, campaign_id, active, priority, created_at) "
                          "VALUES (:i, :n, 1, :a, :p, :t)"),
                     {"i": i, "n": f"list{i}", "a": i != LISTS, "p": i % 3, "t": NOW})
    conn.execute(text("INSERT INTO agents (name, interface, token_hash, campaign_id, state, created_at) "
                      "VALUES ('agent7', 'PJSIP/7', 'x', 1, 'logged_out', :t)"), {"t": NOW})


def _pack_data(conn, ago) -> None:
    """What a rule pack makes the claim read (see the module's docstring): the seller's other
    campaign with its leads and calls, and the consent ledger.  ``ago(minutes)``: the SQL of the
    benchmark instant minus that many minutes (an SQL expression)."""
    other = LISTS + 1
    conn.execute(text("INSERT INTO campaigns (id, name, status, definition, created_at, updated_at) "
                      "VALUES (2, 'bench-other', 'active', :d, :t, :t)"),
                 {"d": json.dumps({"name": "bench-other", "compliance": {"seller": SELLER}}), "t": NOW})
    conn.execute(text("INSERT INTO lead_lists (id, name, campaign_id, active, priority, created_at) "
                      "VALUES (:i, 'other', 2, :a, 0, :t)"), {"i": other, "a": True, "t": NOW})
    # One lead in the other campaign for every tenth number, 0-3 calls each in the last 24 h.
    conn.exec_driver_sql(f"""
        INSERT INTO leads (list_id, phone, alt_phones, custom, timezones, status, attempts, priority, created_at)
        SELECT {other}, phone, '[]', '{{}}', timezones, 'done', 1, 0, {ago(0)}
        FROM leads WHERE list_id <= {LISTS} AND id % 10 = 5""")
    conn.exec_driver_sql(f"""
        INSERT INTO calls (campaign_id, lead_id, phone, attempt, node, status, outcome, ring_timeout,
                           placed_at, ended_at)
        SELECT 2, l.id, l.phone, k.n, 'old', 'ended', 'NO_ANSWER', 25,
               {ago('(l.id * 7 + k.n * 131) % 1380')}, {ago('(l.id * 7 + k.n * 131) % 1380')}
        FROM leads l JOIN (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) k ON k.n <= l.id % 4
        WHERE l.list_id = {other}""")
    # The consent ledger of the first campaign's numbers.
    given, revoked = "'given'", "'revoked'"
    scope = "CASE id / 2 % 3 WHEN 0 THEN '*' WHEN 1 THEN 'acme' ELSE 'campaign:bench' END"
    # Consent for half the numbers, alternating every 40 ids: not tied to a list or a zone set
    # (the lead's list is id % 10, its zones id % 8), so every index walk has leads of both kinds.
    consented, other = "id / 40 % 2 = 0", "id / 40 % 2 = 1"
    for where, kind, scope_sql, minutes in (
        (consented, given, scope, "3000 + id % 700000"),
        (f"{consented} AND id % 50 = 0", revoked, "'acme'", "2000 + id % 1000"),  # ... revoked later
        (f"{consented} AND id % 100 = 0", given, "'*'", "id % 1000"),             # ... and given again
        (f"{other} AND id % 7 = 0", revoked, "'*'", "id % 5000"),                 # revoked, never given
        (f"{other} AND id % 11 = 0", revoked, "'other-seller'", "id % 5000"),     # another seller's
        (f"{other} AND id % 13 = 0", given, "'campaign:other'", "id % 5000"),     # another campaign's
    ):
        conn.exec_driver_sql(f"""
            INSERT INTO consents (phone, scope, kind, at, channel, source, created_at)
            SELECT phone, {scope_sql}, {kind}, {ago(minutes)}, 'file', 'bench', {ago(0)}
            FROM leads WHERE list_id <= {LISTS} AND {where}""")


def lead_count(url: str, packs: bool = False) -> int:
    """The benchmark campaign's leads (0: not built, or, with ``packs``, built without the pack data)."""
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            if packs and not conn.exec_driver_sql("SELECT count(*) FROM campaigns WHERE id = 2").scalar():
                return 0
            return conn.exec_driver_sql(f"SELECT count(*) FROM leads WHERE list_id <= {LISTS}").scalar() or 0
    finally:
        engine.dispose()


async def run_claims(
    url: str, claims: int, batch: tuple[int, int], warmup: int, pg_set: dict[str, str] | None = None,
    modes: tuple[str, ...] = ("none",), block: int = 10, urls: dict[str, str] | None = None,
    hold_every: int = 300,
) -> dict:
    """Time ``claims`` claims in each mode (round-robin in blocks of ``block``, after ``warmup``
    claims in each), of ``batch`` (lowest, highest) leads — one size after the other, as the
    pacing asks for, when they differ; one result per mode.  ``urls``: a mode's own database
    (the ``+hold`` modes, whose job runs every ``hold_every`` claims of the benchmark's clock)."""
    from dialer.services.jobs import JobContext, hold_without_consent

    kwargs = {"connect_args": {"server_settings": pg_set}} if pg_set else {}
    urls = {mode: (urls or {}).get(mode, url) for mode in modes}
    dbs = {u: make_async_engine(u, **kwargs) for u in set(urls.values())}
    syncs = {u: open_engine(u) for mode, u in urls.items() if mode.endswith("+hold")}
    definitions = {mode: json.dumps(definition_for(mode.removesuffix("+hold"))) for mode in modes}
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    got = dict.fromkeys(modes, 0)
    jobs: dict[str, list[tuple[float, int, int]]] = {mode: [] for mode in modes}  # (seconds, held, released)
    last_job: dict[str, int] = {}
    k = 0

    def hold_job(mode: str) -> None:
        engine = syncs[urls[mode]]
        t0 = time.perf_counter()
        res = hold_without_consent(JobContext(engine, Path("."), "bench", NOW + timedelta(seconds=k)))
        jobs[mode].append((time.perf_counter() - t0, res.counts["held"], res.counts["released"]))
        last_job[mode] = k

    async def claim_in(mode: str, count: int, record: bool) -> None:
        nonlocal k
        db = dbs[urls[mode]]
        async with db.begin() as conn:
            await conn.execute(text("UPDATE campaigns SET definition = :d WHERE id = 1"), {"d": definitions[mode]})
        if mode.endswith("+hold") and (mode not in last_job or k - last_job[mode] >= hold_every):
            await asyncio.to_thread(hold_job, mode)
        for _ in range(count):
            t0 = time.perf_counter()
            async with db.begin() as conn:
                n = batch[0] + k % (batch[1] - batch[0] + 1)
                claimed = await claim_leads(conn, campaign_id=1, n=n, now=NOW + timedelta(seconds=k),
                                            node="bench", ring_timeout=25, open_sets=open_sets)
            elapsed = (time.perf_counter() - t0) * 1000
            k += 1
            if record:
                times[mode].append(elapsed)
                got[mode] += len(claimed)

    try:
        async with dbs[url if url in dbs else next(iter(dbs))].connect() as conn:
            keys = await zone_keys(conn, 1)
        open_sets = open_zone_sets(CallingWindow(), keys, NOW)
        for mode in modes:
            await claim_in(mode, warmup, False)
        for start in range(0, claims, block):
            for mode in modes:
                await claim_in(mode, min(block, claims - start), True)
        out = {}
        for mode in modes:
            ts = sorted(times[mode])
            out[mode] = {
                "claims": claims, "batch": "-".join(map(str, sorted(set(batch)))), "leads_claimed": got[mode],
                "median_ms": round(statistics.median(ts), 2),
                "p95_ms": round(ts[int(0.95 * (len(ts) - 1))], 2),
                "max_ms": round(ts[-1], 2),
                "first_block_ms": round(statistics.median(times[mode][:block]), 2),
                "last_block_ms": round(statistics.median(times[mode][-block:]), 2),
            }
            if jobs[mode]:
                secs = [j[0] for j in jobs[mode]]
                out[mode]["hold_job"] = {"runs": len(secs), "first_s": round(secs[0], 2),
                                         "later_max_s": round(max(secs[1:]), 2) if len(secs) > 1 else None,
                                         "held": [j[1] for j in jobs[mode]], "released": [j[2] for j in jobs[mode]]}
        return out
    finally:
        for db in dbs.values():
            await db.dispose()
        for engine in syncs.values():
            engine.dispose()


def _pg_database(admin_url: str, name: str, fresh: bool) -> str:
    import psycopg

    admin = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def _copies(url: str, modes: tuple[str, ...], admin_url: str) -> dict[str, str]:
    """With a ``+hold`` mode: a fresh copy of the benchmark database for every mode but the
    first (which keeps the original), so each drifts by its own claims only: mode → its URL."""
    out: dict[str, str] = {}
    if not any(m.endswith("+hold") for m in modes):
        return out
    for mode in modes[1:]:
        suffix = mode.replace("+", "-").lower()
        if url.startswith("sqlite"):
            import sqlite3

            src = Path(url.removeprefix("sqlite:///"))
            dst = src.with_name(f"{src.stem}-{suffix}{src.suffix}")
            for ext in ("", "-wal", "-shm"):
                Path(f"{dst}{ext}").unlink(missing_ok=True)
            with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
                a.backup(b)
            out[mode] = f"sqlite:///{dst}"
        else:
            import psycopg

            name = url.rpartition("/")[2]
            copy = f"{name}_{suffix.replace('-', '_')}"
            with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
                c.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"')
            out[mode] = f"{admin_url.rpartition('/')[0]}/{copy}"
    return out


def _drop_copies(copies: dict[str, str], admin_url: str) -> None:
    for copy in copies.values():
        if copy.startswith("sqlite"):
            for ext in ("", "-wal", "-shm"):
                Path(f"{copy.removeprefix('sqlite:///')}{ext}").unlink(missing_ok=True)
        else:
            import psycopg

            with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{copy.rpartition("/")[2]}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--rows", type=int, default=None, help="leads (default 1M SQLite, 10M PostgreSQL)")
    ap.add_argument("--path", type=Path, default=None, help="SQLite file (default benchmarks/data/claim-<rows>.db)")
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--pg-db", default=None, help="PostgreSQL database (default dialer_claim_bench_<rows>)")
    ap.add_argument("--claims", type=int, default=100)
    ap.add_argument("--batch", default="100",
                    help="leads a claim asks for: N, or LO-HI for every size in turn (the pacing's varying sizes)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--reuse", action="store_true", help="keep an existing database of the same size")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--packs", default="none",
                    help="comma-separated modes timed in the same run: none (no pack) or a jurisdiction (US-FL, DE...)")
    ap.add_argument("--block", type=int, default=10, help="claims in a row in one mode (--packs)")
    ap.add_argument("--hold-every", type=int, default=300,
                    help="the +hold modes: run hold_without_consent every this many claims (seconds of the bench clock)")
    ap.add_argument("--pg-set", action="append", default=[], metavar="NAME=VALUE",
                    help="a PostgreSQL setting for the claim sessions (e.g. wal_compression=on); repeatable")
    args = ap.parse_args()
    rows = args.rows or (1_000_000 if args.backend == "sqlite" else 10_000_000)
    if args.backend == "sqlite":
        path = args.path or ROOT / "benchmarks" / "data" / f"claim-{rows}.db"
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        url = _pg_database(args.admin_url, args.pg_db or f"dialer_claim_bench_{rows}", fresh=not args.reuse)
    t0 = time.perf_counter()
    built = False
    if not (args.reuse and lead_count(url, packs=True) == rows):
        (build_sqlite if args.backend == "sqlite" else build_postgres)(url, rows, packs=True)
        built = True
    build_s = time.perf_counter() - t0
    pg_set = dict(item.split("=", 1) for item in args.pg_set)
    modes = tuple(m.strip() for m in args.packs.split(",") if m.strip())
    lo, _, hi = args.batch.partition("-")
    batch = (int(lo), int(hi or lo))
    copies = _copies(url, modes, args.admin_url)
    try:
        results = asyncio.run(run_claims(url, args.claims, batch, args.warmup, pg_set, modes, args.block,
                                         copies, args.hold_every))
    finally:
        _drop_copies(copies, args.admin_url)
    base = results[modes[0]]["median_ms"]
    if args.json:
        print(json.dumps({"backend": args.backend, "rows": rows, "build_s": round(build_s, 1) if built else None,
                          "modes": results}))
        return
    print(f"{args.backend}: {rows:,} leads" + (f" (built in {build_s:.1f} s)" if built else " (reused)"))
    for mode, r in results.items():
        print(f"  {mode:>6}: {r['claims']} claims of {r['batch']}: median {r['median_ms']} ms "
              f"({r['median_ms'] / base:.2f}x {modes[0]}), p95 {r['p95_ms']} ms, max {r['max_ms']} ms "
              f"({r['leads_claimed']} leads); first block {r['first_block_ms']} ms, last {r['last_block_ms']} ms"
              + (f"; hold job: {r['hold_job']}" if "hold_job" in r else ""))


if __name__ == "__main__":
    main()
