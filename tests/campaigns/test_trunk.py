"""Trunk templates (issue 16 item 4): the number as the carrier wants it, the template checked
when the campaign is loaded."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.definition import CampaignDefinition
from campaigns.trunk import PLACEHOLDERS, dial_string, forms, national, template_problem
from tests.campaigns.conftest import MINIMAL, make_definition


@pytest.mark.parametrize(("e164", "digits", "nat"), [
    ("+12125550101", "12125550101", "2125550101"),  # US: no national prefix
    ("+442071234567", "442071234567", "02071234567"),  # UK: trunk prefix 0
    ("+33123456789", "33123456789", "0123456789"),  # France
    ("+3612345678", "3612345678", "0612345678"),  # Hungary: 06
])
def test_each_form(e164: str, digits: str, nat: str) -> None:
    assert forms(e164) == {"e164": e164, "number": e164, "digits": digits, "national": nat}
    assert dial_string("PJSIP/{digits}@carrier", e164) == f"PJSIP/{digits}@carrier"
    assert dial_string("Local/{national}@outbound/n", e164) == f"Local/{nat}@outbound/n"
    assert dial_string("PJSIP/{number}@c", e164) == dial_string("PJSIP/{e164}@c", e164) == f"PJSIP/{e164}@c"


def test_unparseable_number_national_is_its_digits() -> None:
    assert national("+999") == "999"


@pytest.mark.parametrize(("trunk", "fragment"), [
    ("PJSIP/carrier", "must contain the number"),
    ("PJSIP/{host}@{e164}", "unknown placeholder {host}"),
    ("PJSIP/{}@c", "unknown placeholder {}"),
    ("PJSIP/{e164:>14}@c", "no format spec"),
    ("PJSIP/{e164!r}@c", "no format spec"),
    ("PJSIP/{e164@c", "invalid template"),
    ("PJSIP/{number.real}@c", "unknown placeholder {number.real}"),
])
def test_bad_templates_are_named(trunk: str, fragment: str) -> None:
    problem = template_problem(trunk)
    assert problem is not None and fragment in problem and repr(trunk) in problem


@pytest.mark.parametrize("trunk", ["PJSIP/{e164}@c", "PJSIP/{digits}@c", "SIP/{national}", "Local/{number}@x/n",
                                   "PJSIP/9{digits}@c"])
def test_good_templates(trunk: str) -> None:
    assert template_problem(trunk) is None
    make_definition(dial={**MINIMAL["dial"], "trunk": trunk})


def test_campaign_file_and_field_named(tmp_path) -> None:
    from campaigns.definition import load_definition
    from dialer.errors import InputError

    path = tmp_path / "spring.toml"
    path.write_text('name = "spring"\n[dial]\ntrunk = "PJSIP/{phone}@carrier"\n')
    with pytest.raises(InputError) as err:
        load_definition(path)
    assert "spring.toml" in str(err.value) and "dial.trunk" in str(err.value) and "{phone}" in str(err.value)


def test_dial_settings_fill_the_template() -> None:
    d: CampaignDefinition = make_definition(dial={**MINIMAL["dial"], "trunk": "PJSIP/00{digits}@intl"})
    assert d.dial.dial_string("+442071234567") == "PJSIP/00442071234567@intl"


numbers = st.sampled_from(["US", "GB", "FR", "DE", "HU", "AU", "BR", "IN", "JP"]).map(
    lambda r: phonenumbers.format_number(phonenumbers.example_number(r), phonenumbers.PhoneNumberFormat.E164))


@given(numbers)
def test_forms_agree_with_each_other(e164: str) -> None:
    f = forms(e164)
    assert f["e164"] == "+" + f["digits"] and f["digits"].isdigit() and f["national"].isdigit()
    # The national form is the national significant number, maybe behind a national prefix.
    nsn = str(phonenumbers.parse(e164).national_number)
    assert f["national"].endswith(nsn) and f["digits"].endswith(nsn)


literal = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/@:._-", max_size=15)


@given(literal, st.sampled_from(PLACEHOLDERS), literal, numbers)
def test_the_placeholder_is_replaced_by_its_form_and_the_rest_kept(head: str, name: str, tail: str,
                                                                    e164: str) -> None:
    trunk = f"PJSIP/{head}{{{name}}}{tail}"
    assert template_problem(trunk) is None
    assert dial_string(trunk, e164) == f"PJSIP/{head}{forms(e164)[name]}{tail}"


@given(st.text(alphabet="{}abcdefghijklmnopqrstuvwxyz0123456789/@:!.>", max_size=30))
def test_any_text_is_either_refused_with_a_reason_or_fills_without_braces(text: str) -> None:
    trunk = "PJSIP/" + text
    problem = template_problem(trunk)
    if problem is None:
        out = dial_string(trunk, "+12125550101")
        assert any(form in out for form in forms("+12125550101").values())
    else:
        assert repr(trunk) in problem
