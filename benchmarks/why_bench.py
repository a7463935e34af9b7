"""``why`` benchmark: the reasons for 1,000,000 leads on SQLite (target: at most 2 s).

    .venv/bin/python benchmarks/why_bench.py                 # 1M leads, builds benchmarks/data/why-1000000.db
    .venv/bin/python benchmarks/why_bench.py --reuse --runs 5

Builds (in SQL: a recursive CTE) a campaign with 10 lists (one inactive) and ``--rows`` leads:
69 % new, 19 % retry (a third of them due), 1 % callbacks (half due, some owned by an agent
who is logged out), 10 % done, 1 % DNC status; 8 time-zone sets (one of them closed at the
benchmark instant, one ambiguous); 1 % of the numbers on the global DNC list; one call per ten
leads over the last 60 days (frequency cap 4 per 30 days, gaps after abandoned and machine
calls).  Then it times :func:`dialer.services.diagnostics.why` (one sync connection, everything the
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from dialer.db import open_engine  # noqa: E402
from dialer.services.diagnostics import why  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from claim_bench import NOW, build_sqlite, lead_count  # noqa: E402  (the same data as the claim benchmark)


def build(url: str, rows: int) -> None:
    """The claim benchmark's data, with more leads at their attempt limit and more owned callbacks."""
    build_sqlite(url, rows, attempts_mod=11, owner_every=400)


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
