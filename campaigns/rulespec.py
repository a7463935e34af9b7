"""What a campaign's callback and retry rules are: outcomes, matches, actions, the built-in
:data:`DEFAULT_RULES` and hour bands, and their parsing from / to the campaign file's data.

Both :mod:`campaigns.definition` (which parses a campaign's ``[[rules]]``) and
:mod:`campaigns.rules` (which evaluates them after a call) import this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Literal

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
DISPOSITION_FLAGS = ("contact", "success", "final", "dnc", "callback", "refusal", "machine")
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
