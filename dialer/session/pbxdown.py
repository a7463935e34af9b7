"""The rule path of a call the PBX refused or cut short while shutting down (``PBX_DOWN``).

Not the lead's doing: the PBX answered the Originate "Asterisk is shutting down", or a call
still ringing was ended by the shutdown (or lost with the link the shutdown closed).  The
attempt is given back (the lead's ``attempts`` is not charged for it: :data:`GIVE_BACK`) and
the lead is due again at once, inside the calling window; the dialler itself places nothing
until the PBX is back.  The campaign's gaps and frequency caps still apply (a call that rang
counts as a call to the number).  Campaign rules cannot match ``PBX_DOWN``: this is its only path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from campaigns.definition import CampaignDefinition
from campaigns.rules import CallResult, LeadHistory, Retry, earliest_allowed
from campaigns.windows import next_open

RULE = "pbx-down:attempt-given-back"
#: The change to the lead's attempt count that goes with this path.
GIVE_BACK = -1


def after_pbx_down(definition: CampaignDefinition, history: LeadHistory, call: CallResult, *, now: datetime,
                   zones: Sequence[str] = (), region: str | None = None) -> Retry:
    """The lead's next step after ``call`` was refused or cut by the PBX shutting down (pure):
    due again as soon as the campaign's limits and calling window allow."""
    now = now.astimezone(UTC)
    at = earliest_allowed(definition, history, replace(call, outcome="NO_ANSWER"), now)
    notes = ["PBX shutting down: the attempt is given back"]
    if zones:
        opened = next_open(definition.window, zones, at, region)
        if opened is not None and opened != at:
            at = opened
            notes.append("moved to the next open calling window")
    return Retry(at, RULE, tuple(notes))
