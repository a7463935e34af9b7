"""The consent ledger: ``dialer consent add|revoke|ls|import`` and the standing of a number."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from dialer.cli import main
from lists.consent import campaign_scopes, standing


def _run(tmp_path: Path, *args: str):
    env = {"DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(main, list(args), env=env)


def _ls(tmp_path: Path, *args: str) -> list[dict]:
    r = _run(tmp_path, "consent", "ls", *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_add_revoke_and_list(tmp_path: Path) -> None:
    r = _run(tmp_path, "consent", "add", "+33144556677", "--scope", "acme", "--how", "web",
             "--evidence", "form #42", "--at", "2026-09-01T10:00:00+02:00", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["number"] == "+33144556677"
    r = _run(tmp_path, "consent", "revoke", "0144556677", "--region", "FR", "--scope", "acme",
             "--channel", "keypress", "--at", "2026-09-02")
    assert r.exit_code == 0 and "consent revoked in scope 'acme'" in r.output, r.output
    rows = _ls(tmp_path, "+33144556677")
    assert [(e["kind"], e["channel"], e["evidence"]) for e in rows] == [
        ("given", "web", "form #42"), ("revoked", "keypress", None)]
    table = _run(tmp_path, "consent", "ls")
    assert table.exit_code == 0 and "+33144556677" in table.output and "keypress" in table.output


def test_bad_input_is_one_line_naming_what(tmp_path: Path) -> None:
    r = _run(tmp_path, "consent", "add", "12")
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "'12' is not a usable phone number" in r.output
    r = _run(tmp_path, "consent", "revoke", "+33144556677", "--at", "yesterday")
    assert r.exit_code == 2 and "--at: expected a date" in r.output and "Traceback" not in r.output
    assert _run(tmp_path, "consent", "--help").exit_code == 0
    for verb in ("add", "revoke", "ls", "import"):
        assert _run(tmp_path, "consent", verb, "--help").exit_code == 0


def test_import_a_crm_column(tmp_path: Path) -> None:
    crm = tmp_path / "crm.csv"
    crm.write_text("name,phone,optin,evidence\n"
                   "a,+33144556601,yes,signed\n"
                   "b,+33144556602,no,\n"
                   "c,+33144556603,,\n"
                   "d,+33144556604,2026-03-01,contract 7\n"
                   "e,12,yes,\n")
    r = _run(tmp_path, "consent", "import", str(crm), "--column", "optin", "--scope", "acme", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) | {"reasons": None} == {
        "file": str(crm), "read": 5, "given": 2, "revoked": 1, "skipped": 1, "rejected": 1, "reasons": None}
    rows = {e["phone"]: e for e in _ls(tmp_path, "--scope", "acme")}
    assert rows["+33144556604"]["at"].startswith("2026-03-01") and rows["+33144556604"]["evidence"] == "contract 7"
    assert rows["+33144556602"]["kind"] == "revoked"


def test_import_names_the_bad_cell_and_records_nothing(tmp_path: Path) -> None:
    crm = tmp_path / "crm.csv"
    crm.write_text("phone,optin\n+33144556601,yes\n+33144556602,maybe\n")
    r = _run(tmp_path, "consent", "import", str(crm), "--column", "optin")
    assert r.exit_code == 2 and f"{crm}: row 3: optin: expected yes/no or a date (got 'maybe')" in r.output
    assert _ls(tmp_path) == []
    r = _run(tmp_path, "consent", "import", str(crm), "--column", "consent")
    assert r.exit_code == 2 and "no column 'consent'" in r.output
    future = tmp_path / "future.csv"  # would outrank every revocation made before 2099
    future.write_text("phone,optin\n+33144556601,yes\n+33144556602,2099-01-01\n")
    r = _run(tmp_path, "consent", "import", str(future), "--column", "optin")
    assert r.exit_code == 2 and f"{future}: row 3: optin: 2099-01-01" in r.output and "in the future" in r.output
    assert _ls(tmp_path) == []


def test_the_latest_entry_in_the_campaigns_scopes_decides() -> None:
    def e(kind: str, scope: str, day: int) -> dict:
        return {"kind": kind, "scope": scope, "at": datetime(2026, 9, day, tzinfo=UTC)}

    scopes = campaign_scopes("p", "acme")
    assert scopes == ("*", "acme", "campaign:p")
    assert standing([e("given", "acme", 1), e("revoked", "*", 2)], scopes) == "revoked"
    assert standing([e("revoked", "*", 2), e("given", "acme", 3)], scopes) == "given"
    assert standing([e("given", "acme", 2), e("revoked", "campaign:p", 2)], scopes) == "revoked"  # tie
    assert standing([e("revoked", "other", 5), e("given", "*", 1)], scopes) == "given"
    assert standing([], scopes) is None
