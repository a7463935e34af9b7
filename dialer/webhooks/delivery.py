"""Delivering the webhook outbox: a background task of the daemon, never in the dialling loop.

Each pass reads the events due that are first in line for their lead
(:func:`dialer.storage.outbox.due_stmt`), takes a lease on each (so that two daemons sharing
a database do not both send it), POSTs them (different leads concurrently, a lead's events
one after the other) and records the result: delivered, or tried again after an exponential
backoff (:func:`~dialer.webhooks.signing.retry_delay`), or failed after the campaign's
``max_attempts`` (``dialer webhooks retry``).  An event is delivered at least once; the
receiver dedupes on ``X-Dialer-Event-Id``, so it sees each event once, in order per lead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from campaigns.integrations import WebhookSettings, parse_webhook
from campaigns.parsing import Problems
from dialer.clock import Clock
from dialer.storage import outbox
from dialer.storage.availability import unreachable
from dialer.storage.tables import webhook_outbox
from dialer.webhooks.signing import headers, retry_delay

log = logging.getLogger("dialer.webhooks")
# httpx logs every request with its URL at INFO: a CRM's URL may carry a token.
logging.getLogger("httpx").setLevel(logging.WARNING)


class WebhookConfigError(Exception):
    """A campaign's webhook cannot be used as configured (its secret is missing)."""


def webhook_of(definition: Mapping[str, Any] | None) -> WebhookSettings | None:
    """The webhook of a stored campaign definition (plain data), if any."""
    problems = Problems()
    hook = parse_webhook((definition or {}).get("webhook"), problems)
    return None if problems else hook


def read_secret(hook: WebhookSettings, environ: Mapping[str, str] = os.environ) -> bytes:
    """The webhook's secret, from its environment variable or file (never logged)."""
    if hook.secret_env is not None:
        value = environ.get(hook.secret_env, "")
        if not value:
            raise WebhookConfigError(f"webhook secret: environment variable {hook.secret_env} is not set")
        return value.encode()
    assert hook.secret_file is not None
    try:
        value = Path(hook.secret_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise WebhookConfigError(f"webhook secret: cannot read {hook.secret_file}: {exc.strerror}") from None
    if not value:
        raise WebhookConfigError(f"webhook secret: {hook.secret_file} is empty")
    return value.encode()


def body_of(payload: Any) -> bytes:
    """The request body: the stored payload as compact JSON (what is signed is what is sent)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""


async def post(client: httpx.AsyncClient, hook: WebhookSettings, secret: bytes, row: Any, now: datetime) -> Outcome:
    """One POST of one event; ``ok`` on a 2xx answer."""
    body = body_of(row.payload)
    try:
        answer = await client.post(hook.url, content=body, timeout=hook.timeout, headers=headers(
            secret, int(now.timestamp()), body, event=row.event, event_id=row.event_id))
    except httpx.TimeoutException:
        return Outcome(False, f"timed out after {hook.timeout:g} s")
    except httpx.HTTPError as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}"[:300])
    if 200 <= answer.status_code < 300:
        return Outcome(True)
    return Outcome(False, f"HTTP {answer.status_code}")


class Deliverer:
    """Delivers due events until cancelled (:meth:`run`); :meth:`deliver_due` is one pass.

    ``lock``: the daemon's database lock, held only for the short writes (never during a
    request).  ``poll``: clock seconds between passes when nothing was due — and at least
    ``min_real_poll`` real seconds, so that a fast scaled clock (the demo, the tests) does not
    turn the poll into a busy loop.
    """

    def __init__(self, db: AsyncEngine, clock: Clock, *, lock: asyncio.Lock | None = None, poll: float = 1.0,
                 batch: int = 50, concurrency: int = 4, first_retry: float = 2.0, longest_retry: float = 3600.0,
                 transport: httpx.AsyncBaseTransport | None = None, environ: Mapping[str, str] = os.environ,
                 min_real_poll: float = 0.25) -> None:
        self.db = db
        self.clock = clock
        self.lock = lock or asyncio.Lock()
        self.poll = poll
        self.min_real_poll = min_real_poll
        self.batch = batch
        self.first_retry, self.longest_retry = first_retry, longest_retry
        self.environ = environ
        self._limit = asyncio.Semaphore(concurrency)
        self._transport = transport
        self._wake = asyncio.Event()
        self.delivered = 0
        self.failures = 0

    def wake(self) -> None:
        """Look for due events now (an event was just queued)."""
        self._wake.set()

    async def run(self) -> None:
        async with httpx.AsyncClient(transport=self._transport) as client:
            while True:
                try:
                    n = await self.deliver_due(client)
                except Exception as exc:
                    if not unreachable(exc):
                        log.exception("webhook delivery pass failed")
                    else:
                        log.warning("webhooks: database unavailable, retrying", extra={"error": str(exc)[:200]})
                    n = 0
                if n == 0:
                    self._wake.clear()
                    pause = max(self.poll, self.min_real_poll * self.clock.speed)
                    sleep = asyncio.ensure_future(self.clock.sleep(pause))
                    woken = asyncio.ensure_future(self._wake.wait())
                    try:
                        await asyncio.wait({sleep, woken}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        sleep.cancel()
                        woken.cancel()

    async def deliver_due(self, client: httpx.AsyncClient) -> int:
        """One pass: every event due and first in line for its lead; returns how many were tried."""
        now = self.clock.now()
        async with self.db.connect() as conn:
            rows = (await conn.execute(outbox.due_stmt(now, self.batch))).all()
        tries = [self._deliver(client, row) for row in rows]
        return sum(await asyncio.gather(*tries))

    async def _lease(self, row: Any, hook: WebhookSettings | None) -> bool:
        """Take the event for one try: its next attempt moved past the request's timeout."""
        timeout = hook.timeout if hook is not None else 10.0
        until = self.clock.now() + timedelta(seconds=(timeout + 5.0) * max(1.0, self.clock.speed))
        async with self.lock, self.db.begin() as conn:
            taken = await conn.execute(update(webhook_outbox).where(
                webhook_outbox.c.id == row.id, webhook_outbox.c.status == outbox.PENDING,
                webhook_outbox.c.attempts == row.attempts, webhook_outbox.c.next_attempt_at <= self.clock.now(),
            ).values(next_attempt_at=until))
        return taken.rowcount == 1

    async def _deliver(self, client: httpx.AsyncClient, row: Any) -> int:
        hook = webhook_of(row.definition)
        if not await self._lease(row, hook):
            return 0
        async with self._limit:
            try:
                if hook is None:
                    raise WebhookConfigError(f"campaign {row.campaign} has no webhook any more")
                result = await post(client, hook, read_secret(hook, self.environ), row, self.clock.now())
            except WebhookConfigError as exc:
                result = Outcome(False, str(exc))
        await self._record(row, hook, result)
        return 1

    async def _record(self, row: Any, hook: WebhookSettings | None, result: Outcome) -> None:
        now = self.clock.now()
        if result.ok:
            stmt = outbox.delivered_stmt(row.id, now)
            self.delivered += 1
        else:
            attempts = row.attempts + 1
            give_up = attempts >= (hook.max_attempts if hook is not None else 1)
            delay = retry_delay(attempts, self.first_retry, self.longest_retry)
            stmt = outbox.failed_stmt(row.id, error=result.error, retry_at=now + timedelta(seconds=delay),
                                      give_up=give_up)
            self.failures += 1
            log.warning("webhook delivery failed" + ("; giving up (dialer webhooks retry)" if give_up else ""),
                        extra={"event_id": row.event_id, "campaign": row.campaign, "attempt": attempts,
                               "error": result.error})
        async with self.lock, self.db.begin() as conn:
            await conn.execute(stmt)
