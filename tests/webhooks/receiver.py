"""A CRM's webhook endpoint on loopback, for the tests: scripted failures (HTTP 500, a reply
slower than the sender's timeout), then success; it checks every signature and records what
it accepted, deduping on the event id as a receiver should."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
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
    #: Every request as it came and went, in order: ("sent", event_id, lead_id) when it arrives,
    #: then ("ok" | "fail" | "hang" | "bad", event_id, lead_id) when it is answered ("hang": when
    #: the receiver starts to keep it waiting).
    log: list[tuple[str, str, int | None]] = field(default_factory=list)
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

    def acked(self) -> dict[str, int]:
        """How many times each event id was acknowledged (answered 2xx)."""
        out: dict[str, int] = {}
        for kind, event_id, _ in self.log:
            if kind == "ok":
                out[event_id] = out.get(event_id, 0) + 1
        return out

    async def _handle(self, headers: dict[str, str], body: bytes) -> int:
        self.requests += 1
        event_id = {k.lower(): v for k, v in headers.items()}.get(EVENT_ID.lower(), "")
        try:
            lead = (json.loads(body).get("lead") or {}).get("id")
        except ValueError:
            lead = None
        self.log.append(("sent", event_id, lead))
        step = self.script.pop(0) if self.script else "ok"
        if step == "fail":
            self.log.append(("fail", event_id, lead))
            return 500
        if step == "hang":  # logged now: this try will not be answered in time
            self.log.append(("hang", event_id, lead))
            await asyncio.sleep(self.hang_seconds)
            return 500
        if not verify(self.secret, headers, body, time.time(), tolerance=10**10):
            self.bad_signatures += 1
            self.log.append(("bad", event_id, lead))
            return 401
        event = json.loads(body)
        assert event["event_id"] == event_id
        self.log.append(("ok", event_id, lead))
        self.accepted.append(event)
        if event["event_id"] not in {e["event_id"] for e in self.first_seen}:
            self.first_seen.append(event)
        if self.on_request is not None:
            self.on_request(event)
        return 200


def check_deliveries(receiver: Receiver, rows: list, at_crash: dict[str, str], acked_at_crash: set[str], *,
                     failures: int, batch: int = 50) -> set[str]:
    """The delivery guarantee (docs/webhooks.md), on the receiver's raw log; returns the ids
    acknowledged twice.

    - every event of the outbox acknowledged, none unknown to it, no bad signature;
    - the scripted failures, and nothing else, answered other than 2xx; every failed try
      followed by another try of the same event (retries only after failures);
    - at least once, and twice only across the crash: an event acknowledged twice is one the
      crashed daemon had not recorded as delivered (at most one delivery pass of them), and
      every event acknowledged before the crash and not recorded is sent again;
    - in order per lead: no try of an event before every earlier event of its lead was
      acknowledged."""
    log, ids = receiver.log, [r.event_id for r in rows]
    acked = receiver.acked()
    assert receiver.bad_signatures == 0
    assert set(acked) == set(ids), "every event acknowledged, none unknown to the outbox"
    answers = [(k, e) for k, e, _ in log if k != "sent"]
    failed = [(k, e) for k, e in answers if k != "ok"]
    assert len(failed) == failures and {k for k, _ in failed} <= {"fail", "hang"}
    tries = Counter(e for k, e, _ in log if k == "sent")
    assert tries == Counter(e for _, e in answers), "every try answered"
    dups = {e for e, n in acked.items() if n > 1}
    for event_id in tries:  # a try after the first only once the one before failed, or across the crash
        mine = [k for k, e, _ in log if e == event_id]
        for n in range(1, len(mine)):
            if mine[n] == "sent":
                assert mine[n - 1] in ("fail", "hang") or event_id in dups, f"{event_id}: {mine}"
    assert all(acked[e] == 2 for e in dups), "acknowledged twice at most (one crash)"
    assert all(at_crash.get(e) != "delivered" for e in dups), "a recorded delivery is never sent again"
    assert {e for e in acked_at_crash if at_crash.get(e) == "pending"} <= dups, "unrecorded: sent again"
    assert len(dups) <= batch
    order = defaultdict(list)
    for r in rows:
        order[r.lead_id].append(r.event_id)
    done: set[str] = set()
    for kind, event_id, _ in log:
        if kind == "ok":
            done.add(event_id)
        elif kind == "sent":
            lead = next(r.lead_id for r in rows if r.event_id == event_id)
            earlier = order[lead][:order[lead].index(event_id)]
            assert set(earlier) <= done, f"{event_id} sent before {set(earlier) - done} was acknowledged"
    return dups
