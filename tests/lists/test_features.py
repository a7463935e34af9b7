"""Import features beyond the samples: alternates, DNC CSV files, explicit zones, --map, export."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from dialer.errors import InputError
from lists import dnc
from lists.columns import parse_overrides
from lists.export import export_list
from lists.importer import ImportOptions, import_file
from lists.models import Lead


def _leads(engine: Engine) -> dict[int, object]:
    with engine.connect() as conn:
        return {r.source_row: r for r in conn.execute(select(Lead.__table__))}


def test_alternates_zones_and_dnc_csv(engine: Engine, tmp_path: Path) -> None:
    dnc_csv = tmp_path / "dnc.csv"
    dnc_csv.write_text("Phone Number;Reason\n+1 917 555 0199;asked\n(206) 555-0110;asked\n", encoding="utf-8")
    with engine.begin() as conn:
        result = dnc.import_file(conn, dnc_csv, region="US")
        assert (result.read, result.added) == (2, 2)
        assert dnc.dnc_set(conn) == {"+19175550199", "+12065550110"}
    leads = tmp_path / "leads.tsv"
    leads.write_text(
        "Home Phone\tCell\tWork Phone\tTime Zone\tFull Name\tState\n"
        "212 555 0143\t+1 917 555 0199\t(312) 555-0101\t\tMary Ann Smith\tNY\n"  # DNC'd cell dropped
        "bad\t+1 808 555 0123\t\tEurope/Paris\tPat Brown\tHI\n"               # first valid is primary
        "(206) 555-0110\t312-555-0102\t\t\tLee Park\tWA\n",                       # primary DNC'd: row DNC
        encoding="utf-8")
    result = import_file(engine, leads, ImportOptions("alts", region="US"))
    assert (result.imported, result.dnc, result.rejected) == (2, 1, 0)
    rows = _leads(engine)
    assert (rows[2].phone, rows[2].alt_phones, rows[2].first_name, rows[2].last_name) == (
        "+12125550143", ["+13125550101"], "Mary Ann", "Smith")
    assert (rows[3].phone, rows[3].alt_phones, rows[3].timezones) == ("+18085550123", [], "Europe/Paris")
    out = tmp_path / "out.csv"
    with engine.connect() as conn:
        assert export_list(conn, "alts", out) == 2
    with out.open(encoding="utf-8-sig", newline="") as fh:
        exported = list(csv.DictReader(fh))
    assert [r["phone"] for r in exported] == ["'+12125550143", "'+18085550123"]
    assert exported[0]["alt_phones"] == "'+13125550101" and exported[0]["status"] == "new"  # neutralised
    # an exported file imports again: the leading apostrophe is not part of the number
    again = import_file(engine, out, ImportOptions("again", region="US", dedupe="list"))
    assert again.imported == 2


def test_map_overrides_and_country_column(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Kontakt|Land|Kunde\n030 1234567|DE|K1\n0171 2345678|Germany|K2\n06 30 123 4567|HU|K3\n")
    result = import_file(engine, path, ImportOptions(
        "odd", overrides=parse_overrides(["phone=Kontakt", "country=Land", "external_id=Kunde"])))
    assert result.imported == 3 and result.delimiter == "|"
    rows = _leads(engine)
    assert [(r.phone, r.country, r.external_id) for r in rows.values()] == [
        ("+49301234567", "DE", "K1"), ("+491712345678", "DE", "K2"), ("+36301234567", "HU", "K3")]


def test_no_region_rejects_national_numbers(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "noregion.csv"
    path.write_text("phone\n2125550143\n+12125550144\n")
    with pytest.raises(InputError, match="1 numbers have no country code and no region is set"):
        import_file(engine, path, ImportOptions("nr"))
    result = import_file(engine, path, ImportOptions("nr", region="US"))
    assert result.imported == 2


def test_worker_processes_give_the_same_result(sqlite_engine: Engine, tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks.gen_leads import generate

    path = generate(tmp_path / "gen.csv", 3000, seed=7)
    one = import_file(sqlite_engine, path, ImportOptions("one", region="US", workers=0, chunksize=700, dedupe="list"))
    two = import_file(sqlite_engine, path, ImportOptions("two", region="US", workers=2, chunksize=700, dedupe="list",
                                                         rejects=tmp_path / "two.csv"))
    a, b = one.as_dict(), two.as_dict()
    for key in ("file", "list", "rejected_file"):
        a.pop(key), b.pop(key)
    assert a == b and one.imported > 2500
    assert one.rows_read == one.imported + one.rejected + one.duplicates + one.dnc == 3000
    with sqlite_engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT l.name, phone, alt_phones, first_name, timezones, custom, source_row FROM leads "
            "JOIN lead_lists l ON l.id = list_id ORDER BY source_row, l.name").all()
    by_list = {"one": [r[1:] for r in rows if r[0] == "one"], "two": [r[1:] for r in rows if r[0] == "two"]}
    assert by_list["one"] == by_list["two"]
