"""What the PBX side asks of the session (issue 16): the trunk template's number form in the
Originate, and a PBX shutting down (refused Originates, calls cut) that is not the lead's fault."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.definition import parse_definition
from dialer.session import CampaignRuntime, EndCall, Originate, Session
from dialer.vocabulary import Outcome
from tests.e2e.conftest import E2E_CAMPAIGN
from tests.session.helpers import T0, channel, feed, lead, login, of, place, refused, session


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


# ------------------------------------------------------------------ a PBX shutting down

SHUTTING = "AMI Originate failed: Asterisk is shutting down"


def test_originate_refused_by_a_shutdown_is_pbx_down_and_stops_the_dialling() -> None:
    s = session("progressive", "alice", "bob")
    place(s, lead(1), lead(2))
    feed(s, {"Event": "Newstate", "ChannelState": "5", **channel("dlr-2")}, T0 + 1)
    [end] = of(s.originate_refused("dlr-1", T0 + 2, SHUTTING), EndCall)
    assert end.values["outcome"] is Outcome.PBX_DOWN
    assert end.rules is not None and end.rules.result.outcome == "PBX_DOWN"
    assert s.pbx_stopping and s.plan_claim(1, T0 + 3) is None
    assert "shutting down" in s.status(T0 + 3)["link"]
    # The other call, ringing since before, is hung up 4 s later by the stop: the PBX's doing too.
    cmds = refused(s, "dlr-2", 3, T0 + 6)
    cmds += feed(s, {"Event": "Hangup", "Cause": "19", **channel("dlr-2")}, T0 + 6)
    [end2] = of(cmds, EndCall)
    assert end2.values["outcome"] is Outcome.PBX_DOWN
    # Shutdown, the link closes; back after a re-login and a reconciliation: dialling resumes.
    feed(s, {"Event": "Shutdown", "Shutdown": "Cleanly", "Restart": "False"}, T0 + 8)
    s.link_lost(T0 + 8)
    s.link_restored()
    assert not s.pbx_stopping and s.plan_claim(1, T0 + 20) is None  # not reconciled yet
    s.reconciled([], T0 + 20)
    plan = s.plan_claim(1, T0 + 21)
    assert plan is not None and plan.n == 2


def test_a_call_that_rang_its_full_time_during_a_shutdown_is_no_answer() -> None:
    s = session("progressive", "alice")
    place(s, lead(1))
    s.originate_accepted("dlr-1", T0)
    s.pbx_shutting_down(T0 + 3)
    cmds = refused(s, "dlr-1", 3, T0 + 15)  # ring_timeout 15 s (the e2e campaign)
    cmds += feed(s, {"Event": "Hangup", "Cause": "19", **channel("dlr-1")}, T0 + 15)
    [end] = of(cmds, EndCall)
    assert end.values["outcome"] is Outcome.NO_ANSWER


def test_shutdown_event_alone_stops_the_dialling_and_an_aborted_shutdown_resumes_it() -> None:
    s = session("progressive", "alice")
    assert s.plan_claim(1, T0) is not None
    feed(s, {"Event": "Shutdown", "Shutdown": "Cleanly", "Restart": "True"}, T0)
    assert s.pbx_stopping and s.plan_claim(1, T0 + 1) is None
    s.pbx_resumed()  # the PBX answers again on the same link (core abort shutdown)
    assert s.plan_claim(1, T0 + 2) is not None


# ------------------------------------------------------------------ the rule path


@settings(max_examples=60, deadline=None)
@given(attempt=st.integers(1, 20), minutes=st.integers(0, 7 * 24 * 60),
       zone=st.sampled_from(["America/New_York", "Europe/London", "Australia/Sydney"]))
def test_pbx_down_is_always_a_retry_not_before_now_and_inside_the_window(attempt: int, minutes: int,
                                                                        zone: str) -> None:
    """Whatever the attempt number (the attempt is given back: never "maximum attempts"), the
    lead is due again no sooner than now, at a moment its calling window is open."""
    from datetime import UTC, datetime, timedelta

    from campaigns.rules import CallResult, LeadHistory, Retry
    from campaigns.windows import is_open
    from dialer.session.pbxdown import RULE, after_pbx_down

    definition = session_with_trunk("PJSIP/{e164}@c").campaigns[1].definition
    definition = dataclasses.replace(definition, window=parse_definition(
        {"name": "w", "dial": {"trunk": "X/{e164}"}, "window": {"hours": "09:00-20:00"}}, "w").window)
    now = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(minutes=minutes)
    action = after_pbx_down(definition, LeadHistory(), CallResult("PBX_DOWN", attempt=attempt, placed_at=now),
                            now=now, zones=[zone])
    assert isinstance(action, Retry) and action.rule == RULE
    assert action.at >= now
    assert is_open(definition.window, [zone], action.at)
