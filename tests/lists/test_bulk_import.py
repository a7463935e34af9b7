"""Imports over several chunks: every pipeline (inline, helper thread) stores the same leads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from dialer.errors import InputError
from lists import importer
from lists.importer import ImportOptions, import_file
from lists.models import Lead, LeadList
from lists.reader import read_chunks, read_chunks_in_process, sniff


def _write(path: Path, rows: int) -> None:
    lines = ["Customer ID,First Name,Last Name,Phone Number,Mobile,State,Zip,Country,Notes"]
    for i in range(rows):
        phone = f"(212) 555-{i % 10000:04d}" if i % 7 else f"+1 206 555 {i % 10000:04d}"
        mobile = f"312-555-{(i * 3) % 10000:04d}" if i % 3 == 0 else ""
        if i % 11 == 5:
            phone = "n/a"  # rejected (the mobile, if any, becomes the phone)
        if i % 13 == 6:
            phone = f"(212) 555-{(i - 1) % 10000:04d}"  # duplicate of the row before
        note = '"said ""call me""\nlater"' if i % 17 == 0 else "plain"
        lines.append(f"C-{i},Ann,Lee,{phone},{mobile},NY,10012,US,{note}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("workers", [None, 0])
def test_multi_chunk_import_stores_every_accepted_row(sqlite_engine: Engine, tmp_path: Path,
                                                      workers: int | None) -> None:
    path = tmp_path / "leads.csv"
    _write(path, 537)
    result = import_file(sqlite_engine, path, ImportOptions("bulk", region="US", chunksize=100, workers=workers))
    assert result.rows_read == 537
    assert result.rows_read == result.imported + result.rejected + result.duplicates + result.dnc
    with sqlite_engine.connect() as conn:
        list_id = conn.execute(select(LeadList.id).where(LeadList.name == "bulk")).scalar_one()
        leads = conn.execute(select(Lead.__table__).where(Lead.list_id == list_id).order_by(Lead.id)).all()
    assert len(leads) == result.imported
    assert len({r.phone for r in leads}) == len(leads)
    by_row = {r.source_row: r for r in leads}
    first = by_row[2]  # row 2 = i 0: +1 206 ..., mobile 312-555-0000, a quoted multi-line note
    assert (first.phone, first.alt_phones, first.external_id) == ("+12065550000", ["+13125550000"], "C-0")
    assert first.custom == {"Notes": 'said "call me"\nlater'}
    assert first.timezones == "America/Los_Angeles America/New_York"  # a Seattle number, a NY address
    assert [r.source_row for r in leads] == sorted(r.source_row for r in leads)  # inserted in file order


def test_multi_chunk_pipelines_agree(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    _write(path, 321)
    stored = []
    for name, workers in (("inline", 0), ("thread", None), ("processes", 2)):
        import_file(sqlite_engine, path, ImportOptions(name, region="US", chunksize=64, workers=workers,
                                                       dedupe="list"))
        with sqlite_engine.connect() as conn:
            list_id = conn.execute(select(LeadList.id).where(LeadList.name == name)).scalar_one()
            rows = conn.execute(select(Lead.phone, Lead.alt_phones, Lead.custom, Lead.source_row, Lead.timezones)
                                .where(Lead.list_id == list_id).order_by(Lead.id)).all()
        stored.append([(r.phone, json.dumps(r.alt_phones), json.dumps(r.custom), r.source_row, r.timezones)
                       for r in rows])
    assert stored[0] == stored[1] == stored[2] and len(stored[0]) > 250


def _chunks(reader, fmt) -> list:
    return [(ch.rows, ch.malformed, list(ch.frame.columns), ch.frame.to_numpy(dtype=object).tolist())
            for ch in reader(fmt, 3)]


def test_reader_process_gives_the_same_chunks(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text('phone,name,note\n+12125550143,Ann,"two\nlines"\n\n+12125550144,Bob,x,extra\n'
                    '+12125550145,Cy,\n,,\n+12125550146,"Di, Jr",y\n+12125550147,Ed,z\n', encoding="utf-8")
    fmt = sniff(path)
    assert _chunks(read_chunks_in_process, fmt) == _chunks(read_chunks, fmt)


def test_reader_process_raises_the_readers_error(sqlite_engine: Engine, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "late.csv"
    good = "".join(f"+1212555{i:04d},Ann\n" for i in range(70000))  # past the sniffed sample (1 MiB)
    path.write_bytes(b"phone,name\n" + good.encode() + b"+12125550000,\xff\xfe\xfa\n")
    monkeypatch.setattr(importer, "PROCESSES_MIN_ROWS", 0)
    with pytest.raises(InputError, match="cannot decode"):
        import_file(sqlite_engine, path, ImportOptions("late", region="US", chunksize=5000))
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM leads").scalar() == 0
    assert not list(tmp_path.glob("*.rejected.csv*"))


def test_import_with_a_reader_process(sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "leads.csv"
    _write(path, 400)
    inline = import_file(sqlite_engine, path, ImportOptions("inline", region="US", chunksize=64, workers=0,
                                                            dedupe="list"))
    monkeypatch.setattr(importer, "PROCESSES_MIN_ROWS", 0)
    forked = import_file(sqlite_engine, path, ImportOptions("forked", region="US", chunksize=64, dedupe="list"))
    assert forked.rejected_file == str(tmp_path / "leads.rejected-2.csv")  # the first one is kept
    assert forked.as_dict() | {"list": "inline", "rejected_file": inline.rejected_file} == inline.as_dict()
    assert Path(forked.rejected_file).read_bytes() == Path(inline.rejected_file).read_bytes()


def _indexes(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'leads' ORDER BY name").all()


def test_bulk_import_rebuilds_the_indexes_exactly(sqlite_engine: Engine, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Large imports drop the leads indexes (but the ones on constant columns) and rebuild them;
    a failed one leaves them as they were."""
    monkeypatch.setattr(importer, "BULK_MIN_ROWS", 0)
    before = _indexes(sqlite_engine)
    assert {"ix_leads_phone", "ix_leads_claim", "ix_leads_list_id"} <= {n for n, _s in before}
    path = tmp_path / "leads.csv"
    _write(path, 300)
    result = import_file(sqlite_engine, path, ImportOptions("bulk", region="US", chunksize=64))
    assert _indexes(sqlite_engine) == before
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        by_phone = conn.exec_driver_sql(
            "SELECT count(*) FROM leads INDEXED BY ix_leads_phone WHERE phone = '+12065550000'").scalar()
        assert by_phone == 1 and result.imported > 250
    bad = tmp_path / "late.csv"
    good = "".join(f"+1312555{i:04d},Ann\n" for i in range(30000))
    bad.write_bytes(b"phone,name\n" + good.encode() + b"+13125550000,\xff\xfe\xfa\n")
    with pytest.raises(InputError):
        import_file(sqlite_engine, bad, ImportOptions("late", region="US", chunksize=5000, encoding="utf-8"))
    assert _indexes(sqlite_engine) == before
