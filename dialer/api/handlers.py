"""The route handlers: each reads its dependencies from ``request.app.state`` (``engine``,
``db``, ``settings``, ``clock``) and raises the typed errors of :mod:`dialer.errors`, which
:func:`dialer.api.app.create_app` maps to status codes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from campaigns.models import campaigns as campaigns_t
from dialer.api import inputs
from dialer.api.auth import audit, caller, path_agent, require_admin
from dialer.api.responses import Answer
from dialer.errors import Forbidden, Invalid, NotFound
from dialer.models import agent_campaigns
from dialer.models import agents as agents_t
from dialer.vocabulary import AuditAction
from dialer.web.masking import mask_phone, mask_screen
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
    """An agent may log in only to the campaigns they are assigned to (``dialer agents assign``),
    like on the desktop; the admin token (or a supervisor) may log any agent in anywhere."""
    name = await path_agent(request)
    campaign = inputs.text(await body(request), "campaign", max_len=inputs.MAX_NAME, required=" (the campaign's name)")
    if await caller(request) is not None:
        await _assigned(request, name, campaign)
    await request.app.state.engine.agent_login(name, campaign)
    await audit(request, AuditAction.LOGIN, name, campaign=campaign)
    return Answer({"agent": name, "campaign": campaign, "state": "logged_in"})


async def logout(request: Request) -> Response:
    name = await path_agent(request)
    await request.app.state.engine.agent_logout(name)
    forced = await caller(request) is None  # staff acting on an agent
    await audit(request, AuditAction.FORCE_LOGOUT if forced else AuditAction.LOGOUT, name)
    return Answer({"agent": name, "state": "logged_out"})


async def pause(request: Request) -> Response:
    name = await path_agent(request)
    code = inputs.text(await body(request), "code", max_len=inputs.MAX_CODE,
                       required=" (the pause code, e.g. BREAK)")
    engine = request.app.state.engine
    agent = engine.agent_by_name(name)
    campaign = agent.campaign if agent is not None else None
    # A campaign may list its pause codes (``pause_codes``); without a list any short token.
    allowed = campaign.definition.pause_codes if campaign is not None else None
    code = inputs.pause_code(code, allowed)
    await engine.agent_pause(name, code)
    forced = await caller(request) is None  # staff acting on an agent
    await audit(request, AuditAction.FORCE_PAUSE if forced else AuditAction.PAUSE, name, code=code)
    return Answer({"agent": name, "state": "paused", "code": code})


async def ready(request: Request) -> Response:
    name = await path_agent(request)
    await request.app.state.engine.agent_ready(name)
    await audit(request, AuditAction.READY, name)
    return Answer({"agent": name, "state": "ready"})


async def current_call(request: Request) -> Response:
    """The agent's current (or last undisposed) call; 204 No Content when there is none."""
    name = await path_agent(request)
    call = mask_screen(await request.app.state.engine.current_call(name),
                       request.app.state.settings.http.screen_number)
    if call is None:
        return Response(status_code=204)
    return Answer({"agent": name, "call": call})


async def _assigned(request: Request, name: str, campaign: str) -> None:
    """403 unless ``campaign`` is one the agent ``name`` is assigned to."""
    async with request.app.state.db.connect() as conn:
        assigned = (await conn.execute(
            select(agent_campaigns.c.id)
            .select_from(agent_campaigns.join(agents_t, agents_t.c.id == agent_campaigns.c.agent_id)
                         .join(campaigns_t, campaigns_t.c.id == agent_campaigns.c.campaign_id))
            .where(agents_t.c.name == name, campaigns_t.c.name == campaign))).first()
    if assigned is None:
        raise Forbidden(f"agent {name!r} is not assigned to campaign {campaign!r} (dialer agents assign)")


async def my_callbacks(request: Request) -> Response:
    """The agent's owned callbacks due today (``tz``: the zone whose day it is, default UTC)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from dialer.storage.details import owned_callbacks_stmt

    name = await path_agent(request)
    tz_name = request.query_params.get("tz", "UTC")
    try:
        zone = ZoneInfo(tz_name[:64])
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"tz: unknown time zone {tz_name[:64]!r}") from None
    local = (_now(request) or datetime.now(UTC)).astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1, hours=2)).replace(hour=0)  # the next midnight, across DST changes
    mode = request.app.state.settings.http.screen_number
    async with request.app.state.db.connect() as conn:
        rows = (await conn.execute(owned_callbacks_stmt(name, start.astimezone(UTC), end.astimezone(UTC)))).all()
    return Answer({"agent": name, "day": start.date().isoformat(), "tz": tz_name, "callbacks": [
        {"lead_id": r.id, "name": " ".join(x for x in (r.first_name, r.last_name) if x), "phone": mask_phone(r.phone, mode),
         "timezones": (r.timezones or "").split(), "at": r.next_call_at, "owned_until": r.callback_exclusive_until}
        for r in rows]})


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
    owner = inputs.text(data, "callback_owner", max_len=8) or "me"
    if owner not in ("me", "anyone"):
        raise Invalid("callback_owner: 'me' or 'anyone'")
    if callback_at is not None:
        await _bookable(request, call_id, callback_at)
    # The engine answers 404 for an unknown call, 403 for another agent's, 409 when disposed.
    result = await request.app.state.engine.dispose(
        call_id, code=code, reason=reason, callback_at=callback_at, order_form=order, note=note, agent_name=who,
        owned=owner == "me",
    )
    await audit(request, AuditAction.DISPOSITION, f"call {call_id}", code=code, reason=reason,
                callback_at=callback_at.isoformat() if callback_at else None)
    return Answer(result)


async def _callback_context(request: Request, call_id: int) -> tuple:
    from dialer.storage.details import callback_context

    who = await caller(request)
    context = await callback_context(request.app.state.db, call_id)
    if context is None:
        raise NotFound(f"unknown call {call_id}")
    if who is not None and context[0].agent != who:
        raise Forbidden(f"call {call_id} is not agent {who!r}'s call")
    return context


async def _bookable(request: Request, call_id: int, at: datetime) -> None:
    """422 for a callback time outside the lead's calling window or the campaign's limits."""
    from campaigns.callback_slots import callback_problem

    _row, definition, zones, region = await _callback_context(request, call_id)
    now = _now(request) or datetime.now(UTC)
    problem = callback_problem(definition.window, zones, region, at, now, definition.limits.max_callback_days)
    if problem is not None:
        raise Invalid(f"callback_at: {at.isoformat()} is {problem}" if problem.startswith(("in ", "more", "outside"))
                      else f"callback_at: {problem}")


async def callback_slots(request: Request) -> Response:
    """The times the callback picker offers: inside the lead's calling window, within the
    campaign's limits (``days``: how far ahead, 1-14, default 7)."""
    from campaigns.callback_slots import slots

    call_id = inputs.call_id(request.path_params["call_id"])
    days = inputs.whole_number(request.query_params.get("days", "7"), "days", 1, 14)
    _row, definition, zones, region = await _callback_context(request, call_id)
    now = _now(request) or datetime.now(UTC)
    limit = definition.limits.max_callback_days
    return Answer({"call_id": call_id, "zones": zones, "max_callback_days": limit, "owners": ["me", "anyone"],
                   "slots": [s.isoformat() for s in slots(definition.window, zones, region, now, limit, days=days)]})


async def do_not_call(request: Request) -> Response:
    """"Do not call me" during a call: the number onto the DNC list at once (who and when in the
    audit log), then the call disposed with the campaign's do-not-call disposition."""
    from dialer.api.auth import actor, client_address
    from dialer.storage.dispositions import add_dnc_request

    who = await caller(request)
    call_id = inputs.call_id(request.path_params["call_id"])
    note = inputs.text(await body(request), "note", max_len=inputs.MAX_NOTE)
    engine = request.app.state.engine
    await engine.flush()  # the call's agent and state may still be queued
    result = await add_dnc_request(engine.db, call_id, agent_name=who, actor=await actor(request),
                                   source=client_address(request), now=engine.clock.now())
    camp = engine.campaigns.get(result.pop("campaign_id"))
    code = next((d.code for d in camp.definition.dispositions if d.dnc), None) if camp is not None else None
    if code is None:
        return Answer({**result, "disposition": None,
                       "error": "the campaign has no do-not-call disposition: choose one"}, status_code=200)
    decided = await engine.dispose(call_id, code=code, note=note, agent_name=who)
    await audit(request, AuditAction.DISPOSITION, f"call {call_id}", code=code)
    return Answer({**result, **decided})


async def openapi(request: Request) -> Response:
    """The API's OpenAPI document (public: it holds no data)."""
    from dialer.api.openapi import document

    return Answer(document(request.app.routes))


# ---------------------------------------------------------------------- admin


async def status(request: Request) -> Response:
    await require_admin(request)
    return Answer(request.app.state.engine.status())


async def campaign_pause(request: Request) -> Response:
    """Pause an active campaign: no new calls (calls in progress finish)."""
    return await _campaign_status(request, "active", "paused", AuditAction.CAMPAIGN_PAUSED)


async def campaign_resume(request: Request) -> Response:
    """Resume a paused campaign."""
    return await _campaign_status(request, "paused", "active", AuditAction.CAMPAIGN_STARTED)


async def _campaign_status(request: Request, before: str, after: str, action: AuditAction) -> Response:

    from sqlalchemy import update

    from dialer.errors import Conflict

    await require_admin(request)
    name = await _existing(request, "campaigns", "campaign")
    async with request.app.state.db.begin() as conn:
        done = await conn.execute(update(campaigns_t).where(campaigns_t.c.name == name, campaigns_t.c.status == before)
                                  .values(status=after, updated_at=datetime.now(UTC)))
        if done.rowcount != 1:
            now = (await conn.execute(select(campaigns_t.c.status).where(campaigns_t.c.name == name))).scalar()
            raise Conflict(f"campaign {name!r} is {now}, not {before}")
    await request.app.state.engine.reload_campaigns()
    await audit(request, action, name, previous=before)
    return Answer({"campaign": name, "status": after, "previous": before})


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
