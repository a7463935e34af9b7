"""Storage plumbing on SQLite and PostgreSQL: migrations apply on first use, go down and up."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import inspect

from dialer.cli import main
from dialer.db import (
    alembic_config,
    async_url,
    current_revision,
    head_revision,
    make_sync_engine,
    open_engine,
    sync_url,
    upgrade,
)
from dialer.errors import ConfigError, DialerError

TABLES = {"campaigns", "lead_lists", "leads", "dnc_numbers", "import_runs", "calls", "agents", "agent_state_log", "pacing_state"}


def test_head_revision_is_the_newest_migration() -> None:
    """``HEAD_REVISION`` (read by every command) is alembic's head: update it with a new migration."""
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_migrations_apply_on_first_use_and_roundtrip(db_url: str) -> None:
    engine = open_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) >= TABLES
        command.downgrade(alembic_config(db_url), "base")
        assert current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(db_url)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_sqlite_uses_wal(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_url_drivers() -> None:
    assert sync_url("postgresql+asyncpg://u@h/d").drivername == "postgresql+psycopg"
    assert async_url("postgresql://u@h/d").drivername == "postgresql+asyncpg"
    assert async_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    with pytest.raises(ConfigError, match="unsupported database 'mysql'"):
        sync_url("mysql://u@h/d")
    with pytest.raises(ConfigError, match="not valid"):
        sync_url("::nonsense::")


def test_unreachable_database_is_a_clear_error_without_password() -> None:
    with pytest.raises(DialerError) as err:
        open_engine("postgresql://dialer:topsecret@127.0.0.1:1/dialer")
    assert "cannot open database" in str(err.value)
    assert "topsecret" not in str(err.value)


def test_db_cli_upgrade_and_current(tmp_path: Path) -> None:
    env = {"DIALER_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    result = runner.invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert head_revision() in result.output
    result = runner.invoke(main, ["db", "current", "--json"], env=env)
    assert f'"current": "{head_revision()}"' in result.output
    assert (tmp_path / "dialer.db").exists()
    engine = make_sync_engine(f"sqlite:///{tmp_path / 'dialer.db'}")
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_models_and_migrations_agree(db_url: str) -> None:
    """What the models declare is what the migrations build (nothing for autogenerate to add)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from dialer.schema import metadata

    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    finally:
        engine.dispose()
    assert diff == []
