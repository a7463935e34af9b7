"""What the PBX side asks of the session (issue 16): the trunk template's number form in the
Originate, and a PBX shutting down (refused Originates, calls cut) that is not the lead's fault."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from campaigns.definition import parse_definition
from dialer.session import CampaignRuntime, Originate, Session
from tests.e2e.conftest import E2E_CAMPAIGN
from tests.session.helpers import lead, login, of, place


def session_with_trunk(trunk: str) -> Session:
    data = tomllib.loads(E2E_CAMPAIGN.replace("MODE", "progressive"))
    data["dial"]["trunk"] = trunk
    s = Session(node="t")
    s.add_campaign(CampaignRuntime.create(1, "e2e", parse_definition(data, "test")), [])
    login(s, "alice")
    return s


@pytest.mark.parametrize(("trunk", "channel"), [
    ("PJSIP/{number}@carrier", "PJSIP/+12125550007@carrier"),
    ("PJSIP/{e164}@carrier", "PJSIP/+12125550007@carrier"),
    ("PJSIP/{digits}@carrier", "PJSIP/12125550007@carrier"),
    ("Local/{national}@outbound/n", "Local/2125550007@outbound/n"),
])
def test_originate_carries_the_templates_number_form(trunk: str, channel: str) -> None:
    s = session_with_trunk(trunk)
    [orig] = of(place(s, lead(7)), Originate)
    assert orig.channel == channel
    uk = dataclasses.replace(lead(8), phone="+442071234567")
    [orig] = of(place(s, uk), Originate)
    assert orig.channel == channel.replace("12125550007", "442071234567").replace("2125550007", "02071234567")
