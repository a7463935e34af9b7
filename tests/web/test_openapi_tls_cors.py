"""The OpenAPI document against the real routes and answers; CORS; TLS with a Secure cookie."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator

from dialer.api import create_app
from dialer.api.app import ROUTES
from dialer.api.openapi import ANSWERS, api_routes
from dialer.settings import Settings
from dialer.web import ROUTES as WEB_ROUTES
from tests.api.conftest import ADMIN, ALICE, Api
from tests.web.signin import web_sign_in


async def test_the_document_describes_every_route_and_nothing_else(api: Api) -> None:
    r = await api.client.get("/api/openapi.json")  # no token needed
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1") and doc["info"]["title"]
    documented = sorted((m.upper(), p) for p, ops in doc["paths"].items() for m in ops)
    assert documented == api_routes([*ROUTES, *WEB_ROUTES])
    assert {p for _, p in documented if p.startswith("/web/")} == {
        "/web/me", "/web/login", "/web/wallboard", "/web/events", "/web/charts/{campaign}/{kind}.svg",
        "/web/agents-report", "/web/agents-report.csv", "/web/recordings"}
    for path, ops in doc["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        for op in ops.values():
            assert [p["name"] for p in op["parameters"]] == params
            assert op["responses"] and op["summary"] and op["operationId"]
            for resp in op["responses"].values():
                ref = resp.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
                assert ref is None or ref.split("/")[-1] in doc["components"]["schemas"]
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


async def test_real_answers_match_the_document(api: Api) -> None:
    """Each status a route answers with is one the document lists, and errors have its shape."""
    doc = (await api.client.get("/api/openapi.json")).json()
    cases = [
        ("POST", "/api/agents/alice/login", "/api/agents/{name}/login", {"campaign": "e2e"}, ALICE),
        ("POST", "/api/agents/alice/login", "/api/agents/{name}/login", {}, ALICE),
        ("POST", "/api/agents/nobody/pause", "/api/agents/{name}/pause", {"code": "X"}, ADMIN),
        ("GET", "/api/agents/alice/call", "/api/agents/{name}/call", None, ALICE),
        ("GET", "/api/agents/alice/callbacks", "/api/agents/{name}/callbacks", None, ALICE),
        ("POST", "/api/calls/7/disposition", "/api/calls/{call_id}/disposition", {"code": "NOPE"}, ALICE),
        ("POST", "/api/calls/8/dnc", "/api/calls/{call_id}/dnc", {}, ALICE),
        ("GET", "/api/calls/7/callback-slots", "/api/calls/{call_id}/callback-slots", None, ALICE),
        ("GET", "/api/status", "/api/status", None, ALICE),
        ("GET", "/api/status", "/api/status", None, ADMIN),
        ("POST", "/api/campaigns/e2e/resume", "/api/campaigns/{name}/resume", {}, ADMIN),
        ("GET", "/api/campaigns/e2e/why", "/api/campaigns/{name}/why", None, ADMIN),
    ]
    for method, url, path, body, headers in cases:
        r = await api.client.request(method, url, json=body, headers=headers)
        listed = doc["paths"][path][method.lower()]["responses"]
        assert str(r.status_code) in listed, (url, r.status_code, r.text)
        if r.status_code >= 400:
            assert set(r.json()) == {"error"}


async def test_the_document_is_valid_openapi_3_1(api: Api) -> None:
    from openapi_spec_validator import validate

    doc = (await api.client.get("/api/openapi.json")).json()
    validate(doc)  # raises on any fault, with its place in the document
    # the pages' routes take the session cookie only, the form its media type; the main answers have a schema
    assert doc["paths"]["/web/me"]["get"]["security"] == [{"session": []}]
    assert "application/x-www-form-urlencoded" in doc["paths"]["/web/login"]["post"]["requestBody"]["content"]
    assert "text/event-stream" in doc["paths"]["/web/events"]["get"]["responses"]["200"]["content"]
    me = doc["paths"]["/web/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert me == {"$ref": "#/components/schemas/Me"} and "pause_codes" in doc["components"]["schemas"]["Me"]["required"]
    broken = json.loads(json.dumps(doc))
    broken["paths"]["/web/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Nope"}
    with pytest.raises(Exception, match="Nope"):
        validate(broken)


def _schema(doc: dict, method: str, path: str) -> Draft202012Validator:
    ref = doc["paths"][path][method.lower()]["responses"]["200"]["content"]["application/json"]["schema"]
    return Draft202012Validator({**ref, "components": doc["components"]})


async def test_the_main_answers_match_their_schemas(api: Api) -> None:
    """Real answers of the main routes, each validated against the schema the document gives it."""
    doc = (await api.client.get("/api/openapi.json")).json()
    c = api.client
    answers: list[tuple[str, str, httpx.Response]] = [
        ("POST", "/api/agents/{name}/login", await c.post("/api/agents/alice/login", json={"campaign": "e2e"},
                                                         headers=ALICE)),
        ("POST", "/api/agents/{name}/pause", await c.post("/api/agents/alice/pause", json={"code": "LUNCH"},
                                                         headers=ALICE)),
        ("POST", "/api/agents/{name}/ready", await c.post("/api/agents/alice/ready", headers=ALICE)),
    ]
    api.engine.agent_by_name("alice").call_id = 7
    answers += [
        ("GET", "/api/agents/{name}/call", await c.get("/api/agents/alice/call", headers=ALICE)),
        ("GET", "/api/agents/{name}/callbacks", await c.get("/api/agents/alice/callbacks", headers=ALICE)),
        ("GET", "/api/calls/{call_id}/callback-slots", await c.get("/api/calls/7/callback-slots", headers=ALICE)),
        ("GET", "/api/status", await c.get("/api/status", headers=ADMIN)),
        ("GET", "/api/campaigns/{name}/why", await c.get("/api/campaigns/e2e/why", headers=ADMIN)),
        ("POST", "/api/calls/{call_id}/disposition", await c.post(
            "/api/calls/7/disposition", json={"code": "REFUSED", "reason": "PRICE"}, headers=ALICE)),
        ("POST", "/api/agents/{name}/logout", await c.post("/api/agents/alice/logout", headers=ALICE)),
        ("POST", "/api/consent/revoke", await c.post("/api/consent/revoke", json={"number": "+12125550199"},
                                                     headers=ADMIN)),
        ("POST", "/api/campaigns/{name}/pause", await c.post("/api/campaigns/e2e/pause", headers=ADMIN)),
        ("POST", "/api/campaigns/{name}/resume", await c.post("/api/campaigns/e2e/resume", headers=ADMIN)),
    ]
    csrf = await web_sign_in(api, "bob", "supervisor")
    answers += [
        ("POST", "/web/login", await c.post("/web/login", data={"campaign": "e2e"}, headers={"X-CSRF-Token": csrf})),
        ("GET", "/web/me", await c.get("/web/me")),
        ("GET", "/web/wallboard", await c.get("/web/wallboard")),
        ("GET", "/web/agents-report", await c.get("/web/agents-report")),
        ("GET", "/web/recordings", await c.get("/web/recordings")),
    ]
    for method, path, r in answers:
        assert r.status_code == 200, (path, r.text)
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _schema(doc, method, path)
                  .iter_errors(r.json())]
        assert not errors, (path, errors)
    checked = {(m, p) for m, p, _ in answers}
    assert checked >= set(ANSWERS) - {("POST", "/api/calls/{call_id}/dnc")}
    # the schemas do check: a time without its offset, a missing field, a wrong type are all caught
    report = next(r for _, p, r in answers if p == "/web/agents-report").json()
    assert not _schema(doc, "GET", "/web/agents-report").is_valid({**report, "since": "2026-03-02T00:00:00"})
    me = next(r for _, p, r in answers if p == "/web/me").json()
    assert not _schema(doc, "GET", "/web/me").is_valid({k: v for k, v in me.items() if k != "pause_codes"})
    assert not _schema(doc, "GET", "/web/me").is_valid({**me, "call_id": "7"})


async def test_cors_allows_only_the_configured_origins(tmp_path: Path, api: Api) -> None:
    settings = Settings()
    settings.http.cors_origins = "https://desk.example.com"
    app = create_app(api.engine, "admin-token", settings=settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
        ok = await client.options("/api/agents/alice/ready", headers={"Origin": "https://desk.example.com", **pre})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://desk.example.com"
        assert ok.headers["access-control-allow-credentials"] == "true"
        bad = await client.options("/api/agents/alice/ready", headers={"Origin": "https://evil.example", **pre})
        assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers
        r = await client.get("/api/status", headers={"Origin": "https://desk.example.com", **ADMIN})
        assert r.headers["access-control-allow-origin"] == "https://desk.example.com"
    # without the setting: no CORS headers at all
    r = await api.client.get("/api/status", headers={"Origin": "https://desk.example.com", **ADMIN})
    assert "access-control-allow-origin" not in r.headers


def test_tls_and_cors_settings_are_checked(tmp_path: Path) -> None:
    http = Settings().http
    http.cert_file = str(tmp_path / "missing.pem")
    problems = http.limit_problems()
    assert any("give both" in p for p in problems) and any("no such file" in p for p in problems)
    http.cert_file, http.cors_origins = "", "desk.example.com, https://ok.example"
    assert http.limit_problems() == ["http.cors_origins: 'desk.example.com' is not an origin like "
                                     "https://desk.example.com"]
    assert http.cors_list == ["desk.example.com", "https://ok.example"]


def _self_signed(tmp_path: Path) -> tuple[str, str]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


async def test_tls_serves_https_with_a_secure_cookie(tmp_path: Path, api: Api) -> None:
    import uvicorn

    from dialer.api.serving import uvicorn_limits

    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificate (apt-get install -y openssl)")
    settings = Settings()
    settings.http.cert_file, settings.http.key_file = _self_signed(tmp_path)
    assert settings.http.limit_problems() == []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(api.engine, "admin-token", settings=settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           **uvicorn_limits(settings.http)))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done()
            await asyncio.sleep(0.01)
        context = ssl.create_default_context(cafile=settings.http.cert_file)
        context.check_hostname = False
        async with httpx.AsyncClient(verify=context, base_url=f"https://127.0.0.1:{port}") as client:
            page = await client.get("/agent")
            assert page.status_code == 200
            assert "secure" in page.headers["set-cookie"].lower() and "samesite=strict" in page.headers["set-cookie"].lower()
            assert (await client.get("/api/openapi.json")).status_code == 200
    finally:
        server.should_exit = True
        await task
