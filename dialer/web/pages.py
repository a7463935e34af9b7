"""The desktop's and the wallboard's routes: pages, sign-in and sign-out, the event stream.

Everything else the pages do goes through the JSON API (``/api/...``), which accepts the
session cookie (with the CSRF header) as well as a bearer token: see
:func:`dialer.web.sessions.cookie_caller`.
"""

from __future__ import annotations

import html
import json
import logging
import secrets
import time
from datetime import datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from campaigns.definition import DEFAULT_PAUSE_CODES
from dialer.errors import Forbidden, Invalid
from dialer.errors import NotFound as NotFoundError
from dialer.storage.audit import record_async
from dialer.vocabulary import AuditAction
from dialer.web import sessions
from dialer.web.events import EventHub, frame, stream
from dialer.web.masking import mask_screen
from dialer.web.sessions import SESSION_COOKIE, SIGNIN_COOKIE, WebUser, check_csrf, session_user
from dialer.web.throttle import SignInThrottle
from dialer.web.wallboard import agent_views, board

log = logging.getLogger("dialer.web")
STATIC = Path(__file__).parent / "static"
MAX_FORM = 4096
MAX_FIELD = 256
PAGES = {"agent": "/agent", "supervisor": "/supervisor"}


def _page(file: str, status: int = 200, **values: str) -> HTMLResponse:
    """A static page with ``{{key}}`` placeholders filled in, HTML-escaped."""
    text = (STATIC / file).read_text("utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", html.escape(value, quote=True))
    return HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-store"})


def _signin(request: Request, target: str, message: str = "", status: int = 200) -> HTMLResponse:
    token = request.cookies.get(SIGNIN_COOKIE)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(24)
    response = _page("signin.html", status, csrf=token, target=target, message=message,
                     title="Supervisor" if target == "supervisor" else "Agent")
    sessions.set_cookie(response, SIGNIN_COOKIE, token, secure=sessions.secure(request), max_age=3600)
    return response


async def agent_page(request: Request) -> Response:
    user = await session_user(request)
    if user is None:
        return _signin(request, "agent")
    return _page("agent.html", name=user.name, csrf=user.csrf, role=user.role)


async def supervisor_page(request: Request) -> Response:
    user = await session_user(request)
    if user is None:
        return _signin(request, "supervisor")
    if not user.staff:
        raise Forbidden("the wallboard is for supervisors and admins")
    return _page("supervisor.html", name=user.name, csrf=user.csrf, role=user.role)


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form (413 above :data:`MAX_FORM` bytes), one value per field."""
    from starlette.exceptions import HTTPException

    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_FORM:
            raise HTTPException(413, f"form larger than {MAX_FORM} bytes")
    try:
        fields = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=20)
    except ValueError:
        raise HTTPException(413, "form with more than 20 fields") from None
    for key, values in fields.items():
        if len(values[0]) > MAX_FIELD:
            raise HTTPException(422, f"{key[:32]}: at most {MAX_FIELD} characters")
    return {k: v[0] for k, v in fields.items()}


async def sign_in(request: Request) -> Response:
    form = await _form(request)
    target = form.get("target", "agent")
    target = target if target in PAGES else "agent"
    if not sessions.same(form.get("csrf"), request.cookies.get(SIGNIN_COOKIE)):
        return _signin(request, target, "The form expired: please sign in again.", 403)
    name, secret = form.get("name", "").strip(), form.get("secret", "")
    throttle: SignInThrottle = request.app.state.web_throttle
    client = request.client.host if request.client else "?"
    keys, now = (f"name:{name}", f"ip:{client}"), time.monotonic()
    wait = throttle.retry_after(keys, now)
    if wait > 0:
        response = _signin(request, target, f"Too many failed sign-ins: try again in {int(wait) + 1} s.", 429)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    agent_id = await sessions.check_secret(request.app.state.db, name, secret) if name and secret else None
    if agent_id is None:
        throttle.failed(keys, now)
        await record_async(request.app.state.db, AuditAction.SIGN_IN_FAILED, name[:64] or "?", source=client,
                           detail={"page": target})
        return _signin(request, target, "Unknown name or wrong secret.", 401)
    throttle.succeeded(keys[0])
    await record_async(request.app.state.db, AuditAction.SIGN_IN, name, source=client, detail={"page": target})
    token = await sessions.open_session(request.app.state.db, agent_id)
    redirect = RedirectResponse(PAGES[target], status_code=303)
    sessions.set_cookie(redirect, SESSION_COOKIE, token, secure=sessions.secure(request),
                        max_age=int(sessions.LIFETIME.total_seconds()))
    redirect.delete_cookie(SIGNIN_COOKIE, path="/")
    return redirect


async def sign_out(request: Request) -> Response:
    """End the session and log the agent out of the queue (the form carries the CSRF token)."""
    user = await _user(request, (await _form(request)).get("csrf"))
    engine = request.app.state.engine
    if engine.agent_by_name(user.name) is not None:
        await engine.agent_logout(user.name)
    await sessions.close_session(request.app.state.db, request.cookies[SESSION_COOKIE])
    await record_async(request.app.state.db, AuditAction.SIGN_OUT, user.name,
                       source=request.client.host if request.client else "?")
    response = RedirectResponse("/agent", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def _user(request: Request, form_csrf: str | None = None) -> WebUser:
    from starlette.exceptions import HTTPException

    user = await session_user(request)
    if user is None:
        raise HTTPException(401, "not signed in (or the session has ended)")
    check_csrf(request, user, form_csrf)
    return user


def _pause_codes(engine: Any, campaign: str | None) -> list[str]:
    """The pause codes the desktop offers in ``campaign`` (its ``pause_codes``, else the defaults)."""
    camp = next((c for c in engine.campaigns.values() if c.name == campaign), None)
    return list(camp.definition.offered_pause_codes if camp is not None else DEFAULT_PAUSE_CODES)


async def me(request: Request) -> Response:
    """Who is signed in, their campaigns, current state and call (the desktop's first read)."""
    user = await _user(request)
    engine = request.app.state.engine
    views = {a.name: a for a in agent_views(engine)}
    view = views.get(user.name)
    campaign = view.campaign if view else None
    return JSONResponse({
        "name": user.name, "role": user.role,
        "campaigns": await sessions.assigned_campaigns(request.app.state.db, user.agent_id),
        "campaign": campaign, "state": view.state if view else "logged_out",
        "pause_code": view.pause_code if view else None,
        "seconds_in_state": max(0, round(engine.now() - view.since)) if view else 0,
        "call_id": view.call_id if view else None,
        "pause_codes": _pause_codes(engine, campaign),
        "wrapup_limit": _wrapup_limit(engine, campaign),  # seconds; then the campaign's rules decide without a disposition
    })


def _wrapup_limit(engine: Any, campaign: str | None) -> float:
    """The campaign's wrap-up limit in seconds (``[dial] wrapup_limit``)."""
    from dialer.session.runtime import wrapup_limit

    return wrapup_limit(next((c for c in engine.campaigns.values() if c.name == campaign), None))


async def campaign_login(request: Request) -> Response:
    """Log the signed-in agent in to one of their assigned campaigns (403 for any other)."""
    user = await _user(request)
    form = await _form(request)
    campaign = form.get("campaign", "")
    if campaign not in await sessions.assigned_campaigns(request.app.state.db, user.agent_id):
        raise Forbidden(f"agent {user.name!r} is not assigned to campaign {campaign[:64]!r}")
    engine = request.app.state.engine
    if not any(c.name == campaign for c in engine.campaigns.values()):
        raise Invalid(f"campaign {campaign[:64]!r} is not running")
    await engine.agent_login(user.name, campaign)
    await record_async(request.app.state.db, AuditAction.LOGIN, user.name, target=user.name,
                       source=request.client.host if request.client else "?", detail={"campaign": campaign})
    return JSONResponse({"agent": user.name, "campaign": campaign, "pause_codes": _pause_codes(engine, campaign)})


async def wallboard(request: Request) -> Response:
    await _staff(request)
    await _refresh_diagnostics(request)
    return Answer(_board(request))


def _board(request: Request) -> dict:
    engine = request.app.state.engine
    out = board(engine.status(), agent_views(engine), engine.now())
    cache = request.app.state.web_diagnostics
    ids = {c.name: cid for cid, c in engine.campaigns.items()}
    today = getattr(request.app.state, "web_today", {})
    for camp in out["campaigns"]:
        camp["supply"] = cache.get(camp["name"], (0.0, None))[1]
        camp["pause_codes"] = _pause_codes(engine, camp["name"])
        # today's figures from the calls table (they survive a restart, a pause and a resume)
        totals = today.get(ids.get(camp["name"]), dict.fromkeys(("placed", "answered", "connected", "abandoned"), 0))
        camp["today"] = {"day": getattr(request.app.state, "web_day", None), **totals}
    out["paused_campaigns"] = getattr(request.app.state, "web_paused", [])
    return out


#: Seconds between two reads of the diagnostics (callable leads, when the list runs dry).
DIAGNOSTICS_EVERY = 30.0


async def _refresh_diagnostics(request: Request) -> None:
    """Callable leads now and when the list runs dry (dialer.services.diagnostics), per running
    campaign, read at most every :data:`DIAGNOSTICS_EVERY` seconds; the paused campaigns."""
    from sqlalchemy import select

    from campaigns.models import campaigns as campaigns_t
    from dialer.services.diagnostics import forecast, why
    from dialer.services.timeline import day_totals

    engine = request.app.state.engine
    cache: dict[str, tuple[float, dict | None]] = request.app.state.web_diagnostics
    at = engine.clock.now()
    for camp in list(engine.campaigns.values()):
        if time.monotonic() - cache.get(camp.name, (-1e9, None))[0] < DIAGNOSTICS_EVERY:
            continue

        def read(conn: Any, name: str = camp.name) -> dict:
            report = why(conn, name, at, detail=False)
            top = report.top()
            dry = forecast(conn, name, 24, at).runs_dry_at
            return {"callable": report.callable, "total": report.total,
                    "held_most_by": top.label if top is not None else None,
                    "runs_dry_at": dry.isoformat() if dry else None}

        try:
            async with request.app.state.db.connect() as conn:
                cache[camp.name] = (time.monotonic(), await conn.run_sync(read))
        except Exception:  # the board goes on without them (the database may be away)
            cache[camp.name] = (time.monotonic(), None)
    async with request.app.state.db.connect() as conn:
        request.app.state.web_paused = list((await conn.execute(
            select(campaigns_t.c.name).where(campaigns_t.c.status == "paused").order_by(campaigns_t.c.name))).scalars())
    start = _day_start(request)
    try:
        async with request.app.state.db.connect() as conn:
            request.app.state.web_today = await conn.run_sync(lambda c: day_totals(c, start, start + timedelta(days=1)))
        request.app.state.web_day = start.date().isoformat()
    except Exception:  # the board goes on with the last figures read
        log.warning("wallboard: today's figures not read", exc_info=True)


async def _staff(request: Request) -> WebUser:
    user = await _user(request)
    if not user.staff:
        raise Forbidden("the wallboard is for supervisors and admins")
    return user


def _day_start(request: Request) -> datetime:
    """The start of the site's day: midnight in ``[scheduler] timezone`` (UTC by default), the
    wallboard's "today" (its tiles, charts and the agents' report by default)."""
    zone = ZoneInfo(request.app.state.settings.scheduler.timezone)
    now = request.app.state.engine.clock.now().astimezone(zone)
    return datetime.combine(now.date(), dt_time(0), zone)


async def chart(request: Request) -> Response:
    """A chart of the campaign's day (server-side SVG): ``hourly`` contacts and successes,
    ``abandon`` rate, ``talk`` minutes, ``agents`` by state."""
    from dialer.services.timeline import day_series
    from dialer.web import charts

    await _staff(request)
    name, kind = request.path_params["campaign"][:100], request.path_params["kind"]
    if kind not in CHARTS:
        raise NotFoundError(f"no chart {kind[:20]!r} (one of {', '.join(CHARTS)})")
    start = _day_start(request)
    async with request.app.state.db.connect() as conn:
        d = await conn.run_sync(lambda c: day_series(c, name, start))
    labels = d["labels"]
    if kind == "hourly":
        svg = charts.bars(f"Contacts and successes per hour ({start.tzinfo})", labels,
                          {"contacts": d["contacts"], "successes": d["successes"]})
    elif kind == "abandon":
        svg = charts.line("Abandon rate through the day", labels, {"abandon rate": d["abandon_rate_pct"]},
                          unit=" %", limit=d["target_pct"])
    elif kind == "talk":
        svg = charts.bars("Talk minutes per hour", labels, {"talk": [round(x, 1) for x in d["talk_min"]]}, unit=" min")
    else:
        svg = charts.bars("Agents by state (average per hour)", labels,
                          {s: [round(x, 2) for x in d[f"agents_{s}"]] for s in ("ready", "talking", "wrapup", "paused")},
                          stacked=True)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


CHARTS = ("hourly", "abandon", "talk", "agents")


async def agents_report(request: Request) -> Response:
    """Per-agent performance for a range (``since``, ``until``: ISO 8601, default today so
    far); ``/web/agents-report.csv``: the same as a spreadsheet-safe CSV."""
    from dialer.services.agents_report import agent_report, report_csv

    await _staff(request)
    q = request.query_params
    since = _when(q.get("since"), "since") or _day_start(request)
    until = _when(q.get("until"), "until") or request.app.state.engine.clock.now()
    if until <= since:
        raise Invalid("until: must be after since")
    campaign = (q.get("campaign") or None) and q["campaign"][:100]
    async with request.app.state.db.connect() as conn:
        report = await conn.run_sync(lambda c: agent_report(c, since, until, campaign))
    if request.url.path.endswith(".csv"):
        return Response(report_csv(report), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="agents-{since.date()}-{until.date()}.csv"',
            "Cache-Control": "no-store"})
    return Answer(report)


async def recordings(request: Request) -> Response:
    """The latest recorded calls, newest first, each with the URL that plays it (staff)."""
    from dialer.services.recordings import recent

    await _staff(request)
    async with request.app.state.db.connect() as conn:
        rows = await conn.run_sync(recent)
    return Answer({"recordings": rows})


class Answer(JSONResponse):
    """JSON with the timestamps written as the API writes them (ISO 8601 with an offset)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_iso, ensure_ascii=False, separators=(",", ":")).encode()


def _iso(value: Any) -> str:
    from datetime import UTC

    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return str(value)


def _when(value: str | None, key: str) -> Any:
    from datetime import UTC

    if not value:
        return None
    try:
        at = datetime.fromisoformat(value[:64])
    except ValueError:
        raise Invalid(f"{key}: not an ISO 8601 date and time") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def events(request: Request) -> Response:
    """The signed-in user's event stream: an agent's own events (a ``screen`` message with the
    call's details when a call connects to them); for staff every event and a wallboard ``tick``."""
    user = await _user(request)
    hub: EventHub = request.app.state.web_hub
    engine = request.app.state.engine
    if user.staff:
        sub = hub.subscribe(lambda kind, data: True)

        async def tick() -> dict:
            await _refresh_diagnostics(request)
            return _board(request)

        await _refresh_diagnostics(request)
        body = stream(hub, sub, [("tick", _board(request))], tick)
    else:
        name = user.name
        sub = hub.subscribe(lambda kind, data: data.get("agent") == name)
        body = _with_screens(stream(hub, sub, [("hello", {"agent": name})]), engine,
                             request.app.state.settings.http.screen_number)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _with_screens(frames: Any, engine: Any, number_mode: str = "full") -> Any:
    """An agent's stream: ``agent`` events with the pause code, and after each ``call`` event in
    state ``connected`` a ``screen`` message, the screen pop."""
    async for chunk in frames:
        if chunk.startswith((b"event: call\n", b"event: agent\n")):
            kind = chunk[7:chunk.index(b"\n")].decode()
            data = json.loads(chunk.split(b"data: ", 1)[1])
            if kind == "agent":
                view = next((a for a in agent_views(engine) if a.name == data.get("agent")), None)
                chunk = frame(kind, {**data, "pause_code": view.pause_code if view else None})
            yield chunk
            if kind == "call" and data.get("state") == "connected":
                details = mask_screen(await engine.current_call(data["agent"]), number_mode) or {}
                yield frame("screen", {**details, "sent_at": data.get("sent_at")})
        else:
            yield chunk
