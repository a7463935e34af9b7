"""Fixtures for the lists tests: sample files copied to a temp dir, an engine with DNC loaded."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from dialer.db import open_engine


@pytest.fixture
def samples(tmp_path: Path, fixtures_dir: Path) -> Path:
    """A writable copy of tests/fixtures/samples (rejects files are written next to inputs)."""
    dest = tmp_path / "samples"
    shutil.copytree(fixtures_dir / "samples", dest)
    for f in dest.iterdir():
        f.chmod(0o644)
    return dest


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    eng = open_engine(sqlite_url)
    yield eng
    eng.dispose()
