"""The shared sample files: the fate of every row, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from lists import dnc
from lists.importer import ImportOptions, import_file
from lists.models import ImportRun, Lead

RU_ZONES = ("Asia/Almaty Asia/Anadyr Asia/Aqtobe Asia/Irkutsk Asia/Kamchatka Asia/Krasnoyarsk "
            "Asia/Magadan Asia/Novosibirsk Asia/Omsk Asia/Sakhalin Asia/Vladivostok Asia/Yakutsk "
            "Asia/Yekaterinburg Europe/Bucharest Europe/Moscow Europe/Samara")

# crm-export.csv --region US, after dnc.txt: spreadsheet row → (external id, fate)
CRM_IMPORTED = {
    2: ("C-1001", "+12125550143", "America/New_York"),
    5: ("C-1004", "+966501234567", "Asia/Riyadh"),          # national SA number, country column SA
    6: ("C-1005", "+36301234567", "Europe/Budapest"),       # 06 trunk prefix, country column HU
    7: ("C-1006", "+79123456789", RU_ZONES),                # 8 trunk prefix; RU mobile: every zone
    12: ("C-1011", "+12065550110", "America/Los_Angeles"),  # formula name stored as is
    13: ("C-1012", "+18085550123", "Pacific/Honolulu"),     # Hawaii
    14: ("C-1013", "+16025550187", "America/Phoenix"),      # Arizona (no DST)
}
CRM_NOT_IMPORTED = {
    3: ("C-1002", "dnc"),                # 212.555.0178 is on dnc.txt (and so is its mobile)
    4: ("C-1003", "dnc"),                # +20 10 0123 4567
    8: ("C-1007", "duplicate_in_file"),  # 1.2125550143E10 repaired to +12125550143 = C-1001
    9: ("C-1008", "too_short"),          # 555-0100: no area code
    10: ("C-1009", "duplicate_in_file"),  # same number as C-1001
    11: ("C-1010", "no_phone"),
    15: ("C-1014", "dnc"),               # +44 20 7946 0958
    16: ("C-1015", "not_a_number"),      # abc-defg
}
HU_IMPORTED = {
    2: ("+3612345678", "Péter", "Szabó"),    # NEV is "family given": split the Hungarian way
    3: ("+36209876543", "Éva", "Tóth"),      # 06-20-... trunk prefix
    4: ("+36705551234", "Gábor", "Nagy"),    # 0036 international prefix
}
HU_NOT_IMPORTED = {5: "duplicate_in_file", 7: "too_short"}  # row 6 (;;;) is blank: not a row


def _load_dnc(engine: Engine, samples: Path) -> None:
    with engine.begin() as conn:
        result = dnc.import_file(conn, samples / "dnc.txt", region="US")
    assert (result.read, result.added, result.rejected) == (4, 4, 0)


def _rejects(path: Path) -> dict[int, dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        dialect = csv.Sniffer().sniff(fh.read(2048), delimiters=",;")
        fh.seek(0)
        return {int(r["row"]): r for r in csv.DictReader(fh, dialect=dialect)}


def test_crm_export_every_row(engine: Engine, samples: Path) -> None:
    _load_dnc(engine, samples)
    result = import_file(engine, samples / "crm-export.csv", ImportOptions("crm", region="US"))
    assert (result.rows_read, result.imported, result.rejected, result.duplicates, result.dnc) == (15, 7, 3, 2, 3)
    assert result.rows_read == result.imported + result.rejected + result.duplicates + result.dnc
    assert dict(result.reasons) == {"no_phone": 1, "not_a_number": 1, "too_short": 1}
    with engine.connect() as conn:
        leads = {r.source_row: r for r in conn.execute(select(Lead.__table__))}
        run = conn.execute(select(ImportRun.__table__)).one()
    assert {row: (lead.external_id, lead.phone, lead.timezones) for row, lead in leads.items()} == CRM_IMPORTED
    assert all(lead.status == "new" and lead.attempts == 0 and lead.alt_phones == [] for lead in leads.values())
    assert leads[2].custom == {"Current Plan": "Basic 20", "Notes": "prefers evenings"}
    assert (leads[2].first_name, leads[2].last_name, leads[2].state, leads[2].postal_code) == ("Mary", "O'Neil", "NY", "10001")
    assert leads[12].first_name == '=HYPERLINK("http://x")'
    assert {row: lead.country for row, lead in leads.items()} == {2: "US", 5: "SA", 6: "HU", 7: "RU", 12: "US", 13: "US", 14: "US"}
    assert (run.rows_read, run.imported, run.rejected, run.duplicates, run.dnc) == (15, 7, 3, 2, 3)
    rejects = _rejects(Path(result.rejected_file))
    assert Path(result.rejected_file) == samples / "crm-export.rejected.csv"
    assert {row: (r["Customer ID"], r["reason"]) for row, r in rejects.items()} == CRM_NOT_IMPORTED
    assert rejects[4]["Phone Number"] == "'+20 10 0123 4567"  # spreadsheet-safe


def test_hungarian_list_every_row(engine: Engine, samples: Path) -> None:
    _load_dnc(engine, samples)
    result = import_file(engine, samples / "purchased-list-hu.csv", ImportOptions("hu", region="HU"))
    assert (result.rows_read, result.imported, result.rejected, result.duplicates, result.dnc) == (5, 3, 1, 1, 0)
    assert result.blank_rows == 1 and result.encoding in ("cp1250", "iso8859_2", "cp1252", "latin_1")
    assert result.delimiter == ";"
    with engine.connect() as conn:
        leads = {r.source_row: r for r in conn.execute(select(Lead.__table__))}
    assert {row: (lead.phone, lead.first_name, lead.last_name) for row, lead in leads.items()} == HU_IMPORTED
    assert all(lead.timezones == "Europe/Budapest" and lead.country == "HU" for lead in leads.values())
    assert leads[2].custom == {"VAROS": "Budapest", "MEGJEGYZES": "régi ügyfél"}
    rejects = _rejects(Path(result.rejected_file))
    assert {row: r["reason"] for row, r in rejects.items()} == HU_NOT_IMPORTED
    assert rejects[7]["NEV"] == "Hibás Szám"


def test_second_import_is_all_duplicates(engine: Engine, samples: Path) -> None:
    first = import_file(engine, samples / "crm-export.csv", ImportOptions("crm", region="US"))
    again = import_file(engine, samples / "crm-export.csv", ImportOptions("crm", region="US"))
    assert again.imported == 0
    assert again.duplicates == first.imported + first.duplicates
    # the file's own repeats are already in the list too: reported against the list
    assert again.not_imported["duplicate_in_list"] == first.imported + first.duplicates
    other = import_file(engine, samples / "crm-export.csv", ImportOptions("other", region="US", dedupe="list"))
    assert other.imported == first.imported  # a different list, list scope: no clash
    every = import_file(engine, samples / "crm-export.csv", ImportOptions("third", region="US", dedupe="all"))
    assert every.imported == 0 and every.not_imported["duplicate_in_all"] == 12


def test_dry_run_writes_nothing(engine: Engine, samples: Path) -> None:
    result = import_file(engine, samples / "crm-export.csv", ImportOptions("crm", region="US", dry_run=True))
    assert result.imported == 10 and result.dry_run
    with engine.connect() as conn:
        assert conn.execute(select(Lead.__table__)).first() is None
        assert conn.exec_driver_sql("SELECT count(*) FROM lead_lists").scalar() == 0


def test_campaign_scope(engine: Engine, samples: Path) -> None:
    from campaigns.models import Campaign

    with engine.begin() as conn:
        spring = conn.execute(Campaign.__table__.insert().values(name="spring", status="draft", definition={})
                              .returning(Campaign.__table__.c.id)).scalar_one()
    a = import_file(engine, samples / "crm-export.csv", ImportOptions("a", campaign_id=spring, region="US"))
    b = import_file(engine, samples / "crm-export.csv", ImportOptions("b", campaign_id=spring, region="US"))
    c = import_file(engine, samples / "crm-export.csv", ImportOptions("c", region="US"))  # no campaign
    assert a.imported == 10 and b.imported == 0 and c.imported == 10
    assert b.not_imported["duplicate_in_campaign"] == 12
    with engine.begin() as conn:
        dnc.add_numbers(conn, ["+18085550123"], campaign_id=spring)
        assert dnc.is_dnc(conn, "+18085550123", spring) and not dnc.is_dnc(conn, "+18085550123", None)
    d = import_file(engine, samples / "crm-export.csv", ImportOptions("d", campaign_id=spring, region="US", dedupe="list"))
    assert d.dnc == 1 and d.imported == 9
