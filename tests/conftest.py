"""Shared fixtures: databases (SQLite and a real PostgreSQL server) and the test data files."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from tests.pg import PostgresUnavailable, find_postgres

# CI explores the same examples every run (a property test found failing there fails again,
# with its example printed, rather than once in a while); local runs keep exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'dialer.db').as_posix()}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """An admin URL on a real PostgreSQL server; fails (never skips) when there is none."""
    try:
        with find_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database on the PostgreSQL server, dropped after the test."""
    import psycopg

    name = f"dialer_test_{uuid.uuid4().hex[:12]}"
    admin = postgres_admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs a storage test on both SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(autouse=True)
def _no_user_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's DIALER_* environment."""
    for var in list(os.environ):
        if var.startswith("DIALER_") and not var.startswith("DIALER_TEST_"):
            monkeypatch.delenv(var)
