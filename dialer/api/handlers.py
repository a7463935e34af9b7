"""The route handlers: each reads its dependencies from ``request.app.state`` (``engine``,
``db``, ``settings``, ``clock``) and raises the typed errors of :mod:`dialer.errors`, which
:func:`dialer.api.app.create_app` maps to status codes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from campaigns.models import campaigns as campaigns_t
from dialer.api import inputs
from dialer.api.auth import caller, path_agent, require_admin
from dialer.api.responses import Answer
from dialer.errors import Invalid, NotFound
from lists.models import lead_lists as lead_lists_t


async def body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, within the size, time and nesting limits (settings [http])."""
    limits = request.app.state.settings.http
    if inputs.content_length_over(request.headers.get("content-length"), limits.max_body_bytes):
        raise inputs.too_large(limits.max_body_bytes)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(limits.body_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limits.max_body_bytes:
                    raise inputs.too_large(limits.max_body_bytes)
                chunks.append(chunk)
    except TimeoutError:
        raise HTTPException(408, "request body not received in time") from None
    return inputs.json_object(b"".join(chunks), max_depth=limits.max_json_depth)


# ---------------------------------------------------------------------- agents


async def login(request: Request) -> Response:
    name = await path_agent(request)
    campaign = inputs.text(await body(request), "campaign", max_len=inputs.MAX_NAME, required=" (the campaign's name)")
    await request.app.state.engine.agent_login(name, campaign)
    return Answer({"agent": name, "campaign": campaign, "state": "logged_in"})


async def logout(request: Request) -> Response:
    name = await path_agent(request)
    await request.app.state.engine.agent_logout(name)
    return Answer({"agent": name, "state": "logged_out"})


async def pause(request: Request) -> Response:
    name = await path_agent(request)
    code = inputs.text(await body(request), "code", max_len=inputs.MAX_CODE,
                       required=" (the pause code, e.g. BREAK)")
    engine = request.app.state.engine
    agent = engine.agent_by_name(name)
    campaign = agent.campaign if agent is not None else None
    # A campaign may list its pause codes (``pause_codes``); without a list any short token.
    allowed = getattr(campaign.definition, "pause_codes", None) if campaign is not None else None
    code = inputs.pause_code(code, allowed)
    await engine.agent_pause(name, code)
    return Answer({"agent": name, "state": "paused", "code": code})


async def ready(request: Request) -> Response:
    name = await path_agent(request)
    await request.app.state.engine.agent_ready(name)
    return Answer({"agent": name, "state": "ready"})


async def current_call(request: Request) -> Response:
    """The agent's current (or last undisposed) call; 204 No Content when there is none."""
    name = await path_agent(request)
    call = await request.app.state.engine.current_call(name)
    if call is None:
        return Response(status_code=204)
    return Answer({"agent": name, "call": call})


# ---------------------------------------------------------------------- calls


async def disposition(request: Request) -> Response:
    who = await caller(request)
    call_id = inputs.call_id(request.path_params["call_id"])
    data = await body(request)
    code = inputs.text(data, "code", max_len=inputs.MAX_CODE, required=" (the disposition code)")
    reason = inputs.text(data, "reason", max_len=inputs.MAX_CODE)
    callback_at = inputs.when(data["callback_at"], "callback_at") if data.get("callback_at") else None
    order = inputs.order_form(data.get("order"))
    note = inputs.text(data, "note", max_len=inputs.MAX_NOTE)
    # The engine answers 404 for an unknown call, 403 for another agent's, 409 when disposed.
    result = await request.app.state.engine.dispose(
        call_id, code=code, reason=reason, callback_at=callback_at, order_form=order, note=note, agent_name=who,
    )
    return Answer(result)


# ---------------------------------------------------------------------- admin


async def status(request: Request) -> Response:
    await require_admin(request)
    return Answer(request.app.state.engine.status())


async def campaign_why(request: Request) -> Response:
    from dialer.services.diagnostics import why

    await require_admin(request)
    raw = request.query_params.get("at")
    at = inputs.when(raw, "at", naive_is_utc=True) if raw else _now(request)
    name = await _existing(request, "campaigns", "campaign")
    return await _diagnose(request, lambda c: why(c, name, at).as_dict())


async def campaign_forecast(request: Request) -> Response:
    from dialer.services.diagnostics import forecast

    await require_admin(request)
    hours = inputs.whole_number(request.query_params.get("hours", "24"), "hours", 1, 24 * 14)
    name = await _existing(request, "campaigns", "campaign")
    at = _now(request)
    return await _diagnose(request, lambda c: forecast(c, name, hours, at).as_dict())


async def consent_revoke(request: Request) -> Response:
    """``POST /api/consent/revoke`` (admin): ``{"number": "+33144556677", "scope": "*", "evidence":
    "..."}`` records a revocation of consent, effective at the next claim in every campaign of
    the scope (a CRM's opt-out, a complaint handled elsewhere)."""
    from lists.phones import REASONS, normalise

    await require_admin(request)
    data = await body(request)
    raw = inputs.text(data, "number", max_len=40, required=" (the phone number)") or ""
    region = inputs.text(data, "region", max_len=2)
    n = normalise(raw, region.upper() if region else None)
    if n.e164 is None:
        raise Invalid(f"number: {raw!r} is not a usable phone number: {REASONS.get(n.reason, n.reason)}")
    scope = inputs.text(data, "scope", max_len=120) or "*"
    evidence = inputs.text(data, "evidence", max_len=inputs.MAX_NOTE)
    return Answer(await request.app.state.engine.revoke_consent(n.e164, scope=scope, evidence=evidence))


async def list_audit(request: Request) -> Response:
    from dialer.services.listings import audit_list

    await require_admin(request)
    name = await _existing(request, "lead_lists", "list")
    return await _diagnose(request, lambda c: audit_list(c, name).as_dict())


def _now(request: Request) -> datetime | None:
    """The daemon's clock (scaled in demos and tests); ``None``: the diagnostic uses wall time."""
    clock = request.app.state.clock
    return clock.now() if clock is not None else None


async def _existing(request: Request, table: str, noun: str) -> str:
    """The name in the path of a campaign or list that exists (404 otherwise)."""
    name = request.path_params["name"]
    if len(name) <= inputs.MAX_NAME:
        t = {"campaigns": campaigns_t, "lead_lists": lead_lists_t}[table]
        async with request.app.state.db.connect() as conn:
            if (await conn.execute(select(t.c.id).where(t.c.name == name))).first() is not None:
                return name
    raise NotFound(f"unknown {noun} {name[:inputs.MAX_NAME]!r}")


async def _diagnose(request: Request, fn: Callable[[Connection], dict]) -> Response:
    """Run a sync diagnostic ``fn(conn)`` (dialer.services.diagnostics, listings)."""
    async with request.app.state.db.connect() as conn:
        try:
            return Answer(await conn.run_sync(fn))
        except ValueError as exc:
            raise Invalid(str(exc)) from None
