"""``why`` benchmark: the reasons for 1,000,000 leads on SQLite (target: at most 2 s).

    .venv/bin/python benchmarks/why_bench.py                 # 1M leads, builds benchmarks/data/why-1000000.db
    .venv/bin/python benchmarks/why_bench.py --reuse --runs 5

Builds (in SQL: a recursive CTE) a campaign with 10 lists (one inactive) and ``--rows`` leads:
69 % new, 19 % retry (a third of them due), 1 % callbacks (half due, some owned by an agent
who is logged out), 10 % done, 1 % DNC status; 8 time-zone sets (one of them closed at the
benchmark instant, one ambiguous); 1 % of the numbers on the global DNC list; one call per ten
leads over the last 60 days (frequency cap 4 per 30 days, gaps after abandoned and machine
calls).  Then it times :func:`campaigns.diagnostics.why` (one sync connection, everything the
command computes, the next window openings included) ``--runs`` times and prints the median
and the best in seconds, the load average, with the counts of the last run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from campaigns.diagnostics import why  # noqa: E402
from dialer.db import open_engine  # noqa: E402

NOW = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 11:00 in New York, 01:00 in Tokyo
ZONES = [
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Chicago America/New_York", "Europe/London", "America/Phoenix", "Asia/Tokyo",
]
LISTS = 10
DEFINITION = {"name": "bench", "limits": {"max_attempts": 10, "max_calls_per_number": 4, "per_days": 30}}


def _zone_case(col: str) -> str:
    return "CASE " + " ".join(f"WHEN {col} % {len(ZONES)} = {i} THEN '{z}'" for i, z in enumerate(ZONES)) + " END"


def build(url: str, rows: int) -> None:
    engine = open_engine(url)
    base = NOW.strftime("%Y-%m-%d %H:%M:%S")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO campaigns (id, name, status, definition, created_at, updated_at) "
                          "VALUES (1, 'bench', 'active', :d, :t, :t)"), {"d": json.dumps(DEFINITION), "t": NOW})
        for i in range(1, LISTS + 1):
            conn.execute(text("INSERT INTO lead_lists (id, name, campaign_id, active, priority, created_at) "
                              "VALUES (:i, :n, 1, :a, :p, :t)"),
                         {"i": i, "n": f"list{i}", "a": i != LISTS, "p": i % 3, "t": NOW})
        conn.execute(text("INSERT INTO agents (name, interface, token_hash, campaign_id, state, created_at) "
                          "VALUES ('agent7', 'PJSIP/7', 'x', 1, 'logged_out', :t)"), {"t": NOW})
        conn.exec_driver_sql(f"""
            WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {rows})
            INSERT INTO leads (list_id, phone, alt_phones, custom, timezones, status, attempts, priority,
                               next_call_at, callback_owner, callback_exclusive_until, created_at)
            SELECT 1 + i % {LISTS}, '+1' || (2000000000 + i), '[]', '{{}}', {_zone_case('i')},
                   CASE WHEN i % 100 = 0 THEN 'callback' WHEN i % 100 < 20 THEN 'retry'
                        WHEN i % 100 < 30 THEN 'done' WHEN i % 100 < 31 THEN 'dnc' ELSE 'new' END,
                   CASE WHEN i % 100 BETWEEN 1 AND 19 THEN 1 + i % 11 ELSE 0 END,
                   CASE WHEN i % 50 = 7 THEN 1 ELSE 0 END,
                   CASE WHEN i % 200 = 0 THEN datetime('{base}', '-' || (i % 900) || ' minutes')
                        WHEN i % 100 = 0 THEN datetime('{base}', '+' || (i % 900) || ' minutes')
                        WHEN i % 100 BETWEEN 1 AND 19 AND i % 3 = 0
                             THEN datetime('{base}', '-' || (i % 5000) || ' minutes')
                        WHEN i % 100 BETWEEN 1 AND 19 THEN datetime('{base}', '+' || (i % 5000) || ' minutes')
                        ELSE NULL END,
                   CASE WHEN i % 400 = 0 THEN 'agent7' ELSE NULL END,
                   CASE WHEN i % 400 = 0 THEN datetime('{base}', '+1 hour') ELSE NULL END,
                   '{base}'
            FROM s""")
        conn.exec_driver_sql("INSERT INTO dnc_numbers (phone, scope, source) "
                             "SELECT phone, 0, 'bench' FROM leads WHERE id % 97 = 0")
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


def lead_count(url: str) -> int:
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT count(*) FROM leads").scalar() or 0
    finally:
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--path", type=Path, default=None, help="SQLite file (default benchmarks/data/why-<rows>.db)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--reuse", action="store_true", help="keep an existing database of the same size")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    path = args.path or ROOT / "benchmarks" / "data" / f"why-{args.rows}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{path}"
    t0 = time.perf_counter()
    built = False
    if not (args.reuse and path.exists() and lead_count(url) == args.rows):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        build(url, args.rows)
        built = True
    build_s = time.perf_counter() - t0
    engine = open_engine(url)
    times: list[float] = []
    report = None
    with engine.connect() as conn:
        for _ in range(args.runs):
            t = time.perf_counter()
            report = why(conn, "bench", NOW)
            times.append(time.perf_counter() - t)
    engine.dispose()
    assert report is not None and report.total == args.rows
    result = {"rows": args.rows, "build_s": round(build_s, 1) if built else None, "runs": args.runs,
              "median_s": round(statistics.median(times), 3), "best_s": round(min(times), 3),
              "load_average": [round(x, 2) for x in os.getloadavg()], "counts": report.counts()}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"why on {args.rows:,} leads (SQLite): median {result['median_s']} s, best {result['best_s']} s "
              f"over {args.runs} runs" + (f" (data built in {result['build_s']} s)" if built else "")
              + f"; load average {' '.join(map(str, result['load_average']))}")
        print(json.dumps(result["counts"]))


if __name__ == "__main__":
    main()
