"""The cost of a consent column in ``dialer lists import``, as a ratio to the same file without it.

    .venv/bin/python benchmarks/consent_import_bench.py [--rows 200000] [--repeat 3] [--json]

Writes ``benchmarks/data/consent-<rows>.csv`` (``gen_leads`` rows, seed 42) and the same rows
plus ``consent`` (yes / no / opt-out / an ISO date / empty) and ``consent_at`` columns, then
imports each into a fresh SQLite database (``--region US``), alternating, each import in its
own child process; reports the medians, the ratio and the ledger entries written.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DATA = Path(__file__).parent / "data"


def _files(rows: int) -> tuple[Path, Path]:
    from benchmarks.gen_leads import generate

    plain, with_consent = DATA / f"consent-{rows}-plain.csv", DATA / f"consent-{rows}.csv"
    if not plain.exists():
        generate(plain, rows)
    if not with_consent.exists():
        frame = pd.read_csv(plain, dtype=str, keep_default_na=False)
        rng = np.random.default_rng(42)
        values = np.array(["yes", "no", "opt-out", "2025-11-03", "", "Y"], object)
        frame["consent"] = values[rng.integers(0, len(values), len(frame))]
        frame["consent_at"] = np.where(rng.random(len(frame)) < 0.3, "2026-01-15T10:00:00Z", "")
        frame.to_csv(with_consent, index=False)
    return plain, with_consent


def _import(path: str, db: str, out: mp.Queue) -> None:
    from dialer.db import open_engine
    from lists.importer import ImportOptions, import_file

    engine = open_engine(f"sqlite:///{db}")
    t = time.perf_counter()
    res = import_file(engine, path, ImportOptions(list_name="bench", region="US",
                                                  rejects=Path(db).with_suffix(".rejected.csv")))
    out.put({"seconds": time.perf_counter() - t, "imported": res.imported, "rejected": res.rejected,
             "consent_given": res.consent_given, "consent_revoked": res.consent_revoked})


def _timed(path: Path) -> dict:
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    with tempfile.TemporaryDirectory() as tmp:
        p = ctx.Process(target=_import, args=(str(path), str(Path(tmp) / "b.db"), q))
        p.start()
        result = q.get()
        p.join()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    plain, with_consent = _files(args.rows)
    runs: dict[str, list[dict]] = {"plain": [], "consent": []}
    for _ in range(args.repeat):
        runs["plain"].append(_timed(plain))
        runs["consent"].append(_timed(with_consent))
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    summary = {"rows": args.rows, "repeat": args.repeat, "plain_s": round(med["plain"], 2),
               "consent_s": round(med["consent"], 2), "ratio": round(med["consent"] / med["plain"], 3),
               "plain_runs": [round(r["seconds"], 2) for r in runs["plain"]],
               "consent_runs": [round(r["seconds"], 2) for r in runs["consent"]],
               "last": runs["consent"][-1]}
    print(json.dumps(summary, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
