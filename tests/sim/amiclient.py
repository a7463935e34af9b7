"""A minimal raw AMI client for the simulator's tests (the real client lives in dialer/ami)."""

from __future__ import annotations

import asyncio
import contextlib

from dialer.ami.codec import Banner, Frame, FrameParser, encode_action


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = FrameParser()
        self.banner: str | None = None
        self.frames: list[Frame] = []  # everything received, in order
        self._pos = 0  # next frame not yet consumed by wait_for

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> RawClient:
        reader, writer = await asyncio.open_connection(host, port)
        client = cls(reader, writer)
        await client._read_until(lambda: client.banner is not None)
        return client

    async def _read_more(self, timeout: float) -> bool:
        data = await asyncio.wait_for(self.reader.read(65536), timeout)
        if not data:
            return False
        for item in self.parser.feed(data):
            if isinstance(item, Banner):
                self.banner = str(item)
            else:
                self.frames.append(item)
        return True

    async def _read_until(self, pred, timeout: float = 5.0) -> None:
        while not pred():
            if not await self._read_more(timeout):
                raise ConnectionError("connection closed")

    def send(self, action: str, **fields: object) -> None:
        self.writer.write(encode_action(action, fields))

    def send_frame(self, frame: Frame) -> None:
        from dialer.ami.codec import encode_frame

        self.writer.write(encode_frame(frame.items_all()))

    async def response(self, action_id: str, timeout: float = 5.0) -> Frame:
        """Wait for the response frame with ``ActionID`` (events before it are kept in ``frames``)."""

        def find() -> Frame | None:
            for f in self.frames:
                if "Response" in f and f.get("ActionID") == action_id:
                    return f
            return None

        await self._read_until(lambda: find() is not None, timeout)
        found = find()
        assert found is not None
        return found

    async def action(
        self, action: str, action_id: str, timeout: float = 5.0, **fields: object
    ) -> Frame:
        self.send(action, ActionID=action_id, **fields)
        return await self.response(action_id, timeout)

    async def until_event(self, pred, timeout: float = 5.0) -> Frame:
        def find() -> Frame | None:
            for f in self.frames:
                if "Event" in f and pred(f):
                    return f
            return None

        await self._read_until(lambda: find() is not None, timeout)
        found = find()
        assert found is not None
        return found

    async def list_items(self, action_id: str, complete: str, timeout: float = 5.0) -> list[Frame]:
        await self.until_event(
            lambda f: f.get("Event") == complete and f.get("ActionID") == action_id, timeout
        )
        return [f for f in self.frames if f.get("ActionID") == action_id]

    async def login(self, username: str = "dialer", secret: str = "dialer") -> Frame:
        return await self.action("Login", "login", Username=username, Secret=secret)

    async def closed(self, timeout: float = 5.0) -> bool:
        try:
            while await self._read_more(timeout):
                pass
        except (ConnectionError, OSError):
            pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()

    def events(self, name: str | None = None) -> list[Frame]:
        return [f for f in self.frames if "Event" in f and (name is None or f["Event"] == name)]
