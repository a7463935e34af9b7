"""Output, settings, secrets and files at the edges (issue 14); each failed on the previous main."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from dialer.cli import main
from dialer.cli.common import emit
from dialer.db import make_sync_engine
from dialer.errors import ConfigError
from dialer.logs import _Formatter
from dialer.secrets import MASK, mask_url
from dialer.settings import load_settings

# ---------------------------------------------------------------- secrets

PASSWORD = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20).filter(
    lambda p: "@" not in p[-1:])


@given(PASSWORD)
def test_every_password_form_is_masked(password: str) -> None:
    for url, masked in (
        (f"postgresql://dialer:{password}@db.example:5432/dialer?sslmode=require",
         f"postgresql://dialer:{MASK}@db.example:5432/dialer?sslmode=require"),
        (f"postgresql+asyncpg://dialer:{password}@db.example/dialer",
         f"postgresql+asyncpg://dialer:{MASK}@db.example/dialer"),
    ):
        assert mask_url(url) == masked
    if "&" not in password and "#" not in password:
        assert mask_url(f"postgresql://db.example/dialer?user=u&password={password}&sslmode=require") == (
            f"postgresql://db.example/dialer?user=u&password={MASK}&sslmode=require")
    if "'" not in password and "\\" not in password:
        assert mask_url(f"host=db.example password='{password}' dbname=dialer") == (
            f"host=db.example password={MASK} dbname=dialer")


def test_config_never_prints_a_password_with_a_space(tmp_path: Path) -> None:
    env = {"DIALER_DATA_DIR": str(tmp_path), "DIALER_DATABASE_URL": "postgresql://u:top secret@h/db"}
    r = CliRunner().invoke(main, ["config"], env=env)
    assert r.exit_code == 0, r.output
    assert f"postgresql://u:{MASK}@h/db" in r.output and "top" not in r.output


def test_the_sqlite_file_is_created_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dialer.db"
    engine = make_sync_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")
    engine.dispose()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(("var", "value", "words"), [
    ("DIALER_LOG_LEVEL", "LOUD", "log.level 'LOUD'"),
    ("DIALER_HTTP_PORT", "99999", "http.port 99999"),
    ("DIALER_AMI_PORT", "0", "ami.port 0"),
    ("DIALER_LOG_FORMAT", "xml", "log.format 'xml'"),
    ("DIALER_AMI_ACTION_TIMEOUT", "-1", "ami.action_timeout"),
    ("DIALER_SCHEDULER_TIMEZONE", "Mars/Olympus", "scheduler.timezone"),
])
def test_settings_are_validated_at_start(tmp_path: Path, var: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace(".", r"\.").replace("(", r"\(")):
        load_settings(env={var: value, "DIALER_DATA_DIR": str(tmp_path)})
    r = CliRunner().invoke(main, ["campaigns", "ls"], env={var: value, "DIALER_DATA_DIR": str(tmp_path)})
    assert r.exit_code == 2
    assert r.output.strip().count("\n") == 0 and words in r.output and "Traceback" not in r.output


def test_log_lines_carry_the_date() -> None:
    record = logging.LogRecord("dialer.x", logging.INFO, __file__, 1, "hello", None, None)
    record.created = 1_780_000_000.25
    record.msecs = 250
    line = _Formatter(as_json=False, mask=True).format(record)
    assert line.startswith("2026-05-28T20:26:40.250Z INFO")


# ---------------------------------------------------------------- tables


def test_table_cells_are_text_not_markup(capsys: pytest.CaptureFixture[str]) -> None:
    emit({"note": "[/x] closing tag first", "name": "[link=https://evil.example]click[/link]",
          "detail": {"a": 1, "b": "two"}}, False, title="call [bold]1")
    out = capsys.readouterr().out
    assert "[/x] closing tag first" in out
    assert "[link=https://evil.example]click[/link]" in out
    assert "call [bold]1" in out
    assert "a: 1" in out and "b: two" in out and "{" not in out  # no raw dict in a cell


def test_piped_tables_are_not_cut_at_80_columns(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"id": i, "outcome": "CONNECTED", "phone": "+12125550100", "detail": "x" * 120} for i in range(3)]
    emit(rows, False, title="calls")
    out = capsys.readouterr().out
    assert out.count("CONNECTED") == 3 and "x" * 120 in out and "…" not in out


def test_opening_an_engine_again_keeps_this_process_locks(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops every POSIX lock the process holds on it: an
    existing database file must never be opened and closed outside SQLite (that lost the
    daemon's writes when a command in the same process opened the database again)."""
    import sqlite3

    path = tmp_path / "dialer.db"
    make_sync_engine(f"sqlite:///{path}").dispose()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")  # the write lock
    make_sync_engine(f"sqlite:///{path}").dispose()
    # Another process (POSIX locks are per process) must still find the database locked.
    probe = ("import sqlite3, sys\n"
             "c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
             "try:\n    c.execute('BEGIN IMMEDIATE')\nexcept sqlite3.OperationalError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True)
    holder.execute("ROLLBACK")
    holder.close()
    assert "locked" in out.stdout
