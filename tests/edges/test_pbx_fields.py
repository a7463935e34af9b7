"""Fields that reach AMI are checked against what Asterisk accepts (issue 14).

Before: a campaign ``queue = "crash,DIALER_AGENT=PJSIP/evil"`` was accepted (and set a channel
variable on the Originate); ``dialer agents add --interface`` and ``caller_id`` took commas.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from campaigns import pbxnames
from campaigns.definition import CampaignDefinitionError, parse_definition
from dialer.cli import main

CHECKS = (pbxnames.queue_problem, pbxnames.trunk_problem, pbxnames.interface_problem,
          pbxnames.caller_id_problem, pbxnames.pause_code_problem, pbxnames.member_name_problem)
SPLITTER = st.sampled_from(sorted(pbxnames.SPLITTERS | {"\x00", "\x1b", "\t", "\x7f"}))


@given(st.text(max_size=20), SPLITTER, st.text(max_size=20), st.sampled_from(CHECKS))
def test_anything_that_would_split_an_argument_is_refused(before: str, bad: str, after: str, check) -> None:
    assert check(before + bad + after)


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,30}", fullmatch=True))
def test_queue_names_and_pause_codes_asterisk_takes_are_accepted(name: str) -> None:
    assert pbxnames.queue_problem(name) is None and pbxnames.pause_code_problem(name) is None


@given(st.sampled_from(["PJSIP", "SIP", "IAX2", "Local", "DAHDI"]),
       st.from_regex(r"[A-Za-z0-9_.+#*-]{1,20}(@[A-Za-z0-9_.-]{1,20})?(/n)?", fullmatch=True))
def test_channels_are_accepted(tech: str, resource: str) -> None:
    assert pbxnames.interface_problem(f"{tech}/{resource}") is None
    assert pbxnames.trunk_problem(f"{tech}/{{number}}@{resource.split('@')[0]}") is None


@pytest.mark.parametrize("value", ["+15550100", '"Acme" <+15550100>', "Acme Ltd <5550100>"])
def test_caller_ids_are_accepted(value: str) -> None:
    assert pbxnames.caller_id_problem(value) is None


def _campaign(**dial: str) -> dict:
    return {"name": "c", "lists": [{"name": "l"}],
            "dial": {"trunk": "PJSIP/{number}@carrier", "queue": "q", **dial},
            "dispositions": [{"code": "SALE", "label": "Sale", "flags": ["contact", "success", "final"]}]}


@pytest.mark.parametrize(("field", "value"), [
    ("queue", "crash,DIALER_AGENT=PJSIP/evil"),
    ("queue", "sales\nAction: Originate"),
    ("trunk", "PJSIP/{number}@carrier,DIALER_AGENT=x"),
    ("trunk", "PJSIP/{number}@a&PJSIP/evil"),
    ("caller_id", '"Acme" <+15550100>,x'),
    ("caller_id", "Acme|x"),
])
def test_a_campaign_field_asterisk_would_split_is_an_error_naming_it(field: str, value: str) -> None:
    with pytest.raises(CampaignDefinitionError, match=rf"dial\.{field}: must not contain"):
        parse_definition(_campaign(**{field: value}))


def test_a_campaign_name_used_as_queue_is_checked_too() -> None:
    data = _campaign()
    del data["dial"]["queue"]
    data["name"] = "Spring sale"
    with pytest.raises(CampaignDefinitionError, match=r"dial\.queue: .*set queue"):
        parse_definition(data)


def _run(tmp_path: Path, *args: str):
    env = {"DIALER_DATA_DIR": str(tmp_path / "data"), "DIALER_LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(main, list(args), env=env)


@pytest.mark.parametrize(("args", "field"), [
    (("agents", "add", "ann", "--interface", "PJSIP/ann,DIALER_AGENT=PJSIP/evil"), "--interface"),
    (("agents", "add", "ann", "--interface", "PJSIP/ann\r\nAction: Hangup"), "--interface"),
    (("agents", "add", "ann", "--interface", "ann"), "--interface"),
    (("agents", "add", "a,b", "--interface", "PJSIP/ann"), "name"),
    (("agents", "pause", "ann", "--code", "BREAK;x"), "--code"),
])
def test_agent_fields_are_checked(tmp_path: Path, args: tuple[str, ...], field: str) -> None:
    r = _run(tmp_path, *args)
    assert r.exit_code == 2 and r.output.startswith(f"error: {field}: ") and r.output.count("\n") == 1, r.output


def test_a_good_agent_is_added(tmp_path: Path) -> None:
    r = _run(tmp_path, "agents", "add", "ann", "--interface", "PJSIP/ann")
    assert r.exit_code == 0 and "created" in r.output
