"""Imports that lost rows or cells silently, or said nothing (issue 14); each failed on main."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer.cli import main
from lists.columns import map_columns


def _run(tmp_path: Path, *args: str):
    env = {"DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(main, list(args), env=env)


def _import(tmp_path: Path, path: Path, name: str) -> dict:
    r = _run(tmp_path, "lists", "import", str(path), "--list", name, "--region", "US", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["rows_read"] == data["imported"] + data["rejected"] + data["duplicates"] + data["dnc"]
    return data


def _rejects(path: str) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("first_long", [True, False])
def test_ragged_rows_are_rejected_with_their_text_whole(tmp_path: Path, first_long: bool) -> None:
    # Before: extra cells on the first data row were dropped without a word (pandas widened the
    # table to it); a later long row went to the rejects file with empty cells; a short row
    # was imported with the missing cells empty.
    rows = ["+12125550201,A,extra", "+12125550202,B"] if first_long else ["+12125550202,B", "+12125550201,A,extra"]
    path = tmp_path / "ragged.csv"
    path.write_text("phone,name\n" + "\n".join([*rows, '+12125550203,"C, jr",x,y', "+12125550204"]) + "\n")
    data = _import(tmp_path, path, "r")
    assert (data["rows_read"], data["imported"], data["rejected"]) == (4, 1, 3)
    assert data["reasons"] == {"wrong_field_count": 3}
    out = _rejects(data["rejected_file"])
    assert out[0] == ["phone", "name", "row", "reason"]
    got = {r[2]: (r[0], r[3]) for r in out[1:]}
    long_row = "2" if first_long else "3"
    assert got[long_row] == ("'+12125550201,A,extra", "wrong_field_count: expected 2 fields, saw 3")
    assert got["4"] == ("'+12125550203,\"C, jr\",x,y", "wrong_field_count: expected 2 fields, saw 4")
    assert got["5"] == ("'+12125550204", "wrong_field_count: expected 2 fields, saw 1")


def test_rejects_files_are_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("phone\n+12125550201\nnope\n")
    first = _import(tmp_path, path, "one")["rejected_file"]
    path.write_text("phone\n+12125550202\nstill not\n")
    second = _import(tmp_path, path, "two")["rejected_file"]
    assert first == str(tmp_path / "f.rejected.csv") and second == str(tmp_path / "f.rejected-2.csv")
    assert _rejects(first)[1][0] == "nope" and _rejects(second)[1][0] == "still not"
    shown = json.loads(_run(tmp_path, "lists", "show", "one", "--json").output)
    assert shown["imports"][0]["rejected_file"] == first


def test_a_header_only_file_is_an_error_and_creates_no_list(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("phone,name\n")
    r = _run(tmp_path, "lists", "import", str(path), "--list", "h")
    assert r.exit_code == 2 and "no data rows" in r.output and r.output.count("\n") == 1
    assert json.loads(_run(tmp_path, "lists", "ls", "--all", "--json").output) == []


@pytest.mark.parametrize(("header", "first", "last"), [
    (["Prénom", "Nom", "Téléphone"], "Prénom", "Nom"),  # French
    (["Vorname", "Name", "Telefon"], "Vorname", "Name"),  # German
    (["Vorname", "Familienname", "Handy"], "Vorname", "Familienname"),
    (["Nombre", "Primer apellido", "Teléfono"], "Nombre", "Primer apellido"),  # Spanish
    (["Nombre", "Apellidos", "Móvil"], "Nombre", "Apellidos"),
    (["Vezetéknév", "Keresztnév", "Telefonszám"], "Keresztnév", "Vezetéknév"),  # Hungarian
])
def test_first_and_last_name_headers(header: list[str], first: str, last: str) -> None:
    fields = map_columns(header).fields
    assert fields.get("first_name") == first and fields.get("last_name") == last and "name" not in fields


def test_a_name_alone_is_the_full_name() -> None:
    assert map_columns(["Nom", "Téléphone"]).fields == {"name": "Nom"}


def test_french_file_keeps_the_surname(tmp_path: Path) -> None:
    path = tmp_path / "fr.csv"
    path.write_text("Prénom;Nom;Téléphone\nHélène;Dupont;+33612345678\n", encoding="utf-8")
    r = _run(tmp_path, "lists", "import", str(path), "--list", "fr")
    assert r.exit_code == 0, r.output
    out = tmp_path / "out.csv"
    assert _run(tmp_path, "lists", "export", "fr", "--out", str(out)).exit_code == 0
    [row] = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert (row["first_name"], row["last_name"]) == ("Hélène", "Dupont")
