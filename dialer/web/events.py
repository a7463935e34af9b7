"""Server-Sent Events: the engine's events pushed to the pages.

:class:`EventHub` is one of the engine's ``listeners`` (called synchronously with
``(kind, data)`` — ``call``, ``agent``, ``disposition_due`` — as the session emits them) and
fans each event out to the subscribed streams.  Each event is stamped with the wall time it
left the engine (``sent_at``, ms since the epoch): the browser test measures the screen pop
from there, which is the moment the AMI connect event was handled.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

#: Events a subscriber may fall behind by before the oldest are dropped (a stalled tab).
BACKLOG = 256
#: A comment line this often keeps proxies from closing an idle stream.
KEEPALIVE = 15.0


@dataclass(eq=False)
class Subscriber:
    wants: Callable[[str, dict], bool]
    queue: asyncio.Queue[tuple[str, dict]] = field(default_factory=lambda: asyncio.Queue(BACKLOG))


class EventHub:
    """Fans the engine's events out to SSE subscribers."""

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()

    def __call__(self, kind: str, data: dict) -> None:
        stamped = {**data, "sent_at": round(time.time() * 1000, 1)}
        for sub in list(self.subscribers):
            if not sub.wants(kind, data):
                continue
            if sub.queue.full():
                sub.queue.get_nowait()
            sub.queue.put_nowait((kind, stamped))

    def subscribe(self, wants: Callable[[str, dict], bool]) -> Subscriber:
        sub = Subscriber(wants)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)


def frame(kind: str, data: Any) -> bytes:
    """One SSE message (JSON data on one line)."""
    return f"event: {kind}\ndata: {json.dumps(data, default=str, separators=(',', ':'))}\n\n".encode()


async def stream(hub: EventHub, sub: Subscriber, first: list[tuple[str, Any]],
                 tick: Callable[[], Any] | None = None, every: float = 1.0) -> AsyncIterator[bytes]:
    """The SSE body: ``first`` messages, then the subscriber's events as they come; with
    ``tick``, a ``tick`` message (its result) every ``every`` seconds (the wallboard)."""
    try:
        yield b"retry: 1000\n\n"
        for kind, data in first:
            yield frame(kind, data)
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + every
        while True:
            if tick is not None and loop.time() >= next_tick:
                next_tick = loop.time() + every
                yield frame("tick", await tick())
            timeout = max(0.0, next_tick - loop.time()) if tick is not None else KEEPALIVE
            try:
                kind, data = await asyncio.wait_for(sub.queue.get(), timeout)
            except TimeoutError:
                if tick is None:
                    yield b": keepalive\n\n"
                continue
            yield frame(kind, data)
    finally:
        hub.unsubscribe(sub)
