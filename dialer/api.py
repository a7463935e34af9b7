"""The agents' HTTP JSON API, served by the daemon (Starlette).

Agents authenticate with ``Authorization: Bearer <token>``: their own token (shown once by
``dialer agents add``) gives access to their own session and calls; the admin token (in
``<data_dir>/admin.token``, used by the CLI) to every agent and call.

    POST /api/agents/{name}/login     {"campaign": "retention"}
    POST /api/agents/{name}/logout
    POST /api/agents/{name}/pause     {"code": "BREAK"}
    POST /api/agents/{name}/ready
    GET  /api/agents/{name}/call      the current call: lead data, custom fields, the script
    POST /api/calls/{id}/disposition  {"code": "REFUSED", "reason": "PRICE", "callback_at": null,
                                       "order": {...}, "note": "..."}
    GET  /api/status                  campaigns, agents and calls (admin)
    GET  /api/campaigns/{name}/why?at=WHEN       callable leads and reasons (admin)
    GET  /api/campaigns/{name}/forecast?hours=N  hour-by-hour forecast (admin)
    GET  /api/lists/{name}/audit                 list audit (admin)
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from dialer.errors import DialerError
from dialer.models import agents as agents_t
from dialer.models import calls as calls_t

if TYPE_CHECKING:
    from dialer.engine import Engine



def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(engine: Engine, admin_token: str) -> Starlette:
    admin_hash = token_hash(admin_token)

    async def caller(request: Request) -> str | None:
        """The agent name the token belongs to, or None for the admin token; 401 otherwise."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "missing bearer token")
        digest = token_hash(token.strip())
        if hmac.compare_digest(digest, admin_hash):
            return None
        async with engine.db.connect() as conn:
            name = (await conn.execute(select(agents_t.c.name).where(agents_t.c.token_hash == digest))).scalar()
        if name is None:
            raise ApiError(401, "invalid token")
        return name

    async def allowed_agent(request: Request) -> str:
        name = request.path_params["name"]
        who = await caller(request)
        if who is not None and who != name:
            raise ApiError(403, f"token is not agent {name!r}'s")
        return name

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise ApiError(400, "request body is not JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "request body must be a JSON object")
        return data

    def handler(fn):  # noqa: ANN001, ANN202
        async def wrapped(request: Request) -> JSONResponse:
            try:
                return JSONResponse(await fn(request))
            except ApiError as exc:
                return _error(exc.status, exc.message)
            except DialerError as exc:
                return _error(409 if "not logged in" in str(exc) or "dispose" in str(exc) else 422, str(exc))

        return wrapped

    @handler
    async def login(request: Request) -> dict:
        name = await allowed_agent(request)
        campaign = (await body(request)).get("campaign")
        if not isinstance(campaign, str) or not campaign:
            raise ApiError(422, "campaign: required")
        await engine.agent_login(name, campaign)
        return {"agent": name, "campaign": campaign, "state": "logged_in"}

    @handler
    async def logout(request: Request) -> dict:
        name = await allowed_agent(request)
        await engine.agent_logout(name)
        return {"agent": name, "state": "logged_out"}

    @handler
    async def pause(request: Request) -> dict:
        name = await allowed_agent(request)
        code = (await body(request)).get("code") or ""
        if not isinstance(code, str) or not code:
            raise ApiError(422, "code: required (the pause code, e.g. BREAK)")
        await engine.agent_pause(name, code)
        return {"agent": name, "state": "paused", "code": code}

    @handler
    async def ready(request: Request) -> dict:
        name = await allowed_agent(request)
        await engine.agent_ready(name)
        return {"agent": name, "state": "ready"}

    @handler
    async def current_call(request: Request) -> dict:
        name = await allowed_agent(request)
        call = await engine.current_call(name)
        return {"agent": name, "call": call}

    @handler
    async def disposition(request: Request) -> dict:
        who = await caller(request)
        try:
            call_id = int(request.path_params["call_id"])
        except ValueError:
            raise ApiError(404, "no such call") from None
        data = await body(request)
        code = data.get("code")
        if not isinstance(code, str) or not code:
            raise ApiError(422, "code: required")
        callback_at = None
        if data.get("callback_at"):
            try:
                callback_at = datetime.fromisoformat(str(data["callback_at"]))
            except ValueError:
                raise ApiError(422, "callback_at: not an ISO 8601 date and time") from None
            if callback_at.tzinfo is None:
                raise ApiError(422, "callback_at: give a time zone offset, e.g. 2026-11-23T15:00:00+01:00")
            callback_at = callback_at.astimezone(UTC)
        order = data.get("order")
        if order is not None and not isinstance(order, dict):
            raise ApiError(422, "order: must be an object of order-form fields")
        note = data.get("note")
        if who is not None:
            await engine.flush()
            async with engine.db.connect() as conn:
                owner = (await conn.execute(select(calls_t.c.agent).where(calls_t.c.id == call_id))).scalar()
            if owner != who:
                raise ApiError(403, f"call {call_id} is not agent {who!r}'s call")
        return await engine.dispose(
            call_id, code=code, reason=data.get("reason") or None, callback_at=callback_at,
            order_form=order, note=note if isinstance(note, str) else None, agent_name=who,
        )

    @handler
    async def status(request: Request) -> dict:
        if await caller(request) is not None:
            raise ApiError(403, "admin token required")
        return engine.status()

    async def admin_diagnostic(request: Request, fn: Any) -> dict:  # noqa: ANN401
        """Run a sync diagnostic ``fn(conn)`` for the admin token (campaigns/diagnostics, lists/audit)."""
        if await caller(request) is not None:
            raise ApiError(403, "admin token required")
        async with engine.db.connect() as conn:
            try:
                return await conn.run_sync(fn)
            except (ValueError, DialerError) as exc:
                raise ApiError(404 if "unknown" in str(exc) else 422, str(exc)) from None

    @handler
    async def campaign_why(request: Request) -> dict:
        from dialer.services.diagnostics import why

        at = None
        if request.query_params.get("at"):
            try:
                at = datetime.fromisoformat(request.query_params["at"])
            except ValueError:
                raise ApiError(422, "at: not an ISO 8601 date and time") from None
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
        name = request.path_params["name"]
        return await admin_diagnostic(request, lambda c: why(c, name, at).as_dict())

    @handler
    async def campaign_forecast(request: Request) -> dict:
        from dialer.services.diagnostics import forecast

        try:
            hours = int(request.query_params.get("hours", "24"))
        except ValueError:
            raise ApiError(422, "hours: not a whole number") from None
        if not 1 <= hours <= 24 * 14:
            raise ApiError(422, "hours: between 1 and 336")
        name = request.path_params["name"]
        return await admin_diagnostic(request, lambda c: forecast(c, name, hours).as_dict())

    @handler
    async def list_audit(request: Request) -> dict:
        from dialer.services.listings import audit_list

        name = request.path_params["name"]
        return await admin_diagnostic(request, lambda c: audit_list(c, name).as_dict())

    return Starlette(routes=[
        Route("/api/agents/{name}/login", login, methods=["POST"]),
        Route("/api/agents/{name}/logout", logout, methods=["POST"]),
        Route("/api/agents/{name}/pause", pause, methods=["POST"]),
        Route("/api/agents/{name}/ready", ready, methods=["POST"]),
        Route("/api/agents/{name}/call", current_call, methods=["GET"]),
        Route("/api/calls/{call_id}/disposition", disposition, methods=["POST"]),
        Route("/api/status", status, methods=["GET"]),
        Route("/api/campaigns/{name}/why", campaign_why, methods=["GET"]),
        Route("/api/campaigns/{name}/forecast", campaign_forecast, methods=["GET"]),
        Route("/api/lists/{name}/audit", list_audit, methods=["GET"]),
    ])
