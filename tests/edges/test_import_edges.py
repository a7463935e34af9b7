"""Imports that lost or corrupted leads silently (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dialer.cli import main


def _run(tmp_path: Path, *args: str):
    env = {"DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_a_quote_left_open_is_a_one_line_error_and_nothing_is_imported(tmp_path: Path) -> None:
    # Before: rc 0, 2 rows imported, lead C inside lead B's name (the fast reader took the open
    # quote to the end of the file where pandas stops with "EOF inside string").
    path = tmp_path / "open.csv"
    path.write_text('phone,name\n+12125550201,A\n+12125550202,"B\n+12125550203,C\n', encoding="utf-8")
    r = _run(tmp_path, "lists", "import", str(path), "--list", "q")
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "EOF inside string" in lines[0] and str(path) in lines[0]
    r = _run(tmp_path, "lists", "ls", "--json")
    assert r.exit_code == 0, r.output
    assert all(row["leads"] == 0 for row in json.loads(r.output))
