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


def _zone_case(col: str) -> str:
    return "CASE " + " ".join(f"WHEN {col} % {len(ZONES)} = {i} THEN '{z}'" for i, z in enumerate(ZONES)) + " END"


def _status_case(col: str) -> str:
    return (f"CASE WHEN {col} % 100 = 0 THEN 'callback' WHEN {col} % 100 < 20 THEN 'retry' "
            f"WHEN {col} % 100 < 30 THEN 'done' WHEN {col} % 100 < 31 THEN 'dnc' ELSE 'new' END")


def build_sqlite(url: str, rows: int, *, attempts_mod: int = 3, owner_every: int = 20000) -> None:
    """The benchmark data in SQLite; ``benchmarks/why_bench.py`` builds the same with more leads
    near their attempt limit (``attempts_mod``) and more owned callbacks (``owner_every``)."""
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
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def build_postgres(url: str, rows: int) -> None:
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


def lead_count(url: str) -> int:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM leads").scalar() or 0
    finally:
        engine.dispose()


async def run_claims(url: str, claims: int, batch: int, warmup: int, pg_set: dict[str, str] | None = None) -> dict:
    kwargs = {"connect_args": {"server_settings": pg_set}} if pg_set else {}
    db = make_async_engine(url, **kwargs)
    try:
        async with db.connect() as conn:
            keys = await zone_keys(conn, 1)
        open_sets = open_zone_sets(CallingWindow(), keys, NOW)
        times: list[float] = []
        got = 0
        for k in range(warmup + claims):
            t0 = time.perf_counter()
            async with db.begin() as conn:
                claimed = await claim_leads(conn, campaign_id=1, n=batch, now=NOW + timedelta(seconds=k),
                                            node="bench", ring_timeout=25, open_sets=open_sets)
            elapsed = (time.perf_counter() - t0) * 1000
            if k >= warmup:
                times.append(elapsed)
                got += len(claimed)
        times.sort()
        return {
            "claims": claims, "batch": batch, "leads_claimed": got,
            "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
            "max_ms": round(times[-1], 2),
        }
    finally:
        await db.dispose()


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--rows", type=int, default=None, help="leads (default 1M SQLite, 10M PostgreSQL)")
    ap.add_argument("--path", type=Path, default=None, help="SQLite file (default benchmarks/data/claim-<rows>.db)")
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--claims", type=int, default=100)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--reuse", action="store_true", help="keep an existing database of the same size")
    ap.add_argument("--json", action="store_true")
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
        url = _pg_database(args.admin_url, f"dialer_claim_bench_{rows}", fresh=not args.reuse)
    t0 = time.perf_counter()
    built = False
    if not (args.reuse and lead_count(url) == rows):
        (build_sqlite if args.backend == "sqlite" else build_postgres)(url, rows)
        built = True
    build_s = time.perf_counter() - t0
    pg_set = dict(item.split("=", 1) for item in args.pg_set)
    result = asyncio.run(run_claims(url, args.claims, args.batch, args.warmup, pg_set))
    result = {"backend": args.backend, "rows": rows, "build_s": round(build_s, 1) if built else None, **result}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.backend}: {rows:,} leads" + (f" (built in {build_s:.1f} s)" if built else " (reused)"))
        print(f"  {result['claims']} claims of {result['batch']}: median {result['median_ms']} ms, "
              f"p95 {result['p95_ms']} ms, max {result['max_ms']} ms ({result['leads_claimed']} leads)")


if __name__ == "__main__":
    main()
