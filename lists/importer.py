"""``dialer lists import``: a lead file into a list, every row accounted for.

Pipeline per chunk of records: read (a forked reader process for large files) → transform the
whole chunk at once (:func:`lists.columnar.transform_columns`: phone columns, time zones, names,
custom fields; in a worker process for large files, else on a helper thread) → DNC,
de-duplication, counts and the rejects file (this thread) → bulk insert (a writer thread; 50
rows per statement on SQLite, ``COPY`` on PostgreSQL).
Rows not imported go to the rejects CSV with their original cells plus ``row`` and ``reason``.
A consent column (:mod:`lists.import_consent`) adds each row's consent or revocation to the
consent ledger (rows with a number, imported or not); an unreadable consent cell rejects the row.
The whole import is one transaction: an unreadable file or any failure leaves nothing behind,
ledger entries included.

Invariant: ``rows_read == imported + rejected + duplicates + dnc``.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import queue
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, compress
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, select

from dialer.errors import InputError
from lists import store
from lists.columnar import Transformed, to_arrow, transform_columns
from lists.columns import map_columns
from lists.consent import release_held
from lists.csvsafe import safe_column, safe_row
from lists.dnc import dnc_set
from lists.import_consent import ConsentReader, find_columns
from lists.models import ImportRun, Lead, LeadList, consents
from lists.numberset import NumberSet, number_keys
from lists.phones import country_to_region
from lists.reader import Chunk, estimate_rows, read_chunks, read_chunks_in_process, sniff
from lists.record import BLANK, RECORD_FIELDS, Spec
from lists.transform_pool import TransformPool

DEDUPE_SCOPES = ("file", "list", "campaign", "all")
THREADED_WRITER = os.environ.get("DIALER_IMPORT_WRITER", "thread") == "thread"
PROCESSES_MIN_ROWS = 200_000  # automatic mode: files this large get a reader and a transform process
TRANSFORM_THREADS = 1  # a second one gained nothing measurable (the GIL-held parts serialise)
# SQLite: helper threads for the sorts that rebuild the indexes at the end of a large import,
# where nothing else runs (0.4-0.5 s less on 2 cores)
SQLITE_SORT_THREADS = min(4, os.cpu_count() or 1)
ROWS_PER_INSERT = 50  # SQLite: rows per INSERT statement (50 x 11 parameters)
BULK_MIN_ROWS = 100_000
# leads columns with one value for all the rows of an import (the list; status 'new'; not due)
CONSTANT_ON_IMPORT = frozenset({"list_id", "status", "next_call_at"})  # SQLite: drop and rebuild the lead indexes for imports this large


@dataclass
class ImportOptions:
    list_name: str
    #: The campaign the list belongs to (the caller resolves a name: ``campaigns.store.find_id``).
    campaign_id: int | None = None
    region: str | None = None
    overrides: dict[str, list[str]] = field(default_factory=dict)
    dedupe: str = "campaign"
    delimiter: str | None = None
    encoding: str | None = None
    dry_run: bool = False
    rejects: Path | None = None
    chunksize: int = 50_000
    # None: automatic (large files: a reader process and a transform process; others: the
    # transform on a helper thread); 0: everything in the calling thread (but the inserts);
    # N: the transform in N worker processes (and a reader process for large files)
    workers: int | None = None
    #: The consent column and its date column (None: auto-detected, see :mod:`lists.import_consent`).
    consent_column: str | None = None
    consent_date_column: str | None = None
    consent: bool = True  # False: no consent column, even one named like it (it stays a custom field)
    #: The ledger scope of the file's consent: ``"*"``, a seller's name or ``"campaign:NAME"``
    #: (the CLI's default: the campaign's seller, else ``"*"``).
    consent_scope: str = "*"


@dataclass
class ImportResult:
    file: str
    list_name: str
    rows_read: int = 0
    imported: int = 0
    rejected: int = 0
    duplicates: int = 0
    dnc: int = 0
    blank_rows: int = 0
    reasons: Counter = field(default_factory=Counter)  # rejection reasons only
    not_imported: Counter = field(default_factory=Counter)  # every reason, incl. duplicates and DNC
    rejected_file: str | None = None
    dry_run: bool = False
    encoding: str = ""
    delimiter: str = ""
    columns: dict[str, Any] = field(default_factory=dict)
    consent_column: str | None = None
    consent_scope: str | None = None
    consent_given: int = 0  # ledger entries recorded (or, in a dry run, that would be)
    consent_revoked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "list": self.list_name, "rows_read": self.rows_read,
            "imported": self.imported, "rejected": self.rejected, "duplicates": self.duplicates,
            "dnc": self.dnc, "rejected_file": self.rejected_file, "reasons": dict(sorted(self.reasons.items())),
            "not_imported": dict(sorted(self.not_imported.items())), "blank_rows": self.blank_rows,
            "dry_run": self.dry_run, "encoding": self.encoding,
            "delimiter": self.delimiter, "columns": self.columns,
            "consent_column": self.consent_column, "consent_scope": self.consent_scope,
            "consent_given": self.consent_given, "consent_revoked": self.consent_revoked,
        }


class _Rejects:
    """The rejects CSV: original cells + ``row`` + ``reason``, spreadsheet-safe, written to a temp file."""

    def __init__(self, path: Path, header: list[str], delimiter: str) -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".part")
        self.fh = self.tmp.open("w", newline="", encoding="utf-8-sig")
        self.writer = csv.writer(self.fh, delimiter=delimiter)
        self.writer.writerow(safe_row([*header, "row", "reason"]))
        self.count = 0

    def write(self, cells: list[str] | tuple[str, ...], row: int | str, reason: str) -> None:
        self.writer.writerow(safe_row([*cells, row, reason]))
        self.count += 1

    def write_rows(self, frame: pd.DataFrame, rows: list[int], reasons: list[str]) -> None:
        """Many rows at once: ``frame``'s cells made safe as whole columns (reasons are names)."""
        columns = [safe_column(to_arrow(frame.iloc[:, j])).to_pylist() for j in range(frame.shape[1])]
        self.writer.writerows(zip(*columns, rows, reasons, strict=True))
        self.count += len(rows)

    def commit(self) -> None:
        self.fh.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.fh.close()
        self.tmp.unlink(missing_ok=True)


def _existing_numbers(conn: Connection, scope: str, list_id: int | None, campaign_id: int | None) -> NumberSet:
    leads, ll = Lead.__table__, LeadList.__table__
    if scope == "file":
        return NumberSet()
    if scope == "campaign" and campaign_id is not None:
        q = select(leads.c.phone).join(ll, ll.c.id == leads.c.list_id).where(ll.c.campaign_id == campaign_id)
    elif scope == "all":
        q = select(leads.c.phone)
    else:  # "list", or "campaign" for a list without a campaign
        if list_id is None:
            return NumberSet()
        q = select(leads.c.phone).where(leads.c.list_id == list_id)
    return NumberSet.of(conn.execute(q.execution_options(yield_per=100_000)).scalars().partitions())


#: The ``consents`` columns an import writes (``created_at`` is the server's default).
CONSENT_FIELDS = ("phone", "scope", "kind", "at", "channel", "evidence", "source")


@dataclass
class _ConsentRows:
    """Consent-ledger entries (:data:`CONSENT_FIELDS` tuples) for the insert thread."""

    rows: list[tuple]


@contextmanager
def _cursor(conn: Connection) -> Iterator[Any]:
    """The driver's own cursor (sqlite3 or psycopg), closed after: the bulk paths bypass SQLAlchemy."""
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cur
    finally:
        cur.close()


def _copy(cur: Any, table: str, cols: Sequence[str], rows: Iterable[tuple]) -> None:
    """PostgreSQL's ``COPY ... FROM STDIN`` of ``rows`` (psycopg adapts each value)."""
    with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(r)


def _insert_consents(conn: Connection, rows: list[tuple]) -> None:
    """Insert ledger entries with the driver (``COPY`` on PostgreSQL): the times bound exactly as
    SQLAlchemy binds them (the column type's processor, once per distinct time): about half the
    time of ``conn.execute(insert(consents), dicts)`` (165 k entries, profiled)."""
    bind = consents.c.at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    if bind is not None:
        cache: dict[Any, Any] = {}
        at = CONSENT_FIELDS.index("at")
        rows = [(*r[:at], cache[r[at]] if r[at] in cache else cache.setdefault(r[at], bind(r[at])), *r[at + 1:])
                for r in rows]
    with _cursor(conn) as cur:
        if conn.dialect.name == "postgresql":
            _copy(cur, "consents", CONSENT_FIELDS, rows)
        else:
            cur.executemany(f"INSERT INTO consents ({', '.join(CONSENT_FIELDS)}) "
                            f"VALUES ({', '.join('?' * len(CONSENT_FIELDS))})", rows)
    kind = CONSENT_FIELDS.index("kind")
    release_held(conn, (r[0] for r in rows if r[kind] == "given"))  # their held leads due again at once


Batch = tuple[int, list[tuple]] | _ConsentRows


def _insert(conn: Connection, batch: Batch) -> None:
    if isinstance(batch, _ConsentRows):
        _insert_consents(conn, batch.rows)
    else:
        _bulk_insert(conn, batch)


def _bulk_insert(conn: Connection, batch: tuple[int, list[tuple]]) -> None:
    """Insert records (RECORD_FIELDS tuples) into list ``list_id``: executemany, or COPY on PostgreSQL."""
    list_id, records = batch
    if not records:
        return
    cols = ", ".join(RECORD_FIELDS)
    with _cursor(conn) as cur:
        if conn.dialect.name == "postgresql":
            _copy(cur, "leads", ("list_id", *RECORD_FIELDS), ((list_id, *r) for r in records))
        else:  # list_id is an int from the database: safe as a literal, one parameter less per row
            one = f"({int(list_id)}, {', '.join('?' * len(RECORD_FIELDS))})"
            # Several rows per statement: a fifth less CPU, and the GIL is handed back and forth
            # (around each statement's step) once per ROWS_PER_INSERT rows instead of every row.
            k = ROWS_PER_INSERT
            full = len(records) // k * k
            if full:
                many = f"INSERT INTO leads (list_id, {cols}) VALUES " + ", ".join([one] * k)
                cur.executemany(many, (list(chain.from_iterable(records[i:i + k])) for i in range(0, full, k)))
            if full < len(records):
                cur.executemany(f"INSERT INTO leads (list_id, {cols}) VALUES {one}", records[full:])


class _Writer:
    """Inserts batches on a background thread, so the database works while the next chunk is parsed.

    The drivers release the GIL while the database engine runs; the connection is only ever
    used by one thread at a time (the main thread waits in :meth:`close` before committing).
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.queue: queue.Queue[Batch | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="lead-insert", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (rows := self.queue.get()) is not None:
            if self.error is None:
                try:
                    _insert(self.conn, rows)
                except BaseException as exc:  # re-raised in the main thread
                    self.error = exc

    def put(self, batch: Batch) -> None:
        if self.error is not None:
            raise self.error
        if isinstance(batch, _ConsentRows) or batch[1]:
            self.queue.put(batch)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


class _Direct:
    """Inserts batches in the calling thread (same interface as :class:`_Writer`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def put(self, batch: Batch) -> None:
        _insert(self.conn, batch)

    def close(self) -> None:
        pass


class _Accounting:
    """Main-process side of a chunk: DNC, de-duplication, counts, rejects; returns rows to insert."""

    def __init__(self, existing: NumberSet, blocked: set[str], result: ImportResult, rejects: _Rejects,
                 dedupe_reason: str, list_id: int, consent: ConsentReader | None = None,
                 source: str = "") -> None:
        # numbers already in the de-duplication scope, and those plus the file's kept so far
        self.existing, self.seen = existing, existing.copy()
        self.blocked, self.blocked_keys = blocked, NumberSet.of([list(blocked)])
        self.result, self.rejects = result, rejects
        self.dedupe_reason = dedupe_reason
        self.list_id = list_id
        self.consent, self.source = consent, source
        #: the last chunk's consent-ledger entries (see :meth:`apply`)
        self.consent_rows: list[tuple] = []

    def apply(self, chunk: Chunk, t: Transformed) -> tuple[int, list[tuple]]:
        res, blocked, primary = self.result, self.blocked, t.primary
        width = chunk.frame.shape[1]
        for line, message, raw in chunk.malformed:  # the record's text whole, in the first cell
            self._not_imported(line, [raw] + [""] * (width - 1), "wrong_field_count", rejected=True, note=message)
        # Kept: the first row of each number neither seen before (in the scope or the file) nor
        # on a DNC list, found a chunk at a time; the other rows are then looked at one by one.
        keys = number_keys(primary, e164=True)
        verdicts = self.consent.read(chunk.frame) if self.consent is not None else None
        bad_consent = verdicts.error if verdicts is not None else {}
        if bad_consent:  # rejected: neither kept nor seen (a later row of the number may be)
            keys = keys.copy()
            keys[list(bad_consent)] = -1
        rows = np.flatnonzero(keys >= 0)
        uniq, first = np.unique(keys[rows], return_index=True)
        new = ~self.seen.contains(uniq) & ~self.blocked_keys.contains(uniq)
        self.seen.add(uniq[new])
        keep = np.zeros(len(keys), bool)
        keep[rows[first[new]]] = True
        rest = np.flatnonzero(~keep)
        on_dnc = self.blocked_keys.contains(keys[rest]).tolist()
        in_scope = self.existing.contains(keys[rest]).tolist()
        reasons, dedupe_reason = t.reason, self.dedupe_reason
        bad: list[tuple[int, str, bool]] = []  # (row index, reason, rejected)
        notes: dict[int, str] = {}
        for i, dnc, scoped in zip(rest.tolist(), on_dnc, in_scope, strict=True):
            if primary[i] is None:
                if reasons[i] == BLANK:
                    res.blank_rows += 1
                else:
                    bad.append((i, reasons[i], True))
            elif i in bad_consent:
                reason, notes[i] = bad_consent[i]
                bad.append((i, reason, True))
            elif dnc:
                bad.append((i, "dnc", False))
            else:  # a number kept before: already in the scope, or from this file
                bad.append((i, dedupe_reason if scoped else "duplicate_in_file", False))
        if bad:
            rownums = chunk.rows
            for _i, reason, rejected in bad:
                self._count(reason, rejected)
            self.rejects.write_rows(chunk.frame.take([i for i, _r, _x in bad]), [rownums[i] for i, _r, _x in bad],
                                    [f"{reason}: {notes[i]}" if i in notes else reason for i, reason, _x in bad])
        if blocked:  # drop alternates that are on a DNC list
            alt_json = t.records[1]
            for i, alts in t.alts.items():
                if keep[i] and not blocked.isdisjoint(alts):
                    alt_json[i] = json.dumps([a for a in alts if a not in blocked])
        if verdicts is not None:
            self._consent_entries(chunk, primary, verdicts.kind, verdicts.at)
        out = list(compress(zip(*t.records, strict=True), keep.tolist()))
        res.rows_read += len(out)
        res.imported += len(out)
        return self.list_id, out

    def _consent_entries(self, chunk: Chunk, primary: Any, kind: np.ndarray, at: np.ndarray) -> None:
        """The ledger entries of the chunk's rows with a number and a readable consent cell
        (imported, duplicates and DNC alike: what the file says of the number is kept)."""
        res, source = self.result, self.source
        scope = res.consent_scope or "*"
        entries = self.consent_rows = []
        for i in np.flatnonzero(np.not_equal(kind, None)).tolist():
            phone = primary[i]
            if phone is None:
                continue
            k = kind[i]
            entries.append((phone, scope, k, at[i], "import", f"{source} row {chunk.rows[i]}", source))
            if k == "given":
                res.consent_given += 1
            else:
                res.consent_revoked += 1

    def _not_imported(self, row: int, cells: list[str], reason: str, *, rejected: bool = False, note: str = "") -> None:
        self._count(reason, rejected)
        self.rejects.write(cells, row, f"{reason}: {note}" if note else reason)

    def _count(self, reason: str, rejected: bool) -> None:
        res = self.result
        res.rows_read += 1
        res.not_imported[reason] += 1
        if rejected:
            res.rejected += 1
            res.reasons[reason] += 1
        elif reason == "dnc":
            res.dnc += 1
        else:
            res.duplicates += 1


def _chain(first: Chunk | None, rest: Iterator[Chunk]) -> Iterator[Chunk]:
    if first is not None:
        yield first
        yield from rest


def _threaded(spec: Spec, chunks: Iterator[Chunk], ahead: int = 2) -> Iterator[tuple[Chunk, Transformed]]:
    """Transform chunks on a helper thread, ``ahead`` chunks ahead of the caller, in order.

    pyarrow's kernels release the GIL, so the transform overlaps with reading the next chunk
    and with the inserts.
    """
    with ThreadPoolExecutor(max_workers=TRANSFORM_THREADS, thread_name_prefix="lead-transform") as ex:
        pending: deque[tuple[Chunk, Future]] = deque()
        try:
            for ch in chunks:
                pending.append((ch, ex.submit(transform_columns, spec, ch.frame, ch.rows)))
                if len(pending) > ahead:
                    done, fut = pending.popleft()
                    yield done, fut.result()
            while pending:
                done, fut = pending.popleft()
                yield done, fut.result()
        finally:
            for _ch, fut in pending:
                fut.cancel()


def _large(path: Path) -> bool:
    """A file big enough for a reader process and a transform process (and a machine with cores)."""
    return (estimate_rows(path) or 0) >= PROCESSES_MIN_ROWS and (os.cpu_count() or 1) > 1


def _transform_processes(path: Path, options: ImportOptions) -> int:
    """Transform worker processes: as asked; automatically one for a large file, else none (a
    helper thread). One process beside the reader beat the helper thread by ~10 % on an idle
    2-core machine (the transform's Python part no longer shares the GIL with the inserts)."""
    if options.workers is not None:
        return options.workers
    return 1 if _large(path) else 0


def _drop_indexes_for_bulk(conn: Connection, path: Path) -> list[str]:
    """SQLite: for an import larger than the leads table, drop its indexes; returns their DDL.

    Building an index once, after the rows are in, is several times faster than a million
    random inserts into it (the phone index). Indexes on columns that are the same for every
    imported row (:data:`CONSTANT_ON_IMPORT`) are kept: the new entries are appended in id
    order, which costs less than rebuilding them and happens on the insert thread. The
    statements are SQLite's own stored DDL, so indexes added by later migrations come back
    exactly. Inside the import's transaction.
    """
    est = estimate_rows(path) or 0
    if est < BULK_MIN_ROWS:
        return []
    existing = conn.exec_driver_sql("SELECT max(id) FROM leads").scalar() or 0
    if existing > est:
        return []
    ddl = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'leads' AND sql IS NOT NULL"
    ).all()
    dropped = []
    for name, sql in ddl:
        cols = {r[2] for r in conn.exec_driver_sql(f'PRAGMA index_info("{name}")')}
        if cols and cols <= CONSTANT_ON_IMPORT:
            continue
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
        dropped.append(sql)
    return dropped


def no_region_error(path: Path | str, n: int) -> str:
    """The one-line error for national numbers read without a country to place them in."""
    return (f"{path}: {n} numbers have no country code and no region is set; nothing imported: "
            "give --region (e.g. --region US) or set default_region in the [lists] settings")


def _default_rejects(path: Path) -> Path:
    """``FILE.rejected.csv``, or the first of ``FILE.rejected-2.csv``, ``-3``, ... not there yet:
    an earlier import's rejects file (which ``lists show`` points at) is never overwritten."""
    candidate, n = path.with_name(f"{path.stem}.rejected.csv"), 1
    while candidate.exists() or candidate.with_name(candidate.name + ".part").exists():
        n += 1
        candidate = path.with_name(f"{path.stem}.rejected-{n}.csv")
    return candidate


def import_file(
    engine: Engine, path: Path | str, options: ImportOptions,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import ``path`` into the list ``options.list_name`` (created when missing)."""
    path = Path(path)
    if options.dedupe not in DEDUPE_SCOPES:
        raise InputError(f"--dedupe must be one of {', '.join(DEDUPE_SCOPES)}")
    region = options.region.upper() if options.region else None
    if region and country_to_region(region) != region:
        raise InputError(f"--region {options.region!r}: not a known ISO 3166 country code")
    fmt = sniff(path, options.encoding, options.delimiter, options.region)
    if options.workers != 0 and _large(path):
        chunks = read_chunks_in_process(fmt, options.chunksize)
    else:
        chunks = read_chunks(fmt, options.chunksize)
    try:
        first = next(chunks, None)
        columns = list(first.frame.columns) if first is not None else fmt.header
        cmap = map_columns(columns, options.overrides)
        if not cmap.phones:
            raise InputError(f"{path}: no phone column found (columns: {', '.join(columns)}); use --map phone=COLUMN")
        consent_col, consent_date_col = (find_columns(columns, options.consent_column, options.consent_date_column)
                                         if options.consent else (None, None))
        # recorded in the ledger, not copied into the leads' custom fields (where it would go stale)
        cmap.custom = [c for c in cmap.custom if c not in (consent_col, consent_date_col)]
        if consent_col is not None and not options.consent_scope.strip():
            raise InputError("--consent-scope must not be empty ('*' for every campaign)")
        result = ImportResult(file=str(path), list_name=options.list_name, dry_run=options.dry_run,
                              encoding=fmt.encoding, delimiter=fmt.delimiter, columns=cmap.as_dict())
        started = datetime.now(UTC)
        consent = None
        if consent_col is not None:
            consent = ConsentReader(consent_col, consent_date_col, started)
            result.consent_column, result.consent_scope = consent_col, options.consent_scope
            result.columns["consent"] = consent_col
            if consent_date_col is not None:
                result.columns["consent_at"] = consent_date_col
        rejects_path = options.rejects or _default_rejects(path)
        spec = Spec(tuple(columns), cmap, region)
        processes = _transform_processes(path, options)
        pool = TransformPool(spec, processes) if processes else None
        # Millions of small tuples, none of them cyclic: the cycle collector would only rescan them.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        rejects = _Rejects(rejects_path, columns, fmt.delimiter)
        try:
            with engine.connect() as conn:
                # SQLite keeps its default page cache (2 MB): pages spill to the WAL while the rows
                # stream in, on the insert thread, instead of all at the commit (a 256 MB cache
                # made the import slower and 0.2 GB larger)
                sqlite = conn.dialect.name == "sqlite"
                if sqlite:
                    conn.connection.driver_connection.execute(f"PRAGMA threads={SQLITE_SORT_THREADS}")
                trans = conn.begin()
                try:
                    campaign_id = options.campaign_id
                    lst = store.find_list(conn, options.list_name)
                    if lst is not None and lst["archived_at"] is not None:
                        raise InputError(f"list {options.list_name!r} is archived (kept for its call "
                                         "history): import into a new list")
                    if lst is not None:
                        if campaign_id is not None and lst["campaign_id"] not in (None, campaign_id):
                            raise InputError(f"list {options.list_name!r} belongs to another campaign")
                        if campaign_id is None:
                            campaign_id = lst["campaign_id"]
                        elif lst["campaign_id"] is None and not options.dry_run:
                            conn.execute(LeadList.__table__.update().where(LeadList.__table__.c.id == lst["id"])
                                         .values(campaign_id=campaign_id))
                    list_id = lst["id"] if lst else None
                    seen = _existing_numbers(conn, options.dedupe, list_id, campaign_id)
                    blocked = dnc_set(conn, campaign_id)
                    run_id = None
                    if not options.dry_run:
                        if list_id is None:
                            list_id = store.create_list(conn, options.list_name, campaign_id, str(path))
                        # Written first: on SQLite this opens the transaction before any DDL below.
                        run_id = conn.execute(ImportRun.__table__.insert().values(
                            list_id=list_id, file=str(path), started_at=started, reasons={},
                        )).inserted_primary_key[0]
                    scope = options.dedupe if options.dedupe != "campaign" or campaign_id is not None else "list"
                    acct = _Accounting(seen, blocked, result, rejects, f"duplicate_in_{scope}", list_id or 0,
                                       consent, path.name)
                    rebuild = _drop_indexes_for_bulk(conn, path) if sqlite and not options.dry_run else []
                    writer = None if options.dry_run else (_Writer(conn) if THREADED_WRITER else _Direct(conn))
                    try:
                        stream: Iterator[tuple[Chunk, Transformed]]
                        if pool is not None:
                            stream = pool.map((ch, ch.frame, ch.rows) for ch in _chain(first, chunks))
                        elif options.workers == 0:
                            stream = ((ch, transform_columns(spec, ch.frame, ch.rows)) for ch in _chain(first, chunks))
                        else:
                            stream = _threaded(spec, _chain(first, chunks))
                        for ch, transformed in stream:
                            out = acct.apply(ch, transformed)
                            if writer is not None:
                                writer.put(out)
                                if acct.consent_rows:
                                    writer.put(_ConsentRows(acct.consent_rows))
                            if progress is not None:
                                progress(len(ch.rows) + len(ch.malformed))
                    finally:
                        if writer is not None:
                            writer.close()
                    for sql in rebuild:
                        conn.exec_driver_sql(sql)
                    if result.rows_read == 0:
                        raise InputError(f"{path}: no data rows (only a header): nothing imported, "
                                         "no list created")
                    if result.reasons.get("no_region"):
                        raise InputError(no_region_error(path, result.reasons["no_region"]))
                    if rejects.count:
                        result.rejected_file = str(rejects_path)
                    if run_id is not None:
                        runs = ImportRun.__table__
                        conn.execute(runs.update().where(runs.c.id == run_id).values(
                            finished_at=datetime.now(UTC), rows_read=result.rows_read, imported=result.imported,
                            rejected=result.rejected, duplicates=result.duplicates, dnc=result.dnc,
                            reasons=dict(result.not_imported), rejected_file=result.rejected_file,
                        ))
                        trans.commit()
                    else:
                        trans.rollback()
                except BaseException:
                    trans.rollback()
                    raise
                finally:
                    if sqlite:
                        conn.connection.driver_connection.execute("PRAGMA threads=0")
        except BaseException:
            rejects.abort()
            raise
        finally:
            if gc_was_enabled:
                gc.enable()
            if pool is not None:
                pool.close()
        if rejects.count:
            rejects.commit()
        else:
            rejects.abort()
        return result
    finally:
        chunks.close()  # a reader process stops with it
