"""A lead file's consent column: read per row (pure), recorded in the ledger by ``lists import``
in the import's transaction, a bad cell rejecting its row, and ``dialer lists import`` options."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import String, select
from sqlalchemy.engine import Engine

from dialer.claim import revoked_stmt
from dialer.cli import main
from dialer.errors import InputError
from lists.consent import NO, YES, parse_value, record
from lists.import_consent import ConsentReader, find_columns
from lists.importer import ImportOptions, import_file
from lists.models import consents, leads
from tests.scheduling.helpers import campaign

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _ledger(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(consents).order_by(consents.c.id)).mappings()]


# -- the pure part -------------------------------------------------------------------------------

def test_columns_are_found_by_name_or_given() -> None:
    assert find_columns(["Phone", "Opt-In", "Consent Date"]) == ("Opt-In", "Consent Date")
    assert find_columns(["phone", "consent", "consent_at", "opt_out"]) == ("consent", "consent_at")
    assert find_columns(["phone", "opt_out", "unsubscribed"]) == (None, None)  # the opposite: never guessed
    assert find_columns(["phone", "GDPR ok", "when"], "gdpr ok", "When") == ("GDPR ok", "when")
    with pytest.raises(InputError, match=r"--consent-column agreed: no column 'agreed' in the file \(columns: phone"):
        find_columns(["phone"], "agreed")
    with pytest.raises(InputError, match="--consent-date-column when: no consent column"):
        find_columns(["phone", "when"], None, "when")


def test_reader_per_row_kind_time_and_errors() -> None:
    frame = pd.DataFrame({
        "optin": ["yes", "NO", "", "2026-03-01", "maybe", "opt-in", "y", "yes"],
        "consent_at": ["", "2026-05-02T10:00:00+02:00", "2026-01-01", "", "", "junk", "2027-01-01", "2026-06-01"],
    })
    v = ConsentReader("optin", "consent_at", NOW).read(frame)
    assert v.kind.tolist() == ["given", "revoked", None, "given", None, None, None, "given"]
    assert v.at[0] == NOW and v.at[1] == datetime(2026, 5, 2, 8, tzinfo=UTC)
    assert v.at[3] == datetime(2026, 3, 1, tzinfo=UTC) and v.at[7] == datetime(2026, 6, 1, tzinfo=UTC)
    assert {i: code for i, (code, _note) in v.error.items()} == {
        4: "bad_consent", 5: "bad_consent_date", 6: "bad_consent_date"}
    assert v.error[4][1] == "column 'optin': 'maybe' is not yes/no, opt-in/opt-out or a date"
    assert "'junk' is not a date" in v.error[5][1] and "later than the import" in v.error[6][1]


@given(st.sampled_from(sorted(YES | NO)), st.sampled_from(["", " ", "  "]), st.booleans())
def test_the_vocabulary_reads_whatever_the_case_and_spacing(word: str, pad: str, upper: bool) -> None:
    kind, day = parse_value(pad + (word.upper() if upper else word) + pad)
    assert day is None and kind == ("given" if word in YES else "revoked")


@given(st.one_of(st.text("0123456789-T: +Zyesnotrufalpi", max_size=20),
                 st.dates().map(lambda d: d.isoformat() + " "), st.sampled_from(sorted(YES | NO))))
def test_any_cell_is_a_kind_nothing_or_a_value_error(cell: str) -> None:
    try:
        kind, day = parse_value(cell)
    except ValueError:
        assert cell.strip() and cell.strip().lower() not in YES | NO
        return
    assert kind in ("given", "revoked", None)
    assert (kind is None) == (not cell.strip())
    assert day is None or (kind == "given" and day.tzinfo is not None)


# -- the import --------------------------------------------------------------------------------------

def test_import_records_the_column_in_the_ledger(engine: Engine, tmp_path: Path) -> None:
    f = _write(tmp_path / "leads.csv", [
        ["phone", "first_name", "consent", "consent_date"],
        ["+12125550101", "a", "yes", "2026-01-02"],      # imported, given on that day
        ["+12125550102", "b", "no", ""],                  # imported, revoked now
        ["+12125550103", "c", "", ""],                    # imported, nothing recorded
        ["+12125550101", "d", "no", ""],                  # duplicate in file: revocation still recorded
        ["+12125550104", "e", "perhaps", ""],             # rejected: unreadable consent
        ["12", "f", "yes", ""],                           # rejected: too short, nothing recorded
        ["+12125550104", "g", "yes", "2999-01-01"],       # rejected: consent dated after the import
        ["+12125550104", "h", "yes", ""],                 # the number's first readable row: imported
    ])
    before = datetime.now(UTC)
    res = import_file(engine, f, ImportOptions(list_name="l", region="US", consent_scope="acme"))
    assert (res.rows_read, res.imported, res.rejected, res.duplicates, res.dnc) == (8, 4, 3, 1, 0)
    assert res.rows_read == res.imported + res.rejected + res.duplicates + res.dnc
    assert dict(res.reasons) == {"bad_consent": 1, "bad_consent_date": 1, "too_short": 1}
    assert (res.consent_given, res.consent_revoked, res.consent_column) == (2, 2, "consent")
    rows = _ledger(engine)
    assert [(r["phone"], r["kind"], r["evidence"]) for r in rows] == [
        ("+12125550101", "given", "leads.csv row 2"), ("+12125550102", "revoked", "leads.csv row 3"),
        ("+12125550101", "revoked", "leads.csv row 5"), ("+12125550104", "given", "leads.csv row 9")]
    assert {(r["scope"], r["channel"], r["source"]) for r in rows} == {("acme", "import", "leads.csv")}
    assert rows[0]["at"] == datetime(2026, 1, 2, tzinfo=UTC) and before <= rows[1]["at"] <= datetime.now(UTC)
    with engine.connect() as conn:
        custom = conn.execute(select(leads.c.custom).order_by(leads.c.id)).scalars().first()
        revoked = set(conn.execute(revoked_stmt([r["phone"] for r in rows], ("*", "acme"))).scalars())
    assert custom == {}  # the consent columns went to the ledger, not to the lead's custom fields
    with engine.begin() as conn:  # a time written by the import is stored as SQLAlchemy stores it
        record(conn, "+12125550199", "given", at=rows[0]["at"], channel="cli")
        stored = conn.execute(select(consents.c.at.cast(String)).where(
            consents.c.phone.in_(["+12125550101", "+12125550199"]), consents.c.kind == "given")).scalars().all()
    assert len(stored) == 2 and stored[0] == stored[1]
    assert revoked == {"+12125550101", "+12125550102"}  # the claim's check holds them at once
    rejects = Path(res.rejected_file or "").read_text(encoding="utf-8-sig")
    assert "bad_consent: column 'consent': 'perhaps' is not yes/no, opt-in/opt-out or a date" in rejects
    assert ',6,"bad_consent:' in rejects and ",8,bad_consent_date: column 'consent_date': 2999-01-01" in rejects


def test_failed_import_and_dry_run_record_nothing(engine: Engine, tmp_path: Path) -> None:
    f = _write(tmp_path / "x.csv", [["phone", "opt_in"], ["+12125550101", "no"], ["+12125550102", "yes"]])
    res = import_file(engine, f, ImportOptions(list_name="l", dry_run=True))
    assert (res.consent_given, res.consent_revoked, res.consent_scope) == (1, 1, "*") and _ledger(engine) == []
    f = _write(tmp_path / "y.csv", [["phone", "opt_in"], ["+12125550101", "no"], ["2125550102", "yes"]])
    with pytest.raises(InputError, match="no region"):  # a whole-file failure after the rows were read
        import_file(engine, f, ImportOptions(list_name="l"))
    assert _ledger(engine) == []


def test_cli_options_and_the_campaigns_seller_scope(db_url: str, engine: Engine, tmp_path: Path) -> None:
    env = {"DIALER_DATABASE_URL": db_url, "DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_LOG_LEVEL": "WARNING"}

    def run(*args: str):
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    campaign(engine, "fr", compliance={"seller": "acme"})
    f = _write(tmp_path / "crm.csv", [["tel", "GDPR", "signed"], ["+33144556601", "oui", "2026-02-03"],
                                      ["+33144556602", "non", ""]])
    r = run("lists", "import", str(f), "--list", "l", "--campaign", "fr", "--consent-column", "gdpr",
            "--consent-date-column", "signed", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert (data["consent_given"], data["consent_revoked"], data["consent_scope"]) == (1, 1, "acme")
    assert data["columns"]["consent"] == "GDPR" and data["columns"]["consent_at"] == "signed"
    r = run("lists", "import", str(f), "--list", "l", "--consent-column", "GDPR", "--consent-scope", "campaign:fr")
    assert r.exit_code == 0 and "1 given, 1 revoked recorded in the ledger" in r.output, r.output
    assert {(e["scope"], e["kind"]) for e in _ledger(engine)} == {
        ("acme", "given"), ("acme", "revoked"), ("campaign:fr", "given"), ("campaign:fr", "revoked")}
    r = run("lists", "import", str(f), "--list", "l3", "--no-consent", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["consent_column"] is None, r.output
    assert len(_ledger(engine)) == 4  # nothing more recorded
    r = run("lists", "import", str(f), "--list", "l2", "--consent-column", "agreed")
    assert r.exit_code == 2 and "--consent-column agreed: no column 'agreed'" in r.output
    assert "Traceback" not in r.output


def test_the_seller_scope_defaults_to_every_campaign(engine: Engine, tmp_path: Path) -> None:
    f = _write(tmp_path / "a.csv", [["phone", "consent"], ["+12125550101", "yes"]])
    assert import_file(engine, f, ImportOptions(list_name="l")).consent_scope == "*"
    assert _ledger(engine)[0]["at"] <= datetime.now(UTC) + timedelta(seconds=1)
