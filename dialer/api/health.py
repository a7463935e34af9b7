"""Operations endpoints, without the API's tokens (bind the API to a private address):

    GET /metrics  Prometheus text format (dialer/metrics.py: calls, pacing, agents, lines,
                  abandon windows, AMI link, database writes, event-loop lag); with
                  ``[http] metrics_token`` set, only for ``Authorization: Bearer <token>``
    GET /healthz  200 while the process serves requests (liveness)
    GET /readyz   200 when the AMI link is logged in and the database takes writes, else 503
                  with what is not ready (readiness: a load balancer or systemd watchdog)

"The database takes writes" is a write probe (:func:`probe_stmt`) in a transaction rolled back
at once, plus the daemon's queued writes being made (the writer's health): cheap enough to poll
every second.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from sqlalchemy import Update, update
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dialer.api.responses import Answer
from dialer.db import SQLITE_BUSY_MS
from dialer.job_models import node_heartbeats
from dialer.metrics import CONTENT_TYPE, ami_up

#: Seconds the readiness probe waits for the database.
DB_PROBE_TIMEOUT = 2.0


def readiness(ami: bool, db_writable: bool, writes_flowing: bool) -> tuple[bool, dict[str, str]]:
    """Ready, and each check's state in words."""
    checks = {
        "ami": "logged in" if ami else "down: not logged in to the PBX",
        "database": ("writable" if db_writable and writes_flowing
                     else "not writable: unreachable, read-only or locked" if not db_writable
                     else "writes failing or queued up"),
    }
    return ami and db_writable and writes_flowing, checks


def probe_stmt(node: str) -> Update:
    """A write that changes nothing: this node's heartbeat row set to itself (no row: none
    updated).  Run in a transaction rolled back at once, it still needs what a real write
    needs — SQLite's write lock (``database is locked`` while another writer holds it past the
    probe's time-out; ``readonly database``), PostgreSQL's read-write transaction (a read-only
    server or a standby refuses it) — and leaves nothing behind."""
    hb = node_heartbeats
    return update(hb).where(hb.c.node == node).values(seen_at=hb.c.seen_at)


async def _db_writable(engine: Any) -> bool:
    try:
        async with asyncio.timeout(DB_PROBE_TIMEOUT), engine.db.connect() as conn:
            # SQLite: wait for another writer's lock less than the time-out (an answer, not a
            # cancelled call that would keep the connection waiting 10 s), then as before.
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                await conn.exec_driver_sql(f"PRAGMA busy_timeout={int(DB_PROBE_TIMEOUT * 500)}")
            try:
                await conn.execute(probe_stmt(engine.node))
            finally:
                await conn.rollback()
                if sqlite:
                    await conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    except Exception:
        return False
    return True


def metrics_allowed(token: str, authorization: str) -> bool:
    """No token configured, or the request's bearer token is it (compared in constant time)."""
    if not token:
        return True
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


async def metrics(request: Request) -> Response:
    settings = request.app.state.settings
    token = settings.http.metrics_token.reveal() if settings is not None else ""
    if not metrics_allowed(token, request.headers.get("authorization", "")):
        return Answer({"error": "a bearer token is required for /metrics"}, status_code=401,
                      headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    body = request.app.state.engine.metrics.render()
    return Response(body, media_type=CONTENT_TYPE)


async def healthz(request: Request) -> Response:
    return Answer({"status": "ok"})


async def readyz(request: Request) -> Response:
    engine = request.app.state.engine
    ready, checks = readiness(ami_up(engine), await _db_writable(engine), bool(engine.writer.healthy))
    return Answer({"ready": ready, **checks}, status_code=200 if ready else 503)


ROUTES = [
    Route("/metrics", metrics, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
