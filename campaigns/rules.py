"""Callback and retry rules: what happens to a lead after a call.

:func:`evaluate` is a pure function of the lead's history, the outcome of the
call just finished, the campaign definition, the time and a seeded RNG; it
returns one :data:`NextAction`. The campaign's ordered rules are tried first
(first match wins), then — unless ``default_rules = false`` — the built-in
:data:`DEFAULT_RULES`. The campaign's limits are then enforced on the result:
maximum attempts, minimum gaps after a refusal / abandoned call / machine,
maximum calls to one number per N days, and the calling window.

What a rule is (outcomes, matches, actions, the defaults, their parsing) is in
:mod:`campaigns.rulespec`, which :mod:`campaigns.definition` imports too.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from campaigns.definition import CampaignDefinition
from campaigns.parsing import format_duration
from campaigns.rulespec import DEFAULT_BANDS, DEFAULT_RULES, Action, Match, Rule
from campaigns.windows import get_zone, next_open

# --- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PastCall:
    """An earlier call to the lead (or its number), for :meth:`LeadHistory.from_calls`."""

    at: datetime
    outcome: str
    refusal: bool = False  # its disposition had the ``refusal`` flag
    same_lead: bool = True  # False: another lead/campaign calling the same number


@dataclass(frozen=True)
class LeadHistory:
    """What the rules need to know about earlier calls (the current one excluded)."""

    outcome_counts: Mapping[str, int] = field(default_factory=dict)  # this lead, by outcome
    number_calls: tuple[datetime, ...] = ()  # times of calls to the number, any campaign
    last_refusal_at: datetime | None = None
    last_abandoned_at: datetime | None = None
    last_machine_at: datetime | None = None

    @classmethod
    def from_calls(cls, calls: Iterable[PastCall]) -> LeadHistory:
        counts: dict[str, int] = {}
        times: list[datetime] = []
        last: dict[str, datetime] = {}

        def latest(key: str, at: datetime) -> None:
            if key not in last or at > last[key]:
                last[key] = at

        for call in calls:
            times.append(call.at)
            if call.same_lead:
                counts[call.outcome] = counts.get(call.outcome, 0) + 1
            if call.refusal:
                latest("refusal", call.at)
            if call.outcome in ("ABANDONED", "MACHINE"):
                latest(call.outcome, call.at)
        return cls(
            counts,
            tuple(sorted(times)),
            last.get("refusal"),
            last.get("ABANDONED"),
            last.get("MACHINE"),
        )


@dataclass(frozen=True)
class CallResult:
    """The call just finished: system outcome and, when connected, the agent's disposition."""

    outcome: str
    attempt: int = 1  # 1-based attempt number of this call for the lead in this campaign
    placed_at: datetime | None = None  # defaults to ``now``
    disposition: str | None = None
    reason: str | None = None  # refusal reason code
    callback_at: datetime | None = None  # time the customer asked for
    agent: str | None = None


# --- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Retry:
    """Dial the lead again, not before ``at``."""

    at: datetime
    rule: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Callback:
    """Call back at ``at``; only ``owner`` may take it until ``exclusive_until``, then anyone."""

    at: datetime
    owner: str | None
    exclusive_until: datetime | None
    requested_at: datetime | None
    rule: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finish:
    """Stop calling the lead in this campaign."""

    reason: str
    rule: str


@dataclass(frozen=True)
class AddToDnc:
    """Put the number on the do-not-call list for ever: for every campaign, or only this one."""

    reason: str
    rule: str
    scope: Literal["global", "campaign"] = "global"


@dataclass(frozen=True)
class MoveToCampaign:
    """Move the lead into ``campaign``: at once or when it starts, and never before ``not_before``."""

    campaign: str
    at: Literal["now", "start"]
    not_before: datetime
    rule: str
    notes: tuple[str, ...] = ()


NextAction = Retry | Callback | Finish | AddToDnc | MoveToCampaign


# --- evaluation -------------------------------------------------------------------------------


def _matches(
    when: Match,
    call: CallResult,
    flags: frozenset[str],
    outcome_count: int,
    lead: Mapping[str, Any],
) -> bool:
    if when.outcomes and call.outcome not in when.outcomes:
        return False
    if when.dispositions and call.disposition not in when.dispositions:
        return False
    if when.reasons and call.reason not in when.reasons:
        return False
    if when.flags and not when.flags <= flags:
        return False
    if when.attempt is not None and call.attempt not in when.attempt:
        return False
    if when.outcome_count is not None and outcome_count not in when.outcome_count:
        return False
    for name, accepted in when.lead:
        value = lead.get(name)
        if value is None or str(value).strip().casefold() not in accepted:
            return False
    return True


def matching_rule(
    definition: CampaignDefinition,
    history: LeadHistory,
    call: CallResult,
    lead: Mapping[str, Any] | None = None,
) -> Rule | None:
    """The first rule (campaign rules, then defaults) that matches, if any."""
    disposition = definition.disposition(call.disposition) if call.disposition else None
    flags = disposition.flags if disposition else frozenset()
    count = history.outcome_counts.get(call.outcome, 0) + 1
    rules = definition.rules + (DEFAULT_RULES if definition.default_rules else ())
    for rule in rules:
        if _matches(rule.when, call, flags, count, lead or {}):
            return rule
    return None


def evaluate(
    definition: CampaignDefinition,
    history: LeadHistory,
    call: CallResult,
    *,
    now: datetime,
    rng: random.Random,
    lead: Mapping[str, Any] | None = None,
    zones: Sequence[str] = (),
    region: str | None = None,
) -> NextAction:
    """Decide what happens to a lead after ``call`` (see the module docstring).

    ``zones`` are the lead's candidate time zones (for hour bands and the
    calling window; without them times are not moved into the window), and
    ``region`` its region code (``"US-CA"``) for window overrides.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(UTC)
    rule = matching_rule(definition, history, call, lead)
    if rule is None:
        return Finish("no rule matched", "fallback")
    action = rule.then
    if action.kind == "finish":
        return Finish(action.note or "finished by rule", rule.name)
    if action.kind == "dnc":
        return AddToDnc(action.note or "do not call", rule.name, action.scope)

    notes: list[str] = []
    if action.kind == "move":
        not_before = _apply_limits(definition, history, call, now, now, notes)
        return MoveToCampaign(action.campaign or "", action.at, not_before, rule.name, tuple(notes))

    if action.kind == "callback":
        requested = call.callback_at.astimezone(UTC) if call.callback_at else None
        at = max(requested or now + action.after, now)
        at = _apply_limits(definition, history, call, now, at, notes)
        at = _into_window(definition, zones, region, at, notes)
        owner = call.agent if action.owner == "agent" else None
        exclusive = at + action.grace if owner else None
        return Callback(at, owner, exclusive, requested, rule.name, tuple(notes))

    # retry
    limit = definition.limits.max_attempts
    if limit and call.attempt >= limit:
        return Finish(f"maximum attempts reached ({limit})", rule.name)
    at = now + action.after
    if action.days:
        at = max(at, _band_time(definition, action, call, now, zones, rng))
    if action.jitter:
        spread = action.jitter.total_seconds()
        at += timedelta(seconds=round(rng.uniform(-spread, spread)))
    at = max(at, now)
    at = _apply_limits(definition, history, call, now, at, notes)
    at = _into_window(definition, zones, region, at, notes)
    return Retry(at, rule.name, tuple(notes))


def earliest_allowed(
    definition: CampaignDefinition,
    history: LeadHistory,
    call: CallResult | None,
    now: datetime,
) -> datetime:
    """The earliest time (≥ ``now``) the campaign's gaps and frequency cap allow a next call.

    ``call``: the call just finished, if it is not yet part of ``history``. Use
    it, for instance, when a moved lead becomes due in its target campaign.
    """
    return _apply_limits(definition, history, call, now, now.astimezone(UTC), [])


def _apply_limits(
    definition: CampaignDefinition,
    history: LeadHistory,
    call: CallResult | None,
    now: datetime,
    at: datetime,
    notes: list[str],
) -> datetime:
    """Push ``at`` past every required gap and under the per-number frequency cap."""
    limits = definition.limits
    last_refusal = history.last_refusal_at
    last_abandoned = history.last_abandoned_at
    last_machine = history.last_machine_at
    times = list(history.number_calls)
    if call is not None:
        disposition = definition.disposition(call.disposition) if call.disposition else None
        if disposition is not None and disposition.refusal:
            last_refusal = now
        if call.outcome == "ABANDONED":
            last_abandoned = now
        if call.outcome == "MACHINE":
            last_machine = now
        times.append((call.placed_at or now).astimezone(UTC))
    for label, last, gap in (
        ("refusal", last_refusal, limits.gap_after_refusal),
        ("abandoned call", last_abandoned, limits.gap_after_abandoned),
        ("answering machine", last_machine, limits.gap_after_machine),
    ):
        if last is not None and gap and at < last + gap:
            at = last + gap
            notes.append(f"moved to {format_duration(gap)} after the last {label}")
    caps = list(limits.caps)
    if limits.max_calls_per_number:
        caps.append((limits.max_calls_per_number, limits.per_days))
    for cap, days in caps:
        if len(times) >= cap:
            span = timedelta(days=days)
            oldest_counting = sorted(times, reverse=True)[cap - 1]
            if at < oldest_counting + span:
                at = oldest_counting + span
                notes.append(f"moved under the cap of {cap} calls per {days} days")
    return at


def _into_window(
    definition: CampaignDefinition,
    zones: Sequence[str],
    region: str | None,
    at: datetime,
    notes: list[str],
) -> datetime:
    if not zones:
        return at
    opened = next_open(definition.window, zones, at, region)
    if opened is None:
        notes.append("no open calling window within 14 days; time left as computed")
        return at
    if opened != at:
        notes.append("moved to the next open calling window")
    return opened


def _band_time(
    definition: CampaignDefinition,
    action: Action,
    call: CallResult,
    now: datetime,
    zones: Sequence[str],
    rng: random.Random,
) -> datetime:
    """A random moment in an hour band on the lead's local date + ``action.days``."""
    zone = get_zone(zones[0]) if zones else UTC
    local = (call.placed_at or now).astimezone(zone)
    minute = local.hour * 60 + local.minute
    bands = definition.hour_bands or DEFAULT_BANDS
    current = [b for b in bands if b[0] <= minute < b[1]]
    if action.band == "other":
        choices = [b for b in bands if b not in current] or list(bands)
    elif action.band == "same":
        choices = current or list(bands)
    else:
        choices = list(bands)
    start, end = rng.choice(choices)
    pick = rng.randrange(start, end)
    day: date = local.date() + timedelta(days=action.days)
    naive = datetime.combine(day, time(pick // 60, pick % 60))
    return naive.replace(tzinfo=zone).astimezone(UTC)
