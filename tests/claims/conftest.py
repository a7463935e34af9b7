"""What the claim property tests share: a migrated SQLite file, and a fresh copy of it per example."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dialer.db import open_engine


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every example (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("tpl") / "dialer.db"
    open_engine(f"sqlite:///{path}").dispose()
    return path


@contextmanager
def copy_of(template: Path, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh copy of ``template``, removed afterwards (hypothesis runs many examples
    in one test's ``tmp_path``)."""
    path = tmp_path / f"ex-{random.getrandbits(48):x}.db"
    shutil.copy(template, path)
    try:
        yield f"sqlite:///{path}"
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
