"""``dialer lists import``: a lead file into a list, every row accounted for.

Pipeline per chunk of records: skip blank records → normalise phone columns (first valid number
is the lead's phone, the others alternates) → DNC → de-duplicate → time zones → bulk insert.
Rows not imported go to the rejects CSV with their original cells plus ``row`` and ``reason``.
The whole import is one transaction: an unreadable file or any failure leaves nothing behind.

Invariant: ``rows_read == imported + rejected + duplicates + dnc``.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from dialer.errors import InputError
from lists import store
from lists.columns import ColumnMap, map_columns
from lists.csvsafe import safe_row
from lists.dnc import dnc_set
from lists.models import ImportRun, Lead, LeadList
from lists.phones import Normaliser, country_to_region
from lists.reader import Chunk, FileFormat, read_chunks, sniff
from lists.timezones import lead_zones

DEDUPE_SCOPES = ("file", "list", "campaign", "all")
FAMILY_NAME_FIRST = {"HU", "JP", "CN", "KR", "TW", "VN"}
LEAD_COLUMNS = ("list_id", "phone", "alt_phones", "first_name", "last_name", "state", "postal_code",
                "country", "timezones", "external_id", "custom", "source_row")


@dataclass
class ImportOptions:
    list_name: str
    campaign: str | None = None
    region: str | None = None
    overrides: dict[str, list[str]] = field(default_factory=dict)
    dedupe: str = "campaign"
    delimiter: str | None = None
    encoding: str | None = None
    dry_run: bool = False
    rejects: Path | None = None
    chunksize: int = 50_000


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "list": self.list_name, "rows_read": self.rows_read,
            "imported": self.imported, "rejected": self.rejected, "duplicates": self.duplicates,
            "dnc": self.dnc, "rejected_file": self.rejected_file, "reasons": dict(sorted(self.reasons.items())),
            "not_imported": dict(sorted(self.not_imported.items())), "blank_rows": self.blank_rows,
            "dry_run": self.dry_run, "encoding": self.encoding,
            "delimiter": self.delimiter, "columns": self.columns,
        }


def split_name(full: str, region: str | None) -> tuple[str, str]:
    """``"Szabó Péter"`` (HU) → ``("Péter", "Szabó")``; ``"Mary O'Neil"`` → ``("Mary", "O'Neil")``."""
    parts = full.split()
    if len(parts) < 2:
        return full.strip(), ""
    if region in FAMILY_NAME_FIRST:
        return " ".join(parts[1:]), parts[0]
    return " ".join(parts[:-1]), parts[-1]


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

    def commit(self) -> None:
        self.fh.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.fh.close()
        self.tmp.unlink(missing_ok=True)


def _existing_numbers(conn: Connection, scope: str, list_id: int | None, campaign_id: int | None) -> set[str]:
    leads, ll = Lead.__table__, LeadList.__table__
    if scope == "file":
        return set()
    if scope == "campaign" and campaign_id is not None:
        q = select(leads.c.phone).join(ll, ll.c.id == leads.c.list_id).where(ll.c.campaign_id == campaign_id)
    elif scope == "all":
        q = select(leads.c.phone)
    else:  # "list", or "campaign" for a list without a campaign
        if list_id is None:
            return set()
        q = select(leads.c.phone).where(leads.c.list_id == list_id)
    return set(conn.execute(q).scalars())


def _bulk_insert(conn: Connection, rows: list[tuple]) -> None:
    if not rows:
        return
    cols = ", ".join(LEAD_COLUMNS)
    if conn.dialect.name == "postgresql":
        cur = conn.connection.driver_connection.cursor()
        with cur.copy(f"COPY leads ({cols}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        return
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.executemany(f"INSERT INTO leads ({cols}) VALUES ({', '.join('?' * len(LEAD_COLUMNS))})", rows)
    finally:
        cur.close()


class _Processor:
    """Turns chunks into lead rows and rejects; holds the de-dup and DNC sets and the caches."""

    def __init__(self, fmt: FileFormat, cmap: ColumnMap, region: str | None, seen: set[str], blocked: set[str],
                 result: ImportResult, rejects: _Rejects, dedupe_reason: str) -> None:
        self.fmt, self.cmap, self.region = fmt, cmap, region
        self.seen, self.blocked, self.result, self.rejects = seen, blocked, result, rejects
        self.dedupe_reason = dedupe_reason
        self.norm = Normaliser()
        self.regions: dict[str, str | None] = {}
        self.list_id = 0
        self.in_file: set[str] = set()

    def _region(self, country: str) -> str | None:
        r = self.regions.get(country, 0)
        if r == 0:
            r = self.regions[country] = country_to_region(country) or self.region
        return r

    def process(self, chunk: Chunk) -> list[tuple]:
        res, rej = self.result, self.rejects
        frame = chunk.frame
        columns = list(frame.columns)
        for line, message in chunk.malformed:
            res.rows_read += 1
            res.rejected += 1
            res.reasons["malformed_row"] += 1
            res.not_imported["malformed_row"] += 1
            rej.write([""] * len(columns), line, f"malformed_row: {message}")
        idx = {c: i for i, c in enumerate(columns)}
        f = self.cmap.fields
        phone_ix = [idx[c] for c in self.cmap.phones]
        get = {k: idx[c] for k, c in f.items()}
        country_i, state_i, postal_i = get.get("country"), get.get("state"), get.get("postal_code")
        tz_i, first_i, last_i, name_i = get.get("timezone"), get.get("first_name"), get.get("last_name"), get.get("name")
        ext_i = get.get("external_id")
        custom = [(c, idx[c]) for c in self.cmap.custom]
        norm, seen, blocked, dumps = self.norm, self.seen, self.blocked, json.dumps
        region_default = self.region
        out: list[tuple] = []
        values = list(zip(*(frame[c].tolist() for c in columns), strict=True)) if columns else []
        for rownum, cells in zip(chunk.rows, values, strict=True):
            primary = None
            alts: list[str] = []
            first_reason = None
            region = self._region(cells[country_i]) if country_i is not None else region_default
            zones: tuple[str, ...] = ()
            num_region = None
            for pi in phone_ix:
                raw = cells[pi]
                if not raw or raw.isspace():
                    continue
                n = norm(raw, region)
                if n.e164 is None:
                    if first_reason is None:
                        first_reason = n.reason
                elif primary is None:
                    primary, zones, num_region = n.e164, n.zones, n.region
                elif n.e164 != primary and n.e164 not in alts and n.e164 not in blocked:
                    alts.append(n.e164)
            if primary is None:
                if first_reason is None:
                    if not any(c and not c.isspace() for c in cells):
                        res.blank_rows += 1
                        continue
                    first_reason = "no_phone"
                res.rows_read += 1
                res.rejected += 1
                res.reasons[first_reason] += 1
                res.not_imported[first_reason] += 1
                rej.write(cells, rownum, first_reason)
                continue
            res.rows_read += 1
            if primary in blocked:
                res.dnc += 1
                res.not_imported["dnc"] += 1
                rej.write(cells, rownum, "dnc")
                continue
            if primary in seen:
                res.duplicates += 1
                reason = "duplicate_in_file" if primary in self.in_file else self.dedupe_reason
                res.not_imported[reason] += 1
                rej.write(cells, rownum, reason)
                continue
            seen.add(primary)
            self.in_file.add(primary)
            state = cells[state_i].strip() if state_i is not None else ""
            postal = cells[postal_i].strip() if postal_i is not None else ""
            tz = lead_zones(cells[tz_i].strip() if tz_i is not None else "", zones, num_region, state, postal)
            first = cells[first_i].strip() if first_i is not None else ""
            last = cells[last_i].strip() if last_i is not None else ""
            extra = {c: cells[i] for c, i in custom if cells[i]}
            if name_i is not None and cells[name_i].strip():
                if not first and not last:
                    first, last = split_name(cells[name_i], num_region)
                else:
                    extra[columns[name_i]] = cells[name_i]
            country = num_region if num_region and num_region != "001" else region
            out.append((
                self.list_id, primary, dumps(alts) if alts else "[]", first or None, last or None,
                state or None, postal or None, country, tz,
                cells[ext_i].strip() or None if ext_i is not None else None,
                dumps(extra, ensure_ascii=False) if extra else "{}", rownum,
            ))
        res.imported += len(out)
        return out


def _default_rejects(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejected.csv")


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
    fmt = sniff(path, options.encoding, options.delimiter)
    chunks = read_chunks(fmt, options.chunksize)
    first = next(chunks, None)
    columns = list(first.frame.columns) if first is not None else fmt.header
    cmap = map_columns(columns, options.overrides)
    if not cmap.phones:
        raise InputError(f"{path}: no phone column found (columns: {', '.join(columns)}); use --map phone=COLUMN")
    result = ImportResult(file=str(path), list_name=options.list_name, dry_run=options.dry_run,
                          encoding=fmt.encoding, delimiter=fmt.delimiter, columns=cmap.as_dict())
    rejects_path = options.rejects or _default_rejects(path)
    started = datetime.now(UTC)
    rejects = _Rejects(rejects_path, columns, fmt.delimiter)
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                campaign_id = store.find_campaign(conn, options.campaign) if options.campaign else None
                lst = store.find_list(conn, options.list_name)
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
                if list_id is None and not options.dry_run:
                    list_id = store.create_list(conn, options.list_name, campaign_id, str(path))
                scope = options.dedupe if options.dedupe != "campaign" or campaign_id is not None else "list"
                proc = _Processor(fmt, cmap, region, seen, blocked, result, rejects, f"duplicate_in_{scope}")
                proc.list_id = list_id or 0
                chunk = first
                while chunk is not None:
                    rows = proc.process(chunk)
                    if not options.dry_run:
                        _bulk_insert(conn, rows)
                    if progress is not None:
                        progress(len(chunk.rows) + len(chunk.malformed))
                    chunk = next(chunks, None)
                if rejects.count:
                    result.rejected_file = str(rejects_path)
                if not options.dry_run:
                    conn.execute(ImportRun.__table__.insert().values(
                        list_id=list_id, file=str(path), started_at=started, finished_at=datetime.now(UTC),
                        rows_read=result.rows_read, imported=result.imported, rejected=result.rejected,
                        duplicates=result.duplicates, dnc=result.dnc, reasons=dict(result.not_imported),
                        rejected_file=result.rejected_file, dry_run=False,
                    ))
                    trans.commit()
                else:
                    trans.rollback()
            except BaseException:
                trans.rollback()
                raise
    except BaseException:
        rejects.abort()
        raise
    if rejects.count:
        rejects.commit()
    else:
        rejects.abort()
    return result
