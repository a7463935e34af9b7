"""The OpenAPI document against the real routes and answers; CORS; TLS with a Secure cookie."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from dialer.api import create_app
from dialer.api.app import ROUTES
from dialer.api.openapi import api_routes
from dialer.settings import Settings
from tests.api.conftest import ADMIN, ALICE, Api


async def test_the_document_describes_every_route_and_nothing_else(api: Api) -> None:
    r = await api.client.get("/api/openapi.json")  # no token needed
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1") and doc["info"]["title"]
    documented = sorted((m.upper(), p) for p, ops in doc["paths"].items() for m in ops)
    assert documented == api_routes(ROUTES)
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
