"""A campaign's integrations: call recordings and webhooks to a CRM (TOML tables
``[recording]`` and ``[webhook]``, see ``docs/campaigns.md`` and ``docs/webhooks.md``).  Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from campaigns.parsing import Problems, check_keys, join

#: The events a webhook may subscribe to (``events = [...]``; all of them when left out).
WEBHOOK_EVENTS = ("call.connected", "call.disposed", "lead.finished", "dnc.added")
DEFAULT_RECORDING_DIR = "/var/spool/asterisk/monitor/dialer"
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class RecordingSettings:
    """Record connected calls (MixMonitor) under ``directory``; keep them ``retention_days``."""

    enabled: bool = False
    retention_days: int = 90
    directory: str = DEFAULT_RECORDING_DIR

    def base(self, call_id: int) -> str:
        """The recording's path without its extension (the Originate's ``DIALER_RECORDING``)."""
        return f"{self.directory.rstrip('/')}/call-{call_id}"

    def path(self, call_id: int) -> str:
        """Where the recording of call ``call_id`` is written (Asterisk adds ``.wav``)."""
        return self.base(call_id) + ".wav"


@dataclass(frozen=True)
class WebhookSettings:
    """POST the campaign's ``events`` to ``url``, signed with the secret read from the
    environment variable ``secret_env`` or the file ``secret_file`` (never stored)."""

    url: str
    events: tuple[str, ...] = WEBHOOK_EVENTS
    secret_env: str | None = None
    secret_file: str | None = None
    timeout: float = 10.0
    max_attempts: int = 20

    def wants(self, event: str) -> bool:
        return event in self.events


def parse_recording(data: Any, problems: Problems) -> RecordingSettings:
    if data is None:
        return RecordingSettings()
    if not isinstance(data, Mapping):
        problems.add("recording", "expected a table")
        return RecordingSettings()
    check_keys(data, ("enabled", "retention_days", "directory"), "recording", problems)
    d = RecordingSettings()
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.add("recording.enabled", f"expected true or false (got {enabled!r})")
        enabled = False
    days = data.get("retention_days", d.retention_days)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        problems.add("recording.retention_days", f"expected a whole number of days from 1 to 3650 (got {days!r})")
        days = d.retention_days
    directory = data.get("directory", d.directory)
    if not isinstance(directory, str) or not directory.startswith("/"):
        problems.add("recording.directory", f"expected an absolute path (got {directory!r})")
        directory = d.directory
    return RecordingSettings(enabled, days, directory)


def parse_webhook(data: Any, problems: Problems) -> WebhookSettings | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        problems.add("webhook", "expected a table")
        return None
    check_keys(data, ("url", "events", "secret_env", "secret_file", "timeout", "max_attempts"), "webhook",
               problems)
    url = data.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        problems.add("webhook.url", f"expected an http:// or https:// URL (got {url!r})")
        url = "http://invalid"
    events = data.get("events", list(WEBHOOK_EVENTS))
    if not isinstance(events, list) or not events:
        problems.add("webhook.events", f"expected a list of events (got {events!r})")
        events = list(WEBHOOK_EVENTS)
    for i, name in enumerate(events):
        if name not in WEBHOOK_EVENTS:
            problems.add(join("webhook.events", i), f"must be one of {', '.join(WEBHOOK_EVENTS)} (got {name!r})")
    secret_env, secret_file = data.get("secret_env"), data.get("secret_file")
    if (secret_env is None) == (secret_file is None):
        problems.add("webhook", "give exactly one of secret_env (an environment variable) or secret_file (a path)")
    if secret_env is not None and not (isinstance(secret_env, str) and _ENV_RE.match(secret_env)):
        problems.add("webhook.secret_env", f"expected an environment variable name (got {secret_env!r})")
    if secret_file is not None and not (isinstance(secret_file, str) and secret_file):
        problems.add("webhook.secret_file", f"expected a path (got {secret_file!r})")
    timeout = data.get("timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0.1 <= timeout <= 120:
        problems.add("webhook.timeout", f"expected seconds from 0.1 to 120 (got {timeout!r})")
        timeout = 10.0
    attempts = data.get("max_attempts", 20)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 1000:
        problems.add("webhook.max_attempts", f"expected a whole number from 1 to 1000 (got {attempts!r})")
        attempts = 20
    return WebhookSettings(str(url), tuple(e for e in events if e in WEBHOOK_EVENTS) or WEBHOOK_EVENTS,
                           secret_env if isinstance(secret_env, str) else None,
                           secret_file if isinstance(secret_file, str) else None, float(timeout), attempts)


def recording_to_data(r: RecordingSettings) -> dict[str, Any] | None:
    if r == RecordingSettings():
        return None
    return {"enabled": r.enabled, "retention_days": r.retention_days, "directory": r.directory}


def webhook_to_data(w: WebhookSettings | None) -> dict[str, Any] | None:
    if w is None:
        return None
    out: dict[str, Any] = {"url": w.url, "events": list(w.events), "timeout": w.timeout,
                           "max_attempts": w.max_attempts}
    if w.secret_env is not None:
        out["secret_env"] = w.secret_env
    if w.secret_file is not None:
        out["secret_file"] = w.secret_file
    return out
