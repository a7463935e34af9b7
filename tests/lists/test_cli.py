"""``dialer lists`` and ``dialer dnc`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer.cli import main


@pytest.fixture
def run(db_url: str, tmp_path: Path):
    env = {"DIALER_DATABASE_URL": db_url, "DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_LOG_LEVEL": "WARNING"}

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)

    return invoke


def test_import_show_export_delete(run, samples: Path, tmp_path: Path) -> None:
    r = run("dnc", "import", str(samples / "dnc.txt"), "--region", "US", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["added"] == 4

    r = run("lists", "import", str(samples / "crm-export.csv"), "--list", "crm", "--region", "US", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert {k: data[k] for k in ("rows_read", "imported", "rejected", "duplicates", "dnc")} == {
        "rows_read": 15, "imported": 7, "rejected": 3, "duplicates": 2, "dnc": 3}
    assert data["reasons"] == {"no_phone": 1, "not_a_number": 1, "too_short": 1}
    assert data["rejected_file"] == str(samples / "crm-export.rejected.csv")

    r = run("lists", "import", str(samples / "purchased-list-hu.csv"), "--list", "hu", "--region", "HU")
    assert r.exit_code == 0 and "imported" in r.output and "purchased-list-hu.rejected.csv" in r.output

    r = run("lists", "ls", "--json")
    assert [(x["name"], x["leads"]) for x in json.loads(r.output)] == [("crm", 7), ("hu", 3)]

    r = run("lists", "show", "crm", "--json")
    info = json.loads(r.output)
    assert info["statuses"] == {"new": 7} and info["imports"][0]["rows_read"] == 15

    out = tmp_path / "crm-out.csv"
    r = run("lists", "export", "crm", "--out", str(out))
    assert r.exit_code == 0
    text = out.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "'+12125550143" in text and "Current Plan" in text
    assert text.splitlines()[0].startswith("id,phone,alt_phones,first_name,last_name")

    r = run("lists", "delete", "hu", input="n\n")
    assert r.exit_code != 0
    r = run("lists", "delete", "hu", "--yes")
    assert r.exit_code == 0 and "3 leads" in r.output
    r = run("lists", "show", "hu")
    assert r.exit_code == 2 and "error: unknown list 'hu'" in r.output


def test_dnc_commands(run) -> None:
    assert run("dnc", "add", "(212) 555-0143", "--region", "US").exit_code == 0
    r = run("dnc", "check", "+1 212 555 0143", "--json")
    data = json.loads(r.output)
    assert r.exit_code == 1 and {k: data[k] for k in ("number", "dnc", "scopes")} == {
        "number": "+12125550143", "dnc": True, "scopes": ["global"]}
    assert [(e["source"], e["requested_at"], e["honoured"]) for e in data["entries"]] == [("cli", None, None)]
    assert run("dnc", "check", "+1 212 555 0144").exit_code == 0
    assert run("dnc", "remove", "+12125550143").exit_code == 0
    assert run("dnc", "check", "+12125550143").exit_code == 0
    r = run("dnc", "add", "12345", "--region", "US")
    assert r.exit_code == 2 and "not a usable phone number" in r.output
    r = run("dnc", "add", "+12125550143", "--campaign", "nope")
    assert r.exit_code == 2 and "unknown campaign" in r.output


def test_import_errors_and_dry_run(run, samples: Path, tmp_path: Path) -> None:
    r = run("lists", "import", str(tmp_path / "missing.csv"), "--list", "x")
    assert r.exit_code == 2 and r.output.strip() == f"error: {tmp_path / 'missing.csv'}: file not found"
    bad = tmp_path / "names.csv"
    bad.write_text("name,city\nAnn,Paris\n")
    r = run("lists", "import", str(bad), "--list", "x")
    assert r.exit_code == 2 and "no phone column found" in r.output and "Traceback" not in r.output
    unclosed = tmp_path / "unclosed.csv"  # a quote opened in the first rows and never closed
    unclosed.write_text('phone,name\n"2125550143,Ann\n')
    r = run("lists", "import", str(unclosed), "--list", "x", "--region", "US")
    assert r.exit_code == 2 and r.output.startswith(f"error: {unclosed}: not a readable table (")
    assert "Traceback" not in r.output and json.loads(run("lists", "ls", "--json").output) == []
    r = run("lists", "import", str(samples / "crm-export.csv"), "--list", "crm", "--region", "US", "--dry-run", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["imported"] == 10
    assert json.loads(run("lists", "ls", "--json").output) == []
    r = run("lists", "import", str(bad), "--list", "x", "--map", "phone=city", "--region", "FR", "--json",
            "--rejects", str(tmp_path / "r.csv"))
    assert r.exit_code == 0 and json.loads(r.output)["reasons"] == {"not_a_number": 1}
    assert (tmp_path / "r.csv").exists()
