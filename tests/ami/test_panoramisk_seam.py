"""What the AMI client relies on in panoramisk (pinned ``>=1.4,<1.5``): an upgrade that renames
or removes any of it fails here, loudly, rather than on a live PBX."""

from __future__ import annotations

import asyncio
import inspect
from importlib.metadata import version
from types import SimpleNamespace
from typing import Any

from panoramisk import Manager
from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from dialer.ami.codec import Frame
from dialer.ami.protocol import FrameMessage, FrameProtocol, OneShotManager, frame_problem


def test_the_pinned_version() -> None:
    assert version("panoramisk").split(".")[:2] == ["1", "4"]


def test_manager_options_hooks_and_methods() -> None:
    for option in ("host", "port", "ssl", "ping_delay", "protocol_factory", "loop"):
        assert option in Manager.defaults
    src = inspect.getsource(Manager.__init__)
    for hook in ("on_login", "on_connect", "on_disconnect", "'log'"):
        assert hook in src
    for name in ("connect", "close", "send_action", "register_event", "dispatch"):
        assert callable(getattr(Manager, name))
    # the two methods OneShotManager overrides, with the signatures it assumes
    assert list(inspect.signature(Manager.connection_made).parameters) == ["self", "f"]
    assert list(inspect.signature(Manager.connection_lost).parameters) == ["self", "exc"]
    # ... and what they do there: schedule panoramisk's own fixed-delay reconnect
    assert "call_later(self.reconnect_timeout, self.connect)" in inspect.getsource(
        Manager.connection_lost
    )
    # no Login is sent by panoramisk when there is no username (the client logs in itself)
    assert "if 'username' in self.config" in inspect.getsource(Manager.connection_made)


def test_protocol_and_message_attributes() -> None:
    for name in ("handle_message", "send", "connection_made", "connection_lost", "close"):
        assert callable(getattr(AMIProtocol, name))
    assert list(inspect.signature(AMIProtocol.handle_message).parameters) == ["self", "message"]
    src = inspect.getsource(AMIProtocol.connection_made)
    for attr in ("self.transport", "self.closed", "self.responses", "self.version"):
        assert attr in src
    message = Message({"Response": "Success", "ActionID": "a1"})
    assert message.success and message.id == "a1"
    assert not Message({"Response": "Error"}).success


async def test_single_response_actions_resolve_on_the_first_response() -> None:
    """The async-Originate trap: with ``as_list=False`` the future resolves on the immediate
    response, so ``OriginateResponse`` is left to be dispatched as an event."""
    action = Action({"Action": "Originate", "Async": "true"}, as_list=False)
    done = action.add_message(
        Message({"Response": "Success", "Message": "Originate successfully queued"})
    )
    assert done and action.future.result()["Message"] == "Originate successfully queued"
    # without as_list panoramisk would wait for the OriginateResponse
    trap = Action({"Action": "Originate", "Async": "true"})
    assert not trap.add_message(
        Message({"Response": "Success", "Message": "Originate successfully queued"})
    )
    assert not trap.future.done()


async def test_event_lists_collect_items_until_complete() -> None:
    action = Action({"Action": "CoreShowChannels"}, as_list=None)
    action.add_message(Message({"Response": "Success", "EventList": "start"}))
    action.add_message(Message({"Event": "CoreShowChannel"}))
    assert not action.future.done()
    action.add_message(Message({"Event": "CoreShowChannelsComplete", "EventList": "Complete"}))
    assert [m.get("Event") or m["Response"] for m in action.future.result()] == [
        "Success", "CoreShowChannel", "CoreShowChannelsComplete"
    ]  # fmt: skip
    error = Action({"Action": "QueueStatus"}, as_list=None)
    error.add_message(Message({"Response": "Error", "Message": "nope"}))
    assert error.future.result()["Response"] == "Error"


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.aborted = False

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def abort(self) -> None:
        self.aborted = True

    def close(self) -> None:
        self.aborted = True


def _protocol() -> tuple[FrameProtocol, list[Message]]:
    seen: list[Message] = []
    proto = FrameProtocol()
    proto.connection_made(_Transport())
    proto.factory = SimpleNamespace(dispatch=seen.append, connection_lost=lambda exc: None)
    return proto, seen


async def test_protocol_drops_what_would_raise_inside_panoramisk() -> None:
    proto, seen = _protocol()
    ok = b"Event: Hangup\r\nUniqueid: u1\r\n\r\n"
    bad = b"Event: Hangup\r\nEvent: Newchannel\r\nUniqueid: u2\r\n\r\n"
    # what panoramisk's own parser does with that frame: it raises, and asyncio drops the link
    plain = AMIProtocol()
    plain.connection_made(_Transport())
    plain.factory = SimpleNamespace(dispatch=lambda m: None)
    try:
        plain.data_received(b"Asterisk Call Manager/13.0.0\r\n" + bad)
        raised = False
    except Exception:
        raised = True
    assert raised
    proto.data_received(b"Asterisk Call Manager/13.0.0\r\n" + ok + bad + ok.replace(b"u1", b"u3"))
    assert [m["Uniqueid"] for m in seen] == ["u1", "u3"] and proto.dropped == 1
    assert proto.version == "13.0.0"
    assert all(isinstance(m, FrameMessage) and isinstance(m.frame, Frame) for m in seen)


async def test_protocol_forgets_actions_given_up_on() -> None:
    proto, seen = _protocol()
    proto.data_received(b"Asterisk Call Manager/13.0.0\r\n")
    proto.forget("csc1")
    proto.forget("o-att-1")
    proto.data_received(
        b"Event: CoreShowChannel\r\nActionID: csc1\r\nUniqueid: c1\r\n\r\n"
        b"Event: CoreShowChannelsComplete\r\nActionID: csc1\r\n\r\n"
        b"Event: OriginateResponse\r\nActionID: o-att-1\r\nUniqueid: att-1\r\nReason: 4\r\n\r\n"
    )
    assert [m["Event"] for m in seen] == ["OriginateResponse"]  # an Originate's outcome stays


def test_frame_problem() -> None:
    assert frame_problem(Frame([("Event", "VarSet"), ("Variable", "a"), ("Variable", "b")])) is None
    assert frame_problem(Frame([("Response", "Success"), ("ActionID", "1"), ("ActionID", "2")]))
    assert frame_problem(Frame([("Output", "x")])) == "neither Event nor Response"


def test_one_shot_manager_overrides_only_the_reconnect() -> None:
    overridden = {
        name
        for name, value in vars(OneShotManager).items()
        if callable(value) and name in vars(Manager)
    }
    assert overridden == {"connection_made", "connection_lost"}
    assert {n for n, v in vars(FrameProtocol).items() if callable(v) and n in vars(AMIProtocol)} == {
        "connection_made",
        "data_received",
    }
