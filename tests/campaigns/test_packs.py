"""Rule packs: shipped as data, applied to a campaign by its jurisdiction (tightened, never loosened)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from campaigns.definition import (
    CampaignDefinitionError,
    definition_to_data,
    loads_definition,
    parse_definition,
)
from campaigns.packs import all_packs, chain, lead_regions, us_state_of
from campaigns.windows import is_open, next_open

BASE = """
name = "c"
{top}
[dial]
trunk = "PJSIP/{{number}}@carrier"
{rest}
"""


def campaign(top: str = "", rest: str = ""):
    return loads_definition(BASE.format(top=top, rest=rest), "c.toml")


def at(text: str, zone: str = "UTC") -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_every_pack_names_sources_version_and_effective_date() -> None:
    packs = all_packs()
    assert {"US", "US-FL", "US-OK", "US-MD", "US-AL", "US-LA", "US-MS", "UK", "FR", "CA", "DE", "AU"} <= set(packs)
    for pack in packs.values():
        assert pack.sources and all(s.startswith("https://") for s in pack.sources)
        assert pack.version and isinstance(pack.effective, date)
        assert pack.unverified, f"{pack.id}: figures not checked against the text must say so"


def test_a_state_pack_extends_the_federal_one() -> None:
    assert [p.id for p in chain("US-FL")] == ["US", "US-FL"]
    assert [p.id for p in chain("fr")] == ["FR"]


def test_florida_closes_at_20_and_caps_three_calls_a_day() -> None:
    d = campaign('jurisdiction = "US-FL"')
    ny = ["America/New_York"]
    assert is_open(d.window, ny, at("2026-06-03 19:59", "America/New_York"))
    assert not is_open(d.window, ny, at("2026-06-03 20:00", "America/New_York"))
    assert (3, 1) in d.limits.caps
    assert d.dial.abandon_target == 0.03


def test_a_us_campaign_applies_a_leads_state_pack() -> None:
    d = campaign('jurisdiction = "US"')
    ny = ["America/New_York"]
    evening = at("2026-06-03 20:30", "America/New_York")
    assert is_open(d.window, ny, evening, "US-NY")
    assert not is_open(d.window, ny, evening, "US-FL")
    sunday = at("2026-06-07 12:00", "America/Chicago")
    assert is_open(d.window, ["America/Chicago"], sunday, "US-TX")
    assert not is_open(d.window, ["America/Chicago"], sunday, "US-AL")
    # Alabama's state holidays (Christmas, a Friday in 2026) close it in its own calendar
    assert not is_open(d.window, ["America/Chicago"], at("2026-12-25 12:00", "America/Chicago"), "US-AL")
    assert is_open(d.window, ["America/Chicago"], at("2026-12-25 12:00", "America/Chicago"), "US-TX")


def test_france_lunch_break_weekends_and_public_holidays() -> None:
    d = campaign('jurisdiction = "FR"')
    paris = ["Europe/Paris"]
    assert is_open(d.window, paris, at("2026-06-03 10:00", "Europe/Paris"))
    assert not is_open(d.window, paris, at("2026-06-03 13:30", "Europe/Paris"))
    assert not is_open(d.window, paris, at("2026-06-06 11:00", "Europe/Paris"))  # Saturday
    assert not is_open(d.window, paris, at("2026-05-14 11:00", "Europe/Paris"))  # Ascension, Thursday
    assert (4, 30) in d.limits.caps and d.limits.gap_after_refusal == timedelta(days=60)
    assert not d.consent_required(at("2026-08-10 12:00"))
    assert d.consent_required(at("2026-08-11 00:00"))


def test_germany_closes_on_the_lands_own_holidays_and_on_every_lands_when_unknown() -> None:
    d = campaign('jurisdiction = "DE"')
    berlin = ["Europe/Berlin"]
    epiphany = at("2026-01-06 11:00", "Europe/Berlin")  # Bavaria's, not Berlin's
    assert not is_open(d.window, berlin, epiphany, "DE-BY")
    assert is_open(d.window, berlin, epiphany, "DE-BE")
    assert not is_open(d.window, berlin, epiphany, "DE")  # Land unknown: the safe side
    assert not is_open(d.window, berlin, at("2026-06-07 11:00", "Europe/Berlin"), "DE-BE")  # Sunday
    assert d.consent_required(at("2026-01-01 00:00"))


def test_australia_saturday_and_canada_weekend_hours() -> None:
    au = campaign('jurisdiction = "AU"')
    syd = ["Australia/Sydney"]
    assert is_open(au.window, syd, at("2026-06-06 16:59", "Australia/Sydney"))
    assert not is_open(au.window, syd, at("2026-06-06 17:00", "Australia/Sydney"))
    assert not is_open(au.window, syd, at("2026-12-25 12:00", "Australia/Sydney"))
    ca = campaign('jurisdiction = "CA"', '[window]\nhours = "07:00-23:00"')
    tor = ["America/Toronto"]
    assert is_open(ca.window, tor, at("2026-06-03 21:29", "America/Toronto"))
    assert not is_open(ca.window, tor, at("2026-06-06 18:00", "America/Toronto"))


def test_uk_raises_the_gaps_and_keeps_a_stricter_campaign() -> None:
    d = campaign('jurisdiction = "UK"', '[limits]\ngap_after_abandoned = "96h"\ngap_after_machine = "1h"')
    assert d.limits.gap_after_abandoned == timedelta(hours=96)  # the campaign's, stricter
    assert d.limits.gap_after_machine == timedelta(hours=24)  # the pack's


def test_a_campaign_tightens_but_never_loosens_its_pack() -> None:
    d = campaign('jurisdiction = "US-FL"', '[window]\nhours = "07:00-22:00"\nsat = "10:00-12:00"')
    ny = ["America/New_York"]
    assert not is_open(d.window, ny, at("2026-06-03 07:30", "America/New_York"))  # the pack's 08:00
    assert not is_open(d.window, ny, at("2026-06-06 13:00", "America/New_York"))  # the campaign's Saturday


def test_an_override_loosens_only_when_explicit_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    rest = '[window]\nhours = "08:00-21:00"\n[[compliance.override]]\nrule = "window"\nreason = "counsel: B2B only"'
    with caplog.at_level(logging.WARNING, logger="dialer.compliance"):
        d = campaign('jurisdiction = "US-FL"', rest)
    assert is_open(d.window, ["America/New_York"], at("2026-06-03 20:30", "America/New_York"))
    assert any(getattr(r, "rule", None) == "window" and "counsel" in r.reason for r in caplog.records)
    assert (3, 1) in d.limits.caps  # what is not overridden still applies


def test_bad_jurisdiction_and_override_are_named() -> None:
    with pytest.raises(CampaignDefinitionError, match=r"c.toml: jurisdiction: unknown jurisdiction 'XX'"):
        campaign('jurisdiction = "XX"')
    with pytest.raises(CampaignDefinitionError, match=r"compliance.override\[0\].rule: must be one of"):
        campaign('jurisdiction = "FR"', '[[compliance.override]]\nrule = "hours"\nreason = "x"')
    with pytest.raises(CampaignDefinitionError, match=r"compliance.override\[0\].reason: required"):
        campaign('jurisdiction = "FR"', '[[compliance.override]]\nrule = "window"')


@pytest.mark.parametrize("jurisdiction", sorted(all_packs()))
def test_the_applied_definition_round_trips(jurisdiction: str) -> None:
    d = campaign(f'jurisdiction = "{jurisdiction}"', '[compliance]\nseller = "acme"\namd_accuracy = 0.9')
    assert parse_definition(definition_to_data(d)) == d


def test_next_open_skips_a_holiday_of_the_pack() -> None:
    d = campaign('jurisdiction = "FR"')
    christmas_eve = at("2026-12-24 19:59", "Europe/Paris")
    # the 25th is a holiday, the 26th/27th a weekend: Monday the 28th at 10:00
    assert next_open(d.window, ["Europe/Paris"], christmas_eve + timedelta(minutes=2)) == at(
        "2026-12-28 10:00", "Europe/Paris")


def test_a_leads_regions_are_its_state_and_its_area_codes() -> None:
    assert us_state_of("+13055550100") == "FL"
    assert us_state_of("+14165550100") is None  # Toronto
    assert lead_regions("US", "NY", "+13055550100") == ("US-NY", "US-FL")
    assert lead_regions("US", "FL", "+13055550100") == ("US-FL",)
    assert lead_regions(None, None, None) == (None,)
