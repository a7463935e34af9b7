"""The opt-out keypress of the safe-harbour message: the dialplan's ``UserEvent(DialerOptOut)``
(shaped like the recorded ``DialerDrop`` of ami-captures/06) reaches the session, which asks for
the number's DNC entry and revocation once; the call's outcome stays ABANDONED."""

from __future__ import annotations

from dialer.ami.events import DialerOptOut, parse_event
from dialer.session import EndCall, RecordOptOut, dt
from dialer.vocabulary import Outcome
from tests.session.helpers import T0, channel, feed, hangup, lead, of, place, queued, session


def user_event(attempt: str, name: str, **headers: str) -> dict[str, str]:
    return {"Event": "UserEvent", "Privilege": "user,all", "ChannelState": "6", "ChannelStateDesc": "Up",
            "CallerIDNum": "5005550100", "CallerIDName": "Dialer", "Context": "dialer-connect", "Exten": "s",
            "Priority": "4", **channel(attempt), "UserEvent": name, **headers}


def test_the_frame_parses_to_the_opt_out_event() -> None:
    event = parse_event(user_event("dlr-1", "DialerOptOut", LeadID="1", Digit="9"))
    assert isinstance(event, DialerOptOut) and event.header("Digit") == "9"


def test_an_opt_out_keypress_records_one_revocation_and_the_call_stays_abandoned() -> None:
    s = session("progressive")  # no agent: the caller hears the safe-harbour message
    place(s, lead(1))
    queued(s, "dlr-1", T0 + 5)
    feed(s, user_event("dlr-1", "DialerDrop", LeadID="1", QueueStatus="TIMEOUT"), T0 + 7)
    cmds = feed(s, user_event("dlr-1", "DialerOptOut", LeadID="1", Digit="9"), T0 + 12)
    assert of(cmds, RecordOptOut) == [RecordOptOut(1, "+12125550001", "e2e", dt(T0 + 12))]
    again = feed(s, user_event("dlr-1", "DialerOptOut", LeadID="1", Digit="9"), T0 + 13)
    assert of(again, RecordOptOut) == []  # pressed twice: recorded once
    [end] = of(hangup(s, "dlr-1", T0 + 14), EndCall)
    assert end.values["outcome"] is Outcome.ABANDONED


def test_no_opt_out_without_the_keypress() -> None:
    s = session("progressive")
    place(s, lead(1))
    queued(s, "dlr-1", T0 + 5)
    cmds = feed(s, user_event("dlr-1", "DialerDrop", LeadID="1", QueueStatus="TIMEOUT"), T0 + 7)
    cmds += hangup(s, "dlr-1", T0 + 20)
    assert of(cmds, RecordOptOut) == []
