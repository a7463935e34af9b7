"""A tiny fake AMI server built on the codec, replaying recorded capture frames.

Enough for the client's own tests (login, actions, EventLists, faults); the full PBX
simulator lives in ``dialer.sim``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from dialer.ami.capture import read_capture
from dialer.ami.codec import Frame, FrameParser, encode_frame
from tests.ami.captures import FIXTURES

BANNER = b"Asterisk Call Manager/13.0.0\r\n"
Script = Callable[["_Conn", Frame], None]


def call_script(
    scenario: str = "02-answered-connected-to-agent",
) -> tuple[str, str, str, list[Frame]]:
    """The PBX's events in a capture, and the ids its Originate set."""
    cap = read_capture(FIXTURES / f"{scenario}.ami")
    originate = next(f for f in cap.sent if f.get("Action") == "Originate")
    frames = [f for f in cap.received if f.get("Event")]
    return originate["ChannelId"], originate["OtherChannelId"], originate["ActionID"], frames


def rewrite(frame: Frame, subs: list[tuple[str, str]]) -> bytes:
    pairs = []
    for key, value in frame.items_all():
        for old, new in subs:
            value = value.replace(old, new)
        pairs.append((key, value))
    return encode_frame(pairs)


class _Conn(asyncio.Protocol):
    def __init__(self, server: FakeAmi) -> None:
        self.server = server
        self.parser = FrameParser(expect_banner=False)
        self.transport: asyncio.Transport | None = None
        self.logged_in = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.conns.add(self)
        self.server.connections += 1
        if self.server.send_banner:
            transport.write(BANNER)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.conns.discard(self)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def respond(self, aid: str, response: str = "Success", **extra: str) -> None:
        self.write(encode_frame([("Response", response), ("ActionID", aid), *extra.items()]))

    def data_received(self, data: bytes) -> None:
        for frame in self.parser.feed(data):
            assert isinstance(frame, Frame)
            self.server.actions.append(frame)
            self.server.arrived.set()
            name = frame.get("Action", "").lower()
            if self.server.unanswered.get(name, 0) > 0:
                self.server.unanswered[name] -= 1
            elif name in self.server.replies:
                self.write(self.server.replies[name](frame.get("ActionID", "")))
            elif not self.server.frozen:
                self.handle(frame)

    def handle(self, f: Frame) -> None:
        server, aid, action = self.server, f.get("ActionID", ""), f.get("Action", "").lower()
        if action == "login":
            if f.get("Secret") == server.secret and f.get("Username") == server.username:
                self.logged_in = True
                self.respond(aid, Message="Authentication accepted")
                self.write(encode_frame([("Event", "FullyBooted"), ("Status", "Fully Booted")]))
            else:
                self.respond(aid, "Error", Message="Authentication failed")
            return
        if not self.logged_in:
            self.respond(aid, "Error", Message="Permission denied")
        elif action == "ping":
            self.respond(
                aid, Ping="Pang" if server.wrong_pong else "Pong", Timestamp="1795374232.0"
            )
        elif action == "logoff":
            self.respond(aid, "Goodbye", Message="Thanks for all the fish.")
            assert self.transport is not None
            self.transport.close()
        elif action == "originate":
            if f.get("Async", "").lower() != "true" or f.get("Channel", "").startswith("Bogus"):
                self.respond(aid, "Error", Message="Originate failed")
                return
            self.respond(aid, Message="Originate successfully queued")
            if server.script is not None:
                server.script(self, f)
        elif action == "coreshowchannels":
            self.respond(aid, Message="Channels will follow", EventList="start")
            for uid, linked in server.live:
                self.write(
                    encode_frame(
                        [
                            ("Event", "CoreShowChannel"),
                            ("ActionID", aid),
                            ("Channel", f"Local/x-{uid};1"),
                            ("ChannelState", "6"),
                            ("Uniqueid", uid),
                            ("Linkedid", linked),
                            ("Duration", "00:00:01"),
                        ]
                    )
                )
            complete = [
                ("Event", "CoreShowChannelsComplete"),
                ("ActionID", aid),
                ("EventList", "Complete"),
            ]
            self.write(encode_frame([*complete, ("ListItems", str(len(server.live)))]))
        elif action in ("queueadd", "queueremove", "queuepause", "hangup"):
            self.respond(aid, Message="ok")
        else:
            self.respond(aid, "Error", Message="Invalid/unknown command")


class FakeAmi:
    """``async with FakeAmi() as ami: ami.port``; faults: ``drop_connections()``, ``frozen``,
    ``unanswered`` (leave the next N actions of a kind unanswered), ``replies`` (answer a kind
    with raw bytes, malformed ones included)."""

    def __init__(self, *, username: str = "dialer", secret: str = "s3cr3t-Valu3", port: int = 0) -> None:
        self._listen_port = port
        self.username = username
        self.secret = secret
        self.send_banner = True
        self.frozen = False  # read actions but answer nothing
        self.wrong_pong = False
        self.conns: set[_Conn] = set()
        self.connections = 0
        self.actions: list[Frame] = []
        self.live: list[tuple[str, str]] = []  # (uniqueid, linkedid) listed by CoreShowChannels
        self.script: Script | None = None
        self.unanswered: dict[str, int] = {}  # action name (lower case) -> how many to ignore
        self.replies: dict[str, Callable[[str], bytes]] = {}  # action name -> raw bytes by ActionID
        self.arrived = asyncio.Event()  # set whenever an action arrives
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def __aenter__(self) -> FakeAmi:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Conn(self), "127.0.0.1", self._listen_port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.drop_connections()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def drop_connections(self) -> None:
        for conn in list(self.conns):
            if conn.transport is not None:
                conn.transport.abort()

    def broadcast(self, data: bytes) -> None:
        for conn in list(self.conns):
            conn.write(data)

    def actions_named(self, name: str) -> list[Frame]:
        return [a for a in self.actions if a.get("Action", "").lower() == name.lower()]

    async def received(self, name: str, count: int = 1, timeout: float = 3.0) -> list[Frame]:
        """Wait until ``count`` actions called ``name`` have arrived."""

        async def until() -> list[Frame]:
            while len(found := self.actions_named(name)) < count:
                self.arrived.clear()
                await self.arrived.wait()
            return found

        return await asyncio.wait_for(until(), timeout)


def replay_call(
    scenario: str = "02-answered-connected-to-agent", *, upto: str | None = None
) -> Script:
    """A script answering each Originate with a capture's events, ids rewritten to its own.

    ``upto``: stop before the first event of that name (the call stays in progress).
    """
    chan, other, aid, frames = call_script(scenario)
    if upto is not None:
        frames = frames[: next(i for i, f in enumerate(frames) if f.get("Event") == upto)]

    def script(conn: _Conn, f: Frame) -> None:
        subs = [(other, f["OtherChannelId"]), (chan, f["ChannelId"]), (aid, f["ActionID"])]
        conn.write(b"".join(rewrite(frame, subs) for frame in frames))

    return script
