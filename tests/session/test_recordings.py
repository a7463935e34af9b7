"""Recordings in the session: a recording campaign passes DIALER_RECORDING (built from the call
id) on the Originate and stores the path at the end of a connected call only."""

from __future__ import annotations

import dataclasses

from campaigns.integrations import RecordingSettings
from dialer.session import EndCall, Originate
from tests.session.helpers import T0, connect, hangup, lead, of, place, queued, refused, session


def _recording(s, directory: str = "/rec") -> None:
    camp = s.campaigns[1]
    camp.definition = dataclasses.replace(camp.definition, recording=RecordingSettings(True, 30, directory))


def test_recording_campaign_records_connected_calls_only() -> None:
    s = session("progressive", "alice")
    _recording(s)
    cmds = place(s, lead(1), lead(2), lead(3))
    assert [o.variables["DIALER_RECORDING"] for o in of(cmds, Originate)] == ["/rec/call-1", "/rec/call-2",
                                                                              "/rec/call-3"]
    cmds = connect(s, "dlr-1", "alice", T0 + 6) + hangup(s, "dlr-1", T0 + 60)
    cmds += queued(s, "dlr-2", T0 + 5) + hangup(s, "dlr-2", T0 + 9)  # abandoned
    cmds += refused(s, "dlr-3", 5, T0 + 3)  # busy
    ends = {e.call_id: e.values for e in of(cmds, EndCall)}
    assert ends[1]["recording_path"] == "/rec/call-1.wav"
    assert "recording_path" not in ends[2] and "recording_path" not in ends[3]


def test_no_recording_no_variable() -> None:
    s = session("progressive", "alice")
    cmds = place(s, lead(1))
    assert "DIALER_RECORDING" not in of(cmds, Originate)[0].variables
    cmds = connect(s, "dlr-1", "alice", T0 + 6) + hangup(s, "dlr-1", T0 + 60)
    assert "recording_path" not in of(cmds, EndCall)[0].values
