"""Import benchmark: a large lead file into a fresh SQLite database, against pandas alone.

    .venv/bin/python benchmarks/gen_leads.py            # once: benchmarks/data/leads-1m.csv
    .venv/bin/python benchmarks/import_bench.py [--file F] [--region US] [--json]

Reports wall time, rows/s, peak RSS, and the ratio to ``pandas.read_csv`` of the same file (same
options: ``dtype=str``, chunked) measured in the same run. The baseline runs first in a child
process so that its memory does not count against the import and the page cache is warm for both.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FILE = ROOT / "benchmarks" / "data" / "leads-1m.csv"

BASELINE = """
import sys, time, pandas as pd
t, c = time.perf_counter(), time.process_time(); n = 0
for chunk in pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False, chunksize=50_000):
    n += len(chunk)
print(time.perf_counter() - t, time.process_time() - c, n)
"""


def baseline(path: Path) -> tuple[float, float, int]:
    out = subprocess.run([sys.executable, "-c", BASELINE, str(path)], capture_output=True, text=True, check=True)
    seconds, cpu, rows = out.stdout.split()
    return float(seconds), float(cpu), int(rows)


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_import(path: Path, region: str, workers: int | None) -> dict:
    sys.path.insert(0, str(ROOT))
    from dialer.db import open_engine
    from lists.importer import ImportOptions, import_file

    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{tmp}/bench.db")
        t, cpu = time.perf_counter(), _cpu()
        options = ImportOptions("bench", region=region, rejects=Path(tmp) / "rejects.csv", workers=workers)
        result = import_file(engine, path, options)
        seconds, cpu = time.perf_counter() - t, _cpu() - cpu
        engine.dispose()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "cpu": cpu, "peak_rss_mb": peak_mb, "children_peak_rss_mb": children_mb,
            "result": result.as_dict()}


def main() -> None:
    ap = argparse.ArgumentParser(description="Lead import benchmark (SQLite).")
    ap.add_argument("--file", type=Path, default=DEFAULT_FILE)
    ap.add_argument("--region", default="US")
    ap.add_argument("--workers", type=int, default=None,
                    help="transform processes (default: automatic; 0: all in the main process)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not args.file.exists():
        sys.exit(f"{args.file} not found: run `python benchmarks/gen_leads.py` first")
    base_s, base_cpu, rows = baseline(args.file)
    imp = run_import(args.file, args.region, args.workers)
    r = imp["result"]
    report = {
        "file": str(args.file), "rows": rows, "size_mb": round(args.file.stat().st_size / 1e6, 1),
        "pandas_read_csv_s": round(base_s, 2), "import_s": round(imp["seconds"], 2),
        "rows_per_s": round(rows / imp["seconds"]), "ratio_to_pandas": round(imp["seconds"] / base_s, 2),
        "cpu_s": round(imp["cpu"], 1), "cpu_ratio_to_pandas": round(imp["cpu"] / base_cpu, 1),
        "peak_rss_mb": round(imp["peak_rss_mb"]), "workers_peak_rss_mb": round(imp["children_peak_rss_mb"]),
        "load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
        "counts": {k: r[k] for k in ("rows_read", "imported", "rejected", "duplicates", "dnc")},
        "reconciles": r["rows_read"] == r["imported"] + r["rejected"] + r["duplicates"] + r["dnc"],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for k, v in report.items():
        print(f"{k:>18}: {v}")


if __name__ == "__main__":
    main()
