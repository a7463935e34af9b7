"""The Starlette application: routes, dependencies on ``app.state``, one status code per error class."""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dialer.api import handlers, health
from dialer.api.auth import token_hash
from dialer.api.recordings import ROUTES as RECORDING_ROUTES
from dialer.api.responses import error
from dialer.clock import Clock
from dialer.errors import Conflict, DialerError, Forbidden, Invalid, NotFound, PbxError, Unavailable
from dialer.settings import Settings
from dialer.storage.availability import UNAVAILABLE, unreachable
from dialer.web import ROUTES as WEB_ROUTES
from dialer.web import SecurityHeaders
from dialer.web import install as install_web

log = logging.getLogger("dialer.api")

#: The status code of each typed error; any other :class:`DialerError` is 422 with its message.
STATUS: dict[type[DialerError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Invalid: 422,
    Unavailable: 503,
    PbxError: 502,
    DialerError: 422,
}
RETRY_AFTER = {"Retry-After": "5"}

ROUTES = [
    Route("/api/agents/{name}/login", handlers.login, methods=["POST"]),
    Route("/api/agents/{name}/logout", handlers.logout, methods=["POST"]),
    Route("/api/agents/{name}/pause", handlers.pause, methods=["POST"]),
    Route("/api/agents/{name}/ready", handlers.ready, methods=["POST"]),
    Route("/api/agents/{name}/call", handlers.current_call, methods=["GET"]),
    Route("/api/agents/{name}/callbacks", handlers.my_callbacks, methods=["GET"]),
    Route("/api/calls/{call_id}/disposition", handlers.disposition, methods=["POST"]),
    Route("/api/calls/{call_id}/dnc", handlers.do_not_call, methods=["POST"]),
    Route("/api/calls/{call_id}/callback-slots", handlers.callback_slots, methods=["GET"]),
    Route("/api/status", handlers.status, methods=["GET"]),
    Route("/api/campaigns/{name}/pause", handlers.campaign_pause, methods=["POST"]),
    Route("/api/campaigns/{name}/resume", handlers.campaign_resume, methods=["POST"]),
    Route("/api/campaigns/{name}/why", handlers.campaign_why, methods=["GET"]),
    Route("/api/campaigns/{name}/forecast", handlers.campaign_forecast, methods=["GET"]),
    Route("/api/lists/{name}/audit", handlers.list_audit, methods=["GET"]),
    Route("/api/consent/revoke", handlers.consent_revoke, methods=["POST"]),
    Route("/api/openapi.json", handlers.openapi, methods=["GET"]),
    *RECORDING_ROUTES,  # dialer/api/recordings.py
]


def create_app(
    engine: Any,
    admin_token: str,
    *,
    settings: Settings | None = None,
    clock: Clock | None = None,
) -> Starlette:
    """The agents' API over ``engine``; ``clock`` defaults to the engine's (the daemon's time)."""
    settings = settings or Settings()
    cors = settings.http.cors_list
    app = Starlette(
        routes=[*ROUTES, *health.ROUTES, *WEB_ROUTES],  # the API, then the desktop and the wallboard (dialer/web)
        middleware=[*([Middleware(CORSMiddleware, allow_origins=cors, allow_credentials="*" not in cors,
                                  allow_methods=["GET", "POST"],
                                  allow_headers=["Authorization", "Content-Type", "X-CSRF-Token"], max_age=600)]
                      if cors else []),
                    Middleware(SecurityHeaders), Middleware(UnexpectedErrors)],
        exception_handlers={
            HTTPException: _http_error,
            **{cls: _typed_error(status) for cls, status in STATUS.items()},
        },
    )
    app.state.engine = engine
    app.state.db = engine.db
    app.state.settings = settings
    app.state.clock = clock or getattr(engine, "clock", None)
    app.state.admin_hash = token_hash(admin_token)
    install_web(app.state, engine)
    return app


def _typed_error(status: int):
    async def answer(request: Request, exc: Exception) -> Response:
        return error(status, str(exc), RETRY_AFTER if status == 503 else None)

    return answer


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return error(exc.status_code, exc.detail, exc.headers)


class UnexpectedErrors:
    """Any exception no handler maps: 500 with a generic message, the traceback in the log only;
    a database that cannot be reached (down, restarting, locked): 503."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            where = {"method": scope.get("method"), "path": scope.get("path")}
            if unreachable(exc):
                log.warning("API request: database unavailable", extra={**where, "error": str(exc)[:200]})
                answer = error(503, UNAVAILABLE, RETRY_AFTER)
            else:
                log.exception("API request failed", extra=where)
                answer = error(500, "internal error (see the daemon's log)")
            if not started:
                await answer(scope, receive, send)
