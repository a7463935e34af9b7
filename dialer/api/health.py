"""Operations endpoints, without the API's tokens (bind the API to a private address):

    GET /metrics  Prometheus text format (dialer/metrics.py: calls, pacing, agents, lines,
                  abandon windows, AMI link, database writes, event-loop lag); with
                  ``[http] metrics_token`` set, only for ``Authorization: Bearer <token>``
    GET /healthz  200 while the process serves requests (liveness)
    GET /readyz   200 when the AMI link is logged in and the database takes writes, else 503
                  with what is not ready (readiness: a load balancer or systemd watchdog)
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dialer.api.responses import Answer
from dialer.metrics import CONTENT_TYPE, ami_up

#: Seconds the readiness probe waits for the database.
DB_PROBE_TIMEOUT = 2.0


def readiness(ami: bool, db_reachable: bool, writes_flowing: bool) -> tuple[bool, dict[str, str]]:
    """Ready, and each check's state in words."""
    checks = {
        "ami": "logged in" if ami else "down: not logged in to the PBX",
        "database": ("writable" if db_reachable and writes_flowing
                     else "unreachable" if not db_reachable else "writes failing or queued up"),
    }
    return ami and db_reachable and writes_flowing, checks


async def _db_reachable(engine: Any) -> bool:
    try:
        async with asyncio.timeout(DB_PROBE_TIMEOUT), engine.db.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
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
    ready, checks = readiness(ami_up(engine), await _db_reachable(engine), bool(engine.writer.healthy))
    return Answer({"ready": ready, **checks}, status_code=200 if ready else 503)


ROUTES = [
    Route("/metrics", metrics, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
