"""Storage plumbing: the shared declarative ``Base``, engines for SQLite and PostgreSQL, migrations.

The daemon uses async engines (aiosqlite, asyncpg); batch work on the command line (imports,
exports, reports) uses sync engines (sqlite3, psycopg), which are simpler and faster for bulk
writes.  Users give one URL; :func:`sync_url` and :func:`async_url` derive the driver each side
needs.  Models live with the package that owns them (``lists.models``, ``campaigns.models``,
``dialer.models``) on this one ``Base``; :mod:`dialer.schema` imports them all.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event, inspect
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from dialer.errors import ConfigError, DialerError
from dialer.secrets import mask_url

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, aware UTC in and out on both databases.

    PostgreSQL keeps ``timestamptz``; SQLite keeps text without an offset, read back naive.
    Binding a naive datetime is a programming error (``ValueError``): every time in the
    product is aware; results are aware UTC whichever database they come from.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to an aware column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise ConfigError(f"database URL is not valid: {mask_url(url)}") from None


def sync_url(url: str) -> URL:
    u = _parse(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite")
    if u.get_backend_name() == "postgresql":
        return u.set(drivername="postgresql+psycopg")
    raise ConfigError(f"unsupported database {u.get_backend_name()!r}: use sqlite or postgresql")


def async_url(url: str) -> URL:
    u = sync_url(url)
    return u.set(drivername="sqlite+aiosqlite" if u.get_backend_name() == "sqlite" else "postgresql+asyncpg")


def is_sqlite(url: str | URL) -> bool:
    return (make_url(url) if isinstance(url, str) else url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None: another database, or one in memory)."""
    u = _parse(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:" \
            or u.database.startswith("file:"):
        return None
    return Path(u.database)


#: How long a SQLite connection waits for another writer's lock before "database is locked".
SQLITE_BUSY_MS = 10000


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cur.close()


def _prepare_sqlite_path(u: URL) -> None:
    """The database's directory, and the file itself created readable by its owner only
    (0600: it holds lead data and token hashes; SQLite gives its -wal and -shm files the same
    mode).  An existing file keeps the mode its owner gave it."""
    if not u.database or u.database == ":memory:" or u.database.startswith("file:"):
        return
    path = Path(u.database)
    if path.is_dir():
        raise DialerError(f"cannot open database {path}: it is a directory")
    if path.exists():
        # Never open (and close) an existing database file here: closing any descriptor of a
        # file drops every POSIX lock this process holds on it, SQLite's included.
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # created meanwhile by another process
    except OSError as exc:
        raise DialerError(f"cannot open database {path}: {exc.strerror}") from None


def make_sync_engine(url: str, **kwargs) -> Engine:
    u = sync_url(url)
    if u.get_backend_name() == "sqlite":
        _prepare_sqlite_path(u)
        engine = create_engine(u, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(u, pool_pre_ping=True, **kwargs)


def make_async_engine(url: str, **kwargs) -> AsyncEngine:
    u = async_url(url)
    if u.get_backend_name() == "sqlite":
        _prepare_sqlite_path(u)
        engine = create_async_engine(u, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(u, pool_pre_ping=True, **kwargs)


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: escape % in passwords
    cfg.set_main_option("sqlalchemy.url", sync_url(url).render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


#: The newest migration in ``dialer/migrations/versions``: every command that opens the
#: database compares it with the database's revision, and importing alembic to find it would
#: cost each of them ~0.15 s. A test keeps it equal to alembic's own head.
HEAD_REVISION = "0012"


def head_revision() -> str:
    """The schema revision this code expects (migrations up to it are applied on first use)."""
    return HEAD_REVISION


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision (None: no schema yet); a one-line error if unreadable."""
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except OperationalError as exc:
        where = mask_url(engine.url.render_as_string(hide_password=True))
        raise DialerError(f"cannot open database {where}: {mask_url(str(exc.orig))}") from None


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``; a clear error if the server cannot be reached."""
    from alembic import command

    try:
        command.upgrade(alembic_config(url), revision)
    except OperationalError as exc:
        raise DialerError(f"cannot open database {mask_url(url)}: {mask_url(str(exc.orig))}") from None


def open_engine(url: str, *, migrate: bool = True) -> Engine:
    """A sync engine on an up-to-date schema: migrations are applied on first use."""
    engine = make_sync_engine(url)
    if migrate and current_revision(engine) != head_revision():
        upgrade(url)
    return engine
