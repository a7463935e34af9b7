"""Time zones: explicit column, number zones narrowed by state / ZIP."""

from __future__ import annotations

from lists.timezones import lead_zones, location_zones, narrow, parse_zones


def test_explicit_zone_wins_and_is_validated() -> None:
    assert lead_zones("Europe/Paris", ("America/New_York",), "US", "NY", "") == "Europe/Paris"
    assert lead_zones("est", (), "US", "", "") == "America/New_York"
    assert lead_zones("Mars/Olympus", ("America/Chicago",), "US", "", "") == "America/Chicago"
    assert parse_zones("America/New_York, america/chicago") == ("America/New_York", "America/Chicago")


def test_state_and_zip_narrow() -> None:
    # Arizona keeps Denver too (the Navajo Nation observes DST); Utah is Denver only
    assert narrow(("America/Denver", "America/Phoenix"), "US", "AZ", "") == ("America/Denver", "America/Phoenix")
    assert narrow(("America/Denver", "America/Phoenix"), "US", "UT", "") == ("America/Denver",)
    assert narrow(("America/Phoenix",), "US", "", "85001") == ("America/Phoenix",)
    assert narrow(("America/Chicago", "America/New_York"), "US", "", "32501") == ("America/Chicago",)  # Pensacola
    assert location_zones("US", "Hawaii", "") == ("Pacific/Honolulu",)
    assert location_zones("US", "", "2125") == ("America/New_York",)  # MA ZIP that lost its leading zero
    assert location_zones("CA", "AB", "") == ("America/Edmonton",)


def test_disagreement_keeps_both() -> None:
    # a New York mobile number held by someone in California: either zone may apply
    assert narrow(("America/New_York",), "US", "CA", "") == ("America/New_York", "America/Los_Angeles")
    assert narrow(("Europe/Budapest",), "HU", "NY", "") == ("Europe/Budapest",)
