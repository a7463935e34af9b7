"""Whether a disposition may be recorded: typed refusals, shared by the daemon and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from dialer.errors import Conflict, Forbidden, Invalid, NotFound
from dialer.session import DispositionError, check_call, check_disposition
from tests.session.helpers import campaign

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def row(**values: object) -> SimpleNamespace:
    data = {"agent": "alice", "disposition": None, "outcome": "CONNECTED", "connected_at": NOW,
            "status": "ended", "next_action": None} | values
    return SimpleNamespace(**data)


@pytest.mark.parametrize(
    ("call", "agent", "error", "message"),
    [
        (None, None, NotFound, "unknown call 7"),
        (row(), "bob", Forbidden, "not agent 'bob'"),
        (row(disposition="SALE"), "alice", Conflict, "already disposed"),
        (row(outcome="BUSY", connected_at=None), None, Conflict, "did not reach an agent"),
        (row(outcome=None, connected_at=None, status="ringing"), None, Conflict, "did not reach an agent"),
    ],
)
def test_calls_that_cannot_be_disposed(call: object, agent: str | None, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        check_call(call, 7, agent)


def test_calls_that_can() -> None:
    check_call(row(), 7, "alice")
    check_call(row(outcome=None, connected_at=None, status="connected"), 7)  # still talking


def test_dispositions_the_campaign_does_not_accept_are_invalid() -> None:
    definition = campaign().definition
    with pytest.raises(DispositionError, match="NOPE") as caught:
        check_disposition(definition, "NOPE", reason=None, callback_at=None, order_form=None, now=NOW)
    assert isinstance(caught.value, Invalid)
    with pytest.raises(DispositionError, match="reason"):
        check_disposition(definition, "REFUSED", reason=None, callback_at=None, order_form=None, now=NOW)
    check_disposition(definition, "CALLBACK", reason=None, callback_at=NOW + timedelta(days=1), order_form=None,
                      now=NOW)
