"""Phone normalisation: examples, reasons, and properties (fast path == library)."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lists.phones import (
    REASONS,
    Normaliser,
    country_to_region,
    fast_normalise,
    medium_normalise,
    normalise,
    repair_spreadsheet,
    slow_normalise,
)


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(212) 555-0143", "US", "+12125550143"),
        ("212.555.0178", "US", "+12125550178"),
        ("1-212-555-0143", "US", "+12125550143"),
        ("+1 917 555 0199", None, "+19175550199"),
        ("1.2125550143E10", "US", "+12125550143"),
        ("2125550143.0", "US", "+12125550143"),
        ("06 30 123 4567", "HU", "+36301234567"),
        ("0036 70 555 1234", "HU", "+36705551234"),
        ("8 (912) 345-67-89", "RU", "+79123456789"),
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("0501234567", "SA", "+966501234567"),
        ("\u00a0+36 1 234 5678 ", "US", "+3612345678"),
    ],
)
def test_examples(raw: str, region: str | None, e164: str) -> None:
    assert normalise(raw, region).e164 == e164


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "US", "no_phone"),
        ("   ", "US", "no_phone"),
        ("abc-defg", "US", "not_a_number"),
        ("n/a", "US", "not_a_number"),
        ("555-0100", "US", "too_short"),
        ("1234", "HU", "too_short"),
        ("2125550143", None, "no_region"),
        ("2.12555E+10", "US", "mangled_number"),
        ("+999 1234 5678", None, "invalid_country_code"),
        ("+1 000 000 0000", None, "invalid_number"),
        ("123456789012345678901", "US", "too_long"),
    ],
)
def test_reasons(raw: str, region: str | None, reason: str) -> None:
    result = normalise(raw, region)
    assert result.e164 is None and result.reason == reason and reason in REASONS


def test_repair_spreadsheet() -> None:
    assert repair_spreadsheet("1.2125550143E10") == "12125550143"
    assert repair_spreadsheet("1.2125550143E+10") == "12125550143"
    assert repair_spreadsheet("2.12555E+10") == ""  # digits lost: ambiguous
    assert repair_spreadsheet("(212) 555-0143") is None


def test_country_to_region() -> None:
    assert [country_to_region(v) for v in ("US", "usa", "Hungary", "+36", "UK", "", "Narnia")] == [
        "US", "US", "HU", "HU", "GB", None, None]


REGIONS = ["US", "CA", "GB", "HU", "RU", "DE", "FR", "IT", "MX", "BR", "IN", "JP", "AU", "PR", "JM", "KZ", "EG", "SA"]
_formats = [phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.NATIONAL]


@st.composite
def numbers(draw: st.DrawFn) -> tuple[str, str]:
    """Plausible and implausible inputs: example numbers with changed digits, in any format."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(st.sampled_from(["example", "digits", "plus"]))
    if kind == "example":
        ex = phonenumbers.example_number_for_type(region, draw(st.sampled_from(
            [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE])))
        text = phonenumbers.format_number(ex, draw(st.sampled_from(_formats))) if ex else "1"
        tail = draw(st.text("0123456789", min_size=0, max_size=3))
        text = text[: len(text) - len(tail)] + tail
    elif kind == "digits":
        text = draw(st.text("0123456789", min_size=1, max_size=14))
    else:
        cc = phonenumbers.country_code_for_region(region)
        text = f"+{cc} " + draw(st.text("0123456789 -()", min_size=1, max_size=14))
    return text, region


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(numbers())
@example(("+1 212 555 0143", "US"))
@example(("12125550143", "US"))
@example(("06 30 123 4567", "HU"))
@example(("2.00000000E8", "GB"))  # spreadsheet damage is repaired before any parsing
@example(("+4930123456.0", "DE"))
@example(("+36'200000000", "HU"))  # an apostrophe or a tab inside a number: not a number for the library
@example(("212\t555 0143", "US"))
@example(("'+1 212 555 0143", "US"))  # a leading apostrophe (spreadsheet-safe export) is skipped
def test_fast_paths_agree_with_the_library(case: tuple[str, str]) -> None:
    raw, region = case
    reference = slow_normalise(raw, region)
    for path in (fast_normalise, medium_normalise):
        got = path(raw, region)
        if got is not None:
            assert got == reference
    assert Normaliser()(raw, region) == reference


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.sampled_from([None, *REGIONS]))
def test_never_raises_and_results_are_consistent(raw: str, region: str | None) -> None:
    result = normalise(raw, region)
    if result.e164 is None:
        assert result.reason in REASONS
    else:
        assert result.reason is None
        parsed = phonenumbers.parse(result.e164)
        assert phonenumbers.is_valid_number(parsed)
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == result.e164
        assert "Etc/Unknown" not in result.zones


@settings(max_examples=200, deadline=None)
@given(numbers(), st.sampled_from(_formats))
def test_any_format_of_a_valid_number_gives_the_same_e164(case: tuple[str, str], fmt: int) -> None:
    raw, region = case
    first = normalise(raw, region)
    if first.e164 is None:
        return
    again = phonenumbers.format_number(phonenumbers.parse(first.e164), fmt)
    assert normalise(again, region if fmt == phonenumbers.PhoneNumberFormat.NATIONAL else None).e164 == first.e164
