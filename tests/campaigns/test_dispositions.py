"""Disposition validation against a campaign definition."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from campaigns.definition import load_definition
from campaigns.dispositions import coerce_order_fields, validate_disposition
from tests.campaigns.conftest import EXAMPLES

NOW = datetime(2026, 5, 12, 14, 0, tzinfo=UTC)
DEMO = load_definition(EXAMPLES / "demo.toml")
SALE_FIELDS = {"plan": "fibre-500", "address": "1 Main St", "install_date": "2026-06-01"}


def check(code: str, **kwargs) -> list[str]:
    return validate_disposition(DEMO, code, now=NOW, **kwargs)


def test_valid_dispositions() -> None:
    assert check("SALE", fields=SALE_FIELDS) == []
    assert check("REFUSED", reason="PRICE") == []
    assert check("CALLBACK", callback_at=NOW + timedelta(hours=2)) == []
    assert check("DNC") == []
    assert check("NO_CONTACT") == []


@pytest.mark.parametrize(
    ("code", "kwargs", "fragment"),
    [
        ("BOGUS", {}, "unknown disposition 'BOGUS'"),
        ("", {}, "unknown disposition"),
        ("REFUSED", {}, "refusal reason is required"),
        ("REFUSED", {"reason": "  "}, "refusal reason is required"),
        ("REFUSED", {"reason": "CHEAPER"}, "unknown refusal reason 'CHEAPER'"),
        ("SALE", {"reason": "PRICE", "fields": SALE_FIELDS}, "not a refusal"),
        ("CALLBACK", {}, "needs a callback time"),
        ("CALLBACK", {"callback_at": NOW - timedelta(minutes=1)}, "in the past"),
        ("CALLBACK", {"callback_at": NOW}, "in the past"),
        ("CALLBACK", {"callback_at": NOW + timedelta(days=400)}, "days ahead"),
        ("CALLBACK", {"callback_at": datetime(2026, 6, 1, 10)}, "time zone"),
        ("DNC", {"callback_at": NOW + timedelta(hours=1)}, "not a callback"),
        ("SALE", {"fields": {"address": "x"}}, "'plan' (Plan) is required"),
        ("SALE", {"fields": {**SALE_FIELDS, "plan": "copper"}}, "must be one of"),
        ("SALE", {"fields": {**SALE_FIELDS, "install_date": "tomorrow"}}, "expected a date"),
        ("SALE", {"fields": {**SALE_FIELDS, "colour": "red"}}, "unknown order-form field 'colour'"),
        ("SALE", {"fields": {**SALE_FIELDS, "address": ""}}, "'address'"),
        ("REFUSED", {"reason": "PRICE", "fields": {"plan": "fibre-100"}}, "not a success"),
    ],
)
def test_invalid_dispositions(code: str, kwargs: dict, fragment: str) -> None:
    errors = check(code, **kwargs)
    assert any(fragment in e for e in errors), errors


def test_several_problems_at_once() -> None:
    errors = check("SALE", reason="PRICE", callback_at=NOW + timedelta(hours=1), fields={})
    assert len(errors) == 4  # reason, callback, plan, address


def test_coerce_order_fields() -> None:
    assert coerce_order_fields(DEMO, SALE_FIELDS) == {
        "plan": "fibre-500",
        "address": "1 Main St",
        "install_date": date(2026, 6, 1),
    }


def test_typed_fields() -> None:
    survey = load_definition(EXAMPLES / "survey-fr.toml")
    ok = validate_disposition(
        survey, "COMPLETED", fields={"score": "8", "recommend": "yes"}, now=NOW
    )
    assert ok == []
    bad = validate_disposition(
        survey, "COMPLETED", fields={"score": 7.5, "recommend": "maybe"}, now=NOW
    )
    assert len(bad) == 2
    assert coerce_order_fields(survey, {"score": "8", "recommend": "no"}) == {
        "score": 8,
        "recommend": False,
    }
