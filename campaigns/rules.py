"""Callback and retry rules: what happens to a lead after a call.

:func:`evaluate` is a pure function of the lead's history, the outcome of the
call just finished, the campaign definition, the time and a seeded RNG; it
returns one :data:`NextAction`. The campaign's ordered rules are tried first
(first match wins), then — unless ``default_rules = false`` — the built-in
:data:`DEFAULT_RULES`. The campaign's limits are then enforced on the result:
maximum attempts, minimum gaps after a refusal / abandoned call / machine,
maximum calls to one number per N days, and the calling window.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from campaigns.parsing import (
    Invalid,
    Problems,
    check_keys,
    format_duration,
    format_ranges,
    join,
    parse_duration,
    parse_ranges,
)
from campaigns.windows import get_zone, next_open

if TYPE_CHECKING:
    from campaigns.definition import CampaignDefinition


class Outcome(StrEnum):
    """System outcome of a dial attempt (from the call tracker)."""

    CONNECTED = "CONNECTED"
    ABANDONED = "ABANDONED"
    MACHINE = "MACHINE"
    NO_ANSWER = "NO_ANSWER"
    BUSY = "BUSY"
    CONGESTION = "CONGESTION"
    INVALID_NUMBER = "INVALID_NUMBER"
    FAILED = "FAILED"


OUTCOMES = frozenset(o.value for o in Outcome)
DISPOSITION_FLAGS = ("contact", "success", "final", "dnc", "callback", "refusal")
ACTIONS = ("retry", "callback", "finish", "dnc", "move")


# --- rule specification ---------------------------------------------------------------------


@dataclass(frozen=True)
class IntRange:
    """An inclusive integer range; ``None`` bounds are open."""

    low: int | None = None
    high: int | None = None

    def __contains__(self, value: int) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def to_data(self) -> str:
        if self.low == self.high and self.low is not None:
            return str(self.low)
        if self.low is None:
            return f"<={self.high}"
        if self.high is None:
            return f">={self.low}"
        return f"{self.low}-{self.high}"


def parse_int_range(value: Any) -> IntRange:
    """``3``, ``"2-4"``, ``"3+"``, ``">=3"``, ``">3"``, ``"<=2"``, ``"<3"`` → :class:`IntRange`."""
    if isinstance(value, bool):
        raise Invalid(f"expected a number or a range like '2-4' or '3+' (got {value!r})")
    if isinstance(value, int):
        return IntRange(value, value)
    text = str(value).replace(" ", "")
    try:
        if text.endswith("+"):
            return IntRange(int(text[:-1]), None)
        for prefix, lo, hi in ((">=", 0, None), ("<=", None, 0), (">", 1, None), ("<", None, -1)):
            if text.startswith(prefix):
                n = int(text[len(prefix) :])
                return IntRange(None if lo is None else n + lo, None if hi is None else n + hi)
        if "-" in text:
            lo_text, hi_text = text.split("-", 1)
            lo, hi = int(lo_text), int(hi_text)
            if hi < lo:
                raise Invalid(f"range {value!r} is empty")
            return IntRange(lo, hi)
        n = int(text)
        return IntRange(n, n)
    except ValueError:
        raise Invalid(f"expected a number or a range like '2-4' or '3+' (got {value!r})") from None


@dataclass(frozen=True)
class Match:
    """Conditions of a rule; every condition given must hold (empty = any)."""

    outcomes: frozenset[str] = frozenset()
    dispositions: frozenset[str] = frozenset()
    reasons: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()  # the disposition must have all these flags
    attempt: IntRange | None = None  # this call's attempt number (1-based)
    outcome_count: IntRange | None = None  # times this outcome happened, this call included
    lead: tuple[tuple[str, frozenset[str]], ...] = ()  # lead field → accepted values


@dataclass(frozen=True)
class Action:
    """What a rule does; fields not relevant to ``kind`` are ignored."""

    kind: Literal["retry", "callback", "finish", "dnc", "move"]
    after: timedelta = timedelta(0)  # retry: delay; callback: delay when no time was given
    jitter: timedelta = timedelta(0)  # ± uniformly random
    days: int = 0  # retry on the lead's local date + days ...
    band: Literal["any", "same", "other"] = "any"  # ... in this hour band
    owner: Literal["agent", "anyone"] = "agent"  # callback owner
    grace: timedelta = timedelta(minutes=15)  # callback: owner-only time before anyone may take it
    campaign: str | None = None  # move target
    at: Literal["now", "start"] = "start"  # move: at once, or when the target starts
    scope: Literal["global", "campaign"] = "global"  # dnc: every campaign, or this one
    note: str = ""


@dataclass(frozen=True)
class Rule:
    name: str
    when: Match
    then: Action


def _r(name: str, action: Action, **when: Any) -> Rule:
    return Rule(name, Match(**when), action)


_NEXT_DAY_OTHER_BAND = Action("retry", days=1, band="other")

DEFAULT_RULES: tuple[Rule, ...] = (
    _r("default:dnc", Action("dnc", note="asked not to be called"), flags=frozenset({"dnc"})),
    _r(
        "default:callback",
        Action("callback", after=timedelta(days=1), owner="agent", grace=timedelta(minutes=15)),
        flags=frozenset({"callback"}),
    ),
    _r("default:final", Action("finish", note="final disposition"), flags=frozenset({"final"})),
    _r(
        "default:invalid-number",
        Action("finish", note="invalid number"),
        outcomes=frozenset({"INVALID_NUMBER"}),
    ),
    _r(
        "default:busy",
        Action("retry", after=timedelta(minutes=15), jitter=timedelta(minutes=2)),
        outcomes=frozenset({"BUSY"}),
        outcome_count=IntRange(None, 5),
    ),
    _r("default:busy-later", _NEXT_DAY_OTHER_BAND, outcomes=frozenset({"BUSY"})),
    _r(
        "default:no-answer",
        Action("retry", after=timedelta(hours=3), jitter=timedelta(minutes=15)),
        outcomes=frozenset({"NO_ANSWER"}),
        outcome_count=IntRange(1, 1),
    ),
    _r("default:no-answer-later", _NEXT_DAY_OTHER_BAND, outcomes=frozenset({"NO_ANSWER"})),
    _r("default:machine", _NEXT_DAY_OTHER_BAND, outcomes=frozenset({"MACHINE"})),
    _r(
        "default:abandoned",
        Action("retry", after=timedelta(hours=72), jitter=timedelta(minutes=30)),
        outcomes=frozenset({"ABANDONED"}),
    ),
    _r(
        "default:congestion",
        Action("retry", after=timedelta(minutes=10), jitter=timedelta(minutes=2)),
        outcomes=frozenset({"CONGESTION"}),
        outcome_count=IntRange(None, 3),
    ),
    _r("default:congestion-later", _NEXT_DAY_OTHER_BAND, outcomes=frozenset({"CONGESTION"})),
    _r(
        "default:failed",
        Action("retry", after=timedelta(hours=1), jitter=timedelta(minutes=5)),
        outcomes=frozenset({"FAILED"}),
        outcome_count=IntRange(None, 3),
    ),
    _r(
        "default:failed-finish",
        Action("finish", note="failed too often"),
        outcomes=frozenset({"FAILED"}),
    ),
    _r("default:connected", _NEXT_DAY_OTHER_BAND, outcomes=frozenset({"CONNECTED"})),
)

DEFAULT_BANDS: tuple[tuple[int, int], ...] = (
    (8 * 60, 12 * 60),
    (12 * 60, 16 * 60),
    (16 * 60, 21 * 60),
)


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
    cap = limits.max_calls_per_number
    if cap and len(times) >= cap:
        span = timedelta(days=limits.per_days)
        oldest_counting = sorted(times, reverse=True)[cap - 1]
        if at < oldest_counting + span:
            at = oldest_counting + span
            notes.append(f"moved under the cap of {cap} calls per {limits.per_days} days")
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


# --- parsing --------------------------------------------------------------------------------------

_RULE_KEYS = (
    "name",
    "when",
    "action",
    "after",
    "jitter",
    "days",
    "band",
    "owner",
    "grace",
    "campaign",
    "at",
    "scope",
    "note",
)
_WHEN_KEYS = ("outcome", "disposition", "reason", "flag", "attempt", "outcome_count", "lead")


def _codes(value: Any, path: str, problems: Problems) -> frozenset[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(i, str) and i.strip() for i in items):
        problems.add(path, f"expected a code or a list of codes (got {value!r})")
        return frozenset()
    return frozenset(i.strip() for i in items)


def _parse_match(data: Any, path: str, problems: Problems, known: Mapping[str, set[str]]) -> Match:
    if not isinstance(data, Mapping):
        problems.add(path, 'expected a table like { outcome = "BUSY" }')
        return Match()
    check_keys(data, _WHEN_KEYS, path, problems)
    values: dict[str, Any] = {}
    for key, attr, universe in (
        ("outcome", "outcomes", OUTCOMES),
        ("disposition", "dispositions", known.get("dispositions")),
        ("reason", "reasons", known.get("reasons")),
        ("flag", "flags", set(DISPOSITION_FLAGS)),
    ):
        if key in data:
            codes = _codes(data[key], join(path, key), problems)
            if universe is not None:
                for code in sorted(codes - set(universe)):
                    problems.add(
                        join(path, key),
                        f"unknown {key} {code!r} (known: {', '.join(sorted(universe))})",
                    )
            values[attr] = codes
    for key in ("attempt", "outcome_count"):
        if key in data:
            try:
                values[key] = parse_int_range(data[key])
            except Invalid as exc:
                problems.add(join(path, key), str(exc))
    if "lead" in data:
        lead = data["lead"]
        if not isinstance(lead, Mapping) or not lead:
            problems.add(join(path, "lead"), 'expected a table like { state = "CA" }')
        else:
            pairs = []
            for name, accepted in lead.items():
                items = accepted if isinstance(accepted, list) else [accepted]
                pairs.append((str(name), frozenset(str(i).strip().casefold() for i in items)))
            values["lead"] = tuple(sorted(pairs, key=lambda p: p[0]))
    return Match(**values)


def _choice(
    data: Mapping[str, Any],
    key: str,
    options: tuple[str, ...],
    default: str,
    path: str,
    problems: Problems,
) -> Any:
    value = data.get(key, default)
    if value not in options:
        problems.add(join(path, key), f"must be one of {', '.join(options)} (got {value!r})")
        return default
    return value


def _duration(
    data: Mapping[str, Any], key: str, default: timedelta, path: str, problems: Problems
) -> timedelta:
    if key not in data:
        return default
    try:
        return parse_duration(data[key])
    except Invalid as exc:
        problems.add(join(path, key), str(exc))
        return default


def parse_rule(
    data: Any, path: str, problems: Problems, known: Mapping[str, set[str]]
) -> Rule | None:
    """One ``[[rules]]`` table → :class:`Rule` (``known``: disposition and reason codes)."""
    if not isinstance(data, Mapping):
        problems.add(path, "expected a table")
        return None
    check_keys(data, _RULE_KEYS, path, problems)
    name = data.get("name", path)
    if not isinstance(name, str) or not name.strip():
        problems.add(join(path, "name"), "expected a non-empty string")
        name = path
    when = _parse_match(data.get("when", {}), join(path, "when"), problems, known)
    if "action" not in data:
        problems.add(join(path, "action"), f"required: one of {', '.join(ACTIONS)}")
        return None
    kind = _choice(data, "action", ACTIONS, "finish", path, problems)
    days = data.get("days", 0)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 365:
        problems.add(join(path, "days"), f"expected a whole number of days 0-365 (got {days!r})")
        days = 0
    band = _choice(data, "band", ("any", "same", "other"), "any", path, problems)
    if "band" in data and not days:
        problems.add(join(path, "band"), "only applies with days ≥ 1 (a later day at another hour)")
    campaign = data.get("campaign")
    if kind == "move" and (not isinstance(campaign, str) or not campaign.strip()):
        problems.add(
            join(path, "campaign"), 'required for action = "move": the target campaign\'s name'
        )
    note = data.get("note", "")
    if not isinstance(note, str):
        problems.add(join(path, "note"), "expected a string")
        note = ""
    action = Action(
        kind=kind,
        after=_duration(data, "after", timedelta(0), path, problems),
        jitter=_duration(data, "jitter", timedelta(0), path, problems),
        days=days,
        band=band,
        owner=_choice(data, "owner", ("agent", "anyone"), "agent", path, problems),
        grace=_duration(data, "grace", timedelta(minutes=15), path, problems),
        campaign=campaign.strip() if isinstance(campaign, str) else None,
        at=_choice(data, "at", ("now", "start"), "start", path, problems),
        scope=_choice(data, "scope", ("global", "campaign"), "global", path, problems),
        note=note,
    )
    if kind == "retry" and not action.after and not action.days:
        problems.add(path, 'a retry needs after = "…" or days = N (else it would redial at once)')
    return Rule(name.strip(), when, action)


def parse_rules(
    data: Any, path: str, problems: Problems, known: Mapping[str, set[str]]
) -> tuple[Rule, ...]:
    if not isinstance(data, list):
        problems.add(path, "expected an array of tables ([[rules]])")
        return ()
    rules = [parse_rule(item, join(path, i), problems, known) for i, item in enumerate(data)]
    return tuple(r for r in rules if r is not None)


def parse_bands(data: Any, path: str, problems: Problems) -> tuple[tuple[int, int], ...]:
    """Hour bands for "another hour" retries: ``["08:00-12:00", "12:00-16:00", ...]``."""
    try:
        bands = parse_ranges(data)
    except Invalid as exc:
        problems.add(path, str(exc))
        return DEFAULT_BANDS
    if not bands:
        problems.add(path, "at least one band is needed")
        return DEFAULT_BANDS
    return bands


def bands_to_data(bands: tuple[tuple[int, int], ...]) -> list[str]:
    return [format_ranges((b,)) for b in bands]


def rule_to_data(rule: Rule) -> dict[str, Any]:
    """Plain data that :func:`parse_rule` turns back into the same rule."""
    when: dict[str, Any] = {}
    for key, attr in (
        ("outcome", "outcomes"),
        ("disposition", "dispositions"),
        ("reason", "reasons"),
        ("flag", "flags"),
    ):
        codes = getattr(rule.when, attr)
        if codes:
            when[key] = sorted(codes)
    if rule.when.attempt is not None:
        when["attempt"] = rule.when.attempt.to_data()
    if rule.when.outcome_count is not None:
        when["outcome_count"] = rule.when.outcome_count.to_data()
    if rule.when.lead:
        when["lead"] = {name: sorted(values) for name, values in rule.when.lead}
    a = rule.then
    out: dict[str, Any] = {"name": rule.name, "when": when, "action": a.kind}
    if a.after:
        out["after"] = format_duration(a.after)
    if a.jitter:
        out["jitter"] = format_duration(a.jitter)
    if a.days:
        out["days"] = a.days
        out["band"] = a.band
    out["owner"] = a.owner
    out["grace"] = format_duration(a.grace)
    if a.campaign:
        out["campaign"] = a.campaign
    out["at"] = a.at
    out["scope"] = a.scope
    if a.note:
        out["note"] = a.note
    return out
