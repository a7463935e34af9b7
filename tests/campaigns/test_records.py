"""Records kept as the rule packs require: the ``[records]`` figures, the period of a do-not-call
request (the longest of the packs that apply to the number), the merge of a second request,
and the refusal to remove a request before its period ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.packs import (
    FOREVER,
    PackError,
    Records,
    add_years,
    all_packs,
    dnc_honour_until,
    number_packs,
    parse_pack,
    records_required,
)
from dialer.storage.dnc_requests import honoured_until
from lists.dnc import removal_refused

PHONES = ("+12125550143", "+13055550143", "+14165550143", "+442071838750", "+33144556677",
          "+4930123456", "+61291234567", "+3612345678")
JURISDICTIONS = (None, *sorted(all_packs()))
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC))


def test_the_packs_state_their_records_with_sources_unverified() -> None:
    packs = all_packs()
    assert packs["US"].records == Records(FOREVER, 5, 5, packs["US"].records.sources)
    assert packs["CA"].records.dnc_request == 3 and packs["DE"].records.consent == 5
    assert packs["UK"].records.dnc_request == FOREVER and packs["FR"].records.dnc_request is None
    for pid in ("US", "CA", "UK", "FR", "DE", "AU"):
        assert "records" in packs[pid].unverified and packs[pid].records.sources, pid
    assert records_required([packs["CA"], packs["DE"]]).as_dict() == {
        "dnc_request": "forever", "consent": "5y", "calls": None}


def test_a_bad_figure_names_the_file_and_field() -> None:
    base = {"id": "X", "name": "x", "version": "1", "effective": datetime(2020, 1, 1).date()}
    with pytest.raises(PackError, match=r"packs/X.toml: records.consent_years: expected a number of years"):
        parse_pack(base | {"records": {"consent_years": "ten"}}, "packs/X.toml")
    with pytest.raises(PackError, match=r"packs/X.toml: records: unknown key\(s\) dnc_years"):
        parse_pack(base | {"records": {"dnc_years": 3}}, "packs/X.toml")


def test_the_packs_of_a_number() -> None:
    ids = lambda j, p: [x.id for x in number_packs(j, p)]  # noqa: E731
    assert ids("FR", "+12125550143") == ["FR", "US"]  # the campaign's and the number's country's
    assert ids(None, "+13055550143") == ["US", "US-FL"]  # a Florida area code
    assert ids("CA", "+14165550143") == ["CA"] and ids(None, "+442071838750") == ["UK"]
    assert ids(None, "+3612345678") == []  # no pack for Hungary


@given(st.sampled_from(JURISDICTIONS), st.sampled_from(PHONES), times)
def test_a_request_is_honoured_at_least_as_long_as_every_pack_that_applies_says(
        jurisdiction: str | None, phone: str, at: datetime) -> None:
    until = dnc_honour_until(jurisdiction, phone, at)
    stated = [p.records.dnc_request for p in number_packs(jurisdiction, phone)]
    if not any(y is not None for y in stated) or FOREVER in stated:
        assert until is None  # no period stated, or one for ever: for ever
        return
    assert until is not None
    for years in stated:
        if years is not None:
            assert until >= add_years(at, years) >= at + timedelta(days=365 * years)


@given(times, st.floats(min_value=0.01, max_value=30), times)
def test_add_years_is_never_short(at: datetime, years: float, now: datetime) -> None:
    end = add_years(at, years)
    assert end >= at + timedelta(days=365 * years)
    assert (now < end) == (now < add_years(at, years))  # deterministic


maybe_time = st.none() | times


@given(maybe_time, maybe_time, maybe_time)
def test_a_second_request_never_shortens_the_period(requested: datetime | None, until: datetime | None,
                                                   new: datetime | None) -> None:
    merged = honoured_until(requested, until, new)
    far = datetime.max.replace(tzinfo=UTC)
    assert (merged or far) >= (new or far)
    if requested is not None:
        assert (merged or far) >= (until or far)


@given(times, st.none() | st.integers(1, 20), times)
def test_a_request_cannot_be_removed_before_its_period_ends(requested: datetime, years: int | None,
                                                            now: datetime) -> None:
    until = add_years(requested, years) if years else None
    why = removal_refused({"requested_at": requested, "honour_until": until}, now)
    if until is None or now < until:
        assert why is not None and requested.strftime("%Y-%m-%d") in why
    else:
        assert why is None
    assert removal_refused({"requested_at": None, "honour_until": None}, now) is None  # the operator's entry
