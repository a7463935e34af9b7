"""Campaign definition loading, validation and the plain-data round trip."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns import pbxnames
from campaigns.definition import (
    DEFAULT_DISPOSITIONS,
    DEFAULT_PAUSE_CODES,
    DEFAULT_REFUSAL_REASONS,
    CampaignDefinitionError,
    definition_from_data,
    definition_to_data,
    load_definition,
    loads_definition,
    parse_definition,
    render_script,
)
from campaigns.rulespec import DEFAULT_BANDS
from dialer.errors import InputError
from tests.campaigns.conftest import EXAMPLES, MINIMAL, make_definition

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.toml"))


def problems_of(data: dict, source: str = "campaign.toml") -> list[str]:
    with pytest.raises(CampaignDefinitionError) as info:
        parse_definition(data, source)
    return info.value.problems


def test_there_are_example_files() -> None:
    names = {p.stem for p in EXAMPLE_FILES}
    assert {"demo", "retention-basic", "retention-cheaper", "survey-fr"} <= names


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_example_loads_and_round_trips_through_json(path: Path) -> None:
    definition = load_definition(path)
    assert definition.name == path.stem
    data = json.loads(json.dumps(definition_to_data(definition)))
    assert definition_from_data(data) == definition
    # the data is canonical: a second round trip gives the same data
    assert definition_to_data(definition_from_data(data)) == data


def test_demo_campaign() -> None:
    demo = load_definition(EXAMPLES / "demo.toml")
    assert demo.dial.mode == "predictive"
    assert demo.dial.queue == "demo"
    assert demo.dial.dial_string("+15551234567") == "Local/+15551234567@sim-customers"
    codes = {d.code for d in demo.dispositions}
    assert {"SALE", "REFUSED", "CALLBACK", "DNC", "NO_CONTACT"} <= codes
    sale = demo.disposition("SALE")
    assert sale is not None and sale.success and sale.final
    assert any(f.required for f in demo.order_form)
    assert demo.disposition("REFUSED").refusal  # type: ignore[union-attr]
    assert demo.refusal_reason("PRICE").label == "too expensive"  # type: ignore[union-attr]


def test_retention_basic_moves_price_refusals() -> None:
    basic = load_definition(EXAMPLES / "retention-basic.toml")
    rule = basic.rules[0]
    assert rule.then.kind == "move" and rule.then.campaign == "retention-cheaper"
    assert rule.then.at == "start" and rule.when.reasons == {"PRICE"}


def test_survey_fr_window() -> None:
    survey = load_definition(EXAMPLES / "survey-fr.toml")
    assert survey.window.days[0] == ((600, 780), (840, 1200))
    assert survey.window.days[5] == () and survey.window.days[6] == ()
    assert date(2026, 7, 14) in survey.window.holidays
    assert survey.limits.max_calls_per_number == 4
    assert survey.limits.gap_after_refusal == timedelta(days=60)


def test_minimal_definition_gets_defaults() -> None:
    d = make_definition()
    assert d.dial.mode == "progressive"
    assert d.dial.ring_timeout == 25
    assert d.dial.abandon_target == 0.03
    assert d.dial.queue == "test"
    assert d.dial.amd is False
    assert d.dispositions == DEFAULT_DISPOSITIONS
    assert d.refusal_reasons == DEFAULT_REFUSAL_REASONS
    assert {r.code for r in d.refusal_reasons} >= {
        "PRICE",
        "HAS_PROVIDER",
        "NOT_INTERESTED",
        "NO_TIME",
    }
    assert d.window.days == (((480, 1260),),) * 7
    assert d.limits.gap_after_abandoned == timedelta(hours=72)
    assert d.limits.gap_after_machine == timedelta(hours=24)
    assert d.rules == () and d.default_rules
    assert d.hour_bands == DEFAULT_BANDS


def test_ring_timeout_below_15_is_refused_with_file_and_field() -> None:
    data = {**MINIMAL, "dial": {**MINIMAL["dial"], "ring_timeout": 10}}
    assert problems_of(data) == ["campaign.toml: dial.ring_timeout: must be at least 15 s (got 10)"]


def test_ring_timeout_accepts_a_duration() -> None:
    d = make_definition(dial={**MINIMAL["dial"], "ring_timeout": "20s"})
    assert d.dial.ring_timeout == 20


# fmt: off
@pytest.mark.parametrize(
    ("patch", "field", "fragment"),
    [
        ({"dial": {"trunk": "PJSIP/carrier"}}, "dial.trunk", "{number}"),
        ({"dial": {"trunk": "PJSIP/{number}@{host}"}}, "dial.trunk", "host"),
        ({"dial": {}}, "dial.trunk", "required"),
        ({"dial": {"trunk": "X/{number}", "abandon_target": 0.05}}, "dial.abandon_target", "at most 0.03"),
        ({"dial": {"trunk": "X/{number}", "abandon_target": 3}}, "dial.abandon_target", "fraction"),
        ({"dial": {"trunk": "X/{number}", "mode": "turbo"}}, "dial.mode", "progressive"),
        ({"dial": {"trunk": "X/{number}", "max_lines": 0}}, "dial.max_lines", "between"),
        ({"dial": {"trunk": "X/{number}", "amd": "yes"}}, "dial.amd", "true or false"),
        ({"dial": {"trunk": "X/{number}", "warmup": -1}}, "dial.warmup", "between 0 and 10"),
        ({"dial": {"trunk": "X/{number}", "warmup": 11}}, "dial.warmup", "between 0 and 10"),
        ({"dial": {"trunk": "X/{number}", "warmup": "long"}}, "dial.warmup", "expected a number"),
        ({"dial": {"trunk": "X/{number}", "warmup": True}}, "dial.warmup", "expected a number"),
        ({"dial": {"trunk": "X/{number}", "rign_timeout": 20}}, "dial.rign_timeout", "unknown field"),
        ({"name": ""}, "name", "must not be empty"),
        ({"name": "has space"}, "name", "letters"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"dispositions": []}, "dispositions", "at least one"),
        ({"dispositions": [{"code": "X", "flags": ["final", "shiny"]}]}, "dispositions[0].flags", "shiny"),
        (
            {"dispositions": [{"code": "X", "flags": ["success", "refusal"]}]},
            "dispositions[0].flags",
            "both success and refusal",
        ),
        (
            {"dispositions": [{"code": "X", "flags": ["callback", "final"]}]},
            "dispositions[0].flags",
            "cannot be final",
        ),
        ({"dispositions": [{"code": "A"}, {"code": "A"}]}, "dispositions[1].code", "duplicate"),
        ({"dispositions": [{"label": "no code"}]}, "dispositions[0].code", "required"),
        ({"refusal_reasons": []}, "refusal_reasons", "at least one refusal reason"),
        ({"order_form": [{"name": "plan", "type": "choice"}]}, "order_form[0].choices", "at least one"),
        ({"order_form": [{"name": "x", "type": "colour"}]}, "order_form[0].type", "must be one of"),
        ({"order_form": [{"name": "x", "type": "int", "choices": ["1"]}]}, "order_form[0].choices", "only a choice"),
        ({"lists": [{"name": "a"}, {"name": "a"}]}, "lists[1].name", "twice"),
        ({"limits": {"max_attempts": 0}}, "limits.max_attempts", "between"),
        ({"limits": {"gap_after_refusal": "soon"}}, "limits.gap_after_refusal", "duration"),
        ({"window": {"mon": "21:00-08:00"}}, "window.mon", "ends before"),
        ({"window": {"tue": "8-21"}}, "window.tue", "time like"),
        ({"window": {"holidays": ["2026-13-01"]}}, "window.holidays[0]", "date"),
        ({"window": {"regions": {"France": {"weekend": "closed"}}}}, "window.regions.France", "region"),
        ({"window": {"regions": {"FR": {"saturday": "closed"}}}}, "window.regions.FR.saturday", "unknown"),
        ({"rules": [{"when": {"outcome": "BUSY"}}]}, "rules[0].action", "required"),
        ({"rules": [{"action": "explode"}]}, "rules[0].action", "must be one of"),
        ({"rules": [{"action": "move"}]}, "rules[0].campaign", "required"),
        ({"rules": [{"action": "move", "campaign": "test"}]}, "rules[0].campaign", "same campaign"),
        ({"rules": [{"action": "retry", "when": {"outcome": "BUSSY"}, "after": "1h"}]}, "rules[0].when.outcome", "BUSSY"),
        ({"rules": [{"action": "finish", "when": {"disposition": "NOPE"}}]}, "rules[0].when.disposition", "NOPE"),
        ({"rules": [{"action": "finish", "when": {"reason": "CHEAP"}}]}, "rules[0].when.reason", "CHEAP"),
        ({"rules": [{"action": "finish", "when": {"attempt": "many"}}]}, "rules[0].when.attempt", "range"),
        ({"rules": [{"action": "retry"}]}, "rules[0]", "needs after"),
        ({"rules": [{"action": "retry", "after": "1h", "band": "other"}]}, "rules[0].band", "days"),
        ({"rules": [{"action": "retry", "after": "1h", "wen": {}}]}, "rules[0].wen", "unknown field"),
        ({"recycle": {"hour_bands": []}}, "recycle.hour_bands", "at least one"),
    ],
)
# fmt: on
def test_validation_errors_name_the_field(patch: dict, field: str, fragment: str) -> None:
    problems = problems_of({**MINIMAL, **patch})
    hits = [p for p in problems if p.startswith(f"campaign.toml: {field}: ")]
    assert hits, problems
    assert any(fragment in p for p in hits), problems


def test_all_problems_are_reported_at_once() -> None:
    data = {
        "name": "x",
        "dial": {"trunk": "PJSIP/carrier", "ring_timeout": 5, "abandon_target": 0.1},
        "limits": {"max_attempts": -1},
    }
    problems = problems_of(data)
    fields = {p.split(": ")[1] for p in problems}
    assert fields == {"dial.trunk", "dial.ring_timeout", "dial.abandon_target", "limits.max_attempts"}


def test_error_is_an_input_error_with_one_line_per_problem() -> None:
    with pytest.raises(InputError) as info:
        parse_definition({"name": "x", "dial": {"trunk": "a", "ring_timeout": 1}}, "f.toml")
    lines = str(info.value).splitlines()
    assert len(lines) == 2 and all(line.startswith("f.toml: dial.") for line in lines)


def test_load_reports_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n[dial]\ntrunk = "SIP/{number}"\nring_timeout = 10\n')
    with pytest.raises(CampaignDefinitionError) as info:
        load_definition(path)
    assert info.value.problems == [f"{path}: dial.ring_timeout: must be at least 15 s (got 10)"]


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CampaignDefinitionError, match="x.toml: invalid TOML"):
        loads_definition("name = ", "x.toml")
    with pytest.raises(InputError, match="no such file"):
        load_definition(tmp_path / "missing.toml")


def test_window_sections_and_region_inheritance() -> None:
    d = make_definition(
        window={
            "hours": "09:00-20:00",
            "weekend": "10:00-18:00",
            "sun": "closed",
            "regions": {"US-CA": {"sat": "closed"}},
        }
    )
    assert d.window.days[0] == ((540, 1200),)
    assert d.window.days[5] == ((600, 1080),)
    assert d.window.days[6] == ()
    (ca,) = d.window.regions
    assert ca.days[5] == () and ca.days[0] == ((540, 1200),)


def test_rules_parse_with_ranges_and_lead_fields() -> None:
    d = make_definition(
        rules=[
            {
                "name": "vip",
                "when": {"outcome": ["BUSY", "NO_ANSWER"], "attempt": "2-4", "lead": {"tier": ["Gold", "x"]}},
                "action": "retry",
                "after": "30m",
                "jitter": "5m",
            }
        ]
    )
    (rule,) = d.rules
    assert rule.when.outcomes == {"BUSY", "NO_ANSWER"}
    assert 2 in rule.when.attempt and 5 not in rule.when.attempt  # type: ignore[operator]
    assert rule.when.lead == (("tier", frozenset({"gold", "x"})),)
    assert rule.then.after == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("text", "fields", "expected"),
    [
        ("Hello {first_name}!", {"first_name": "Ann"}, "Hello Ann!"),
        ("Hello {first_name} {surname}", {"first_name": "Ann"}, "Hello Ann {surname}"),
        ("{a}{b}", {"a": 1, "b": None}, "1"),
        ("{{literal}} {x}", {"x": "y"}, "{literal} y"),
        ("{unclosed and {0} and {}", {}, "{unclosed and {0} and {}"),
        ("{first_name.__class__}", {"first_name": "Ann"}, "{first_name.__class__}"),
    ],
)
def test_render_script_is_safe(text: str, fields: dict, expected: str) -> None:
    assert render_script(text, fields) == expected


def test_the_documented_example_is_valid() -> None:
    doc = (EXAMPLES.parents[1] / "docs" / "campaigns.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", doc, re.S)
    definition = loads_definition("\n".join(blocks), "docs/campaigns.md")
    assert definition.name == "retention-basic"
    assert definition.rules[0].then.campaign == "retention-cheaper"
    assert [r.region for r in definition.window.regions] == ["FR", "US-CA"]


# --- pause codes ------------------------------------------------------------------------------


def test_pause_codes_are_read_kept_in_order_and_round_trip() -> None:
    d = make_definition(pause_codes=["BREAK", "Lunch break", "coaching-1"])
    assert d.pause_codes == ("BREAK", "Lunch break", "coaching-1")
    assert d.offered_pause_codes == d.pause_codes
    data = json.loads(json.dumps(definition_to_data(d)))
    assert data["pause_codes"] == ["BREAK", "Lunch break", "coaching-1"]
    assert definition_from_data(data) == d


def test_without_pause_codes_the_defaults_are_offered_and_nothing_is_stored() -> None:
    d = make_definition()
    assert d.pause_codes == ()
    assert d.offered_pause_codes == DEFAULT_PAUSE_CODES == ("BREAK", "LUNCH", "TRAINING", "MEETING")
    assert "pause_codes" not in definition_to_data(d)


def test_the_example_campaign_declares_its_pause_codes() -> None:
    assert load_definition(EXAMPLES / "retention-basic.toml").pause_codes == (
        "BREAK", "LUNCH", "Team meeting", "Coaching")


@pytest.mark.parametrize(("codes", "field", "fragment"), [
    ("BREAK", "pause_codes", "expected a list of strings"),
    ([], "pause_codes", "at least one code"),
    (["BREAK", 3], "pause_codes[1]", "expected a string"),
    (["BREAK", ""], "pause_codes[1]", "must not be empty"),
    (["B" * 33], "pause_codes[0]", "at most 32 characters"),
    (["x,DIALER_AGENT=PJSIP/evil"], "pause_codes[0]", "Asterisk would split"),
    (["LUNCH", "a|b"], "pause_codes[1]", "Asterisk would split"),
    (["x\r\nAction: Logoff"], "pause_codes[0]", "Asterisk would split"),
    ([" BREAK"], "pause_codes[0]", "must not start or end with a space"),
    (["WrapUp"], "pause_codes[0]", "reserved for the daemon"),
    (["BREAK", "callback"], "pause_codes[1]", "reserved for the daemon"),
    (["BREAK", "BREAK"], "pause_codes[1]", "duplicate pause code 'BREAK'"),
    ([f"C{i}" for i in range(51)], "pause_codes", "at most 50 codes"),
])
def test_bad_pause_codes_are_refused_naming_file_and_field(codes: object, field: str, fragment: str) -> None:
    found = problems_of({**MINIMAL, "pause_codes": codes})
    assert any(p.startswith(f"campaign.toml: {field}: ") and fragment in p for p in found), found


@given(st.lists(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_. -]{0,30}[A-Za-z0-9]", fullmatch=True),
                min_size=1, max_size=8, unique=True))
def test_any_codes_amis_queuepause_carries_are_accepted(codes: list[str]) -> None:
    codes = [c for c in codes if c.lower() not in ("wrapup", "callback")] or ["BREAK"]
    d = make_definition(pause_codes=codes)
    assert d.pause_codes == tuple(codes)
    assert all(pbxnames.pause_code_problem(c) is None for c in d.pause_codes)
