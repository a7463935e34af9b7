"""The pure part of an import, row by row: cells → lead fields, or a rejection reason.

:func:`transform` is the reference: the import runs :func:`lists.columnar.transform_columns`,
which gives the same results over whole columns (a property test compares them). No database
and no shared state beyond caches, so chunks can also be transformed in worker processes
(:class:`TransformPool`, ``--workers N``). De-duplication and DNC need the whole import's
state and stay in the importing process.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from json.encoder import encode_basestring as _json_str  # C-accelerated, keeps non-ASCII
from typing import TYPE_CHECKING

from lists.columns import ColumnMap
from lists.phones import Normaliser, country_to_region
from lists.reader import can_fork
from lists.timezones import lead_zones

if TYPE_CHECKING:
    import pandas as pd

    from lists.columnar import Transformed

FAMILY_NAME_FIRST = {"HU", "JP", "CN", "KR", "TW", "VN"}
BLANK = "blank"

# A transformed row: (index in chunk, phone or None, reason or alternates, record or None).
# The record is the lead's insert tuple (RECORD_FIELDS), ready for executemany / COPY.
Row = tuple[int, str | None, object, tuple | None]
RECORD_FIELDS = ("phone", "alt_phones", "first_name", "last_name", "state", "postal_code", "country",
                 "timezones", "external_id", "custom", "source_row")


def split_name(full: str, region: str | None) -> tuple[str, str]:
    """``"Szabó Péter"`` (HU) → ``("Péter", "Szabó")``; ``"Mary O'Neil"`` → ``("Mary", "O'Neil")``."""
    parts = full.split()
    if len(parts) < 2:
        return full.strip(), ""
    if region in FAMILY_NAME_FIRST:
        return " ".join(parts[1:]), parts[0]
    return " ".join(parts[:-1]), parts[-1]


@dataclass(frozen=True)
class Spec:
    """What the transform needs to know about the file (picklable)."""

    columns: tuple[str, ...]
    cmap: ColumnMap
    region: str | None


_NORM = Normaliser()
_REGIONS: dict[tuple[str, str | None], str | None] = {}


def _region_of(country: str, default: str | None) -> str | None:
    key = (country, default)
    r = _REGIONS.get(key, 0)
    if r == 0:
        r = _REGIONS[key] = country_to_region(country) or default
    return r


def transform(spec: Spec, cols: list[list[str]], rownums: list[int]) -> list[Row]:
    """Transform one chunk given as column lists (all strings) and the rows' numbers."""
    columns = spec.columns
    idx = {c: i for i, c in enumerate(columns)}
    f = spec.cmap.fields
    phone_ix = [idx[c] for c in spec.cmap.phones]
    get = {k: idx[c] for k, c in f.items()}
    country_i, state_i, postal_i = get.get("country"), get.get("state"), get.get("postal_code")
    tz_i, first_i, last_i, name_i = get.get("timezone"), get.get("first_name"), get.get("last_name"), get.get("name")
    ext_i = get.get("external_id")
    custom = [(_json_str(c) + ": ", idx[c]) for c in spec.cmap.custom]
    norm, default = _NORM, spec.region
    out: list[Row] = []
    for i, cells in enumerate(zip(*cols, strict=True)):
        primary = None
        alts: list[str] = []
        reason = None
        region = _region_of(cells[country_i], default) if country_i is not None else default
        zones: tuple[str, ...] = ()
        num_region = None
        for pi in phone_ix:
            raw = cells[pi]
            if not raw or raw.isspace():
                continue
            n = norm(raw, region)
            if n.e164 is None:
                if reason is None:
                    reason = n.reason
            elif primary is None:
                primary, zones, num_region = n.e164, n.zones, n.region
            elif n.e164 != primary and n.e164 not in alts:
                alts.append(n.e164)
        if primary is None:
            if reason is None:
                reason = "no_phone" if any(c and not c.isspace() for c in cells) else BLANK
            out.append((i, None, reason, None))
            continue
        state = cells[state_i].strip() if state_i is not None else ""
        postal = cells[postal_i].strip() if postal_i is not None else ""
        tz = lead_zones(cells[tz_i].strip() if tz_i is not None else "", zones, num_region, state, postal)
        first = cells[first_i].strip() if first_i is not None else ""
        last = cells[last_i].strip() if last_i is not None else ""
        extra = [k + _json_str(cells[j]) for k, j in custom if cells[j]]
        if name_i is not None and cells[name_i].strip():
            if not first and not last:
                first, last = split_name(cells[name_i], num_region)
            else:
                extra.append(_json_str(columns[name_i]) + ": " + _json_str(cells[name_i]))
        country = num_region if num_region and num_region != "001" else region
        ext = cells[ext_i].strip() if ext_i is not None else ""
        out.append((i, primary, alts, (
            primary, '["' + '", "'.join(alts) + '"]' if alts else "[]", first or None, last or None,
            state or None, postal or None, country, tz, ext or None,
            "{" + ", ".join(extra) + "}" if extra else "{}", rownums[i],
        )))
    return out


class TransformPool:
    """Runs :func:`lists.columnar.transform_columns` on chunks in worker processes, results in order, a few chunks ahead."""

    def __init__(self, spec: Spec, workers: int | None = None) -> None:
        self.spec = spec
        n = workers or min(2, os.cpu_count() or 1)
        self.ahead = n + 1
        # fork: workers start in milliseconds with everything imported, and nothing re-runs the
        # caller's __main__. Create the pool before any thread or database connection is in use.
        ctx = multiprocessing.get_context("fork" if can_fork() else "spawn")
        self.pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=gc.disable)
        self.pool.submit(int).result()  # start the workers now

    def map(self, chunks: Iterable[tuple[object, pd.DataFrame, list[int]]]) -> Iterator[tuple[object, Transformed]]:
        """``(tag, frame, row numbers)`` in → ``(tag, transformed)`` out, in the same order."""
        from lists.columnar import transform_columns

        pending: deque[tuple[object, Future]] = deque()
        for tag, frame, rownums in chunks:
            pending.append((tag, self.pool.submit(transform_columns, self.spec, frame, rownums, lists=False)))
            if len(pending) >= self.ahead:
                t, fut = pending.popleft()
                yield t, fut.result().materialised()
        while pending:
            t, fut = pending.popleft()
            yield t, fut.result().materialised()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
