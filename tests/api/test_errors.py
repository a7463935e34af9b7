"""Typed errors to status codes, once per class (dialer.api.app.STATUS), and unexpected
exceptions as a generic 500 with the traceback in the log only."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import httpx
import pytest

from dialer.api import create_app
from dialer.errors import Conflict, DialerError, Forbidden, InputError, Invalid, NotFound, PbxError


class Gone(NotFound):
    """A subclass is answered like its base."""


def app_raising(exc: BaseException) -> httpx.AsyncClient:
    def status() -> dict:
        raise exc

    app = create_app(SimpleNamespace(db=None, status=status), "admin")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                             headers={"Authorization": "Bearer admin"})


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (NotFound("unknown call 5"), 404),
        (Gone("unknown lead 9"), 404),
        (Forbidden("call 5 is not agent 'bob''s call"), 403),
        (Conflict("call 5 is already disposed (SALE)"), 409),
        (Invalid("unknown disposition 'X'"), 422),
        (PbxError("PBX refused QueuePause: Interface not found"), 502),  # the PBX's reason, as it gave it
        (InputError("unknown campaign 'x'"), 422),  # any other DialerError: 422 with its message
        (DialerError("something the user can act on"), 422),
    ],
)
async def test_each_error_class_has_one_status(exc: DialerError, status: int) -> None:
    async with app_raising(exc) as client:
        r = await client.get("/api/status")
    assert r.status_code == status
    assert r.json() == {"error": str(exc)}
    assert r.headers["content-type"] == "application/json"


async def test_unexpected_errors_are_500_with_the_traceback_in_the_log_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "dialer.api")
    async with app_raising(KeyError("secret internals")) as client:
        r = await client.get("/api/status")
    assert r.status_code == 500
    assert r.json() == {"error": "internal error (see the daemon's log)"}
    assert "secret" not in r.text
    record = next(rec for rec in caplog.records if rec.name == "dialer.api")
    assert record.exc_info is not None and "secret internals" in caplog.text


async def test_a_message_saying_not_logged_in_is_no_longer_what_decides() -> None:
    """The class decides the status, not words in the message (they were matched before)."""
    async with app_raising(Invalid("agent 'x' is not logged in; dispose first")) as client:
        assert (await client.get("/api/status")).status_code == 422
    async with app_raising(Conflict("odd wording")) as client:
        assert (await client.get("/api/status")).status_code == 409
