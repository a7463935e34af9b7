"""A CRM's webhook endpoint on loopback, for the tests: scripted failures (HTTP 500, a reply
slower than the sender's timeout), then success; it checks every signature and records what
it accepted, deduping on the event id as a receiver should."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dialer.webhooks.signing import EVENT_ID, verify

#: What the receiver does with the next requests, in order: "fail" (500), "hang" (answer too late:
#: the sender times out), "ok"; when the script is used up, "ok".
Step = str


@dataclass
class Receiver:
    secret: bytes
    script: list[Step] = field(default_factory=list)
    hang_seconds: float = 5.0
    requests: int = 0
    bad_signatures: int = 0
    accepted: list[dict] = field(default_factory=list)  # every 2xx body, duplicates included
    first_seen: list[dict] = field(default_factory=list)  # each event id once, in arrival order
    server: asyncio.AbstractServer | None = None
    on_request: Callable[[dict], None] | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/hook"

    async def start(self) -> Receiver:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def ids(self) -> list[str]:
        return [e["event_id"] for e in self.first_seen]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                length = int({k.lower(): v for k, v in headers.items()}.get("content-length", "0"))
                body = await reader.readexactly(length)
                status = await self._handle(headers, body)
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _handle(self, headers: dict[str, str], body: bytes) -> int:
        self.requests += 1
        step = self.script.pop(0) if self.script else "ok"
        if step == "fail":
            return 500
        if step == "hang":
            await asyncio.sleep(self.hang_seconds)
            return 500
        if not verify(self.secret, headers, body, time.time(), tolerance=10**10):
            self.bad_signatures += 1
            return 401
        event = json.loads(body)
        assert event["event_id"] == {k.lower(): v for k, v in headers.items()}[EVENT_ID.lower()]
        self.accepted.append(event)
        if event["event_id"] not in {e["event_id"] for e in self.first_seen}:
            self.first_seen.append(event)
        if self.on_request is not None:
            self.on_request(event)
        return 200
