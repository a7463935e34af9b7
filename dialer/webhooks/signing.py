"""Signing webhook requests, and the retry schedule.  Pure.

A request carries ``X-Dialer-Event-Id`` (dedupe on it), ``X-Dialer-Event``,
``X-Dialer-Timestamp`` (Unix seconds) and ``X-Dialer-Signature: v1=<hex>``, the HMAC-SHA256
with the campaign's secret of ``"<timestamp>.<body>"`` (the raw body bytes).  A receiver
recomputes it, compares in constant time and refuses timestamps older than a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

EVENT_ID, EVENT, TIMESTAMP, SIGNATURE = ("X-Dialer-Event-Id", "X-Dialer-Event", "X-Dialer-Timestamp",
                                         "X-Dialer-Signature")
#: First and longest wait (seconds) between two tries of an event.
FIRST_RETRY, MAX_RETRY = 2.0, 3600.0


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """``v1=`` and the hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def headers(secret: bytes, timestamp: int, body: bytes, *, event: str, event_id: str) -> dict[str, str]:
    """The headers of one delivery."""
    return {"Content-Type": "application/json", EVENT_ID: event_id, EVENT: event, TIMESTAMP: str(timestamp),
            SIGNATURE: signature(secret, timestamp, body), "User-Agent": "dialer-webhooks/1"}


def verify(secret: bytes, received: Mapping[str, str], body: bytes, now: float, tolerance: float = 300.0) -> bool:
    """Is this a request signed with ``secret`` no more than ``tolerance`` seconds ago?  (For
    receivers; header names are matched case-insensitively.)"""
    lower = {k.lower(): v for k, v in received.items()}
    try:
        timestamp = int(lower.get(TIMESTAMP.lower(), ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(lower.get(SIGNATURE.lower(), ""), signature(secret, timestamp, body))


def retry_delay(attempts: int, first: float = FIRST_RETRY, longest: float = MAX_RETRY) -> float:
    """Seconds to wait after the ``attempts``-th failed try (1, 2, ...): doubling, capped."""
    return float(min(longest, first * 2 ** min(max(attempts - 1, 0), 40)))
