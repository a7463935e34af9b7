"""Whether a database error means "the database cannot be reached now" (try again later) or
"this statement is wrong" (trying again will not help).

The durable writer keeps and retries the first kind; the API answers 503 for it, not 500.  The
drivers say it in different ways: a refused connection is a bare ``OSError`` (asyncpg connects
outside SQLAlchemy's wrapping); a server shutting down or starting up is SQLSTATE class 57
(operator intervention), a dropped connection class 08; SQLAlchemy marks errors that invalidated
the connection; SQLite says "database is locked" when another writer holds it past the busy
timeout.
"""

from __future__ import annotations

from sqlalchemy import exc as sa

from dialer.errors import DialerError, Unavailable

#: What a caller (an API client, the CLI) is told while the database cannot be reached.
UNAVAILABLE = "database unavailable, try again shortly"

#: SQLSTATE classes of a server that is away or overloaded: connection exception (08),
#: insufficient resources (53: too many connections), operator intervention (57: shutdown,
#: starting up, crash recovery).
TRANSIENT_SQLSTATE = ("08", "53", "57")

#: SQLite's ways of saying another connection holds the database, or it cannot be opened now.
SQLITE_AWAY = ("database is locked", "database is busy", "database table is locked", "disk i/o error",
               "unable to open database file")


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (SQLAlchemy's ``orig``, ``__cause__``,
    ``__context__``), at most 8."""
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(out) < 8 and cur not in out:
        out.append(cur)
        orig = getattr(cur, "orig", None)
        cur = orig if isinstance(orig, BaseException) else cur.__cause__ or cur.__context__
    return out


def _one_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, OSError | TimeoutError | sa.TimeoutError | sa.DisconnectionError):
        return True  # refused, reset, unreachable host; SQLAlchemy's pool timing out
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return True
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(state, str) and state.startswith(TRANSIENT_SQLSTATE):
        return True
    text = str(exc).lower()
    if any(phrase in text for phrase in SQLITE_AWAY):
        return True
    # asyncpg's own "connection is closed" / "cannot perform operation: another operation is in
    # progress" after the server went away carry no SQLSTATE
    return type(exc).__module__.startswith("asyncpg") and "connection" in text and "closed" in text


def unreachable(exc: BaseException) -> bool:
    """True when ``exc`` (or what it was raised from) says the database is away, locked or
    restarting — a write may succeed later unchanged; False for errors of the statement itself
    (a constraint, a type, a missing table), which no retry mends."""
    if isinstance(exc, Unavailable):
        return True
    if isinstance(exc, DialerError | sa.IntegrityError | sa.ProgrammingError | sa.DataError):
        return False
    return any(_one_unreachable(e) for e in _chain(exc))
