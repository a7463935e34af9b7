"""uvicorn's connection limits for the daemon's API: slow or idle clients cannot hold sockets.

uvicorn times out idle keep-alive connections but not a connection that never finishes sending
its request headers (one byte every few seconds keeps it open for ever: enough of them exhaust
the daemon's file descriptors, and with them its AMI link).  :class:`HeaderTimeoutH11` closes a
connection whose next request has not arrived ``header_timeout`` seconds after it opened or
after its previous response.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from dialer.settings import HttpSettings


class HeaderTimeoutH11(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request headers are overdue."""

    header_timeout: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_request(None)

    def on_response_complete(self) -> None:
        finished = self.cycle
        super().on_response_complete()  # may start the next, pipelined request at once
        self._await_request(finished)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _await_request(self, previous: object) -> None:
        """Close the connection unless a request other than ``previous`` starts in time."""
        self._cancel_header_timer()
        if not self.transport.is_closing():
            self._header_timer = self.loop.call_later(self.header_timeout, self._overdue, previous)

    def _overdue(self, previous: object) -> None:
        self._header_timer = None
        if self.cycle is previous and not self.transport.is_closing():
            self.transport.close()

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None


def uvicorn_limits(http: HttpSettings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` from the ``[http]`` settings."""
    protocol = type("HeaderTimeoutH11", (HeaderTimeoutH11,), {"header_timeout": http.header_timeout})
    tls = {"ssl_certfile": http.cert_file, "ssl_keyfile": http.key_file} if http.cert_file else {}
    return {
        **tls,
        "http": protocol,
        "timeout_keep_alive": http.keep_alive_timeout,
        "h11_max_incomplete_event_size": http.max_header_bytes,
        "limit_concurrency": http.max_connections,
    }
