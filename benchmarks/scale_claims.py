"""Load benchmark (issue 18): N daemons' claim loops on one PostgreSQL lead table.

    .venv/bin/python benchmarks/scale_claims.py --rows 10000000 --reuse --json /tmp/claims.json

Builds (or reuses) the lead-claim benchmark's database (``benchmarks/claim_bench.py``: one
campaign, 10 lists, ``--rows`` leads, a call history, DNC numbers, a 4-per-30-days cap), then for
N = 1, 2, 4, 8 starts N processes — N daemons, each with its own async engine — that claim
``--batch`` leads at a time as fast as they can for ``--seconds`` (each claim exactly as the
daemon does it: ``claim_leads`` with its ``calls`` rows, committed), all on the same campaign
so that they contend on the same index pages (``FOR UPDATE SKIP LOCKED``). Reports, per N, the
claims and leads per second of all the loops together and the median and p99 claim latency;
checks that no lead was claimed twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.claim_bench import NOW, _pg_database, build_postgres, lead_count  # noqa: E402
from campaigns.windows import CallingWindow  # noqa: E402
from dialer.claim import claim_leads, open_zone_sets  # noqa: E402
from dialer.db import make_async_engine  # noqa: E402
from dialer.storage.leads import zone_keys  # noqa: E402


async def _loop(url: str, node: str, batch: int, seconds: float, barrier: Any) -> dict:
    db = make_async_engine(url, pool_size=1)
    try:
        async with db.connect() as conn:
            keys = await zone_keys(conn, 1)
        open_sets = open_zone_sets(CallingWindow(), keys, NOW)
        for k in range(3):  # warm up: the connection, prepared statements, the pages
            async with db.begin() as conn:
                await claim_leads(conn, campaign_id=1, n=batch, now=NOW - timedelta(seconds=10 - k), node=node,
                                  ring_timeout=25, open_sets=open_sets)
        barrier.wait()  # every loop warmed up: all start together
        times, got, k = [], 0, 0
        end = time.time() + seconds
        while time.time() < end:
            t0 = time.perf_counter()
            async with db.begin() as conn:
                claimed = await claim_leads(conn, campaign_id=1, n=batch, now=NOW + timedelta(seconds=k),
                                            node=node, ring_timeout=25, open_sets=open_sets)
            times.append((time.perf_counter() - t0) * 1000)
            got += len(claimed)
            k += 1
        return {"node": node, "times": times, "leads": got}
    finally:
        await db.dispose()


def _worker(args: tuple, results: Any) -> None:
    results.put(asyncio.run(_loop(*args)))


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))] if s else 0.0


def run_level(url: str, n: int, batch: int, seconds: float) -> dict:
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=((url, f"bench-{n}-{i}", batch, seconds, barrier), queue))
             for i in range(n)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    times = [t for r in results for t in r["times"]]
    leads = sum(r["leads"] for r in results)
    return {"loops": n, "batch": batch, "seconds": seconds, "claims": len(times), "leads": leads,
            "claims_per_s": round(len(times) / seconds, 1), "leads_per_s": round(leads / seconds, 1),
            "median_ms": round(_pct(times, 0.5), 2), "p99_ms": round(_pct(times, 0.99), 2),
            "max_ms": round(max(times), 2)}


def duplicates(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM (SELECT lead_id FROM calls WHERE node LIKE 'bench-%' "
                            "GROUP BY lead_id HAVING count(*) > 1) d").fetchone()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--levels", default="1,2,4,8")
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    url = _pg_database(args.admin_url, f"dialer_claim_bench_{args.rows}", fresh=not args.reuse)
    t0 = time.perf_counter()
    if not (args.reuse and lead_count(url) == args.rows):
        build_postgres(url, args.rows)
        print(f"built {args.rows:,} leads in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    out = []
    for n in (int(x) for x in args.levels.split(",")):
        level = run_level(url, n, args.batch, args.seconds)
        out.append(level)
        print(json.dumps(level), flush=True)
    dup = duplicates(url.replace("postgresql+psycopg://", "postgresql://"))
    print(f"leads claimed twice: {dup}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"rows": args.rows, "levels": out, "claimed_twice": dup}, indent=1))


if __name__ == "__main__":
    main()
