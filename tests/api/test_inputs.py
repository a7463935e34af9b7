"""What a request may hold (dialer.api.inputs) and how answers write times (dialer.api.responses):
pure functions, no sockets, no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.exceptions import HTTPException

from dialer.api import inputs
from dialer.api.responses import aware_times
from dialer.errors import Invalid, NotFound


def depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=3), inner, max_size=3),
    max_leaves=20,
)


@given(json_values, st.integers(min_value=1, max_value=12))
def test_nesting_is_measured_like_the_parser_sees_it(value: object, limit: int) -> None:
    raw = json.dumps(value).encode()
    assert inputs.nested_deeper(raw, limit) == (depth(value) > limit)


def test_json_object() -> None:
    assert inputs.json_object(b"", max_depth=4) == {}
    assert inputs.json_object(b' {"a": [1, {"b": 2}]} ', max_depth=3) == {"a": [1, {"b": 2}]}
    for raw, message in [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 32 levels"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "nested deeper than 32 levels"),
        (b"{nope", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b'{"n": ' + b"9" * 5000 + b"}", "not JSON"),  # beyond Python's integer-string limit
        (b"[1, 2]", "must be a JSON object"),
    ]:
        with pytest.raises(HTTPException) as info:
            inputs.json_object(raw, max_depth=32)
        assert info.value.status_code == 400 and message in info.value.detail


@pytest.mark.parametrize(("header", "over"), [
    (None, False), ("0", False), ("65536", False), ("65537", True), ("9" * 40, True), ("-1", True), ("1e9", True),
])
def test_content_length(header: str | None, over: bool) -> None:
    assert inputs.content_length_over(header, 65536) is over


def test_text_fields() -> None:
    assert inputs.text({"a": "x"}, "a", max_len=3) == "x"
    assert inputs.text({"a": ""}, "a", max_len=3) is None
    assert inputs.text({}, "a", max_len=3) is None
    with pytest.raises(Invalid, match="^a: required, please$"):
        inputs.text({"a": None}, "a", max_len=3, required=", please")
    with pytest.raises(Invalid, match="a: at most 3 characters"):
        inputs.text({"a": "abcd"}, "a", max_len=3)
    with pytest.raises(Invalid, match="a: must be a string"):
        inputs.text({"a": ["x"]}, "a", max_len=3)


def test_pause_codes() -> None:
    assert inputs.pause_code("BREAK") == "BREAK"
    assert inputs.pause_code("lunch-2.long_one") == "lunch-2.long_one"
    for reserved in ("wrapup", "callback", "WRAPUP", "CallBack"):
        with pytest.raises(Invalid, match="reserved for the daemon"):
            inputs.pause_code(reserved)
        with pytest.raises(Invalid, match="reserved for the daemon"):
            inputs.pause_code(reserved, ["wrapup", "callback", "BREAK"])
    for bad in ("x" * 33, "-x", "two words", "a,b", "a|b", "a\r\nAction: Originate", "é"):
        with pytest.raises(Invalid, match="code: 1 to 32"):
            inputs.pause_code(bad)
    assert inputs.pause_code("Lunch break", ["Lunch break", "Training"]) == "Lunch break"  # the campaign's own
    with pytest.raises(Invalid, match="not one of the campaign's pause codes"):
        inputs.pause_code("BREAK", ["Lunch break", "Training"])


def test_call_ids() -> None:
    assert inputs.call_id("7") == 7
    assert inputs.call_id(str(2**63 - 1)) == 2**63 - 1
    for raw in (str(2**63), "9" * 19, "9" * 400, "0", "-1", "+1", "1.0", "x", "", "٣"):
        with pytest.raises(NotFound, match="unknown call"):
            inputs.call_id(raw)


def test_times() -> None:
    paris = timezone(timedelta(hours=1))
    assert inputs.when("2026-11-23T15:00:00+01:00", "t") == datetime(2026, 11, 23, 14, tzinfo=UTC)
    assert inputs.when("2026-11-23T15:00:00+01:00", "t").tzinfo is UTC
    assert inputs.when("2026-11-23T15:00", "t", naive_is_utc=True) == datetime(2026, 11, 23, 15, tzinfo=UTC)
    assert inputs.when(datetime(2026, 1, 1, tzinfo=paris).isoformat(), "t").hour == 23
    with pytest.raises(Invalid, match="t: give a time zone offset"):
        inputs.when("2026-11-23T15:00:00", "t")
    for bad in ("tomorrow", 5, None, "2026-11-23T15:00:00+01:00" + " " * 100):
        with pytest.raises(Invalid, match="t: not an ISO 8601"):
            inputs.when(bad, "t")


def test_order_forms() -> None:
    assert inputs.order_form(None) is None
    assert inputs.order_form({"plan": "Gold", "seats": 3, "paid": True}) == {"plan": "Gold", "seats": 3, "paid": True}
    for bad, message in [
        ([1], "must be an object"),
        ({str(i): 1 for i in range(101)}, "at most 100 fields"),
        ({"x" * 101: 1}, "field names of at most 100"),
        ({"plan": {"a": 1}}, "plan: must be a single value"),
        ({"plan": "x" * 1001}, "plan: at most 1000 characters"),
    ]:
        with pytest.raises(Invalid, match=message):
            inputs.order_form(bad)


def test_whole_numbers() -> None:
    assert inputs.whole_number(" 24 ", "hours", 1, 336) == 24
    for raw, message in (("x", "not a whole number"), ("1.5", "not a whole number"), ("9" * 5000, "not a whole number"),
                         ("0", "between 1 and 336"), ("337", "between 1 and 336")):
        with pytest.raises(Invalid, match=f"hours: {message}"):
            inputs.whole_number(raw, "hours", 1, 336)


def test_answers_write_every_time_with_an_offset() -> None:
    naive = datetime(2026, 3, 2, 15, 0)
    data = {
        "connected_at": "2026-03-02T15:00:00", "next_call_at": "2026-03-02T16:00:00+01:00", "at": "2026-03-02 15:00",
        "when": naive, "hourly": [{"start": "2026-03-02T15:00:00.250000", "dials": 3}],
        "lead": {"seen_at": "2026-01-01 10:00"}, "note": "2026-03-02T15:00:00", "placed_at": None,
    }
    assert aware_times(data) == {
        "connected_at": "2026-03-02T15:00:00+00:00", "next_call_at": "2026-03-02T16:00:00+01:00",
        "at": "2026-03-02 15:00+00:00", "when": "2026-03-02T15:00:00+00:00",
        "hourly": [{"start": "2026-03-02T15:00:00.250000+00:00", "dials": 3}],
        "lead": {"seen_at": "2026-01-01 10:00"},  # the customer's data, as imported
        "note": "2026-03-02T15:00:00",  # free text
        "placed_at": None,
    }
