"""The rule path of a call whose outcome is unknown (the daemon lost sight of it: a crash, a
link down) and that is not known to have reached an agent.

It is not a failure: the customer may have answered and been abandoned, or may have talked to
an agent the daemon never saw.  So the lead is called again no sooner than the campaign's re-call
gap — ``limits.gap_after_abandoned`` (72 h by default: the UK's rule after an abandoned call, the
strictest thing the call may have been) — and never more often than the campaign's other limits
allow; at the maximum attempts the lead is finished.  Campaign rules cannot match ``UNKNOWN``
(it is not in :data:`campaigns.rulespec.OUTCOMES`), so this is its only path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from campaigns.definition import CampaignDefinition
from campaigns.parsing import format_duration
from campaigns.rules import CallResult, Finish, LeadHistory, NextAction, Retry, earliest_allowed
from campaigns.windows import next_open
from dialer.vocabulary import Outcome

RULE = "unknown:after-recall-gap"


def after_unknown(definition: CampaignDefinition, history: LeadHistory, call: CallResult, *, now: datetime,
                  zones: Sequence[str] = (), region: str | None = None) -> NextAction:
    """The lead's next step after ``call`` ended with an unknown outcome (pure)."""
    limit = definition.limits.max_attempts
    if limit and call.attempt >= limit:
        return Finish(f"maximum attempts reached ({limit}); last outcome unknown", RULE)
    notes = f"outcome unknown: not before the re-call gap ({format_duration(definition.limits.gap_after_abandoned)})"
    # Judged as if the call had been abandoned: the longest gap the call may have required.
    return retry_as(definition, history, call, Outcome.ABANDONED, now=now, zones=zones, region=region,
                    rule=RULE, note=notes)


def retry_as(definition: CampaignDefinition, history: LeadHistory, call: CallResult, outcome: str, *,
             now: datetime, zones: Sequence[str], region: str | None, rule: str, note: str) -> Retry:
    """A retry as early as the campaign's limits allow had ``call`` ended ``outcome`` (its gap,
    the caps), moved to the next open calling window of the lead's zones (pure)."""
    at = earliest_allowed(definition, history, replace(call, outcome=outcome), now.astimezone(UTC))
    notes = [note]
    if zones:
        opened = next_open(definition.window, zones, at, region)
        if opened is not None and opened != at:
            at = opened
            notes.append("moved to the next open calling window")
    return Retry(at, rule, tuple(notes))
