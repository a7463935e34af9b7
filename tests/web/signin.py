"""Signing in to the pages without a browser (over the API fixture of tests/api): a password for
an agent or a supervisor, the sign-in form's token, the session cookie and its CSRF token."""

from __future__ import annotations

import re

from sqlalchemy import update

from dialer.models import agents
from dialer.web.passwords import hash_password
from tests.api.conftest import Api

SECRET = "s3cret-for-tests"


async def web_sign_in(api: Api, name: str, role: str = "agent") -> str:
    """Sign ``name`` in (with ``role``) on ``api.client``; the session's CSRF token."""
    async with api.engine.db.begin() as conn:
        await conn.execute(update(agents).where(agents.c.name == name)
                           .values(password_hash=hash_password(SECRET), role=role))
    form = await api.client.get("/agent")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text[:200]
    signed = await api.client.post("/signin", data={"name": name, "secret": SECRET, "csrf": token[1],
                                                   "target": "agent"})
    assert signed.status_code == 303, signed.text[:200]
    page = await api.client.get("/agent")
    csrf = re.search(r'<meta name="csrf" content="([^"]+)"', page.text)
    assert csrf, page.text[:200]
    return csrf[1]
