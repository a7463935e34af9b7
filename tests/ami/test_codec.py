"""The AMI codec against every frame of every recorded capture, in any chunking."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.ami.capture import raw_received_bytes, read_capture
from dialer.ami.codec import Banner, Frame, FrameParser, ProtocolError, encode_action, encode_frame
from tests.ami.captures import ALL_CAPTURES, capture_id

BANNER = "Asterisk Call Manager/13.0.0"


def parse_all(chunks: list[bytes], **kw: object) -> list[Frame | Banner]:
    parser = FrameParser(**kw)  # type: ignore[arg-type]
    out: list[Frame | Banner] = []
    for chunk in chunks:
        out += parser.feed(chunk)
    return out


def expected(path: Path) -> tuple[bytes, int, list[list[tuple[str, str]]]]:
    data, count = raw_received_bytes(path)
    return data, count, [f.items_all() for f in read_capture(path).received]


def check(out: list[Frame | Banner], count: int, frames: list[list[tuple[str, str]]]) -> None:
    assert isinstance(out[0], Banner) and out[0] == BANNER
    got = out[1:]
    assert len(got) == count == len(frames)
    assert all(isinstance(f, Frame) for f in got)
    assert [f.items_all() for f in got] == frames  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ALL_CAPTURES, ids=capture_id)
def test_every_frame_whole(path: Path) -> None:
    data, count, frames = expected(path)
    check(parse_all([data]), count, frames)


@pytest.mark.parametrize("path", ALL_CAPTURES, ids=capture_id)
def test_every_frame_byte_by_byte(path: Path) -> None:
    data, count, frames = expected(path)
    check(parse_all([data[i : i + 1] for i in range(len(data))]), count, frames)


@pytest.mark.parametrize("path", ALL_CAPTURES, ids=capture_id)
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1), mean=st.sampled_from([2, 7, 64, 1500, 9000])
)
def test_every_frame_random_chunks(path: Path, seed: int, mean: int) -> None:
    data, count, frames = expected(path)
    rng = random.Random(seed)
    chunks, pos = [], 0
    while pos < len(data):
        n = rng.randint(1, 2 * mean)
        chunks.append(data[pos : pos + n])
        pos += n
    check(parse_all(chunks), count, frames)


@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_hypothesis_chooses_cut_points(data: st.DataObject) -> None:
    path = ALL_CAPTURES[data.draw(st.integers(0, len(ALL_CAPTURES) - 1))]
    raw, count, frames = expected(path)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(raw) - 1), max_size=200)))
    bounds = [0, *cuts, len(raw)]
    check(parse_all([raw[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]), count, frames)


def test_values_with_colons_and_spaces() -> None:
    [_, frame] = FrameParser().feed(
        b"Asterisk Call Manager/13.0.0\r\n"
        b'Event: CoreShowChannel\r\nDuration: 00:00:01\r\nCallerID: "Dialer" <5005550100>\r\n'
        b"DialString: sip:100@10.0.0.1:5060\r\nAccountCode: \r\nApplicationData: (Outgoing Line)\r\n\r\n"
    )
    assert isinstance(frame, Frame)
    assert frame["Duration"] == "00:00:01"
    assert frame["CallerID"] == '"Dialer" <5005550100>'
    assert frame["DialString"] == "sip:100@10.0.0.1:5060"
    assert frame["AccountCode"] == ""
    assert frame["ApplicationData"] == "(Outgoing Line)"


def test_repeated_keys_kept_in_order() -> None:
    [frame] = FrameParser(expect_banner=False).feed(
        b"Action: Originate\r\nVariable: LEAD_ID=1\r\nVariable: CAMPAIGN=c1\r\nVariable: X=a=b\r\n\r\n"
    )
    assert frame["Variable"] == "LEAD_ID=1"  # type: ignore[index]
    assert frame.getlist("Variable") == ["LEAD_ID=1", "CAMPAIGN=c1", "X=a=b"]  # type: ignore[union-attr]


def test_command_output_lines() -> None:
    """Asterisk 13+: ``Command`` answers with ``Output:`` lines."""
    [_, frame] = FrameParser().feed(
        b"Asterisk Call Manager/13.0.0\r\nResponse: Success\r\nActionID: c1\r\n"
        b"Message: Command output follows\r\nOutput: Name/username  Host: x\r\nOutput: \r\n"
        b"Output: 2 sip peers\r\n\r\n"
    )
    assert frame.getlist("Output") == ["Name/username  Host: x", "", "2 sip peers"]  # type: ignore[union-attr]


def test_old_style_follows_with_blank_lines_in_body() -> None:
    """Old Asterisk: ``Response: Follows``, a raw body (blank lines too), ``--END COMMAND--``."""
    raw = (
        b"Asterisk Call Manager/1.1\r\nResponse: Follows\r\nPrivilege: Command\r\nActionID: c2\r\n"
        b"Channel              Location\r\n\r\nSIP/100-0001  s@default:1\r\n1 active channel\r\n"
        b"--END COMMAND--\r\n\r\nEvent: Ping\r\n\r\n"
    )
    for chunks in ([raw], [raw[i : i + 1] for i in range(len(raw))]):
        out = parse_all(chunks)
        frame, after = out[1], out[2]
        assert frame["Response"] == "Follows" and frame["ActionID"] == "c2"
        assert frame.getlist("Output") == [  # type: ignore[union-attr]
            "Channel              Location",
            "SIP/100-0001  s@default:1",
            "1 active channel",
        ]
        assert after["Event"] == "Ping"


@pytest.mark.parametrize(
    ("scenario", "action_id", "items", "complete"),
    [
        ("01-agent-login-pause", "qs1", ["QueueParams", "QueueMember"], "QueueStatusComplete"),
        ("08-show-channels-ping", "csc", ["CoreShowChannel"] * 4, "CoreShowChannelsComplete"),
    ],
)
def test_event_list_shapes(scenario: str, action_id: str, items: list[str], complete: str) -> None:
    for path in [p for p in ALL_CAPTURES if p.stem == scenario]:
        data, _ = raw_received_bytes(path)
        frames = [f for f in parse_all([data])[1:] if f.get("ActionID") == action_id]  # type: ignore[union-attr]
        assert frames[0]["Response"] == "Success" and frames[0]["EventList"] == "start"
        assert [f["Event"] for f in frames[1:-1]] == items
        assert frames[-1]["Event"] == complete and frames[-1]["EventList"] == "Complete"
        assert int(frames[-1]["ListItems"]) == len(items)


def test_encode_action_round_trip() -> None:
    fields = {
        "ActionID": "o-1",
        "Channel": "PJSIP/+3612345678@carrier",
        "CallerID": '"Dialer" <5005550100>',
        "Timeout": 20000,
        "Async": True,
        "Variable": ["LEAD_ID=1", "CAMPAIGN=c1"],
        "Skipped": None,
    }
    raw = encode_action("Originate", fields)
    assert raw.endswith(b"\r\n\r\n") and raw.startswith(b"Action: Originate\r\n")
    [frame] = FrameParser(expect_banner=False).feed(raw)
    assert frame.items_all() == [  # type: ignore[union-attr]
        ("Action", "Originate"),
        ("ActionID", "o-1"),
        ("Channel", "PJSIP/+3612345678@carrier"),
        ("CallerID", '"Dialer" <5005550100>'),
        ("Timeout", "20000"),
        ("Async", "true"),
        ("Variable", "LEAD_ID=1"),
        ("Variable", "CAMPAIGN=c1"),
    ]
    assert (
        encode_action({"Action": "Ping", "ActionID": "p"}) == b"Action: Ping\r\nActionID: p\r\n\r\n"
    )


@pytest.mark.parametrize(
    "bad", ["x\r\nAction: Hangup", "x\nAction: Hangup", "x\r", "a\r\n\r\nAction: Logoff"]
)
def test_line_break_injection_refused(bad: str) -> None:
    with pytest.raises(ProtocolError):
        encode_action("Originate", {"Channel": bad})
    with pytest.raises(ProtocolError):
        encode_action("Originate", {"Variable": ["LEAD_ID=1", f"NAME={bad}"]})
    with pytest.raises(ProtocolError):
        encode_frame([(bad, "v")])


@pytest.mark.parametrize("path", ALL_CAPTURES[:3], ids=capture_id)
def test_lf_only_peer(path: Path) -> None:
    data, count, frames = expected(path)
    lf = data.replace(b"\r\n", b"\n")
    check(parse_all([lf]), count, frames)
    check(parse_all([lf[i : i + 3] for i in range(0, len(lf), 3)]), count, frames)


def test_capture_wire_bytes_match_raw() -> None:
    for path in ALL_CAPTURES:
        assert read_capture(path).wire_bytes() == raw_received_bytes(path)[0]


def test_stray_blank_lines_between_frames() -> None:
    out = parse_all([b"Asterisk Call Manager/13.0.0\r\n\r\nEvent: A\r\n\r\n\r\nEvent: B\r\n\r\n"])
    assert [f["Event"] for f in out[1:]] == ["A", "B"]  # type: ignore[index]


def _feed_all(parser: FrameParser, raw: bytes, bytewise: bool) -> list[Frame | Banner]:
    out: list[Frame | Banner] = []
    for chunk in [raw[i : i + 1] for i in range(len(raw))] if bytewise else [raw]:
        out += parser.feed(chunk)
    return out


@pytest.mark.parametrize("bytewise", [False, True])
def test_unterminated_follows_ends_at_the_next_frame(bytewise: bool) -> None:
    errors: list[str] = []
    raw = (
        b"Asterisk Call Manager/1.1\r\nResponse: Follows\r\nActionID: c1\r\nsome output\r\n\r\n"
        b"Event: Hangup\r\nUniqueid: u1\r\n\r\n"
        b"Response: Follows\r\nActionID: c2\r\nmore\r\n\r\nstill more\r\n--END COMMAND--\r\n\r\n"
        b"Response: Success\r\nActionID: p\r\nPing: Pong\r\n\r\n"
    )
    out = _feed_all(FrameParser(on_error=errors.append), raw, bytewise)
    first, hangup, second, pong = out[1:]
    assert first["ActionID"] == "c1" and first.getlist("Output") == ["some output"]  # type: ignore[union-attr]
    assert hangup["Uniqueid"] == "u1" and pong["Ping"] == "Pong"
    assert second.getlist("Output") == ["more", "still more"]  # type: ignore[union-attr]
    assert errors == ["Response: Follows without --END COMMAND--: ended at the next frame"]


@pytest.mark.parametrize("bytewise", [False, True])
def test_oversized_frame_is_skipped_and_the_stream_resyncs(bytewise: bool) -> None:
    errors: list[str] = []
    parser = FrameParser(expect_banner=False, max_frame=64, on_error=errors.append)
    raw = (
        b"Event: A\r\n\r\n"
        + b"Event: Huge\r\n" + b"X: " + b"y" * 200 + b"\r\n\r\n"
        + b"Event: B\r\n\r\n"
    )  # fmt: skip
    out = _feed_all(parser, raw, bytewise)
    assert [f["Event"] for f in out] == ["A", "B"]  # type: ignore[index]
    assert errors == ["frame longer than 64 bytes: skipped"] and parser.errors == 1


def test_unbounded_garbage_keeps_the_buffer_bounded() -> None:
    parser = FrameParser(expect_banner=False, max_frame=1000)
    for _ in range(100):
        parser.feed(b"z" * 999)
    assert len(parser._buf) < 1000 and parser.errors == 1
    assert [f["Event"] for f in parser.feed(b"\r\n\r\nEvent: Back\r\n\r\n")] == ["Back"]  # type: ignore[index]
