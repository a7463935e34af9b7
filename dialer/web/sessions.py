"""Signed-in browsers: the session cookie, its row in ``web_sessions``, CSRF tokens.

The cookie holds a random token; the database only its SHA-256 (a stolen database does not
sign anyone in).  Each session has its own CSRF token, which the pages send back in the
``X-CSRF-Token`` header (JavaScript) or a ``csrf`` form field; a request that changes anything
without it is refused (403).  Before sign-in, the sign-in form is protected the same way by a
short-lived ``dialer_signin`` cookie (double submit).  Cookies are ``HttpOnly``,
``SameSite=Strict`` and ``Secure`` when the daemon serves TLS.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from campaigns.models import campaigns as campaigns_t
from dialer.errors import Forbidden
from dialer.models import agent_campaigns, web_sessions
from dialer.models import agents as agents_t
from dialer.web.passwords import verify_password

SESSION_COOKIE = "dialer_session"
SIGNIN_COOKIE = "dialer_signin"
CSRF_HEADER = "x-csrf-token"
LIFETIME = timedelta(hours=12)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STAFF_ROLES = frozenset({"supervisor", "admin"})


@dataclass(frozen=True)
class WebUser:
    """Who a session cookie belongs to."""

    agent_id: int
    name: str
    role: str
    csrf: str

    @property
    def staff(self) -> bool:
        return self.role in STAFF_ROLES


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def set_cookie(response: Response, name: str, value: str, *, secure: bool, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict", secure=secure)


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def check_secret(db: AsyncEngine, name: str, secret: str) -> int | None:
    """The agent's id when ``secret`` is their password or their API token; ``None`` otherwise."""
    async with db.connect() as conn:
        row = (await conn.execute(select(agents_t.c.id, agents_t.c.password_hash, agents_t.c.token_hash)
                                  .where(agents_t.c.name == name))).first()
    # scrypt takes tens of milliseconds: off the event loop (the AMI link and the pacing go on).
    if row is None:
        await asyncio.to_thread(verify_password, secret, _DUMMY)  # as long whether or not the name exists
        return None
    if await asyncio.to_thread(verify_password, secret, row.password_hash) or same(digest(secret), row.token_hash):
        return int(row.id)
    return None


_DUMMY = "scrypt$16384$8$1$00$00"


async def open_session(db: AsyncEngine, agent_id: int) -> str:
    """A new session for the agent; returns the cookie's token."""
    now = _wall_now()
    token = secrets.token_urlsafe(32)
    async with db.begin() as conn:
        await conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
        await conn.execute(insert(web_sessions).values(token_hash=digest(token), agent_id=agent_id,
                                                       csrf=secrets.token_urlsafe(32), created_at=now,
                                                       expires_at=now + LIFETIME))
    return token


async def close_session(db: AsyncEngine, token: str) -> None:
    async with db.begin() as conn:
        await conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == digest(token)))


async def session_user(request: Request) -> WebUser | None:
    """The signed-in user of the request's session cookie, or ``None``."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        return None
    async with request.app.state.db.connect() as conn:
        row = (await conn.execute(
            select(agents_t.c.id, agents_t.c.name, agents_t.c.role, web_sessions.c.csrf, web_sessions.c.expires_at)
            .select_from(web_sessions.join(agents_t, agents_t.c.id == web_sessions.c.agent_id))
            .where(web_sessions.c.token_hash == digest(token)))).first()
    if row is None or row.expires_at <= _wall_now():
        return None
    return WebUser(int(row.id), row.name, row.role or "agent", row.csrf)


def check_csrf(request: Request, user: WebUser, form_value: str | None = None) -> None:
    """Refuse (403) a state-changing request without the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    if not same(form_value or request.headers.get(CSRF_HEADER), user.csrf):
        raise Forbidden("missing or invalid CSRF token (reload the page)")


async def cookie_caller(request: Request) -> str | None:
    """For the JSON API: the session's agent name, ``None`` for a supervisor or admin (all
    agents and calls, like the admin token); 401 without a valid session, 403 without CSRF."""
    from starlette.exceptions import HTTPException

    user = await session_user(request)
    if user is None:
        raise HTTPException(401, "not signed in (or the session has ended)")
    check_csrf(request, user)
    return None if user.staff else user.name


async def assigned_campaigns(db: AsyncEngine, agent_id: int) -> list[str]:
    """The names of the campaigns the agent is assigned to, sorted."""
    async with db.connect() as conn:
        rows = await conn.execute(
            select(campaigns_t.c.name)
            .select_from(agent_campaigns.join(campaigns_t, campaigns_t.c.id == agent_campaigns.c.campaign_id))
            .where(agent_campaigns.c.agent_id == agent_id).order_by(campaigns_t.c.name))
        return [r.name for r in rows]


def _wall_now() -> datetime:
    """Session expiry is wall time (cookies live in the browser's time, not the daemon's clock)."""
    return datetime.now(UTC)
