"""CSRF: with the session cookie, a state change needs the session's own token; a missing or
forged one is refused (403) on the JSON API, on the pages' routes and on sign-out, and changes
nothing."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.web.signin import web_sign_in

FORGED = ("", "x" * 43)  # none, and one shaped like a real token


@pytest.mark.parametrize("token", FORGED)
async def test_a_forged_token_is_refused_by_the_api(api: Api, token: str) -> None:
    csrf = await web_sign_in(api, "alice")
    assert token != csrf
    headers = {"X-CSRF-Token": token} if token else {}
    r = await api.client.post("/api/agents/alice/login", json={"campaign": "e2e"}, headers=headers)
    assert r.status_code == 403 and r.json() == {"error": "missing or invalid CSRF token (reload the page)"}
    r = await api.client.post("/web/login", data={"campaign": "e2e"}, headers=headers)
    assert r.status_code == 403
    assert api.link.actions == [] and api.engine.agent_by_name("alice") is None
    # the session's own token is accepted
    r = await api.client.post("/api/agents/alice/login", json={"campaign": "e2e"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and api.engine.agent_by_name("alice") is not None


async def test_another_sessions_token_is_refused(api: Api) -> None:
    bobs = await web_sign_in(api, "bob")
    api.client.cookies.clear()
    await web_sign_in(api, "alice")
    r = await api.client.post("/api/agents/alice/login", json={"campaign": "e2e"}, headers={"X-CSRF-Token": bobs})
    assert r.status_code == 403 and not api.link.actions


@pytest.mark.parametrize("token", FORGED)
async def test_sign_out_with_a_forged_token_is_refused(api: Api, token: str) -> None:
    csrf = await web_sign_in(api, "alice")
    assert (await api.client.post("/api/agents/alice/login", json={"campaign": "e2e"},
                                  headers={"X-CSRF-Token": csrf})).status_code == 200
    before = list(api.link.actions)
    r = await api.client.post("/signout", data={"csrf": token} if token else {})
    assert r.status_code == 403
    # still signed in, still logged in to the queue
    assert (await api.client.get("/web/me")).json()["name"] == "alice"
    assert api.link.actions == before and api.engine.agent_by_name("alice") is not None
    # with the token: signed out, logged out of the queue, the cookie no longer works
    cookie = dict(api.client.cookies)
    r = await api.client.post("/signout", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/agent"
    assert ("remove", ("e2e", "PJSIP/alice")) in api.link.actions
    api.client.cookies.update(cookie)
    assert (await api.client.get("/web/me")).status_code == 401
