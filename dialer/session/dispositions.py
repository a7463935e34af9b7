"""Whether a disposition may be recorded: the checks the daemon and the offline CLI share."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from campaigns.definition import CampaignDefinition
from campaigns.dispositions import validate_disposition
from dialer.errors import Conflict, Forbidden, Invalid, NotFound
from dialer.vocabulary import CallStatus, Outcome


class DispositionError(Invalid):
    """A disposition the campaign does not accept (unknown code, missing reason, ...)."""


def check_call(row: Any, call_id: int, agent_name: str | None = None) -> None:
    """Raise unless the call ``row`` (None: not found) waits for ``agent_name``'s disposition."""
    if row is None:
        raise NotFound(f"unknown call {call_id}")
    if agent_name is not None and row.agent != agent_name:
        raise Forbidden(f"call {call_id} is not agent {agent_name!r}'s call")
    if row.disposition is not None:
        raise Conflict(f"call {call_id} is already disposed ({row.disposition})")
    connected = row.connected_at is not None or row.status == CallStatus.CONNECTED
    if row.outcome not in (None, Outcome.CONNECTED) or not connected:
        raise Conflict(f"call {call_id} did not reach an agent (outcome {row.outcome})")
    if row.next_action is not None:  # the wrap-up limit let the rules decide
        raise Conflict(f"call {call_id} was decided without a disposition ({row.next_action})")


def check_disposition(definition: CampaignDefinition, code: str, *, reason: str | None,
                      callback_at: datetime | None, order_form: Mapping[str, Any] | None, now: datetime) -> None:
    """Raise :class:`DispositionError` unless the campaign accepts the disposition."""
    errors = validate_disposition(definition, code, reason=reason, callback_at=callback_at,
                                  fields=order_form or {}, now=now)
    if errors:
        raise DispositionError("; ".join(errors))
