"""Who is asking: ``Authorization: Bearer <token>``, an agent's own token or the admin token.

An agent's token gives access to their own session and calls; the admin token (in
``<data_dir>/admin.token``, used by the CLI) to every agent and call.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request

from dialer.api.inputs import MAX_NAME
from dialer.errors import Forbidden, NotFound
from dialer.models import agents as agents_t
from dialer.storage.audit import record_async
from dialer.vocabulary import AuditAction
from dialer.web.sessions import SESSION_COOKIE, cookie_caller, session_user

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def caller(request: Request) -> str | None:
    """The agent name the token belongs to, or ``None`` for the admin token; 401 otherwise.
    Without a token, the desktop's session cookie (with its CSRF header) is asked."""
    if "authorization" not in request.headers and SESSION_COOKIE in request.cookies:
        return await cookie_caller(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "missing bearer token", headers=_CHALLENGE)
    digest = token_hash(token.strip())
    if hmac.compare_digest(digest, request.app.state.admin_hash):
        return None
    async with request.app.state.db.connect() as conn:
        name = (await conn.execute(select(agents_t.c.name).where(agents_t.c.token_hash == digest))).scalar()
    if name is None:
        raise HTTPException(401, "invalid token", headers=_CHALLENGE)
    return name


async def require_admin(request: Request) -> None:
    if await caller(request) is not None:
        raise Forbidden("admin token required")


async def path_agent(request: Request) -> str:
    """The agent named in the path: the caller themself (403 for another agent's token), or
    with the admin token any agent that exists (404 otherwise)."""
    name = request.path_params["name"]
    who = await caller(request)
    if who is not None:
        if who != name:
            raise Forbidden(f"token is not agent {name[:MAX_NAME]!r}'s")
        return name
    if len(name) <= MAX_NAME:
        async with request.app.state.db.connect() as conn:
            if (await conn.execute(select(agents_t.c.id).where(agents_t.c.name == name))).first():
                return name
    raise NotFound(f"unknown agent {name[:MAX_NAME]!r}")


async def actor(request: Request) -> str:
    """Who is asking, for the audit log: the signed-in user's name (a supervisor too), the
    agent whose token it is, or ``admin``.  Call after the request was authorised."""
    if "authorization" not in request.headers and SESSION_COOKIE in request.cookies:
        user = await session_user(request)
        if user is not None:
            return user.name
    return await caller(request) or "admin"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


async def audit(request: Request, action: AuditAction, target: object = None, **detail: object) -> None:
    """Append who did ``action`` to ``target``, from where, to the audit log."""
    await record_async(request.app.state.db, action, await actor(request), target=target,
                       source=client_address(request), detail={k: v for k, v in detail.items() if v is not None})
