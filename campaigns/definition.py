"""Campaign definitions: a TOML file → validated, frozen dataclasses.

:func:`load_definition` reads a file, :func:`parse_definition` validates
plain data (the TOML document, or the JSON stored in the database), and
:func:`definition_to_data` turns a definition back into that plain data.
Every problem is collected and reported at once, each naming the file and the
field: ``campaign.toml: dial.ring_timeout: must be at least 15 s (got 10)``.
The file format is documented in ``docs/campaigns.md``.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from campaigns import packs as packs_mod
from campaigns import pbxnames
from campaigns import trunk as trunk_template
from campaigns.integrations import (
    RecordingSettings,
    WebhookSettings,
    parse_recording,
    parse_webhook,
    recording_to_data,
    webhook_to_data,
)
from campaigns.parsing import Invalid, Problems, check_keys, format_duration, join, parse_duration
from campaigns.rulespec import (
    DEFAULT_BANDS,
    DISPOSITION_FLAGS,
    Rule,
    bands_to_data,
    parse_bands,
    parse_rules,
    rule_to_data,
)
from campaigns.windows import DEFAULT_WINDOW, CallingWindow, parse_window, window_to_data
from dialer.errors import InputError
from dialer.vocabulary import RESERVED_PAUSE_CODES

FORMAT_VERSION = 1
DIAL_MODES = ("progressive", "ratio", "predictive")
FIELD_TYPES = ("text", "int", "number", "bool", "date", "choice")
MAX_ABANDON_TARGET = 0.03
#: ``[dial] warmup``: the predictive cold-start warm-up, in units of 1 / abandon_target live answers
#: (``dialer.pacing.predictive.Predictive``'s ``warmup``; the same default, kept equal by a test).
DEFAULT_WARMUP = 0.0
MAX_WARMUP = 10.0
#: ``[dial] hour_cap``: predictive only while one more abandon keeps the last hour within this
#: many times the abandon target (``Predictive``'s ``hour_cap``; 0 = off, the same default).
DEFAULT_HOUR_CAP = 0.0
MAX_HOUR_CAP = 5.0
MIN_RING_TIMEOUT = 15
#: Pause codes an agent may pick when the campaign declares none (``pause_codes``).
DEFAULT_PAUSE_CODES: tuple[str, ...] = ("BREAK", "LUNCH", "TRAINING", "MEETING")
MAX_PAUSE_CODES = 50

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_PLACEHOLDER_RE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


class CampaignDefinitionError(InputError):
    """A campaign definition is invalid; ``problems`` lists every ``file: field: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# --- the definition -------------------------------------------------------------------------


@dataclass(frozen=True)
class ListRef:
    """A lead list attached to the campaign. Higher ``priority`` is dialled first; ``weight`` for mix."""

    name: str
    priority: int = 1
    weight: float = 1.0


@dataclass(frozen=True)
class DialSettings:
    mode: Literal["progressive", "ratio", "predictive"] = "progressive"
    ratio: float = 1.0  # ratio mode: lines per ready agent
    max_lines_per_agent: float = 3.0  # predictive: never more lines than this per ready agent
    warmup: float = DEFAULT_WARMUP  # predictive: cold-start warm-up (dialer.pacing.predictive), 0 = off
    hour_cap: float = DEFAULT_HOUR_CAP  # predictive: the last hour's abandon cap, × abandon_target; 0 = off
    abandon_target: float = MAX_ABANDON_TARGET  # fraction, never above 0.03
    trunk: str = ""  # dial string template, e.g. PJSIP/{e164}@carrier (campaigns.trunk)
    caller_id: str | None = None
    max_lines: int = 10  # concurrent calls for the campaign
    ring_timeout: int = 25  # seconds, at least 15
    queue: str = ""  # the Asterisk queue the agents sit in
    amd: bool = False
    list_order: Literal["priority", "mix"] = "priority"
    new_first: bool = True  # new leads before recycled ones (callbacks due always come first)
    wrapup_limit: int = 600  # seconds an agent may take to dispose a call; then the rules decide

    def dial_string(self, number: str) -> str:
        """The Originate channel for ``number`` (E.164) as the template wants it
        (``PJSIP/+15551234567@carrier``, ``PJSIP/15551234567@carrier``...)."""
        return trunk_template.dial_string(self.trunk, number)


@dataclass(frozen=True)
class Disposition:
    code: str
    label: str
    contact: bool = False  # a person was reached
    success: bool = False  # agreement/sale; the order form applies
    final: bool = False  # no more calls in this campaign
    dnc: bool = False  # never call the number again
    callback: bool = False  # a callback time is required
    refusal: bool = False  # a refusal reason is required
    machine: bool = False  # an answering machine reached the agent: not a live answer (abandon rate)

    @property
    def flags(self) -> frozenset[str]:
        return frozenset(f for f in DISPOSITION_FLAGS if getattr(self, f))


@dataclass(frozen=True)
class RefusalReason:
    code: str
    label: str


@dataclass(frozen=True)
class OrderField:
    """A field of the order form an agent fills in for a success."""

    name: str
    label: str
    type: Literal["text", "int", "number", "bool", "date", "choice"] = "text"
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Limits:
    max_attempts: int = 10  # calls per lead in this campaign (customer callbacks exempt)
    max_calls_per_number: int | None = None  # at most this many calls to a number ...
    per_days: int = 30  # ... in any window of this many days (all campaigns)
    gap_after_refusal: timedelta = timedelta(days=30)
    gap_after_abandoned: timedelta = timedelta(hours=72)
    gap_after_machine: timedelta = timedelta(hours=24)
    max_callback_days: int = 90  # how far ahead an agent may book a callback
    caps: tuple[tuple[int, int], ...] = ()  # more caps: (calls, days) per number, all campaigns


@dataclass(frozen=True)
class Override:
    """An explicit loosening of a jurisdiction pack's rule, with its reason (logged)."""

    rule: str
    reason: str


@dataclass(frozen=True)
class Compliance:
    """The campaign's ``[compliance]`` table (see :mod:`campaigns.packs`)."""

    seller: str = ""  # consent and revocations in the seller's scope apply to every campaign of it
    prerecorded: bool = False  # prerecorded messages: packs requiring consent for those apply
    amd_accuracy: float | None = None  # share of AMD "machine" verdicts that are right (UK)
    overrides: tuple[Override, ...] = ()

    def overridden(self, rule: str) -> bool:
        return any(o.rule == rule for o in self.overrides)


DEFAULT_DISPOSITIONS: tuple[Disposition, ...] = (
    Disposition("SALE", "Sale / agreement", contact=True, success=True, final=True),
    Disposition("REFUSED", "Refused", contact=True, refusal=True, final=True),
    Disposition("CALLBACK", "Call back later", contact=True, callback=True),
    Disposition("NO_CONTACT", "Right person not reached"),
    Disposition("WRONG_NUMBER", "Wrong number", final=True),
    Disposition("DNC", "Do not call", contact=True, dnc=True, final=True),
)

DEFAULT_REFUSAL_REASONS: tuple[RefusalReason, ...] = (
    RefusalReason("PRICE", "too expensive"),
    RefusalReason("HAS_PROVIDER", "already has a provider"),
    RefusalReason("NOT_INTERESTED", "not interested"),
    RefusalReason("NO_TIME", "no time"),
    RefusalReason("OTHER", "other reason"),
)


@dataclass(frozen=True)
class CampaignDefinition:
    name: str
    dial: DialSettings
    description: str = ""
    lists: tuple[ListRef, ...] = ()
    script: str = ""
    dispositions: tuple[Disposition, ...] = DEFAULT_DISPOSITIONS
    refusal_reasons: tuple[RefusalReason, ...] = DEFAULT_REFUSAL_REASONS
    order_form: tuple[OrderField, ...] = ()
    window: CallingWindow = DEFAULT_WINDOW
    limits: Limits = field(default_factory=Limits)
    rules: tuple[Rule, ...] = ()
    default_rules: bool = True  # the built-in rules apply after the campaign's own
    hour_bands: tuple[tuple[int, int], ...] = DEFAULT_BANDS
    recording: RecordingSettings = field(default_factory=RecordingSettings)
    webhook: WebhookSettings | None = None
    jurisdiction: str | None = None  # a rule pack's id ("US-FL", "FR"): see campaigns.packs
    compliance: Compliance = field(default_factory=Compliance)
    pause_codes: tuple[str, ...] = ()  # the codes an agent may pause with; () = any short token

    @property
    def offered_pause_codes(self) -> tuple[str, ...]:
        """The pause codes the desktop offers: the campaign's, else :data:`DEFAULT_PAUSE_CODES`."""
        return self.pause_codes or DEFAULT_PAUSE_CODES

    @cached_property
    def packs(self) -> tuple[packs_mod.RulePack, ...]:
        """The jurisdiction's rule packs, the most general first (none without a jurisdiction)."""
        return packs_mod.chain(self.jurisdiction) if self.jurisdiction else ()

    def consent_required(self, at: datetime) -> bool:
        """Whether a call at ``at`` needs consent on record under the jurisdiction's packs."""
        return not self.compliance.overridden("consent") and packs_mod.consent_required(
            self.packs, at, self.compliance.prerecorded)

    @cached_property
    def _dispositions(self) -> dict[str, Disposition]:
        return {d.code: d for d in self.dispositions}

    @cached_property
    def _reasons(self) -> dict[str, RefusalReason]:
        return {r.code: r for r in self.refusal_reasons}

    def disposition(self, code: str) -> Disposition | None:
        return self._dispositions.get(code)

    def refusal_reason(self, code: str) -> RefusalReason | None:
        return self._reasons.get(code)

    def render_script(self, fields: Mapping[str, Any]) -> str:
        return render_script(self.script, fields)


# --- script rendering -----------------------------------------------------------------------


def render_script(text: str, fields: Mapping[str, Any]) -> str:
    """Fill ``{first_name}``-style placeholders from ``fields``.

    Unknown placeholders stay visible as written; ``None`` renders empty;
    ``{{`` and ``}}`` are literal braces. Never raises.
    """

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name not in fields:
            return token
        value = fields[name]
        return "" if value is None else str(value)

    return _PLACEHOLDER_RE.sub(replace, text)


def script_placeholders(text: str) -> set[str]:
    """The field names a script refers to."""
    return {m.group(1) for m in _PLACEHOLDER_RE.finditer(text) if m.group(1)}


# --- parsing ------------------------------------------------------------------------------------

_TOP_KEYS = (
    "version", "name", "description", "lists", "dial", "script", "dispositions",
    "refusal_reasons", "order_form", "window", "limits", "rules", "recycle", "recording",
    "webhook", "jurisdiction", "compliance", "pause_codes",
)  # fmt: skip
_DIAL_KEYS = (
    "mode", "ratio", "max_lines_per_agent", "warmup", "hour_cap", "abandon_target", "trunk", "caller_id",
    "max_lines", "ring_timeout", "queue", "amd", "list_order", "new_first", "wrapup_limit",
)  # fmt: skip


class _Reader:
    """Typed field access on one table, recording problems instead of raising."""

    def __init__(self, data: Mapping[str, Any], path: str, problems: Problems) -> None:
        self.data, self.path, self.problems = data, path, problems

    def bad(self, key: str, message: str) -> None:
        self.problems.add(join(self.path, key), message)

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        if key not in self.data:
            if required:
                self.bad(key, "required")
            return default
        value = self.data[key]
        if not isinstance(value, str):
            self.bad(key, f"expected a string (got {value!r})")
            return default
        if required and not value.strip():
            self.bad(key, "must not be empty")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.bad(key, f"expected true or false (got {value!r})")
            return default
        return value

    def integer(self, key: str, default: Any, low: int, high: int) -> Any:
        if key not in self.data:
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad(key, f"expected a whole number (got {value!r})")
            return default
        if not low <= value <= high:
            self.bad(key, f"must be between {low} and {high} (got {value})")
            return default
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        if key not in self.data:
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.bad(key, f"expected a number (got {value!r})")
            return default
        if not low <= value <= high:
            self.bad(key, f"must be between {low:g} and {high:g} (got {value:g})")
            return default
        return float(value)

    def duration(self, key: str, default: timedelta) -> timedelta:
        if key not in self.data:
            return default
        try:
            return parse_duration(self.data[key])
        except Invalid as exc:
            self.bad(key, str(exc))
            return default

    def choice(self, key: str, options: tuple[str, ...], default: str) -> Any:
        value = self.data.get(key, default)
        if value not in options:
            self.bad(key, f"must be one of {', '.join(options)} (got {value!r})")
            return default
        return value


def _table(data: Any, key: str, problems: Problems) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        problems.add(key, "expected a table")
        return {}
    return value


def _tables(
    data: Mapping[str, Any], key: str, problems: Problems
) -> list[tuple[str, Mapping[str, Any]]] | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, list):
        problems.add(key, f"expected an array of tables ([[{key}]])")
        return []
    out = []
    for i, item in enumerate(value):
        if isinstance(item, Mapping):
            out.append((join(key, i), item))
        else:
            problems.add(join(key, i), "expected a table")
    return out


def _parse_dial(data: Mapping[str, Any], name: str, problems: Problems) -> DialSettings:
    r = _Reader(data, "dial", problems)
    check_keys(data, _DIAL_KEYS, "dial", problems)
    d = DialSettings()
    mode = r.choice("mode", DIAL_MODES, d.mode)
    abandon = d.abandon_target
    if "abandon_target" in data:
        value = data["abandon_target"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            r.bad("abandon_target", f"expected a fraction like 0.03 (got {value!r})")
        elif value > MAX_ABANDON_TARGET:
            hint = " (a fraction: 0.03 is 3 %)" if value >= 1 else ""
            r.bad("abandon_target", f"must be at most {MAX_ABANDON_TARGET} (got {value:g}){hint}")
        elif value <= 0:
            r.bad("abandon_target", f"must be above 0 (got {value:g})")
        else:
            abandon = float(value)
    trunk = r.text("trunk", "", required=True) or ""
    problem = trunk.strip() and (trunk_template.template_problem(trunk) or pbxnames.trunk_problem(trunk))
    if problem:
        r.bad("trunk", problem)
    ring = d.ring_timeout
    if "ring_timeout" in data:
        value = data["ring_timeout"]
        try:
            seconds = parse_duration(value).total_seconds()
        except Invalid as exc:
            r.bad("ring_timeout", str(exc))
        else:
            shown = value if isinstance(value, str) else f"{value:g}"
            if seconds < MIN_RING_TIMEOUT:
                r.bad("ring_timeout", f"must be at least {MIN_RING_TIMEOUT} s (got {shown})")
            elif seconds > 300:
                r.bad("ring_timeout", f"must be at most 300 s (got {shown})")
            elif seconds != int(seconds):
                r.bad("ring_timeout", f"must be whole seconds (got {shown})")
            else:
                ring = int(seconds)
    queue = r.text("queue", name) or name
    if problem := pbxnames.queue_problem(queue):
        r.bad("queue", problem + ("" if "queue" in data else " (the campaign's name: set queue)"))
    caller_id = r.text("caller_id")
    if caller_id is not None and (problem := pbxnames.caller_id_problem(caller_id)):
        r.bad("caller_id", problem)
    return DialSettings(
        mode=mode,
        ratio=r.number("ratio", d.ratio, 1.0, 20.0),
        max_lines_per_agent=r.number("max_lines_per_agent", d.max_lines_per_agent, 1.0, 10.0),
        warmup=r.number("warmup", d.warmup, 0.0, MAX_WARMUP),
        hour_cap=r.number("hour_cap", d.hour_cap, 0.0, MAX_HOUR_CAP),
        abandon_target=abandon,
        trunk=trunk,
        caller_id=caller_id,
        max_lines=r.integer("max_lines", d.max_lines, 1, 10000),
        ring_timeout=ring,
        queue=queue,
        amd=r.boolean("amd", d.amd),
        list_order=r.choice("list_order", ("priority", "mix"), d.list_order),
        new_first=r.boolean("new_first", d.new_first),
        wrapup_limit=r.integer("wrapup_limit", d.wrapup_limit, 10, 3600),
    )


def _code(r: _Reader, key: str = "code") -> str | None:
    code = r.text(key, required=True)
    if code is not None and code.strip() and not _CODE_RE.match(code):
        r.bad(key, f"must be letters, digits, '_' or '-' (got {code!r})")
        return None
    return code if code and code.strip() else None


def _parse_lists(data: Mapping[str, Any], problems: Problems) -> tuple[ListRef, ...]:
    out: list[ListRef] = []
    for path, item in _tables(data, "lists", problems) or []:
        check_keys(item, ("name", "priority", "weight"), path, problems)
        r = _Reader(item, path, problems)
        name = r.text("name", required=True)
        if name and any(x.name == name for x in out):
            r.bad("name", f"list {name!r} is attached twice")
            continue
        ref = ListRef(
            name or "", r.integer("priority", 1, 0, 1000), r.number("weight", 1.0, 0.0, 1e6)
        )
        if "weight" in item and ref.weight <= 0:
            r.bad("weight", "must be above 0")
        if name:
            out.append(ref)
    return tuple(out)


def _parse_dispositions(data: Mapping[str, Any], problems: Problems) -> tuple[Disposition, ...]:
    tables = _tables(data, "dispositions", problems)
    if tables is None:
        return DEFAULT_DISPOSITIONS
    out: list[Disposition] = []
    for path, item in tables:
        check_keys(item, ("code", "label", "flags"), path, problems)
        r = _Reader(item, path, problems)
        code = _code(r)
        flags = item.get("flags", [])
        if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
            r.bad("flags", f'expected a list like ["contact", "final"] (got {flags!r})')
            flags = []
        for f in flags:
            if f not in DISPOSITION_FLAGS:
                r.bad("flags", f"unknown flag {f!r} (known: {', '.join(DISPOSITION_FLAGS)})")
        flagset = set(flags) & set(DISPOSITION_FLAGS)
        if {"success", "refusal"} <= flagset:
            r.bad("flags", "a disposition cannot be both success and refusal")
        if {"callback", "final"} <= flagset:
            r.bad("flags", "a callback disposition cannot be final")
        if {"callback", "dnc"} <= flagset:
            r.bad("flags", "a callback disposition cannot be dnc")
        if "machine" in flagset and flagset & {"contact", "success", "refusal"}:
            r.bad("flags", "a machine disposition reached no person: it cannot be contact, success or refusal")
        if code is None:
            continue
        if any(d.code == code for d in out):
            r.bad("code", f"duplicate disposition {code!r}")
            continue
        label = r.text("label", code) or code
        out.append(Disposition(code, label, **{f: True for f in flagset}))
    if not tables:
        problems.add("dispositions", "at least one disposition is needed")
    return tuple(out)


def _parse_reasons(data: Mapping[str, Any], problems: Problems) -> tuple[RefusalReason, ...]:
    tables = _tables(data, "refusal_reasons", problems)
    if tables is None:
        return DEFAULT_REFUSAL_REASONS
    out: list[RefusalReason] = []
    for path, item in tables:
        check_keys(item, ("code", "label"), path, problems)
        r = _Reader(item, path, problems)
        code = _code(r)
        if code is None:
            continue
        if any(x.code == code for x in out):
            r.bad("code", f"duplicate refusal reason {code!r}")
            continue
        out.append(RefusalReason(code, r.text("label", code) or code))
    return tuple(out)


def _parse_order_form(data: Mapping[str, Any], problems: Problems) -> tuple[OrderField, ...]:
    out: list[OrderField] = []
    for path, item in _tables(data, "order_form", problems) or []:
        check_keys(item, ("name", "label", "type", "required", "choices"), path, problems)
        r = _Reader(item, path, problems)
        name = r.text("name", required=True)
        if name and not _FIELD_RE.match(name):
            r.bad("name", f"must be a simple identifier like 'plan' or 'start_date' (got {name!r})")
            name = None
        kind = r.choice("type", FIELD_TYPES, "choice" if "choices" in item else "text")
        choices = item.get("choices", [])
        if not isinstance(choices, list) or not all(isinstance(c, str) and c for c in choices):
            r.bad("choices", f"expected a list of strings (got {choices!r})")
            choices = []
        if kind == "choice" and not choices:
            r.bad("choices", "a choice field needs at least one choice")
        if kind != "choice" and choices:
            r.bad("choices", f"only a choice field has choices (type is {kind!r})")
        if len(set(choices)) != len(choices):
            r.bad("choices", "duplicate choices")
        if not name:
            continue
        if any(f.name == name for f in out):
            r.bad("name", f"duplicate order-form field {name!r}")
            continue
        label = r.text("label", name) or name
        out.append(OrderField(name, label, kind, r.boolean("required", False), tuple(choices)))
    return tuple(out)


def _parse_pause_codes(data: Mapping[str, Any], problems: Problems) -> tuple[str, ...]:
    """``pause_codes = ["BREAK", "Lunch break"]``: codes AMI's QueuePause can carry as a reason."""
    if "pause_codes" not in data:
        return ()
    value = data["pause_codes"]
    if not isinstance(value, list):
        problems.add("pause_codes", f"expected a list of strings like [\"BREAK\", \"LUNCH\"] (got {value!r})")
        return ()
    if not value:
        problems.add("pause_codes", "must list at least one code (leave it out for the default codes)")
    if len(value) > MAX_PAUSE_CODES:
        problems.add("pause_codes", f"at most {MAX_PAUSE_CODES} codes (got {len(value)})")
    out: list[str] = []
    for i, code in enumerate(value):
        path = join("pause_codes", i)
        if not isinstance(code, str):
            problems.add(path, f"expected a string (got {code!r})")
        elif problem := pbxnames.pause_code_problem(code):
            problems.add(path, problem)
        elif code != code.strip():
            problems.add(path, f"must not start or end with a space (got {code!r})")
        elif code.lower() in RESERVED_PAUSE_CODES:
            problems.add(path, f"{code!r} is reserved for the daemon")
        elif code in out:
            problems.add(path, f"duplicate pause code {code!r}")
        else:
            out.append(code)
    return tuple(out)


def _parse_limits(data: Mapping[str, Any], problems: Problems) -> Limits:
    check_keys(
        data,
        ("max_attempts", "max_calls_per_number", "per_days", "gap_after_refusal",
         "gap_after_abandoned", "gap_after_machine", "max_callback_days", "caps"),
        "limits",
        problems,
    )  # fmt: skip
    r = _Reader(data, "limits", problems)
    d = Limits()
    caps: list[tuple[int, int]] = []
    for i, cap in enumerate(data.get("caps", [])):
        ok = isinstance(cap, Mapping) and all(
            isinstance(cap.get(k), int) and not isinstance(cap.get(k), bool) and cap[k] > 0
            for k in ("calls", "days"))
        if ok and set(cap) == {"calls", "days"}:
            caps.append((cap["calls"], cap["days"]))
        else:
            problems.add(join(join("limits", "caps"), i), f"expected {{calls = 3, days = 1}} (got {cap!r})")
    return Limits(
        caps=tuple(sorted(set(caps), key=lambda c: (c[1], c[0]))),
        max_attempts=r.integer("max_attempts", d.max_attempts, 1, 1000),
        max_calls_per_number=r.integer("max_calls_per_number", None, 1, 1000),
        per_days=r.integer("per_days", d.per_days, 1, 366),
        gap_after_refusal=r.duration("gap_after_refusal", d.gap_after_refusal),
        gap_after_abandoned=r.duration("gap_after_abandoned", d.gap_after_abandoned),
        gap_after_machine=r.duration("gap_after_machine", d.gap_after_machine),
        max_callback_days=r.integer("max_callback_days", d.max_callback_days, 1, 3650),
    )


def parse_definition(data: Mapping[str, Any], source: str = "<campaign>") -> CampaignDefinition:
    """Validate plain data (a TOML document or stored JSON) into a definition.

    Raises :class:`CampaignDefinitionError` listing every problem, each
    prefixed with ``source``.
    """
    problems = Problems()
    if not isinstance(data, Mapping):
        raise CampaignDefinitionError([f"{source}: expected a table at the top level"])
    check_keys(data, _TOP_KEYS, "", problems)
    version = data.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        problems.add(
            "version", f"unsupported format version {version!r} (expected {FORMAT_VERSION})"
        )
    top = _Reader(data, "", problems)
    name = top.text("name", required=True) or ""
    if name.strip() and not _NAME_RE.match(name):
        problems.add("name", f"must be letters, digits, '.', '_' or '-' (got {name!r})")
    dial = _parse_dial(_table(data, "dial", problems), name, problems)
    dispositions = _parse_dispositions(data, problems)
    reasons = _parse_reasons(data, problems)
    if any(d.refusal for d in dispositions) and not reasons:
        problems.add("refusal_reasons", "refusal dispositions need at least one refusal reason")
    known = {"dispositions": {d.code for d in dispositions}, "reasons": {r.code for r in reasons}}
    recycle = _table(data, "recycle", problems)
    check_keys(recycle, ("default_rules", "hour_bands"), "recycle", problems)
    bands = DEFAULT_BANDS
    if "hour_bands" in recycle:
        bands = parse_bands(recycle["hour_bands"], "recycle.hour_bands", problems)
    definition = CampaignDefinition(
        name=name,
        description=top.text("description", "") or "",
        lists=_parse_lists(data, problems),
        dial=dial,
        script=top.text("script", "") or "",
        dispositions=dispositions,
        refusal_reasons=reasons,
        order_form=_parse_order_form(data, problems),
        window=parse_window(data.get("window"), "window", problems),
        limits=_parse_limits(_table(data, "limits", problems), problems),
        rules=parse_rules(data["rules"], "rules", problems, known) if "rules" in data else (),
        default_rules=_Reader(recycle, "recycle", problems).boolean("default_rules", True),
        hour_bands=bands,
        recording=parse_recording(data.get("recording"), problems),
        webhook=parse_webhook(data.get("webhook"), problems),
        pause_codes=_parse_pause_codes(data, problems),
    )
    for i, rule in enumerate(definition.rules):
        if rule.then.kind == "move" and rule.then.campaign == name:
            problems.add(
                join(join("rules", i), "campaign"), "cannot move leads into the same campaign"
            )
    jurisdiction = top.text("jurisdiction")
    compliance = _parse_compliance(_table(data, "compliance", problems), problems)
    if jurisdiction is not None:
        if packs_mod.get_pack(jurisdiction) is None:
            ids = ", ".join(sorted(packs_mod.all_packs()))
            problems.add("jurisdiction", f"unknown jurisdiction {jurisdiction!r} (known: {ids})")
        else:
            definition = apply_jurisdiction(
                dataclasses.replace(definition, jurisdiction=jurisdiction.upper(), compliance=compliance), source)
    elif compliance.overrides:
        problems.add("compliance.override", "overrides need a jurisdiction")
    if problems:
        raise CampaignDefinitionError([f"{source}: {p}" for p in problems.items])
    if jurisdiction is None:
        definition = dataclasses.replace(definition, compliance=compliance)
    return definition


def _parse_compliance(data: Mapping[str, Any], problems: Problems) -> Compliance:
    check_keys(data, ("seller", "prerecorded", "amd_accuracy", "override"), "compliance", problems)
    r = _Reader(data, "compliance", problems)
    overrides: list[Override] = []
    for path, item in _tables(data, "override", problems) or []:
        path = join("compliance", path)
        check_keys(item, ("rule", "reason"), path, problems)
        o = _Reader(item, path, problems)
        rule = o.choice("rule", packs_mod.OVERRIDABLE, "")
        reason = o.text("reason", required=True) or ""
        if rule and reason.strip():
            overrides.append(Override(rule, reason))
    accuracy = r.number("amd_accuracy", -1.0, 0.0, 1.0) if "amd_accuracy" in data else None
    return Compliance(
        seller=r.text("seller", "") or "",
        prerecorded=r.boolean("prerecorded", False),
        amd_accuracy=None if accuracy is None or accuracy < 0 else accuracy,
        overrides=tuple(overrides),
    )


def apply_jurisdiction(d: CampaignDefinition, source: str = "<campaign>") -> CampaignDefinition:
    """``d`` tightened to its jurisdiction's packs: hours and holidays cut, gaps raised, caps
    added, the abandon target lowered; a rule named in ``[compliance] override`` is left as the
    campaign set it, and logged.  Idempotent."""
    packs = d.packs
    if not packs:
        return d
    c = d.compliance
    for o in c.overrides:
        packs_mod.log.warning("compliance override", extra={
            "campaign": d.name, "source": source, "jurisdiction": d.jurisdiction, "rule": o.rule,
            "reason": o.reason})
    country = packs[0].country
    window = d.window
    if not c.overridden("window"):
        states = packs_mod.state_packs(country) if country == "US" else ()
        window = packs_mod.apply_to_window(window, packs, country, states)
    lim = d.limits
    gaps: dict[str, timedelta] = {
        name: getattr(lim, name) if c.overridden(name) else packs_mod.max_gap(getattr(lim, name), packs, name)
        for name in ("gap_after_abandoned", "gap_after_machine", "gap_after_refusal")}
    caps = lim.caps
    if not c.overridden("caps"):
        extra = list(packs_mod.pack_caps(packs))
        if country == "US":  # state caps apply whatever the lead's state: the safe side
            extra += packs_mod.pack_caps(packs_mod.state_packs("US"))
        caps = tuple(sorted(set(caps) | {(cap.calls, cap.days) for cap in extra}, key=lambda x: (x[1], x[0])))
    limits = dataclasses.replace(
        lim, caps=caps, gap_after_abandoned=gaps["gap_after_abandoned"],
        gap_after_machine=gaps["gap_after_machine"], gap_after_refusal=gaps["gap_after_refusal"])
    dial = d.dial
    limit = packs_mod.abandon_limit(packs)
    if limit is not None and not c.overridden("abandon") and dial.abandon_target > limit:
        dial = dataclasses.replace(dial, abandon_target=limit)
    return dataclasses.replace(d, window=window, limits=limits, dial=dial)


def loads_definition(text: str, source: str = "<campaign>") -> CampaignDefinition:
    """Parse TOML text into a definition."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignDefinitionError([f"{source}: invalid TOML: {exc}"]) from None
    return parse_definition(data, source)


def load_definition(path: str | Path) -> CampaignDefinition:
    """Read and validate a campaign TOML file (the only I/O in the campaign core)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    return loads_definition(text, str(path))


# --- back to plain data ---------------------------------------------------------------------


def definition_to_data(d: CampaignDefinition) -> dict[str, Any]:
    """JSON-safe plain data; ``parse_definition(definition_to_data(d)) == d``."""
    dial = d.dial
    lim = d.limits
    limits: dict[str, Any] = {
        "max_attempts": lim.max_attempts,
        "per_days": lim.per_days,
        "gap_after_refusal": format_duration(lim.gap_after_refusal),
        "gap_after_abandoned": format_duration(lim.gap_after_abandoned),
        "gap_after_machine": format_duration(lim.gap_after_machine),
        "max_callback_days": lim.max_callback_days,
    }
    if lim.max_calls_per_number is not None:
        limits["max_calls_per_number"] = lim.max_calls_per_number
    if lim.caps:
        limits["caps"] = [{"calls": calls, "days": days} for calls, days in lim.caps]
    dial_data: dict[str, Any] = {
        "mode": dial.mode,
        "ratio": dial.ratio,
        "max_lines_per_agent": dial.max_lines_per_agent,
        "warmup": dial.warmup,
        "hour_cap": dial.hour_cap,
        "abandon_target": dial.abandon_target,
        "trunk": dial.trunk,
        "max_lines": dial.max_lines,
        "ring_timeout": dial.ring_timeout,
        "queue": dial.queue,
        "amd": dial.amd,
        "list_order": dial.list_order,
        "new_first": dial.new_first,
        "wrapup_limit": dial.wrapup_limit,
    }
    if dial.caller_id is not None:
        dial_data["caller_id"] = dial.caller_id
    extra: dict[str, Any] = {}
    if d.jurisdiction:
        extra["jurisdiction"] = d.jurisdiction
    c = d.compliance
    if c != Compliance():
        extra["compliance"] = {"seller": c.seller, "prerecorded": c.prerecorded} | (
            {"amd_accuracy": c.amd_accuracy} if c.amd_accuracy is not None else {}) | (
            {"override": [{"rule": o.rule, "reason": o.reason} for o in c.overrides]} if c.overrides else {})
    out: dict[str, Any] = extra | {
        "version": FORMAT_VERSION,
        "name": d.name,
        "description": d.description,
        "lists": [{"name": x.name, "priority": x.priority, "weight": x.weight} for x in d.lists],
        "dial": dial_data,
        "script": d.script,
        "dispositions": [
            {
                "code": x.code,
                "label": x.label,
                "flags": [f for f in DISPOSITION_FLAGS if f in x.flags],
            }
            for x in d.dispositions
        ],
        "refusal_reasons": [{"code": x.code, "label": x.label} for x in d.refusal_reasons],
        "order_form": [
            {"name": f.name, "label": f.label, "type": f.type, "required": f.required}
            | ({"choices": list(f.choices)} if f.choices else {})
            for f in d.order_form
        ],
        "window": window_to_data(d.window),
        "limits": limits,
        "rules": [rule_to_data(r) for r in d.rules],
        "recycle": {"default_rules": d.default_rules, "hour_bands": bands_to_data(d.hour_bands)},
    }
    recording, webhook = recording_to_data(d.recording), webhook_to_data(d.webhook)
    if recording is not None:
        out["recording"] = recording
    if webhook is not None:
        out["webhook"] = webhook
    if d.pause_codes:
        out["pause_codes"] = list(d.pause_codes)
    return out


def definition_from_data(
    data: Mapping[str, Any], source: str = "<stored campaign>"
) -> CampaignDefinition:
    """Load a definition from the plain data :func:`definition_to_data` produced."""
    return parse_definition(data, source)
