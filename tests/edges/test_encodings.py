"""Short legacy-encoded files are decoded right (issue 14: a 3-row CP1250 file was read as
hp_roman8, a 3-row Latin-1 French one as cp1250), and the import says which encoding it used."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dialer.cli import main
from lists.reader import read_chunks, sniff

FILES = {
    "HU": ("cp1250", ["Őri Árvíztűrő", "Kovács Ödön", "Szabó Péter"]),
    "FR": ("cp1252", ["Hélène Dupré", "François Léger", "Noël Maître"]),
    "DE": ("cp1252", ["Jürgen Müller", "Jörg Groß", "Änne Weiß"]),
    "PL": ("cp1250", ["Łukasz Wałęsa", "Zażółć Gęślą", "Jaźń Śliwa"]),
    "CZ": ("cp1250", ["Jiří Dvořák", "Růžena Šťastná", "Čeněk Ťoupal"]),
    "ES": ("cp1252", ["José Núñez", "María Peña", "Ángel Ibáñez"]),
    "RU": ("cp1251", ["Иван Петров", "Мария Сидорова", "Юрий Щукин"]),
}


def _write(tmp_path: Path, region: str) -> tuple[Path, list[str]]:
    encoding, names = FILES[region]
    lines = ["phone;name"] + [f"+3612345678{i};{n}" for i, n in enumerate(names)]
    path = tmp_path / f"{region}.csv"
    path.write_bytes("\r\n".join(lines).encode(encoding))
    return path, names


@pytest.mark.parametrize("region", sorted(FILES))
@pytest.mark.parametrize("given", [True, False], ids=["region", "no-region"])
def test_three_row_legacy_files(tmp_path: Path, region: str, given: bool) -> None:
    path, names = _write(tmp_path, region)
    fmt = sniff(path, region=region if given else None)
    frame = next(read_chunks(fmt)).frame
    assert list(frame["name"]) == names, fmt.encoding


def test_the_import_says_which_encoding_it_used(tmp_path: Path) -> None:
    path, _ = _write(tmp_path, "HU")
    r = CliRunner().invoke(main, ["lists", "import", str(path), "--list", "hu", "--region", "HU"],
                           env={"DIALER_DATA_DIR": str(tmp_path / "data")})
    assert r.exit_code == 0, r.output
    assert "read as cp1250, semicolon-separated" in r.output
