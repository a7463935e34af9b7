"""The seam between panoramisk and the dialer: its ``Manager`` and ``AMIProtocol``, narrowed.

panoramisk (pinned ``>=1.4,<1.5``, see ``tests/ami/test_panoramisk_seam.py``) keeps doing what
it does well: writing actions, matching responses to them by ``ActionID`` (single responses and
EventLists), and dispatching events to ``register_event`` callbacks.  The client
(:mod:`dialer.ami.client`) uses it through ``Manager(...)`` with its documented options and
hooks (``protocol_factory``, ``ping_delay``, ``on_disconnect``), ``connect()``, ``close()``,
``send_action()`` and ``register_event()``.  Each override below says why the option or hook
could not do it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from panoramisk import Manager  # type: ignore[import-untyped]
from panoramisk.ami_protocol import AMIProtocol  # type: ignore[import-untyped]
from panoramisk.message import Message  # type: ignore[import-untyped]

from dialer.ami.codec import Banner, Frame, FrameParser
from dialer.ami.events import DIALER_EVENTS

__all__ = ["NEVER", "SCALAR_HEADERS", "FrameMessage", "FrameProtocol", "OneShotManager", "frame_problem"]

log = logging.getLogger("dialer.ami")

#: A delay (seconds) that never comes: turns off panoramisk's unchecked Ping (``ping_delay``).
NEVER = 10**9

#: Headers panoramisk reads as one string (``Message.id``, ``.event``, ``Action.multi``/
#: ``completed``): repeated, they become a list and raise inside its ``handle_message``.
SCALAR_HEADERS = ("ActionID", "CommandID", "Event", "Response", "Message", "SubEvent", "EventList")

#: Dropped frames logged one by one per connection; after that only every ``_LOG_EVERY``-th.
_LOG_FIRST = 10
_LOG_EVERY = 1000


def frame_problem(frame: Frame) -> str | None:
    """Why panoramisk must not see ``frame`` (``None``: it may)."""
    if "Event" not in frame and "Response" not in frame:
        return "neither Event nor Response"
    pairs = frame.items_all()
    if len(pairs) != len(frame):  # some key repeats: fine for Variable, Output...
        seen = [key for key, _ in pairs if key in SCALAR_HEADERS]
        repeated = sorted({key for key in seen if seen.count(key) > 1})
        if repeated:
            return f"repeated {', '.join(repeated)} header"
    return None


class FrameMessage(Message):
    """panoramisk's ``Message`` carrying the codec's :class:`Frame` it was built from (faster,
    exact lookups for :func:`~dialer.ami.events.parse_event`)."""

    def __init__(self, frame: Frame) -> None:
        pairs = frame.items_all()
        headers: dict[str, Any]
        if len(pairs) == len(frame):
            headers = dict(frame)
        else:  # repeated keys become lists, as panoramisk does
            headers = {}
            for key, value in pairs:
                if key in headers:
                    old = headers[key]
                    headers[key] = [*old, value] if isinstance(old, list) else [old, value]
                else:
                    headers[key] = value
        super().__init__(headers)
        self.frame = frame


class FrameProtocol(AMIProtocol):
    """``protocol_factory``: panoramisk's protocol reading bytes with :class:`FrameParser`.

    Override of ``data_received`` (the asyncio ``Protocol`` method; panoramisk has no parser
    hook): panoramisk's own parser decodes each TCP read on its own (a UTF-8 character split
    across reads is lost), cuts old ``Response: Follows`` bodies at blank lines, and a frame
    with a repeated ``ActionID``/``Event`` raises inside it, which drops the connection with
    every frame read with it.  Here each frame is checked (:func:`frame_problem`) and handed to
    panoramisk's ``handle_message`` on its own: a bad frame is dropped and logged, the
    connection and the other frames are kept.

    ``wanted``: events nobody asked for (``Newexten``, ``VarSet``...) are dropped before a
    ``Message`` is built.  ``forget(action_id)``: list items still to come for an action given
    up on (timed out) are dropped instead of being dispatched as stray events.
    """

    wanted: frozenset[str] = DIALER_EVENTS

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.dropped = 0
        self._forgotten: set[str] = set()
        self._parser = FrameParser(on_error=self._drop)

    def forget(self, action_id: str) -> None:
        """Stop waiting for ``action_id``: late responses and list items are discarded."""
        self.responses.pop(action_id, None)
        self._forgotten.add(action_id)

    def data_received(self, data: bytes) -> None:
        for item in self._parser.feed(data):
            if isinstance(item, Banner):
                self.version = item.partition("/")[2].strip()
                continue
            name = item.get("Event")
            action_id = item.get("ActionID")
            if action_id is None:
                if name is not None and name not in self.wanted:
                    continue
            elif action_id in self._forgotten and name != "OriginateResponse":
                if name is not None and name.endswith("Complete"):
                    self._forgotten.discard(action_id)
                continue
            problem = frame_problem(item)
            if problem is not None:
                self._drop(problem)
                continue
            try:
                self.handle_message(FrameMessage(item))
            except Exception as exc:  # a frame panoramisk cannot take must not cost the link
                self._drop(f"panoramisk raised {type(exc).__name__}")

    def _drop(self, reason: str) -> None:
        self.dropped += 1
        if self.dropped <= _LOG_FIRST or self.dropped % _LOG_EVERY == 0:
            log.warning("AMI frame dropped", extra={"reason": reason, "dropped": self.dropped})


class OneShotManager(Manager):
    """panoramisk's ``Manager`` for one connection: the client makes a new one per connection
    (so nothing panoramisk queued for re-sending can reach a later connection) and decides
    itself when to reconnect, with backoff.

    panoramisk reconnects on its own after a failed connect and after a loss, every
    ``reconnect_timeout`` seconds, and has no option to turn that off; the two methods that
    schedule it are the smallest seam, so they are overridden: everything else they do is
    kept (or, for a failed connect, left to the caller who awaits ``connect()``'s task).
    """

    on_disconnect: Callable[[Manager, Any], None]
    pinger: asyncio.TimerHandle | None

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if f.cancelled() or f.exception() is not None:
            return  # the caller awaiting connect()'s task reports the error and decides
        super().connection_made(f)

    def connection_lost(self, exc: Any) -> None:
        self._connected = False
        if self.pinger:
            self.pinger.cancel()
            self.pinger = None
        self.on_disconnect(self, exc)  # at once, and no reconnect scheduled
