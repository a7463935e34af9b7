"""The daemon's HTTP server limits (dialer.api.serving, wired in dialer.server): over a real
socket, slow or idle clients are disconnected, oversized headers and excess connections refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest

from dialer.api import create_app
from dialer.errors import ConfigError
from dialer.server import _QuietUvicorn
from dialer.settings import HttpSettings, load_settings

REQUEST = b"GET /api/status HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer admin\r\n\r\n"
DEADLINE = 10.0  # seconds: far beyond the limits under test, only so that a failure cannot hang


@pytest.fixture
async def port() -> AsyncIterator[int]:
    http = HttpSettings(port=0, header_timeout=0.3, keep_alive_timeout=60, max_header_bytes=4096, max_connections=3)
    app = create_app(SimpleNamespace(db=None, status=lambda: {"ok": True}), "admin")
    server = _QuietUvicorn(app, http)
    await server.start()
    try:
        yield server.server.servers[0].sockets[0].getsockname()[1]
    finally:
        await server.stop()


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), DEADLINE)


async def test_a_request_is_answered(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(REQUEST.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    answer = await closed_by_server(reader)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"ok":true}')
    writer.close()


async def test_headers_that_never_end_are_cut_off(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /api/status HTTP/1.1\r\nHost: t\r\n")  # and nothing more
    assert await closed_by_server(reader) == b""
    writer.close()


async def test_the_next_request_on_a_connection_is_timed_out_too(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(REQUEST)
    status = await asyncio.wait_for(reader.readline(), DEADLINE)
    assert status.startswith(b"HTTP/1.1 200")
    writer.write(b"GET /api/status HTTP/1.1\r\n")  # a second request, never finished
    rest = await closed_by_server(reader)
    assert rest.endswith(b'{"ok":true}')  # the first answer's remainder, then the close
    writer.close()


async def test_oversized_headers_are_refused(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /api/status HTTP/1.1\r\nHost: t\r\nX-Big: " + b"x" * 8192 + b"\r\n\r\n")
    answer = await closed_by_server(reader)
    assert answer.startswith(b"HTTP/1.1 4")
    writer.close()


async def test_connections_beyond_the_limit_get_503(port: int) -> None:
    idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(REQUEST)
    assert (await asyncio.wait_for(reader.readline(), DEADLINE)).startswith(b"HTTP/1.1 503")
    for _, w in [*idle, (reader, writer)]:
        w.close()


@pytest.mark.parametrize(("var", "value", "message"), [
    ("DIALER_HTTP_MAX_BODY_BYTES", "10", "http.max_body_bytes 10 is not between 1024 and"),
    ("DIALER_HTTP_HEADER_TIMEOUT", "0", "http.header_timeout 0.0 is not between 0.1 and 3600"),
    ("DIALER_HTTP_MAX_CONNECTIONS", "0", "http.max_connections 0 is not between 1 and"),
    ("DIALER_HTTP_MAX_JSON_DEPTH", "many", "cannot use 'many' as int"),
])
def test_limits_are_validated_settings(var: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env={var: value})
    assert load_settings(env={"DIALER_HTTP_MAX_BODY_BYTES": "1048576"}).http.max_body_bytes == 1 << 20
