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
from datetime import datetime

from campaigns.definition import CampaignDefinition
from campaigns.rules import CallResult, LeadHistory, Retry
from dialer.session.unknown import retry_as

RULE = "pbx-down:attempt-given-back"
#: The change to the lead's attempt count that goes with this path.
GIVE_BACK = -1


def after_pbx_down(definition: CampaignDefinition, history: LeadHistory, call: CallResult, *, now: datetime,
                   zones: Sequence[str] = (), region: str | None = None) -> Retry:
    """The lead's next step after ``call`` was refused or cut by the PBX shutting down (pure):
    due again as soon as the campaign's limits and calling window allow."""
    return retry_as(definition, history, call, "NO_ANSWER", now=now, zones=zones, region=region, rule=RULE,
                    note="PBX shutting down: the attempt is given back")
