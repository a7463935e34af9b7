"""Finding a PostgreSQL server for the tests.

In order: ``DIALER_TEST_POSTGRES_URL`` (an admin URL, e.g. ``postgresql://postgres@host/postgres``);
a server on 127.0.0.1:5432 with trust auth (CI machines have one); otherwise a throw-away cluster
started from the local PostgreSQL binaries (``initdb``/``pg_ctl`` on PATH or under
``/usr/lib/postgresql``).  When none of these works the tests fail with a message saying what is
needed: storage tests are never silently skipped.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class PostgresUnavailable(RuntimeError):
    pass


def _can_connect(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _temporary_cluster() -> Iterator[str]:
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not (initdb and pg_ctl):
        raise PostgresUnavailable(
            "PostgreSQL is needed for the storage tests: none answers on 127.0.0.1:5432 and no "
            "initdb/pg_ctl binaries were found. Install PostgreSQL (e.g. `apt install postgresql`) "
            "or set DIALER_TEST_POSTGRES_URL=postgresql://USER@HOST:PORT/postgres."
        )
    if os.geteuid() == 0:
        raise PostgresUnavailable(
            "PostgreSQL binaries were found but the tests run as root, and initdb refuses root: "
            "start the system server (pg_ctlcluster ... start) or set DIALER_TEST_POSTGRES_URL."
        )
    with tempfile.TemporaryDirectory(prefix="dialer-pg-") as tmp:
        data, port = os.path.join(tmp, "data"), _free_port()
        subprocess.run([initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                       check=True, capture_output=True)
        subprocess.run([pg_ctl, "-D", data, "-w", "-l", os.path.join(tmp, "log"),
                        "-o", f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1"],
                       check=True, capture_output=True)
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([pg_ctl, "-D", data, "-m", "fast", "stop"], capture_output=True)


@contextlib.contextmanager
def find_postgres() -> Iterator[str]:
    url = os.environ.get("DIALER_TEST_POSTGRES_URL")
    if url:
        if not _can_connect(url):
            raise PostgresUnavailable("DIALER_TEST_POSTGRES_URL is set but no server answers there")
        yield url
        return
    if _can_connect(DEFAULT_URL):
        yield DEFAULT_URL
        return
    with _temporary_cluster() as url:
        yield url
