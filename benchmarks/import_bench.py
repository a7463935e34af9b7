"""Import benchmark: a large lead file into a fresh SQLite database, against pandas alone.

    .venv/bin/python benchmarks/gen_leads.py            # once: benchmarks/data/leads-1m.csv
    .venv/bin/python benchmarks/import_bench.py [--file F] [--region US] [--workers N] [--json]

Reports wall time, rows/s, CPU time, peak RSS, and the ratio to ``pandas.read_csv`` of the same
file (same options: ``dtype=str``, chunked) measured in the same run. The baseline and the import
each run in a fresh child process (the baseline first, so the page cache is warm for both), so
each one's memory and CPU are its own: ``peak_rss_mb`` is the import process,
``workers_peak_rss_mb`` its largest worker process (0 without ``--workers N``).

The storage floor (``floor_*``, a third child): what SQLite alone must do for the rows this
import wrote, with no CSV, no Python per row and no transform — a fresh database, the same
leads copied in by one ``INSERT ... SELECT`` from the import's database, the indexes the import
drops rebuilt the same way, the commit (WAL write and checkpoint). Reading the source table is
timed apart (``floor_scan_s``) and left out of ``floor_s``. No import into this schema can take
less than ``floor_s``; ``floor_ratio`` is it over the baseline.

The baseline is ``pandas.read_csv`` as installed: with pyarrow present (a dependency), pandas
holds ``dtype=str`` columns as arrow strings, which costs more than Python-object strings; the
latter is measured too (``pandas_read_csv_object_s``) and the import's ratio to it reported.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = ROOT / "benchmarks" / "data" / "leads-1m.csv"

BASELINE = """
import sys, time, pandas as pd
dtype = str if sys.argv[2] == "str" else object
t, c = time.perf_counter(), time.process_time(); n = 0
for chunk in pd.read_csv(sys.argv[1], dtype=dtype, keep_default_na=False, chunksize=50_000):
    n += len(chunk)
print(time.perf_counter() - t, time.process_time() - c, n)
"""

IMPORT = """
import json, resource, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from dialer.db import open_engine
from lists.importer import ImportOptions, import_file

def cpu():
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

workers = None if sys.argv[3] == "auto" else int(sys.argv[3])
tmp = sys.argv[5]
engine = open_engine(f"sqlite:///{tmp}/bench.db")
t, c = time.perf_counter(), cpu()
options = ImportOptions("bench", region=sys.argv[2], rejects=Path(tmp) / "rejects.csv", workers=workers)
result = import_file(engine, Path(sys.argv[1]), options)
seconds, used = time.perf_counter() - t, cpu() - c
engine.dispose()
print(json.dumps({"seconds": seconds, "cpu": used,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "children_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "result": result.as_dict()}))
"""


FLOOR = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from dialer.db import open_engine
from lists.importer import CONSTANT_ON_IMPORT, SQLITE_SORT_THREADS
from lists.record import RECORD_FIELDS

tmp = sys.argv[1]
open_engine(f"sqlite:///{tmp}/floor.db").dispose()  # the schema, by the migrations
import sqlite3
db = sqlite3.connect(f"{tmp}/floor.db", isolation_level=None)
db.execute(f"PRAGMA threads={SQLITE_SORT_THREADS}")  # as the import
db.execute(f"ATTACH '{tmp}/bench.db' AS src")
cols = ", ".join(RECORD_FIELDS)
t = time.perf_counter()
db.execute(f"SELECT count(*), sum(length(phone) + length(custom)) FROM src.leads").fetchall()
scan = time.perf_counter() - t
db.execute("INSERT INTO lead_lists (name) VALUES ('floor')")
steps, t0 = {}, time.perf_counter()
db.execute("BEGIN")
rebuild = []
for name, sql in db.execute("SELECT name, sql FROM main.sqlite_master WHERE type = 'index' "
                            "AND tbl_name = 'leads' AND sql IS NOT NULL").fetchall():
    index_cols = {r[2] for r in db.execute(f'PRAGMA index_info("{name}")')}
    if not index_cols <= CONSTANT_ON_IMPORT:
        db.execute(f'DROP INDEX "{name}"')
        rebuild.append((name, sql))
t = time.perf_counter()
db.execute(f"INSERT INTO leads (list_id, {cols}) SELECT 1, {cols} FROM src.leads ORDER BY id")
steps["insert"] = time.perf_counter() - t - scan
for name, sql in rebuild:
    t = time.perf_counter()
    db.execute(sql)
    steps[name] = time.perf_counter() - t
t = time.perf_counter()
db.execute("COMMIT")
steps["commit"] = time.perf_counter() - t
print(json.dumps({"seconds": time.perf_counter() - t0 - scan, "scan": scan, "steps": steps}))
"""


def storage_floor(tmp: str) -> dict:
    """SQLite's own work for the rows the import wrote (see the module docstring)."""
    out = subprocess.run([sys.executable, "-c", FLOOR, tmp, str(ROOT)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def baseline(path: Path, dtype: str = "str") -> tuple[float, float, int]:
    out = subprocess.run([sys.executable, "-c", BASELINE, str(path), dtype], capture_output=True, text=True, check=True)
    seconds, cpu, rows = out.stdout.split()
    return float(seconds), float(cpu), int(rows)


def run_import(path: Path, region: str, workers: int | None, tmp: str) -> dict:
    """The import (``lists.importer.import_file``, the code behind ``dialer lists import``) in a
    child, into a fresh database in the directory ``tmp``."""
    args = [sys.executable, "-c", IMPORT, str(path), region, "auto" if workers is None else str(workers), str(ROOT),
            tmp]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description="Lead import benchmark (SQLite).")
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--region", default="US")
    ap.add_argument("--workers", type=int, default=None,
                    help="transform worker processes (default: none, a helper thread; 0: all in one thread)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not args.file.exists():
        sys.exit(f"{args.file} not found: run `python benchmarks/gen_leads.py` first")
    base_s, base_cpu, rows = baseline(args.file)
    obj_s, _obj_cpu, _ = baseline(args.file, "object")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        imp = run_import(args.file, args.region, args.workers, tmp)
        floor = storage_floor(tmp)
    r = imp["result"]
    report = {
        "file": str(args.file), "rows": rows, "size_mb": round(args.file.stat().st_size / 1e6, 1),
        "pandas_read_csv_s": round(base_s, 2), "pandas_read_csv_object_s": round(obj_s, 2),
        "import_s": round(imp["seconds"], 2), "rows_per_s": round(rows / imp["seconds"]),
        "ratio_to_pandas": round(imp["seconds"] / base_s, 2),
        "ratio_to_pandas_object": round(imp["seconds"] / obj_s, 2),
        "floor_s": round(floor["seconds"], 2), "floor_ratio": round(floor["seconds"] / base_s, 2),
        "floor_steps_s": {k: round(v, 2) for k, v in floor["steps"].items()}, "floor_scan_s": round(floor["scan"], 2),
        "cpu_s": round(imp["cpu"], 1), "cpu_ratio_to_pandas": round(imp["cpu"] / base_cpu, 1),
        "peak_rss_mb": round(imp["peak_rss_mb"]), "workers_peak_rss_mb": round(imp["children_peak_rss_mb"]),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
        "counts": {k: r[k] for k in ("rows_read", "imported", "rejected", "duplicates", "dnc")},
        "reconciles": r["rows_read"] == r["imported"] + r["rejected"] + r["duplicates"] + r["dnc"],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for k, v in report.items():
        print(f"{k:>24}: {v}")


if __name__ == "__main__":
    main()
